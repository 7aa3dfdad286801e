/*
 * sharer: "--owner" and "--borrower" play out every way frames move between
 * guests (docs/abi.md): a read-only and a read-write share, unshare (the
 * borrower faults at once), lend and reclaim (the owner loses access in
 * between; contents kept), donate (ownership and quota move), notify/wait,
 * the refusals, and the owner exiting with a share still live (the borrower
 * loses it). A mailbox in the read-write frames tells the borrower where
 * everything is. The borrower's libos acknowledges each
 * EXO_EVENT_RECLAIMED at once, so its later touches of what it lost are
 * violations (test_coop_revoke.py has a borrower that touches first).
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <string.h>

#include "../faultcatch.h"
#include "../tap.h"

#define FRAME EXO_FRAME_SIZE
#define MAGIC 0x6d61696c626f7821ull   /* "mailbox!" */
#define RO_WORD 0x726f726f726f726full
#define SCAN_FROM 0x40000000ul
#define SCAN_FRAMES 65536

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

static int owner(void)
{
	uint64_t b = peer("borrower"), ro = alloc(2), rw = alloc(2);
	uint64_t lent = alloc(2), gift = alloc(2), used_before;
	volatile struct mailbox *mb = pa_map(rw, 2 * FRAME);
	volatile uint64_t *ro_words = pa_map(ro, 2 * FRAME);
	unsigned n;

	faultcatch_install();
	for (unsigned i = 0; i < 2 * FRAME / 8; i++)
		ro_words[i] = RO_WORD;
	*mb = (struct mailbox){ MAGIC, ro, lent, gift, 0, 0 };
	TAP_CHECK(exo_frame_share(ro, 2, b, EXO_SHARE_R) == EXO_OK, "shared R");
	TAP_CHECK(exo_frame_share(rw, 2, b, EXO_SHARE_RW) == EXO_OK, "shared RW");
	TAP_CHECK(exo_frame_lend(lent, 2, b) == EXO_OK, "lent");
	n = caught.count;
	probe_read(lent);
	TAP_CHECK(faultcatch_external(n, lent), "a lent frame is out of reach");
	used_before = exo_vm_info().x3;
	TAP_CHECK(exo_frame_donate(gift, 2, b) == EXO_OK, "donated");
	TAP_CHECK(exo_vm_info().x3 == used_before - 2,
		  "donating moved 2 frames off the quota");
	owner_refusals(b, rw, ro);
	TAP_CHECK(exo_notify(b) == EXO_OK, "notified the borrower");

	TAP_CHECK(exo_wait() & (1ull << b), "woken by the borrower");
	TAP_CHECK(mb->answer == ~MAGIC, "read the borrower's answer");
	TAP_CHECK(exo_frame_reclaim(lent, 2, b) == EXO_OK, "reclaimed");
	TAP_CHECK(probe_read(lent) == mb->lent_mark && mb->lent_mark,
		  "reclaimed frames keep what the borrower wrote");
	TAP_CHECK(exo_frame_free(gift, 2) == EXO_EPERM,
		  "free of a donated frame: EPERM");
	TAP_CHECK(exo_frame_unshare(ro, 2, b) == EXO_OK, "unshared R");
	TAP_CHECK(exo_notify(b) == EXO_OK, "told the borrower");
	TAP_CHECK(exo_wait() & (1ull << b), "the borrower saw the revocation");
	/* Exit with the RW share still live: teardown must revoke it. */
	return tap_done();
}

/* --- the borrower --------------------------------------------------------- */

/* WAIT until the guest `from` notifies: an event (EXO_EVENT_RECLAIMED when
 * the owner takes frames back) also ends a WAIT, with no bit set. */
#define WAKES_MAX 64
static bool wait_for(uint64_t from)
{
	for (unsigned i = 0; i < WAKES_MAX; i++) {
		if (exo_wait() & (1ull << from))
			return true;
	}
	return false;
}

static volatile struct mailbox *find_mailbox(void)
{
	for (uint64_t f = 0; f < SCAN_FRAMES; f++) {
		uint64_t pa = SCAN_FROM + f * FRAME;
		struct exo_ret q = exo_frame_query(pa);

		if (q.status == EXO_OK && q.x1 == EXO_FRAME_SHARED && q.x2 &&
		    *pa_ptr(pa) == MAGIC)
			return (volatile struct mailbox *)pa_ptr(pa);
	}
	return NULL;
}

static int borrower(void)
{
	uint64_t o = peer("owner"), used, rw;
	volatile struct mailbox *mb;
	unsigned n;

	faultcatch_install();
	TAP_CHECK(wait_for(o), "woken by the owner");
	mb = find_mailbox();
	TAP_CHECK(mb != NULL, "found the mailbox in a shared frame");
	if (!mb)
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

	TAP_CHECK(wait_for(o), "woken again");
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
