/*
 * attack_mem: memory attacks on target (tests/target/test_attacks.py).
 * "--attacker" reads, writes and executes by physical address every other
 * guest's frames and EL2's (image, frame DB, stage-2 tables, host DTB, boot
 * package), found with FRAME_QUERY; then feeds every frame hypercall the
 * frames it must not touch and the arguments it must not pass (foreign,
 * EL2's, MMIO, outside RAM, unaligned, zero and huge counts, overflow
 * across the end of RAM and 2^64, double free, free of a lent or shared
 * frame, to itself, to an unknown id, to a guest not in share-with).
 * "--peer" is the guest it shares and lends with: it attacks from the
 * borrower's side (free, lend, donate, share onward, unshare, reclaim what
 * it only borrows) and lends the attacker a frame of its own to attack.
 * Every case is one TAP line: what was tried, what happened.
 */
#include <el1/el1.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <string.h>

#include "../accept.h"
#include "../attack.h"

#define MAGIC 0x61747461636b6d62ull   /* "attackmb" */
#define PEER_WORD 0x7065657270656572ull
#define OWN_WORD 0x6f776e6f776e6f77ull
#define MAX_RUNS 32
#define BOOT_STRIDE 64   /* frames */

struct mailbox {
	uint64_t magic, lent, peer_frame, peer_checks;
};

struct run {
	uint64_t pa, count;
};

static struct run foreign[MAX_RUNS], hyp[MAX_RUNS];
static unsigned nr_foreign, nr_hyp;
static uint64_t top;          /* end of RAM */
static uint64_t top_hyp;      /* the highest EL2 frame: a stage-2 table */
static uint64_t db;           /* the last frame of EL2's image + frame DB */

static void note(struct run *runs, unsigned *nr, uint64_t pa)
{
	if (*nr && runs[*nr - 1].pa + runs[*nr - 1].count * FRAME == pa) {
		runs[*nr - 1].count++;
		return;
	}
	if (*nr < MAX_RUNS)
		runs[(*nr)++] = (struct run){ pa, 1 };
}

/* Frames by FRAME_QUERY: the runs others own, and EL2's. */
static void survey(uint64_t from, uint64_t to)
{
	for (uint64_t pa = from; pa < to; pa += FRAME) {
		bool mine;
		int64_t st = frame_state(pa, &mine);

		if (mine)
			continue;
		if (st == EXO_FRAME_OWNED || st == EXO_FRAME_SHARED ||
		    st == EXO_FRAME_LENT)
			note(foreign, &nr_foreign, pa);
		else if (st == EXO_FRAME_HYP)
			note(hyp, &nr_hyp, pa);
		if (st == EXO_FRAME_HYP)
			top_hyp = pa;
	}
}

/* The frame DB lies right after EL2's image: the end of that run. */
static void find_db(void)
{
	for (db = EL2_IMAGE; ; db += FRAME) {
		bool mine;

		if (frame_state(db + FRAME, &mine) != EXO_FRAME_HYP)
			break;
	}
}

static void by_address(uint64_t pa, const char *what)
{
	bool mine;

	frame_state(pa, &mine);
	if (mine) {
		TAP_CHECK(true, "# SKIP %s 0x%lx became mine", what,
			  (unsigned long)pa);
		return;
	}
	TAP_CHECK(read_aborts(pa), "read of %s 0x%lx: external abort", what,
		  (unsigned long)pa);
	TAP_CHECK(write_aborts(pa + 8, 0xbadbad), "write of %s 0x%lx: external abort",
		  what, (unsigned long)pa);
	TAP_CHECK(exec_aborts(pa), "execute of %s 0x%lx: external abort", what,
		  (unsigned long)pa);
}

#define EXPECT(call, want, ...)                                              \
	do {                                                                 \
		int64_t got_ = (call);                                       \
		TAP_CHECK(got_ == (want), __VA_ARGS__);                      \
		if (got_ != (want))                                          \
			kprintf("#   got %ld, wanted %ld (%s)\n", (long)got_,   \
				(long)(want), #want);                        \
	} while (0)

static void alloc_at_attacks(uint64_t x, uint64_t db, uint64_t table,
			     uint64_t own, uint64_t fr)
{
	EXPECT(exo_frame_alloc_at(x, 1), EXO_EBUSY,
	       "FRAME_ALLOC_AT of the peer's frame: EBUSY");
	EXPECT(exo_frame_alloc_at(own, 1), EXO_EBUSY,
	       "FRAME_ALLOC_AT of my own frame: EBUSY");
	EXPECT(exo_frame_alloc_at(EL2_IMAGE, 1), EXO_EHYP,
	       "FRAME_ALLOC_AT of EL2's image: EHYP");
	EXPECT(exo_frame_alloc_at(db, 1), EXO_EHYP,
	       "FRAME_ALLOC_AT of EL2's frame DB 0x%lx: EHYP", (unsigned long)db);
	EXPECT(exo_frame_alloc_at(table, 1), EXO_EHYP,
	       "FRAME_ALLOC_AT of a stage-2 table frame 0x%lx: EHYP",
	       (unsigned long)table);
	EXPECT(exo_frame_alloc_at(HOST_DTB, 1), EXO_EHYP,
	       "FRAME_ALLOC_AT of the host DTB: EHYP");
	EXPECT(exo_frame_alloc_at(BOOT_PKG, 1), EXO_EHYP,
	       "FRAME_ALLOC_AT of the boot package: EHYP");
	EXPECT(exo_frame_alloc_at(0x08000000ul, 1), EXO_ERANGE,
	       "FRAME_ALLOC_AT of the GIC distributor: ERANGE");
	EXPECT(exo_frame_alloc_at(0x09000000ul, 1), EXO_ERANGE,
	       "FRAME_ALLOC_AT of the PL011: ERANGE");
	EXPECT(exo_frame_alloc_at(0, 1), EXO_ERANGE,
	       "FRAME_ALLOC_AT of PA 0: ERANGE");
	EXPECT(exo_frame_alloc_at(top, 1), EXO_ERANGE,
	       "FRAME_ALLOC_AT at the end of RAM: ERANGE");
	EXPECT(exo_frame_alloc_at(1ul << 40, 1), EXO_ERANGE,
	       "FRAME_ALLOC_AT at 1 TiB: ERANGE");
	EXPECT(exo_frame_alloc_at(fr + 0x800, 1), EXO_ERANGE,
	       "FRAME_ALLOC_AT unaligned: ERANGE");
	EXPECT(exo_frame_alloc_at(fr, 0), EXO_EINVAL,
	       "FRAME_ALLOC_AT of 0 frames: EINVAL");
	EXPECT(exo_frame_alloc_at(fr, EXO_FRAME_MAX_COUNT + 1), EXO_EINVAL,
	       "FRAME_ALLOC_AT of 2^20 + 1 frames: EINVAL");
	EXPECT(exo_frame_alloc_at(fr, ~0ul), EXO_EINVAL,
	       "FRAME_ALLOC_AT of 2^64 - 1 frames: EINVAL");
	EXPECT(exo_frame_alloc_at(top - FRAME, 2), EXO_ERANGE,
	       "FRAME_ALLOC_AT across the end of RAM: ERANGE");
	EXPECT(exo_frame_alloc_at(RAM_BASE, EXO_FRAME_MAX_COUNT), EXO_ERANGE,
	       "FRAME_ALLOC_AT of 4 GiB from the RAM base: ERANGE");
	EXPECT(exo_frame_alloc_at(0xfffffffffffff000ul, 2), EXO_ERANGE,
	       "FRAME_ALLOC_AT across 2^64: ERANGE");
	EXPECT(exo_frame_alloc_at(0xfffffffffff00000ul, EXO_FRAME_MAX_COUNT),
	       EXO_ERANGE, "FRAME_ALLOC_AT of 2^20 frames wrapping 2^64: ERANGE");
}

static void free_attacks(uint64_t x, uint64_t db, uint64_t table,
			 uint64_t shared, uint64_t lent, uint64_t fr)
{
	EXPECT(exo_frame_free(x, 1), EXO_EPERM, "FRAME_FREE of the peer's frame: EPERM");
	EXPECT(exo_frame_free(EL2_IMAGE, 1), EXO_EHYP,
	       "FRAME_FREE of EL2's image: EHYP");
	EXPECT(exo_frame_free(db, 1), EXO_EHYP, "FRAME_FREE of the frame DB: EHYP");
	EXPECT(exo_frame_free(table, 1), EXO_EHYP,
	       "FRAME_FREE of a stage-2 table frame: EHYP");
	EXPECT(exo_frame_free(0x08000000ul, 1), EXO_ERANGE,
	       "FRAME_FREE of the GIC distributor: ERANGE");
	EXPECT(exo_frame_free(0, 1), EXO_ERANGE, "FRAME_FREE of PA 0: ERANGE");
	EXPECT(exo_frame_free(top, 1), EXO_ERANGE,
	       "FRAME_FREE at the end of RAM: ERANGE");
	EXPECT(exo_frame_free(fr + 8, 1), EXO_ERANGE, "FRAME_FREE unaligned: ERANGE");
	EXPECT(exo_frame_free(fr, ~0ul), EXO_EINVAL,
	       "FRAME_FREE of 2^64 - 1 frames: EINVAL");
	EXPECT(exo_frame_free(top - FRAME, 2), EXO_ERANGE,
	       "FRAME_FREE across the end of RAM: ERANGE");
	EXPECT(exo_frame_free(0xfffffffffffff000ul, 2), EXO_ERANGE,
	       "FRAME_FREE across 2^64: ERANGE");
	EXPECT(exo_frame_free(fr, 1), EXO_EPERM, "FRAME_FREE of a free frame: EPERM");
	EXPECT(exo_frame_free(lent, 1), EXO_ELENT,
	       "FRAME_FREE of a frame lent away: ELENT");
	EXPECT(exo_frame_free(shared, 1), EXO_ESHARED,
	       "FRAME_FREE of a frame shared out: ESHARED");
}

/* Ranges are all or nothing: a refused frame anywhere changes nothing. */
static void all_or_nothing(void)
{
	struct exo_ret a = exo_frame_alloc(2, 1);
	bool mine;

	TAP_CHECK(a.status == EXO_OK, "took 2 frames at 0x%lx", (unsigned long)a.x1);
	if (a.status != EXO_OK)
		return;
	EXPECT(exo_frame_free(a.x1, 1), EXO_OK, "freed the first");
	EXPECT(exo_frame_free(a.x1, 1), EXO_EPERM, "double free: EPERM");
	EXPECT(exo_frame_alloc_at(a.x1, 2), EXO_EBUSY,
	       "FRAME_ALLOC_AT of [free, mine]: EBUSY");
	TAP_CHECK(frame_state(a.x1, &mine) == EXO_FRAME_FREE && !mine,
		  "and the free frame stayed FREE");
	EXPECT(exo_frame_free(a.x1, 2), EXO_EPERM, "FRAME_FREE of [free, mine]: EPERM");
	TAP_CHECK(frame_state(a.x1 + FRAME, &mine) == EXO_FRAME_OWNED && mine,
		  "and my frame stayed mine");
	EXPECT(exo_frame_free(a.x1 + FRAME, 1), EXO_OK, "freed the second");
}

static void query_attacks(uint64_t x, uint64_t db, uint64_t table)
{
	bool mine;

	TAP_CHECK(frame_state(x, &mine) == EXO_FRAME_OWNED && !mine,
		  "FRAME_QUERY of the peer's frame: OWNED, no access");
	TAP_CHECK(frame_state(db, &mine) == EXO_FRAME_HYP && !mine,
		  "FRAME_QUERY of the frame DB: HYP, no access");
	TAP_CHECK(frame_state(table, &mine) == EXO_FRAME_HYP && !mine,
		  "FRAME_QUERY of a stage-2 table: HYP, no access");
	EXPECT(frame_state(0x08000000ul, &mine), EXO_ERANGE,
	       "FRAME_QUERY of the GIC distributor: ERANGE");
	EXPECT(frame_state(1ul << 40, &mine), EXO_ERANGE,
	       "FRAME_QUERY at 1 TiB: ERANGE");
	EXPECT(frame_state(0xfffffffffffff000ul, &mine), EXO_ERANGE,
	       "FRAME_QUERY at 2^64 - 4 KiB: ERANGE");
}

static void between_attacks(uint64_t me, uint64_t p, uint64_t x, uint64_t db,
			    uint64_t table, uint64_t own, uint64_t shared,
			    uint64_t lent)
{
	uint64_t hw = exo_vm_lookup("hw").x1;

	EXPECT(exo_frame_share(x, 1, p, EXO_SHARE_RW), EXO_EPERM,
	       "FRAME_SHARE of the peer's frame back to it: EPERM");
	EXPECT(exo_frame_lend(x, 1, p), EXO_EPERM, "FRAME_LEND of the peer's frame: EPERM");
	EXPECT(exo_frame_donate(x, 1, p), EXO_EPERM,
	       "FRAME_DONATE of the peer's frame: EPERM");
	EXPECT(exo_frame_unshare(x, 1, p), EXO_EPERM,
	       "FRAME_UNSHARE of the peer's frame: EPERM");
	EXPECT(exo_frame_reclaim(x, 1, p), EXO_EPERM,
	       "FRAME_RECLAIM of the peer's frame: EPERM");
	EXPECT(exo_frame_share(db, 1, p, EXO_SHARE_R), EXO_EHYP,
	       "FRAME_SHARE of the frame DB: EHYP");
	EXPECT(exo_frame_lend(EL2_IMAGE, 1, p), EXO_EHYP,
	       "FRAME_LEND of EL2's image: EHYP");
	EXPECT(exo_frame_donate(table, 1, p), EXO_EHYP,
	       "FRAME_DONATE of a stage-2 table: EHYP");
	EXPECT(exo_frame_share(0x08000000ul, 16, p, EXO_SHARE_RW), EXO_ERANGE,
	       "FRAME_SHARE of the GIC distributor: ERANGE");
	EXPECT(exo_frame_donate(0x09000000ul, 1, p), EXO_ERANGE,
	       "FRAME_DONATE of the PL011: ERANGE");
	EXPECT(exo_frame_lend(0, 1, p), EXO_ERANGE, "FRAME_LEND of PA 0: ERANGE");
	EXPECT(exo_frame_share(own, 1, me, EXO_SHARE_RW), EXO_EINVAL,
	       "FRAME_SHARE to myself: EINVAL");
	EXPECT(exo_frame_lend(own, 1, me), EXO_EINVAL, "FRAME_LEND to myself: EINVAL");
	EXPECT(exo_frame_donate(own, 1, me), EXO_EINVAL,
	       "FRAME_DONATE to myself: EINVAL");
	EXPECT(exo_frame_share(own, 1, 63, EXO_SHARE_R), EXO_ENOENT,
	       "FRAME_SHARE to VM 63 (nobody): ENOENT");
	EXPECT(exo_frame_lend(own, 1, 0), EXO_ENOENT, "FRAME_LEND to VM 0 (EL2): ENOENT");
	EXPECT(exo_frame_donate(own, 1, 64), EXO_ENOENT,
	       "FRAME_DONATE to VM 64 (past the table): ENOENT");
	EXPECT(exo_frame_share(own, 1, (1ul << 32) | p, EXO_SHARE_R), EXO_ENOENT,
	       "FRAME_SHARE to 2^32 + the peer's id (no truncation): ENOENT");
	EXPECT(exo_frame_donate(own, 1, ~0ul), EXO_ENOENT,
	       "FRAME_DONATE to VM 2^64 - 1: ENOENT");
	EXPECT(exo_frame_share(own, 1, hw, EXO_SHARE_R), EXO_EDENIED,
	       "FRAME_SHARE to a guest not in share-with: EDENIED");
	EXPECT(exo_frame_lend(own, 1, hw), EXO_EDENIED,
	       "FRAME_LEND to a guest not in share-with: EDENIED");
	EXPECT(exo_frame_donate(own, 1, hw), EXO_EDENIED,
	       "FRAME_DONATE to a guest not in share-with: EDENIED");
	EXPECT(exo_frame_share(own, 1, p, 0), EXO_EINVAL,
	       "FRAME_SHARE with permission 0: EINVAL");
	EXPECT(exo_frame_share(own, 1, p, 4), EXO_EINVAL,
	       "FRAME_SHARE with permission 4: EINVAL");
	EXPECT(exo_frame_share(own + 4, 1, p, EXO_SHARE_R), EXO_ERANGE,
	       "FRAME_SHARE unaligned: ERANGE");
	EXPECT(exo_frame_lend(own, 0, p), EXO_EINVAL, "FRAME_LEND of 0 frames: EINVAL");
	EXPECT(exo_frame_donate(0xfffffffffffff000ul, 2, p), EXO_ERANGE,
	       "FRAME_DONATE across 2^64: ERANGE");
	EXPECT(exo_frame_share(top - FRAME, 2, p, EXO_SHARE_R), EXO_ERANGE,
	       "FRAME_SHARE across the end of RAM: ERANGE");
	EXPECT(exo_frame_share(shared, 1, p, EXO_SHARE_R), EXO_ESTATE,
	       "FRAME_SHARE again to the same borrower: ESTATE");
	EXPECT(exo_frame_lend(shared, 1, p), EXO_ESHARED,
	       "FRAME_LEND of a shared frame: ESHARED");
	EXPECT(exo_frame_donate(shared, 1, p), EXO_ESHARED,
	       "FRAME_DONATE of a shared frame: ESHARED");
	EXPECT(exo_frame_share(lent, 1, p, EXO_SHARE_R), EXO_ELENT,
	       "FRAME_SHARE of a lent frame: ELENT");
	EXPECT(exo_frame_lend(lent, 1, p), EXO_ELENT,
	       "FRAME_LEND of a lent frame again: ELENT");
	EXPECT(exo_frame_donate(lent, 1, p), EXO_ELENT,
	       "FRAME_DONATE of a lent frame: ELENT");
	EXPECT(exo_frame_unshare(own, 1, p), EXO_ESTATE,
	       "FRAME_UNSHARE of a frame not shared: ESTATE");
	EXPECT(exo_frame_reclaim(own, 1, p), EXO_ESTATE,
	       "FRAME_RECLAIM of a frame not lent: ESTATE");
	EXPECT(exo_notify(me), EXO_EINVAL, "NOTIFY myself: EINVAL");
	EXPECT(exo_notify(63), EXO_ENOENT, "NOTIFY VM 63 (nobody): ENOENT");
	EXPECT(exo_notify(hw), EXO_EDENIED, "NOTIFY a guest not in share-with: EDENIED");
}

static void other_calls(void)
{
	EXPECT(exo_call1(EXO_HVC_CONSOLE_WRITE, 1ul << 63).status, EXO_EINVAL,
	       "CONSOLE_WRITE of 2^63 bytes: EINVAL");
	EXPECT(exo_call2(EXO_HVC_VM_LOOKUP, 0x6161616161616161ul,
			 0x6161616161616161ul).status, EXO_ENOENT,
	       "VM_LOOKUP of 16 bytes without a NUL: ENOENT");
	EXPECT(exo_call1(EXO_HVC_REVOKED, ~0ul).status, EXO_ENOENT,
	       "REVOKED with index 2^64 - 1: ENOENT");
}

static int attacker(void)
{
	uint64_t me = exo_vm_info().x1, p, x, table, free_frame = 0, bad = 0;
	uint64_t spanned = 0;
	struct exo_ret a = exo_frame_alloc(4, 0);
	volatile struct mailbox *mb;
	volatile uint64_t *ownw;
	uint64_t shared = a.x1, lent = a.x1 + FRAME, own = a.x1 + 2 * FRAME;

	faultcatch_install();
	top = ram_end();
	/* First, while they have barely started: every other guest's boot
	 * run (they all lie in the first 48 MiB: after EL2's image, whose
	 * BSS has its per-guest arrays for 1,023 guests, about 14 MiB, and
	 * the frame DB). */
	survey(RAM_BASE, RAM_BASE + (48ul << 20));
	/* Adjacent runs of different owners look alike to FRAME_QUERY: one
	 * probe every 256 KiB hits each (a boot run is its image, its DTB and
	 * its boot frames: well over 64 frames). */
	for (unsigned i = 0; i < nr_foreign; i++) {
		for (uint64_t f = 0; f < foreign[i].count; f += BOOT_STRIDE)
			by_address(foreign[i].pa + f * FRAME, "a boot run");
		spanned += foreign[i].count;
	}
	TAP_CHECK(spanned >= 4 * (64 + 16), "attacked %lu frames of other guests' "
		  "boot runs", (unsigned long)spanned);
	nr_foreign = nr_hyp = 0;
	TAP_CHECK(a.status == EXO_OK, "own frames at 0x%lx; RAM ends at 0x%lx",
		  (unsigned long)a.x1, (unsigned long)top);
	p = exo_vm_lookup("peer").x1;
	mb = pa_map(shared, FRAME);
	ownw = pa_map(own, FRAME);
	for (unsigned i = 0; i < FRAME / 8; i++)
		ownw[i] = OWN_WORD;
	*mb = (struct mailbox){ MAGIC, lent, 0, 0 };
	EXPECT(exo_frame_share(shared, 1, p, EXO_SHARE_RW), EXO_OK, "shared a frame RW with the peer");
	EXPECT(exo_frame_lend(lent, 1, p), EXO_OK, "lent a frame to the peer");
	EXPECT(exo_notify(p), EXO_OK, "notified the peer");
	wait_notified(p);
	x = mb->peer_frame;
	TAP_CHECK(x != 0, "the peer put its own frame 0x%lx in the mailbox "
		  "after %lu borrower-side checks", (unsigned long)x,
		  (unsigned long)mb->peer_checks);

	/* Where guests and EL2's own structures live: the low 256 MiB (images,
	 * DB, boot package, guests' frames) and the top MiB (stage-2 tables). */
	survey(RAM_BASE, RAM_BASE + (256ul << 20));
	survey(top - (1ul << 20), top);
	find_db();
	for (unsigned i = 0; i < nr_hyp; i++)
		kprintf("# EL2 run 0x%lx, %lu frames\n", (unsigned long)hyp[i].pa,
			(unsigned long)hyp[i].count);
	for (unsigned i = 0; i < nr_foreign; i++)
		kprintf("# foreign run 0x%lx, %lu frames\n",
			(unsigned long)foreign[i].pa,
			(unsigned long)foreign[i].count);
	table = top_hyp;
	for (uint64_t f = top - 64 * FRAME; f > RAM_BASE && !free_frame; f -= FRAME) {
		bool mine;

		if (frame_state(f, &mine) == EXO_FRAME_FREE)
			free_frame = f;
	}
	TAP_CHECK(nr_foreign >= 3 && nr_hyp >= 3 && db && free_frame,
		  "survey: %u runs of other guests, %u of EL2, DB at 0x%lx, "
		  "table at 0x%lx", nr_foreign, nr_hyp, (unsigned long)db,
		  (unsigned long)table);

	by_address(x, "the peer's frame");
	for (unsigned i = 0; i < nr_foreign; i++)
		by_address(foreign[i].pa, "another guest's run");
	by_address(lent, "my frame lent away");
	by_address(HOST_DTB, "the host DTB");
	by_address(EL2_IMAGE, "EL2's image (text)");
	by_address(EL2_IMAGE + 0x10000ul, "EL2's image (+64 KiB)");
	by_address(db, "EL2's frame DB");
	by_address(BOOT_PKG, "the boot package");
	by_address(table, "a stage-2 table");

	alloc_at_attacks(x, db, table, own, free_frame);
	free_attacks(x, db, table, shared, lent, free_frame);
	all_or_nothing();
	query_attacks(x, db, table);
	between_attacks(me, p, x, db, table, own, shared, lent);
	other_calls();

	for (unsigned i = 0; i < FRAME / 8; i++)
		bad += ownw[i] != OWN_WORD;
	TAP_CHECK(bad == 0, "my own frame is intact (%lu bad words)",
		  (unsigned long)bad);
	EXPECT(exo_frame_reclaim(lent, 1, p), EXO_OK, "reclaimed the loan");
	EXPECT(exo_frame_unshare(shared, 1, p), EXO_OK, "unshared");
	EXPECT(exo_notify(p), EXO_OK, "told the peer to check its frame");
	return tap_done();
}

static int peer(void)
{
	uint64_t a = exo_vm_lookup("attacker").x1, x, lent, shared = 0, bad = 0;
	volatile struct mailbox *mb = NULL;
	volatile uint64_t *xw;
	struct exo_ret r;
	unsigned before;

	faultcatch_install();
	wait_notified(a);
	TAP_CHECK(accept_from(a) == 2, "accepted the attacker's share and loan");
	for (uint64_t pa = RAM_BASE; pa < RAM_BASE + (256ul << 20) && !mb;
	     pa += FRAME) {
		struct exo_ret q = exo_frame_query(pa);

		if (q.x1 == EXO_FRAME_SHARED && q.x2 && *pa_ptr(pa) == MAGIC) {
			mb = (volatile struct mailbox *)pa_ptr(pa);
			shared = pa;
		}
	}
	TAP_CHECK(mb != NULL, "found the attacker's mailbox");
	if (!mb)
		return tap_done();
	lent = mb->lent;
	before = tap_count;
	EXPECT(exo_frame_free(shared, 1), EXO_EPERM, "FRAME_FREE of a borrowed shared frame: EPERM");
	EXPECT(exo_frame_free(lent, 1), EXO_EPERM, "FRAME_FREE of a borrowed lent frame: EPERM");
	EXPECT(exo_frame_share(shared, 1, a, EXO_SHARE_RW), EXO_EPERM,
	       "FRAME_SHARE onward of a borrowed frame: EPERM");
	EXPECT(exo_frame_lend(lent, 1, a), EXO_EPERM, "FRAME_LEND onward of a borrowed frame: EPERM");
	EXPECT(exo_frame_donate(lent, 1, a), EXO_EPERM,
	       "FRAME_DONATE of a borrowed frame: EPERM");
	EXPECT(exo_frame_unshare(shared, 1, a), EXO_EPERM,
	       "FRAME_UNSHARE by the borrower: EPERM");
	EXPECT(exo_frame_reclaim(lent, 1, a), EXO_EPERM,
	       "FRAME_RECLAIM by the borrower: EPERM");
	EXPECT(exo_frame_alloc_at(shared, 1), EXO_EBUSY,
	       "FRAME_ALLOC_AT of a borrowed frame: EBUSY");
	r = exo_frame_alloc(1, 0);
	x = r.x1;
	TAP_CHECK(r.status == EXO_OK, "took a frame of my own at 0x%lx",
		  (unsigned long)x);
	xw = pa_map(x, FRAME);
	for (unsigned i = 0; i < FRAME / 8; i++)
		xw[i] = PEER_WORD;
	mb->peer_checks = tap_count - before;
	mb->peer_frame = x;
	EXPECT(exo_notify(a), EXO_OK, "told the attacker where it is");
	/* Not the first wake: the reclaim of the loan raises
	 * EXO_EVENT_RECLAIMED (a WAIT with no bit) before the unshare. */
	wait_notified(a);
	before = caught.count;
	(void)*(volatile uint64_t *)mb;
	TAP_CHECK(caught.count == before + 1,
		  "the unshared mailbox is out of reach again");
	for (unsigned i = 0; i < FRAME / 8; i++)
		bad += xw[i] != PEER_WORD;
	TAP_CHECK(bad == 0, "my frame is intact after the attacks (%lu bad words)",
		  (unsigned long)bad);
	pa_unmap(x, FRAME);
	EXPECT(exo_frame_free(x, 1), EXO_OK, "freed it");
	return tap_done();
}

EL1_GUEST_OPTIONS("--attacker", "--peer");

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--attacker"))
		return attacker();
	if (argc > 1 && !strcmp(argv[1], "--peer"))
		return peer();
	kprintf("usage: attack_mem --attacker | --peer\n");
	return 2;
}
