/*
 * soak --storm: one life of a storm guest. Each round picks a frame
 * hypercall at random (seeded: the boot's seed, this guest's VM id and its
 * life number) and checks the status against a model of the runs it holds:
 *   owned   -> FREE, SHARE (R or RW) with a peer, LEND to a peer, DONATE
 *   shared  -> UNSHARE          lent -> RECLAIM
 * Refusals a storm must expect are accepted only when they are explained:
 * EQUOTA/ENOMEM (someone's quota or EL2's pool is full), ENOENT (the peer
 * has ended or is restarting), ESTATE/ENOENT on UNSHARE/RECLAIM (the
 * borrower ended, so the frames came back: FRAME_QUERY must say they are
 * ours again), EPERM on an owned run (EL2 has just revoked its frames by
 * force: its REVOKED list must name them).
 * Anything else is a "soak: FAIL" line and a non-zero exit.
 *
 * SHARE, LEND and DONATE are offers (docs/abi.md, "Consent"): a storm's
 * policy is to accept, at its safe points, every other offer its peers
 * made it (a donation joins its runs, half the accepted shares are
 * dropped again at once); UNSHARE and RECLAIM succeed whether the offer
 * was accepted or only withdrawn.
 *
 * Fresh frames must read zero (EL2 scrubs every frame that leaves a guest,
 * whichever way: free, donate, teardown, restart, revocation); each gets a
 * tag, which a reclaimed loan must still hold.
 *
 * A life that is not the last ends with SYSTEM_RESET in the middle of its
 * storm (half the time after giving everything back, half the time still
 * holding shares and loans: the teardown must untangle them); the last
 * life exits the same two ways.
 *
 * Owns: the model of one life's runs, its checks and its report line.
 * Never: touches a frame it does not hold; waits for another guest.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <libos/libos.h>
#include <libos/mm/mm.h>

#include "../faultcatch.h"
#include "soak.h"

#define FRAME EXO_FRAME_SIZE
#define RUNS_MAX 48		/* runs held at once */
#define RUN_FRAMES_MAX 4	/* frames per FRAME_ALLOC */
#define DONATIONS_MAX 12	/* frames given away per life */
#define FAILS_PRINTED 8
#define TAG_BASE 0x534f414b00000000ull	/* "SOAK" */

enum kind { K_ALLOC, K_FREE, K_SHARE, K_UNSHARE, K_LEND, K_RECLAIM,
	    K_DONATE, K_KINDS };

static const char *const kind_name[K_KINDS] = {
	"alloc", "free", "share", "unshare", "lend", "reclaim", "donate",
};

/* Out of 100: what a round tries (when nothing fits, it allocates). */
static const unsigned kind_weight[K_KINDS] = { 26, 14, 16, 12, 14, 12, 6 };

enum run_state { RUN_UNUSED, RUN_OWNED, RUN_SHARED, RUN_LENT };

struct run {
	uint64_t pa;
	unsigned count;
	enum run_state state;
	unsigned peer;		/* index in storm.peers when shared or lent */
};

struct peer {
	uint64_t id;
	char name[8];
	bool gone;
};

static struct {
	const struct soak_args *a;
	unsigned life;
	uint64_t rng, seed, slice_ticks;
	unsigned long round;
	struct run runs[RUNS_MAX];
	struct peer peers[SOAK_STORMS_MAX];
	unsigned nr_peers, donated;
	unsigned long tried[K_KINDS], ok[K_KINDS];
	uint64_t worst_call[K_KINDS];
	unsigned long over_slice, fails, unchecked, revoked_frames;
	unsigned long accepted, dropped, refused;   /* offers made to it */
} s;

/* --- randomness (splitmix64) ----------------------------------------------- */

static uint64_t next(void)
{
	uint64_t z = (s.rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next() % n);
}

static enum kind pick_kind(void)
{
	unsigned w = pick(100), k = 0;

	while (k < K_KINDS - 1 && w >= kind_weight[k])
		w -= kind_weight[k++];
	return (enum kind)k;
}

/* --- calls, timed ------------------------------------------------------------ */

static const uint64_t kind_fid[K_KINDS] = {
	EXO_HVC_FRAME_ALLOC, EXO_HVC_FRAME_FREE, EXO_HVC_FRAME_SHARE,
	EXO_HVC_FRAME_UNSHARE, EXO_HVC_FRAME_LEND, EXO_HVC_FRAME_RECLAIM,
	EXO_HVC_FRAME_DONATE,
};

/* A call longer than a slice was preempted (or ran too long): counted
 * apart, so the worst call time is EL2's own. */
static struct exo_ret call(enum kind k, uint64_t a1, uint64_t a2, uint64_t a3,
			   uint64_t a4)
{
	uint64_t t0 = soak_now(), d;
	struct exo_ret r = exo_hvc(kind_fid[k], a1, a2, a3, a4, 0, 0, 0);

	d = soak_now() - t0;
	s.tried[k]++;
	s.ok[k] += r.status == EXO_OK;
	if (d > s.slice_ticks)
		s.over_slice++;
	else if (d > s.worst_call[k])
		s.worst_call[k] = d;
	return r;
}

static void fail(enum kind k, const struct run *r, int64_t status,
		 const char *why)
{
	if (s.fails++ < FAILS_PRINTED)
		kprintf("soak: FAIL %s life %u round %lu: %s 0x%lx+%u -> %ld: "
			"%s\n", s.a->name, s.life, s.round, kind_name[k],
			(unsigned long)r->pa, r->count, (long)status, why);
}

/* --- frame contents ---------------------------------------------------------- */

static uint64_t tag_of(uint64_t pa)
{
	return TAG_BASE ^ pa ^ s.seed;
}

static bool skip(void)
{
	s.unchecked++;
	return true;
}

/* A frame is skipped (counted unchecked) when the direct map refuses it
 * (libos has it mapped already) or when EL2 revoked it while it was being
 * read: the access aborted (faultcatch) and the values mean nothing. */
static bool checked(unsigned aborts_before, uint64_t pa)
{
	libos_dmap_unmap(pa, FRAME);
	if (caught.count == aborts_before)
		return true;
	s.unchecked++;
	return false;
}

/* Every word of a fresh frame is 0 (scrubbed); then it gets its tag. */
static bool fresh_then_tag(uint64_t pa)
{
	unsigned n = caught.count;
	volatile uint64_t *w;
	uint64_t dirty = 0;

	if (libos_dmap_map(pa, FRAME))
		return skip();
	w = libos_dmap_phys_to_virt(pa);
	for (unsigned i = 0; i < FRAME / 8; i++)
		dirty |= w[i];
	w[0] = tag_of(pa);
	return !checked(n, pa) || dirty == 0;
}

static bool still_tagged(uint64_t pa)
{
	unsigned n = caught.count;
	uint64_t word;

	if (libos_dmap_map(pa, FRAME))
		return skip();
	word = *(volatile uint64_t *)libos_dmap_phys_to_virt(pa);
	return !checked(n, pa) || word == tag_of(pa);
}

static bool run_all(const struct run *r, bool (*each)(uint64_t))
{
	bool ok = true;

	for (unsigned i = 0; i < r->count; i++)
		ok &= each(r->pa + (uint64_t)i * FRAME);
	return ok;
}

/* --- the model ---------------------------------------------------------------- */

static struct run *find(enum run_state st)
{
	unsigned start = pick(RUNS_MAX);

	for (unsigned i = 0; i < RUNS_MAX; i++) {
		struct run *r = &s.runs[(start + i) % RUNS_MAX];

		if (r->state == st)
			return r;
	}
	return NULL;
}

static struct peer *pick_peer(void)
{
	unsigned start = pick(s.nr_peers);

	for (unsigned i = 0; i < s.nr_peers; i++) {
		struct peer *p = &s.peers[(start + i) % s.nr_peers];

		if (!p->gone)
			return p;
	}
	return NULL;
}

/* Do the frames of r answer FRAME_QUERY with state, accessible? */
static bool frames_are(const struct run *r, unsigned state, bool access)
{
	for (unsigned i = 0; i < r->count; i++) {
		struct exo_ret q = exo_frame_query(r->pa + (uint64_t)i * FRAME);

		if (q.status != EXO_OK || q.x1 != state || (q.x2 != 0) != access)
			return false;
	}
	return true;
}

static bool pressure(int64_t st)
{
	return st == EXO_EQUOTA || st == EXO_ENOMEM;
}

/* ENOENT for a peer: it has ended (VM_LOOKUP: ENOENT, gone for good) or
 * it is restarting (docs/abi.md, "Bounded work per call": its old frames
 * are scrubbed before it runs again). Both are right, and a restart may
 * finish between the refused call and a VM_LOOKUP after it (the storm can
 * be descheduled in between), so the lookup cannot judge the refusal:
 * only an end is remembered. */
static void peer_refused(struct peer *p)
{
	if (exo_vm_lookup(p->name).status == EXO_ENOENT)
		p->gone = true;
}

/* --- revocation ---------------------------------------------------------------
 * The storm runs with IRQs masked, so EL2's event interrupt is taken only
 * at a safe point between rounds: first the storm reads the runs EL2 took
 * by force (REVOKED, before libos acknowledges them) and forgets them,
 * then libos handles the event (its pool gives back what it can, it
 * repairs and acknowledges), then the storm frees runs of its own for
 * what EL2 still asks. A request is a level of the charge (docs/abi.md,
 * "Revocation"): what the storm allocates meanwhile is asked back too, so
 * it frees until EVENTS asks nothing more. */

#define REVOKED_MAX 16
#define ISR_EL1_I (1u << 7)	/* an IRQ is pending */

static struct { uint64_t pa, count; } revoked[REVOKED_MAX];
static unsigned nr_revoked;

static bool irq_pending(void)
{
	uint64_t isr;

	__asm__ volatile("mrs %0, isr_el1" : "=r"(isr));
	return isr & ISR_EL1_I;
}

static bool was_revoked(uint64_t pa)
{
	for (unsigned i = 0; i < nr_revoked; i++)
		if (pa >= revoked[i].pa &&
		    pa < revoked[i].pa + revoked[i].count * FRAME)
			return true;
	return false;
}

/* One frame EL2 left of a run it took frames of: taken back from the
 * borrower if shared or lent (it may have ended: then it is owned again),
 * then freed. */
static bool free_left(const struct run *r, uint64_t pa)
{
	uint64_t peer = s.peers[r->peer].id;
	int64_t st = EXO_OK;

	if (r->state == RUN_SHARED)
		st = exo_frame_unshare(pa, 1, peer);
	else if (r->state == RUN_LENT)
		st = exo_frame_reclaim(pa, 1, peer);
	if (st != EXO_OK && exo_frame_query(pa).x1 != EXO_FRAME_OWNED)
		return false;
	return exo_frame_free(pa, 1) == EXO_OK;
}

/* A run EL2 took frames of (owned, shared out or lent out: forced
 * revocation reaches all three): the rest is taken back and freed, the run
 * forgotten. A run offered but not accepted is still owned: the offer is
 * withdrawn first (a whole-range UNSHARE/RECLAIM, which also takes back an
 * accepted run whole when EL2 took none of it from the borrower). */
static void forget_revoked(struct run *r)
{
	unsigned lost = 0;

	for (unsigned i = 0; i < r->count; i++)
		lost += was_revoked(r->pa + (uint64_t)i * FRAME);
	if (!lost)
		return;
	if (r->state == RUN_SHARED || r->state == RUN_LENT)
		exo_hvc(r->state == RUN_SHARED ? EXO_HVC_FRAME_UNSHARE
					       : EXO_HVC_FRAME_RECLAIM,
			r->pa, r->count, s.peers[r->peer].id, 0, 0, 0, 0);
	for (unsigned i = 0; i < r->count; i++) {
		uint64_t pa = r->pa + (uint64_t)i * FRAME;

		if (!was_revoked(pa) && !free_left(r, pa))
			fail(K_FREE, r, 0, "a frame EL2 left could not be freed");
	}
	s.revoked_frames += lost;
	r->state = RUN_UNUSED;
}

static void read_revoked(void)
{
	struct exo_ret r;

	nr_revoked = 0;
	while (nr_revoked < REVOKED_MAX &&
	       (r = exo_revoked(nr_revoked)).status == EXO_OK) {
		revoked[nr_revoked].pa = r.x1;
		revoked[nr_revoked++].count = r.x2;
	}
	for (unsigned i = 0; nr_revoked && i < RUNS_MAX; i++)
		if (s.runs[i].state != RUN_UNUSED)
			forget_revoked(&s.runs[i]);
}

static void op_free(struct run *r);
static void op_take_back(enum kind k, struct run *r);

/* An owned run, taking a shared or lent one back if there is none. */
static struct run *owned_run(void)
{
	struct run *r = find(RUN_OWNED);

	if (!r && (r = find(RUN_SHARED)))
		op_take_back(K_UNSHARE, r);
	else if (!r && (r = find(RUN_LENT)))
		op_take_back(K_RECLAIM, r);
	return r && r->state == RUN_OWNED ? r : NULL;
}

/* What libos's pool could not give, the storm gives from its runs, then
 * lets libos read EVENTS again (its pool may give more): until EL2 asks
 * nothing more, or an event waits for the next safe point (REVOKED runs
 * are read before libos acknowledges them). */
static void comply(void)
{
	struct libos_event_stats e;
	struct run *r;

	libos_event_stats(&e);
	while (e.want_left && !irq_pending() && (r = owned_run())) {
		op_free(r);
		libos_events_handle();
		libos_event_stats(&e);
	}
}

/* --- offers made to this storm -------------------------------------------- */

/* A donated frame holds the sender's tag: it gets this storm's, which a
 * later loan of it must keep. */
static bool retag(uint64_t pa)
{
	unsigned n = caught.count;

	if (libos_dmap_map(pa, FRAME))
		return skip();
	*(volatile uint64_t *)libos_dmap_phys_to_virt(pa) = tag_of(pa);
	return checked(n, pa);
}

static void keep_donation(uint64_t pa, uint64_t count)
{
	struct run *r = find(RUN_UNUSED);

	if (r && count <= RUN_FRAMES_MAX) {
		*r = (struct run){ pa, (unsigned)count, RUN_OWNED, 0 };
		run_all(r, retag);
	} else if (exo_frame_free(pa, count) != EXO_OK)
		fail(K_FREE, &(struct run){ pa, (unsigned)count, RUN_OWNED, 0 },
		     0, "an accepted donation could not be freed");
}

/* An accept may fail for what the storm lacks (quota, RAM) or because
 * the frames are no longer as offered (EL2 revoked them from the sender,
 * which then withdrew the offer: ENOENT); nothing else. */
static void accept_one(void)
{
	struct exo_ret o = exo_frame_offer(0);
	unsigned kind = (unsigned)EXO_OFFER_KIND(o.x1);
	uint64_t from = EXO_OFFER_SENDER(o.x1);
	struct run r = { o.x2, (unsigned)o.x3, RUN_UNUSED, 0 };
	int64_t st;

	if (o.status != EXO_OK)
		return;
	st = exo_frame_accept(o.x2, o.x3, from, kind);
	if (st == EXO_OK) {
		s.accepted++;
		if (kind == EXO_OFFER_DONATE)
			keep_donation(o.x2, o.x3);
		else if (kind != EXO_OFFER_LEND && pick(2)) {
			st = exo_frame_drop(o.x2, o.x3, from);
			s.dropped += st == EXO_OK;
			/* Refused only if the owner lost the frames since
			 * (its forced revocation reaches shared frames):
			 * they are not SHARED any more. */
			if (st != EXO_OK && st != EXO_ESTATE && st != EXO_ENOENT &&
			    exo_frame_query(o.x2).x1 == EXO_FRAME_SHARED)
				fail(K_UNSHARE, &r, st, "a drop was refused");
		}
	} else if (pressure(st) || st == EXO_ENOENT || st == EXO_EPERM ||
		   st == EXO_ESTATE) {
		s.refused++;
	} else {
		fail(K_ALLOC, &r, st, "an accept was refused for no reason");
	}
}

static void safe_point(void)
{
	accept_one();
	if (irq_pending()) {
		read_revoked();
		__asm__ volatile("msr daifclr, #2; isb; msr daifset, #2"
				 : : : "memory");
	}
	comply();
}

/* EPERM on a run the model says is owned is right only if EL2 has just
 * taken some of its frames (its event is pending then). */
static void owned_refused(enum kind k, struct run *r, int64_t st)
{
	if (st == EXO_EPERM && irq_pending()) {
		safe_point();
		if (r->state == RUN_UNUSED)
			return;
	}
	fail(k, r, st, "refused on a run the model says is owned");
}

/* --- the operations ---------------------------------------------------------- */

static void op_alloc(void)
{
	struct run *r = find(RUN_UNUSED);
	unsigned n = 1 + pick(RUN_FRAMES_MAX);
	struct exo_ret a;

	if (!r)
		return;
	a = call(K_ALLOC, n, 0, 0, 0);
	if (a.status != EXO_OK) {
		if (!pressure(a.status))
			fail(K_ALLOC, &(struct run){ 0, n, RUN_UNUSED, 0 }, a.status,
			     "alloc refused for no reason");
		return;
	}
	*r = (struct run){ a.x1, n, RUN_OWNED, 0 };
	if (!run_all(r, fresh_then_tag))
		fail(K_ALLOC, r, 0, "a fresh frame was not zero (not scrubbed)");
}

static void op_free(struct run *r)
{
	int64_t st = call(K_FREE, r->pa, r->count, 0, 0).status;

	if (st == EXO_OK)
		r->state = RUN_UNUSED;
	else
		owned_refused(K_FREE, r, st);
}

/* SHARE, LEND or DONATE of an owned run to a peer. */
static void op_give(enum kind k, struct run *r)
{
	struct peer *p = pick_peer();
	unsigned perm = pick(2) ? EXO_SHARE_RW : EXO_SHARE_R;
	int64_t st;

	if (!p || (k == K_DONATE && (r->count > 1 ||
				     s.donated >= DONATIONS_MAX)))
		return;
	st = call(k, r->pa, r->count, p->id, k == K_SHARE ? perm : 0).status;
	if (st == EXO_OK) {
		r->peer = (unsigned)(p - s.peers);
		r->state = k == K_SHARE ? RUN_SHARED :
			   k == K_LEND ? RUN_LENT : RUN_UNUSED;
		s.donated += k == K_DONATE;
	} else if (st == EXO_ENOENT) {
		peer_refused(p);
	} else if (!pressure(st)) {
		owned_refused(k, r, st);
	}
}

/* UNSHARE or RECLAIM: ok, or the borrower ended and the frames are ours
 * again already. A reclaimed loan keeps its tags. */
static void op_take_back(enum kind k, struct run *r)
{
	int64_t st = call(k, r->pa, r->count, s.peers[r->peer].id, 0).status;

	if (st == EXO_OK) {
		r->state = RUN_OWNED;
		if (k == K_RECLAIM && !run_all(r, still_tagged))
			fail(k, r, st, "a reclaimed frame lost its contents");
	} else if ((st == EXO_ESTATE || st == EXO_ENOENT) &&
		   frames_are(r, EXO_FRAME_OWNED, true)) {
		r->state = RUN_OWNED;	/* the borrower ended */
	} else {
		fail(k, r, st, "the owner could not take its frames back");
	}
}

static void round_once(void)
{
	enum kind k = pick_kind();
	enum run_state needs = k == K_UNSHARE ? RUN_SHARED :
			       k == K_RECLAIM ? RUN_LENT : RUN_OWNED;
	struct run *r = k == K_ALLOC ? NULL : find(needs);

	if (k == K_ALLOC || !r)
		op_alloc();
	else if (k == K_FREE)
		op_free(r);
	else if (k == K_UNSHARE || k == K_RECLAIM)
		op_take_back(k, r);
	else
		op_give(k, r);
}

/* Gives everything back: unshare, reclaim, free. */
static void clean_up(void)
{
	for (unsigned i = 0; i < RUNS_MAX; i++) {
		struct run *r = &s.runs[i];

		if (r->state == RUN_SHARED)
			op_take_back(K_UNSHARE, r);
		if (r->state == RUN_LENT)
			op_take_back(K_RECLAIM, r);
		if (r->state == RUN_OWNED)
			op_free(r);
	}
}

/* --- a life ------------------------------------------------------------------ */

static void find_peers(void)
{
	for (unsigned i = 1; i <= s.a->storms; i++) {
		struct peer *p = &s.peers[s.nr_peers];
		struct exo_ret r;

		soak_storm_name(i, p->name);
		r = exo_vm_lookup(p->name);
		if (r.status == EXO_OK && r.x1 == exo_vm_info().x1)
			continue;	/* itself */
		p->id = r.x1;
		p->gone = r.status != EXO_OK;
		s.nr_peers++;
	}
}

/* Four lines (EL2 cuts console lines at 128 bytes), in this order. */
static void report(const char *end)
{
	kprintf("soak: life %u of %s seed 0x%lx: rounds %lu end %s fails %lu "
		"revoked %lu unchecked %lu over-slice %lu\n", s.life,
		s.a->name, (unsigned long)s.a->seed, s.round, end, s.fails,
		s.revoked_frames, s.unchecked, s.over_slice);
	kprintf("soak: calls");
	for (unsigned k = 0; k < K_KINDS; k++)
		kprintf(" %s=%lu/%lu", kind_name[k], s.ok[k], s.tried[k]);
	kprintf("\nsoak: offers to it: accepted %lu dropped %lu refused %lu",
		s.accepted, s.dropped, s.refused);
	kprintf("\nsoak: worst-us");
	for (unsigned k = 0; k < K_KINDS; k++)
		kprintf(" %s=%lu", kind_name[k],
			(unsigned long)soak_ticks_to_us(s.worst_call[k]));
	kprintf("\n");
}

int soak_storm(const struct soak_args *a, unsigned life)
{
	bool last = life + 1 >= a->lives, tidy;
	unsigned long rounds = a->rounds;

	s.a = a;
	s.life = life;
	s.rng = a->seed ^ (exo_vm_info().x1 << 48) ^ ((uint64_t)life << 32);
	s.seed = next();
	s.slice_ticks = soak_freq() * a->slice_us / 1000000u;
	faultcatch_install();
	find_peers();
	if (!last)	/* a restart comes somewhere in the second half */
		rounds = rounds / 2 + pick((unsigned)(rounds / 2) + 1);
	tidy = pick(2);
	__asm__ volatile("msr daifset, #2" : : : "memory");
	for (s.round = 0; s.round < rounds; s.round++) {
		safe_point();
		round_once();
	}
	if (tidy)
		clean_up();
	safe_point();
	__asm__ volatile("msr daifclr, #2" : : : "memory");
	report(last ? (tidy ? "exit-tidy" : "exit") :
		      (tidy ? "reset-tidy" : "reset"));
	if (!last && !s.fails)
		exo_call0(EXO_PSCI_SYSTEM_RESET);
	return s.fails ? 1 : 0;
}
