/*
 * coop: guests that act together against EL2's resources (issue 13, rule
 * 1: whoever acts, pays; docs/memory-model.md). Roles:
 *   --owner     makes, with each borrower, 2 MiB blocks of mixed origin in
 *               the borrower's stage 2 (a half the owner gives it and a
 *               half the owner shares); takes back a frame of some of them while the
 *               borrowers sit at their quotas; then, once the hog has
 *               taken every FREE frame, exits with the rest still shared
 *   --borrower  fills its quota, and checks
 *               what it keeps after the owner has gone
 *   --hog       takes every frame EL2 will give it (its quota is above RAM)
 *   --share-all shares everything it can with --taker while the pair
 *   --pair-a / --pair-b share one frame between them
 * The owner tells each borrower where its halves are through a mailbox in
 * the first shared frame of each block.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <libos/consent.h>
#include <string.h>

#include "../accept.h"
#include "../faultcatch.h"
#include "../tap.h"

#define FRAME EXO_FRAME_SIZE
#define BLOCK_FRAMES EXO_S2_L3_TABLE_FRAMES
#define BLOCK_ALIGN_LOG2 9
#define HALF (BLOCK_FRAMES / 2)
#define MAGIC 0x636f6f706d61696cull   /* "coopmail" */
#define SCAN_FROM 0x40000000ul
#define SCAN_FRAMES (1ul << 18)        /* 1 GiB of RAM */
#define NR_BORROWERS 3
/* Blocks per borrower: a frame of the first TAKE_BACK of them is taken
 * back while the borrower is at its quota; the others are still blocks
 * when the owner exits. More than EL2's old 16-frame reserve in all. */
#define BLOCKS 8
#define TAKE_BACK 4
#define HOG_CHUNK 4096
#define SHARE_ALL_CHUNK 1024
#define SHARE_ALL_MIN 20480
#define QUOTA_SLACK 3   /* a frame, its table, the cache's spare pages */

struct mailbox {
	uint64_t magic, upper, index;
};

static const char *const borrower_names[NR_BORROWERS] = { "b1", "b2", "b3" };

static uint64_t peer(const char *name)
{
	struct exo_ret r = exo_vm_lookup(name);

	TAP_CHECK(r.status == EXO_OK, "found '%s': VM %lu", name,
		  (unsigned long)r.x1);
	return r.x1;
}

/* Notifications WAIT returned that no wait_for has consumed yet: one WAIT
 * may report several guests. The coop systems have fewer than
 * EXO_WAIT_WINDOW guests: WAIT's first window holds all their ids. */
static uint64_t notified;

static void wait_for(uint64_t vm)
{
	uint64_t bit = 1ull << vm;

	while (!(notified & bit)) {
		struct exo_ret w = exo_wait();

		if (w.x1 && w.x2 == 0)
			notified |= w.x1;
	}
	notified &= ~bit;
}

static void wait_until_gone(const char *name)
{
	while (exo_vm_lookup(name).status == EXO_OK)
		exo_yield();
}

/* --- the owner ------------------------------------------------------------ */

/* A 2 MiB block whose upper half is given to b and whose lower half is
 * shared RW with it: one block in b's stage 2, of two origins. */
static uint64_t offer_block(uint64_t b, unsigned index)
{
	struct exo_ret a = exo_frame_alloc(BLOCK_FRAMES, BLOCK_ALIGN_LOG2);
	volatile struct mailbox *mb;

	if (a.status != EXO_OK)
		return 0;
	mb = pa_map(a.x1, FRAME);
	*mb = (struct mailbox){ MAGIC, a.x1 + HALF * FRAME, index };
	if (exo_frame_donate(a.x1 + HALF * FRAME, HALF, b) != EXO_OK ||
	    exo_frame_share(a.x1, HALF, b, EXO_SHARE_RW) != EXO_OK)
		return 0;
	return a.x1;
}

static int owner(void)
{
	uint64_t b[NR_BORROWERS], block[NR_BORROWERS][BLOCKS];
	uint64_t hog = peer("hog");
	bool all = true;

	/* A borrower at a time: its 2 * BLOCKS offers fill the owner's
	 * table of offers until it accepts them. */
	for (unsigned i = 0; i < NR_BORROWERS; i++) {
		b[i] = peer(borrower_names[i]);
		for (unsigned k = 0; k < BLOCKS; k++) {
			block[i][k] = offer_block(b[i], k);
			all &= block[i][k] != 0;
		}
		exo_notify(b[i]);
		wait_for(b[i]);
	}
	TAP_CHECK(all, "shared half of %u blocks with each of %u borrowers",
		  BLOCKS, NR_BORROWERS);
	/* Each borrower has made its blocks whole and filled its quota: the
	 * owner still takes back a frame in the middle of each. */
	for (unsigned i = 0; i < NR_BORROWERS; i++) {
		for (unsigned k = 0; k < TAKE_BACK; k++) {
			int64_t rc = exo_frame_unshare(block[i][k] + FRAME, 1,
						       b[i]);

			TAP_CHECK(rc == EXO_OK, "took back a frame of block %u "
				  "from %s at its quota: %ld", k,
				  borrower_names[i], (long)rc);
		}
		exo_notify(b[i]);
	}
	exo_notify(hog);
	wait_for(hog);
	/* RAM is gone: ending now splits BLOCKS - TAKE_BACK blocks in each
	 * borrower's stage 2, with no FREE frame and every borrower at its
	 * quota. */
	return tap_done();
}

/* --- the borrowers -------------------------------------------------------- */

/* Every block the owner offered this borrower, by its mailbox's index. */
static unsigned find_blocks(uint64_t *lower)
{
	unsigned found = 0;

	for (uint64_t f = 0; f < SCAN_FRAMES && found < BLOCKS;
	     f += BLOCK_FRAMES) {
		uint64_t pa = SCAN_FROM + f * FRAME;
		struct exo_ret q = exo_frame_query(pa);
		volatile struct mailbox *mb;

		if (q.status != EXO_OK || q.x1 != EXO_FRAME_SHARED || !q.x2)
			continue;
		mb = (volatile struct mailbox *)pa_ptr(pa);
		if (mb->magic != MAGIC || mb->index >= BLOCKS ||
		    mb->upper != pa + HALF * FRAME)
			continue;
		lower[mb->index] = pa;
		found++;
	}
	return found;
}

static unsigned fill_quota(void)
{
	unsigned n = 0;

	while (exo_frame_alloc(1, 0).status == EXO_OK)
		n++;
	return n;
}

static int borrower(void)
{
	uint64_t o = peer("owner"), lower[BLOCKS] = { 0 };
	struct exo_ret info;
	unsigned found, taken = 0, before;

	faultcatch_install();
	wait_for(o);
	TAP_CHECK(accept_from(o) == 2 * BLOCKS,
		  "accepted the owner's %u offers", 2 * BLOCKS);
	found = find_blocks(lower);
	TAP_CHECK(found == BLOCKS, "found my %u blocks (%u)", BLOCKS, found);
	for (unsigned k = 0; k < found; k++) {
		struct exo_ret q = exo_frame_query(lower[k] + HALF * FRAME);

		taken += q.status == EXO_OK && q.x1 == EXO_FRAME_OWNED && q.x2;
	}
	TAP_CHECK(taken == found, "was given the upper half of each");
	TAP_CHECK(fill_quota() > 0, "filled my quota");
	info = exo_vm_info();
	/* The last single frame may fail for want of its table page. */
	TAP_CHECK(info.x2 - info.x3 <= QUOTA_SLACK, "charged all but %lu of "
		  "my quota %lu", (unsigned long)(info.x2 - info.x3),
		  (unsigned long)info.x2);
	exo_notify(o);
	wait_for(o);
	before = caught.count;
	probe_read(lower[0] + FRAME);
	TAP_CHECK(faultcatch_external(before, lower[0] + FRAME),
		  "the frame taken back is out of reach");
	TAP_CHECK(pa_ptr(lower[0])[0] == MAGIC,
		  "the rest of that block is still shared");
	wait_until_gone("owner");
	info = exo_vm_info();
	TAP_CHECK(info.x3 <= info.x2, "after the owner's end: charged %lu, "
		  "quota %lu", (unsigned long)info.x3, (unsigned long)info.x2);
	for (unsigned k = 0; k < found; k++) {
		volatile uint64_t *own = pa_ptr(lower[k] + HALF * FRAME);

		own[0] = k;
		TAP_CHECK(own[0] == k, "block %u: my half is still mine", k);
	}
	before = caught.count;
	probe_read(lower[BLOCKS - 1]);
	TAP_CHECK(faultcatch_external(before, lower[BLOCKS - 1]),
		  "the owner's half went with the owner");
	return tap_done();
}

/* --- the hog -------------------------------------------------------------- */

static uint64_t take_everything(void)
{
	uint64_t taken = 0;

	for (uint64_t chunk = HOG_CHUNK; chunk;) {
		if (exo_frame_alloc(chunk, 0).status == EXO_OK)
			taken += chunk;
		else
			chunk /= 2;
	}
	return taken;
}

static int hog(void)
{
	uint64_t o = peer("owner");
	struct exo_ret a;

	wait_for(o);
	TAP_CHECK(take_everything() > 0, "took every frame EL2 would give");
	a = exo_frame_alloc(1, 0);
	TAP_CHECK(a.status == EXO_ENOMEM, "RAM is exhausted: %ld",
		  (long)a.status);
	exo_notify(o);
	wait_until_gone("owner");
	for (unsigned i = 0; i < NR_BORROWERS; i++)
		wait_until_gone(borrower_names[i]);
	return tap_done();
}

/* --- one guest shares all it can; another pair still shares ------------- */

/* Offers runs of `chunk` frames to the taker, which accepts each, halving
 * the run when one cannot be had or shared, down to single frames: until
 * nothing more can be shared. */
static uint64_t share_until_refused(uint64_t taker)
{
	uint64_t shared = 0;

	for (uint64_t chunk = SHARE_ALL_CHUNK; chunk;) {
		struct exo_ret a = exo_frame_alloc(chunk, 0);
		bool ok = a.status == EXO_OK &&
			  exo_frame_share(a.x1, chunk, taker, EXO_SHARE_R) ==
				  EXO_OK;

		if (ok) {
			exo_notify(taker);
			wait_for(taker);
			ok = exo_frame_query(a.x1).x1 == EXO_FRAME_SHARED;
		}
		if (ok) {
			shared += chunk;
			continue;
		}
		if (a.status == EXO_OK) {
			exo_frame_unshare(a.x1, chunk, taker); /* the offer */
			exo_frame_free(a.x1, chunk);
		}
		chunk /= 2;
	}
	return shared;
}

static int share_all(void)
{
	uint64_t taker = peer("taker"), pair = peer("pair-a");
	uint64_t shared = share_until_refused(taker);

	/* More than the old global pool held for all guests together (one
	 * record per 16 frames: 16385 for 1 GiB): only my quota stops me. */
	TAP_CHECK(shared >= SHARE_ALL_MIN, "shared %lu frames, all my quota "
		  "would hold", (unsigned long)shared);
	exo_notify(pair);
	wait_for(pair);
	return tap_done();
}

/* Accepts what share-all offers, a run at a time, until it has gone. */
static int taker(void)
{
	struct libos_offer o;

	while (libos_offer_wait("share-all", LIBOS_OFFER_ANY_KIND, &o) ==
	       EXO_OK) {
		libos_accept(o.sender, o.pa, o.count, (unsigned)o.kind);
		exo_notify(o.sender);
	}
	return 0;
}

static int pair_a(void)
{
	uint64_t all = peer("share-all"), b = peer("pair-b");
	struct exo_ret a;

	wait_for(all);
	a = exo_frame_alloc(1, 0);
	TAP_CHECK(a.status == EXO_OK &&
			  exo_frame_share(a.x1, 1, b, EXO_SHARE_RW) == EXO_OK,
		  "offered pair-b a frame");
	exo_notify(b);
	wait_for(b);
	TAP_CHECK(a.status == EXO_OK &&
			  exo_frame_query(a.x1).x1 == EXO_FRAME_SHARED,
		  "a share between two other guests still succeeds");
	exo_notify(b);   /* pair-b may go: its end ends the share */
	exo_notify(all);
	return tap_done();
}

static int pair_b(void)
{
	uint64_t a = peer("pair-a");

	wait_for(a);
	TAP_CHECK(accept_from(a) == 1, "accepted pair-a's share");
	exo_notify(a);
	wait_for(a);
	return tap_done();
}

EL1_GUEST_OPTIONS("--owner", "--borrower", "--hog", "--share-all",
		  "--taker", "--pair-a", "--pair-b");

int main(int argc, char **argv)
{
	static const struct {
		const char *arg;
		int (*role)(void);
	} roles[] = {
		{ "--owner", owner },	      { "--borrower", borrower },
		{ "--hog", hog },	      { "--share-all", share_all },
		{ "--taker", taker },	      { "--pair-a", pair_a },
		{ "--pair-b", pair_b },
	};

	for (unsigned i = 0; argc > 1 && i < sizeof(roles) / sizeof(roles[0]);
	     i++) {
		if (!strcmp(argv[1], roles[i].arg))
			return roles[i].role();
	}
	return 2;
}
