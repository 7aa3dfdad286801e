/*
 * sharer: "--owner" and "--borrower" play out every way frames move between
 * guests (docs/abi.md): a read-only and a read-write share, unshare (the
 * borrower faults at once), lend and reclaim (the owner loses access in
 * between; contents kept), donate (ownership and quota move), notify/wait,
 * the refusals, and the owner exiting with a share still live (the borrower
 * loses it). Each share, loan and donation is an offer the borrower lists
 * (FRAME_OFFER) and accepts (FRAME_ACCEPT): before it does, nothing has
 * changed on either side. A mailbox in the read-write frames carries the
 * borrower's answer.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <string.h>

#include "../accept.h"
#include "../faultcatch.h"
#include "../tap.h"

#define FRAME EXO_FRAME_SIZE
#define MAGIC 0x6d61696c626f7821ull   /* "mailbox!" */
#define RO_WORD 0x726f726f726f726full

struct mailbox {
	uint64_t magic, ro, lent, donated, answer, lent_mark;
};

static uint64_t peer(const char *name)
{
	struct exo_ret r = exo_vm_lookup(name);

	TAP_CHECK(r.status == EXO_OK, "found '%s': VM %lu", name,
		  (unsigned long)r.x1);
	return r.x1;
}

/* --- the owner ------------------------------------------------------------ */

static uint64_t alloc(unsigned n)
{
	struct exo_ret a = exo_frame_alloc(n, 0);

	return a.status == EXO_OK ? a.x1 : 0;
}

static void owner_refusals(uint64_t b, uint64_t rw, uint64_t ro)
{
	TAP_CHECK(exo_frame_share(ro, 1, peer("other"), EXO_SHARE_R) ==
			  EXO_EDENIED,
		  "share with a guest share-with does not name: EDENIED");
	TAP_CHECK(exo_vm_lookup("nobody").status == EXO_ENOENT,
		  "lookup of an unknown name: ENOENT");
	TAP_CHECK(exo_frame_share(ro, 1, 63, EXO_SHARE_R) == EXO_ENOENT,
		  "share with a VM id nobody has: ENOENT");
	TAP_CHECK(exo_frame_share(ro, 1, b, 3) == EXO_EINVAL,
		  "share with an unknown permission: EINVAL");
	TAP_CHECK(exo_frame_free(rw, 1) == EXO_ESHARED,
		  "free of a shared frame: ESHARED");
	TAP_CHECK(exo_frame_lend(rw, 1, b) == EXO_ESHARED,
		  "lend of a shared frame: ESHARED");
}

/* Offers change nothing before the borrower accepts: the owner still
 * reaches what it lent, and its charge is what it was. */
static void owner_offers(uint64_t b, uint64_t ro, uint64_t rw, uint64_t lent,
			 uint64_t gift)
{
	uint64_t used_before = exo_vm_info().x3;

	TAP_CHECK(exo_frame_share(ro, 2, b, EXO_SHARE_R) == EXO_OK,
		  "offered R");
	TAP_CHECK(exo_frame_share(rw, 2, b, EXO_SHARE_RW) == EXO_OK,
		  "offered RW");
	TAP_CHECK(exo_frame_lend(lent, 2, b) == EXO_OK, "offered a loan");
	TAP_CHECK(exo_frame_donate(gift, 2, b) == EXO_OK, "offered a gift");
	TAP_CHECK(probe_read(lent) == 0 &&
			  exo_frame_query(lent).x1 == EXO_FRAME_OWNED,
		  "a loan only offered is still the owner's");
	TAP_CHECK(exo_vm_info().x3 == used_before,
		  "a donation only offered leaves the charge as it was");
}

static int owner(void)
{
	uint64_t b = peer("borrower"), ro = alloc(2), rw = alloc(2);
	uint64_t lent = alloc(2), gift = alloc(2), used_before;
	volatile struct mailbox *mb = pa_map(rw, 2 * FRAME);
	volatile uint64_t *ro_words = pa_map(ro, 2 * FRAME);
	struct exo_ret w;
	unsigned n;

	faultcatch_install();
	for (unsigned i = 0; i < 2 * FRAME / 8; i++)
		ro_words[i] = RO_WORD;
	*mb = (struct mailbox){ MAGIC, ro, lent, gift, 0, 0 };
	used_before = exo_vm_info().x3;
	owner_offers(b, ro, rw, lent, gift);
	TAP_CHECK(exo_notify(b) == EXO_OK, "notified the borrower");

	w = exo_wait();
	TAP_CHECK(exo_wait_from(&w, b), "woken by the borrower");
	TAP_CHECK(mb->answer == ~MAGIC, "read the borrower's answer");
	n = caught.count;
	probe_read(lent);
	TAP_CHECK(faultcatch_external(n, lent),
		  "an accepted loan is out of reach");
	TAP_CHECK(exo_vm_info().x3 == used_before - 2,
		  "the accepted donation moved 2 frames off the quota");
	owner_refusals(b, rw, ro);
	TAP_CHECK(exo_frame_reclaim(lent, 2, b) == EXO_OK, "reclaimed");
	TAP_CHECK(probe_read(lent) == mb->lent_mark && mb->lent_mark,
		  "reclaimed frames keep what the borrower wrote");
	TAP_CHECK(exo_frame_free(gift, 2) == EXO_EPERM,
		  "free of a donated frame: EPERM");
	TAP_CHECK(exo_frame_unshare(ro, 2, b) == EXO_OK, "unshared R");
	TAP_CHECK(exo_notify(b) == EXO_OK, "told the borrower");
	w = exo_wait();
	TAP_CHECK(exo_wait_from(&w, b), "the borrower saw the revocation");
	/* Exit with the RW share still live: teardown must revoke it. */
	return tap_done();
}

/* --- the borrower --------------------------------------------------------- */

/* Lists the owner's offers, checks nothing reached it yet, accepts each;
 * the RW one holds the mailbox. */
static volatile struct mailbox *accept_offers(uint64_t o)
{
	uint64_t rw = 0, used = exo_vm_info().x3;
	unsigned seen = 0;
	struct exo_ret r;

	for (uint64_t i = 0; (r = exo_frame_offer(i)).status == EXO_OK; i++) {
		seen += EXO_OFFER_SENDER(r.x1) == o;
		if (EXO_OFFER_KIND(r.x1) == EXO_OFFER_SHARE_RW)
			rw = r.x2;
	}
	TAP_CHECK(seen == 4 && r.status == EXO_ENOENT,
		  "four offers from the owner listed, then ENOENT");
	TAP_CHECK(rw && exo_frame_query(rw).x2 == 0,
		  "an offered share is out of reach before it is accepted");
	TAP_CHECK(exo_vm_info().x3 == used, "offers charged nothing");
	while ((r = exo_frame_offer(0)).status == EXO_OK)
		TAP_CHECK(exo_frame_accept(r.x2, r.x3, EXO_OFFER_SENDER(r.x1),
					   (unsigned)EXO_OFFER_KIND(r.x1)) ==
				  EXO_OK,
			  "accepted offer of kind %lu",
			  (unsigned long)EXO_OFFER_KIND(r.x1));
	return rw ? (volatile struct mailbox *)pa_map(rw, 2 * FRAME) : NULL;
}

static int borrower(void)
{
	uint64_t o = peer("owner"), used, rw;
	volatile struct mailbox *mb;
	unsigned n;

	faultcatch_install();
	wait_notified(o);
	mb = accept_offers(o);
	TAP_CHECK(mb != NULL && mb->magic == MAGIC,
		  "found the mailbox in the accepted RW share");
	if (!mb || mb->magic != MAGIC)
		return tap_done();
	rw = libos_dmap_virt_to_phys((const void *)mb);
	TAP_CHECK(probe_read(mb->ro) == RO_WORD, "reads the R share");
	n = caught.count;
	probe_write(mb->ro, 1);
	TAP_CHECK(faultcatch_external(n, mb->ro), "cannot write the R share");
	TAP_CHECK(probe_read(mb->ro) == RO_WORD, "and it is unchanged");
	probe_write(mb->lent, 0x1e47);
	mb->lent_mark = 0x1e47;
	TAP_CHECK(probe_read(mb->lent) == 0x1e47, "writes the lent frames");
	used = exo_vm_info().x3;
	TAP_CHECK(exo_frame_query(mb->donated).x1 == EXO_FRAME_OWNED &&
			  exo_frame_free(mb->donated, 2) == EXO_OK,
		  "owns and frees the donated frames");
	TAP_CHECK(exo_vm_info().x3 == used - 2, "donated frames were on its quota");
	mb->answer = ~MAGIC;
	TAP_CHECK(exo_notify(o) == EXO_OK, "answered");

	wait_notified(o);
	n = caught.count;
	probe_read(mb->ro);
	TAP_CHECK(faultcatch_external(n, mb->ro), "the unshared frame faults at once");
	n = caught.count;
	probe_read(mb->lent);
	TAP_CHECK(faultcatch_external(n, mb->lent), "the reclaimed frame faults");
	exo_notify(o);
	while (exo_vm_lookup("owner").status == EXO_OK)
		exo_yield();   /* until the owner has exited */
	n = caught.count;
	probe_read(rw);
	TAP_CHECK(faultcatch_external(n, rw),
		  "the owner's exit took its RW share away");
	return tap_done();
}

/* Stays until the owner has gone, so the owner can look it up. */
static int bystander(void)
{
	while (exo_vm_lookup("owner").status == EXO_OK)
		exo_yield();
	return 0;
}

EL1_GUEST_OPTIONS("--bystander", "--owner", "--borrower");

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--bystander"))
		return bystander();
	if (argc > 1 && !strcmp(argv[1], "--owner"))
		return owner();
	if (argc > 1 && !strcmp(argv[1], "--borrower"))
		return borrower();
	return 2;
}
