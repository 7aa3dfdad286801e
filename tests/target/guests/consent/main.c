/*
 * consent (issue 13, rule 2; tests/target/test_coop_consent.py): nothing
 * lands in a guest's stage 2 or quota without its consent.
 *   --sender  offers the victim more than its quota (a share R, a share RW,
 *             a loan, a huge donation, small donations until its table of
 *             offers is full) and one offer to --ender; after the ender's
 *             end its slot is free again. Later it takes back what is
 *             still only offered (withdrawn), and finds its UNSHARE of the
 *             share the victim dropped harmless.
 *   --victim  never asked for any of it: its charge is as before, the
 *             offered frames are out of its reach, its mallocs of most of
 *             its quota succeed; the ender's offer is gone. Then it
 *             accepts what it chooses: the huge donation does not fit
 *             (EQUOTA, the offer stays), a small one is charged in its own
 *             call; it reads the RW share and drops it (a touch after
 *             faults).
 *   --ender   offers the victim a frame, then exits when told.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <libos/libos.h>
#include <string.h>

#include "../accept.h"
#include "../faultcatch.h"
#include "../tap.h"

#define FRAME EXO_FRAME_SIZE
#define HUGE_GIFT 900u     /* frames: more than the victim's quota has left */
#define LOAN 100u
#define SHARED 64u         /* each share */
#define SMALL_GIFT 8u
#define TABLE_SLACK 4u     /* stage-2 table pages an accept may add */
#define MALLOC_FRAMES 320u /* the victim's mallocs after the flood */
#define MALLOC_BLOCK 8u    /* frames per malloc */
#define PATTERN 0x636f6e73656e7421ull   /* "consent!" */

/* The sender's run: [R share][RW share][loan][huge gift][small gifts]. */
#define RUN_FRAMES (2 * SHARED + LOAN + HUGE_GIFT + EXO_OFFERS_MAX * SMALL_GIFT)

static uint64_t id_of(const char *name)
{
	return exo_vm_lookup(name).x1;
}

static void wait_gone(const char *name)
{
	while (exo_vm_lookup(name).status == EXO_OK)
		exo_yield();
}

/* --- the sender ----------------------------------------------------------- */

struct layout {
	uint64_t ro, rw, loan, huge, small;
};

static struct layout layout_of(uint64_t run)
{
	return (struct layout){ run, run + SHARED * FRAME,
				run + 2 * SHARED * FRAME,
				run + (2 * SHARED + LOAN) * FRAME,
				run + (2 * SHARED + LOAN + HUGE_GIFT) * FRAME };
}

/* Offers small gifts until the table is full; returns how many. */
static unsigned fill_table(uint64_t v, uint64_t small)
{
	unsigned n = 0;
	int64_t rc;

	while ((rc = exo_frame_donate(small + n * SMALL_GIFT * FRAME,
				      SMALL_GIFT, v)) == EXO_OK)
		n++;
	TAP_CHECK(rc == EXO_EFULL, "offers until EFULL (%ld) after %u small "
		  "gifts", (long)rc, n);
	return n;
}

static int sender(void)
{
	uint64_t v = id_of("victim"), e = id_of("ender");
	struct exo_ret a = exo_frame_alloc(RUN_FRAMES, 0);
	struct layout l = layout_of(a.x1);
	unsigned small;

	TAP_CHECK(a.status == EXO_OK, "%u frames to offer", RUN_FRAMES);
	*pa_ptr(l.rw) = PATTERN;
	TAP_CHECK(exo_frame_share(l.ro, SHARED, v, EXO_SHARE_R) == EXO_OK &&
			  exo_frame_share(l.rw, SHARED, v, EXO_SHARE_RW) ==
				  EXO_OK &&
			  exo_frame_lend(l.loan, LOAN, v) == EXO_OK &&
			  exo_frame_donate(l.huge, HUGE_GIFT, v) == EXO_OK,
		  "offered the victim two shares, a loan and %u frames",
		  HUGE_GIFT);
	TAP_CHECK(exo_frame_share(l.rw, 1, v, EXO_SHARE_R) == EXO_ESTATE,
		  "an offer meeting one to the same guest: ESTATE");
	TAP_CHECK(exo_frame_share(l.rw, SHARED, e, EXO_SHARE_R) == EXO_OK,
		  "offered the ender the same frames");
	small = fill_table(v, l.small);
	TAP_CHECK(small == EXO_OFFERS_MAX - 5, "the table holds %u offers",
		  EXO_OFFERS_MAX);
	TAP_CHECK(exo_notify(e) == EXO_OK, "told the ender to end");
	wait_gone("ender");
	TAP_CHECK(exo_frame_donate(l.small + small * SMALL_GIFT * FRAME,
				   SMALL_GIFT, v) == EXO_OK,
		  "the ender's end freed the slot of the offer made to it");
	TAP_CHECK(exo_notify(v) == EXO_OK, "told the victim");

	wait_notified(v);
	TAP_CHECK(exo_frame_unshare(l.rw, SHARED, v) == EXO_ESTATE,
		  "UNSHARE of the share the victim dropped: ESTATE, harmless");
	TAP_CHECK(exo_frame_query(l.rw).x1 == EXO_FRAME_OWNED &&
			  *pa_ptr(l.rw) == PATTERN,
		  "the frames are owned again, contents kept");
	TAP_CHECK(exo_frame_unshare(l.ro, SHARED, v) == EXO_OK &&
			  exo_frame_reclaim(l.loan, LOAN, v) == EXO_OK &&
			  exo_frame_reclaim(l.huge, HUGE_GIFT, v) == EXO_OK,
		  "withdrew the share, the loan and the gift still only offered");
	TAP_CHECK(exo_frame_reclaim(l.loan, LOAN, v) == EXO_ESTATE,
		  "a second RECLAIM finds neither offer nor loan: ESTATE");
	TAP_CHECK(exo_frame_free(l.ro, 2 * SHARED + LOAN + HUGE_GIFT) == EXO_OK,
		  "freed all of it");
	TAP_CHECK(exo_notify(v) == EXO_OK, "told the victim");
	wait_notified(v);   /* it has looked: now the sender may end */
	return tap_done();
}

/* --- the victim ----------------------------------------------------------- */

/* Offers from `from` listed now, and whether their frames are out of
 * this guest's reach. */
static unsigned listed(uint64_t from, bool *out_of_reach)
{
	unsigned n = 0;
	struct exo_ret r;

	*out_of_reach = true;
	for (uint64_t i = 0; (r = exo_frame_offer(i)).status == EXO_OK; i++) {
		if (EXO_OFFER_SENDER(r.x1) != from)
			continue;
		n++;
		*out_of_reach &= exo_frame_query(r.x2).x2 == 0;
	}
	return n;
}

/* The offer of kind from `from`: its range, or 0. */
static uint64_t offered(uint64_t from, unsigned kind, uint64_t count)
{
	struct exo_ret r;

	for (uint64_t i = 0; (r = exo_frame_offer(i)).status == EXO_OK; i++)
		if (EXO_OFFER_SENDER(r.x1) == from &&
		    EXO_OFFER_KIND(r.x1) == kind && r.x3 == count)
			return r.x2;
	return 0;
}

/* Blocks of MALLOC_BLOCK frames, each touched, then all freed. */
static void mallocs_still_succeed(void)
{
	static volatile char *blocks[MALLOC_FRAMES / MALLOC_BLOCK];
	unsigned got = 0;

	for (unsigned i = 0; i < MALLOC_FRAMES / MALLOC_BLOCK; i++) {
		blocks[i] = libos_malloc((size_t)MALLOC_BLOCK * FRAME);
		if (!blocks[i])
			break;
		for (unsigned f = 0; f < MALLOC_BLOCK; f++)
			blocks[i][(size_t)f * FRAME] = 1;
		got++;
	}
	TAP_CHECK(got == MALLOC_FRAMES / MALLOC_BLOCK,
		  "mallocs of %u frames' worth succeed (%u of %u blocks)",
		  MALLOC_FRAMES, got, MALLOC_FRAMES / MALLOC_BLOCK);
	for (unsigned i = 0; i < got; i++)
		libos_free((void *)blocks[i]);
}

/* It accepts what it chooses; each accept is charged in its own call. */
static void choose(uint64_t s)
{
	uint64_t huge = offered(s, EXO_OFFER_DONATE, HUGE_GIFT);
	uint64_t small = offered(s, EXO_OFFER_DONATE, SMALL_GIFT);
	uint64_t before = exo_vm_info().x3, after;
	bool ignored;

	TAP_CHECK(huge && exo_frame_accept(huge, HUGE_GIFT, s,
					   EXO_OFFER_DONATE) == EXO_EQUOTA,
		  "accepting the huge gift: EQUOTA");
	TAP_CHECK(exo_vm_info().x3 == before &&
			  offered(s, EXO_OFFER_DONATE, HUGE_GIFT) == huge,
		  "nothing charged, the offer stays");
	TAP_CHECK(small && exo_frame_accept(small, SMALL_GIFT, s,
					    EXO_OFFER_DONATE) == EXO_OK,
		  "accepted a small gift");
	after = exo_vm_info().x3;
	TAP_CHECK(after >= before + SMALL_GIFT &&
			  after <= before + SMALL_GIFT + TABLE_SLACK,
		  "charged %lu frames in its own call",
		  (unsigned long)(after - before));
	TAP_CHECK(exo_frame_query(small).x1 == EXO_FRAME_OWNED &&
			  exo_frame_free(small, SMALL_GIFT) == EXO_OK,
		  "owns the gift, and frees it");
	TAP_CHECK(listed(s, &ignored) == EXO_OFFERS_MAX - 1,
		  "the accepted offer is gone from the list");
}

static void borrow_and_drop(uint64_t s)
{
	uint64_t rw = offered(s, EXO_OFFER_SHARE_RW, SHARED);
	unsigned n;

	TAP_CHECK(rw && exo_frame_accept(rw, SHARED, s, EXO_OFFER_SHARE_RW) ==
				EXO_OK,
		  "accepted the RW share");
	TAP_CHECK(rw && *pa_ptr(rw) == PATTERN, "reads the sender's frames");
	TAP_CHECK(exo_frame_drop(rw, SHARED, s) == EXO_OK, "dropped it");
	TAP_CHECK(exo_frame_drop(rw, SHARED, s) == EXO_ESTATE,
		  "a second drop: ESTATE");
	n = caught.count;
	probe_read(rw);
	TAP_CHECK(faultcatch_external(n, rw), "a dropped share is out of reach");
}

static int victim(void)
{
	uint64_t s = id_of("sender"), e = id_of("ender");
	uint64_t before = exo_vm_info().x3;
	bool out_of_reach;

	faultcatch_install();
	wait_notified(s);
	TAP_CHECK(exo_vm_info().x3 == before,
		  "offers of %u frames charged nothing (%lu frames before and "
		  "after)", 2 * SHARED + LOAN + HUGE_GIFT,
		  (unsigned long)before);
	TAP_CHECK(listed(s, &out_of_reach) == EXO_OFFERS_MAX && out_of_reach,
		  "%u offers listed, none in its stage 2", EXO_OFFERS_MAX);
	TAP_CHECK(listed(e, &out_of_reach) == 0,
		  "the offer of the guest that ended is gone");
	mallocs_still_succeed();
	choose(s);
	borrow_and_drop(s);
	TAP_CHECK(exo_notify(s) == EXO_OK, "told the sender");
	wait_notified(s);
	TAP_CHECK(listed(s, &out_of_reach) == EXO_OFFERS_MAX - 5,
		  "what the sender withdrew is gone from the list");
	TAP_CHECK(exo_frame_accept(offered(s, EXO_OFFER_DONATE, SMALL_GIFT),
				   SMALL_GIFT, s, EXO_OFFER_SHARE_R) ==
			  EXO_ENOENT,
		  "an accept naming another kind: ENOENT");
	TAP_CHECK(exo_notify(s) == EXO_OK, "told the sender it may end");
	wait_gone("sender");
	TAP_CHECK(listed(s, &out_of_reach) == 0,
		  "the sender's end took its offers with it");
	return tap_done();
}

/* --- the ender ------------------------------------------------------------ */

static int ender(void)
{
	uint64_t v = id_of("victim"), s = id_of("sender");
	struct exo_ret a = exo_frame_alloc(1, 0);

	TAP_CHECK(a.status == EXO_OK &&
			  exo_frame_share(a.x1, 1, v, EXO_SHARE_R) == EXO_OK,
		  "offered the victim a frame");
	wait_notified(s);
	return tap_done();
}

EL1_GUEST_OPTIONS("--sender", "--victim", "--ender");

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--sender"))
		return sender();
	if (argc > 1 && !strcmp(argv[1], "--victim"))
		return victim();
	if (argc > 1 && !strcmp(argv[1], "--ender"))
		return ender();
	return 2;
}
