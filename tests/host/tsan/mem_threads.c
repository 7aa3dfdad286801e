/*
 * EL2's memory transactions on several CPUs at once (issue 16), under
 * ThreadSanitizer: host threads are CPUs, each running one guest's vCPU
 * and calling the real el2/mem.c (el2/frames.c, el2/s2.c) on the model
 * checker's machine (MC_THREADS: three guests over three 2 MiB blocks,
 * quotas that overcommit the RAM, one of them small):
 *   CPU 0 and CPU 1: guest 1's vCPUs 0 and 1, over one pool of its runs
 *                    (both may act on the same run at once);
 *   CPU 2: guest 2 (and, in the revocation scenario, EL2 revoking guest 1);
 *   CPU 3: guest 3 (and, in the teardown scenario, its teardown).
 * Each calls alloc (one frame: the fast path; a few; aligned), alloc-at,
 * free, share (after the offer check) R or RW, unshare, lend, reclaim,
 * donate (the run goes to the recipient's pool), the queries, and, as the
 * debug EL2 does after a memory call, mem_check_invariant of its guest.
 * Scenarios: churn (all of it, between all guests), revocation (guest 1
 * revoked on another CPU while its vCPUs allocate, free, donate and
 * borrow) and teardown (guest 3 torn down while the others share, lend
 * and donate to it and take back from it; created again for the next
 * round).
 *
 * A round starts the CPUs together and joins them; then, whatever the
 * interleaving was: the model checker's state checks (every guest's stage
 * 2 is what the DB allows, charges within quotas, each charge the frames
 * owned plus the table pages held), EL2's reserve untouched, a torn-down
 * guest named by no frame, no warning on EL2's console, and each guest's
 * frames owned, borrowed from each owner and lent to each borrower equal
 * to what the threads' successful calls imply (each call is all or
 * nothing, so the sums do not depend on the order). A data race between
 * two CPUs' calls is ThreadSanitizer's report and exit status.
 *
 * Seeded: each CPU's choices come from the seed, the scenario, the round
 * and the CPU; the interleavings (and so which calls succeed) differ from
 * run to run, the verdict does not. EXO_TSAN_SEED=<n> picks another seed.
 */
#define _GNU_SOURCE /* pthread_barrier_t */
#include "../fake_arch.h"
#include "../model_check.h"
#include "../model_machine.h"

#include <el2/frames.h>
#include <el2/mem.h>
#include <el2/hyp_lock.h>
#include <el2/percpu.h>
#include <el2/vcpu.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NR_CPUS 4
#define ROUNDS 4              /* per scenario; the teardown's: */
#define TEARDOWN_ROUNDS 8     /* one teardown each */
#define OPS_PER_ROUND 150     /* per CPU */
#define DEFAULT_SEED UINT64_C(0x5eed1e5516)
#define POOL_SLOTS 32         /* runs a guest keeps track of */
#define GIVEN_MAX 16          /* shares and loans a CPU remembers */
#define MAX_RUN 4             /* frames a call usually names */
#define BIG_RUN 48            /* an occasional large allocation */
#define BIG_ONE_IN 16
#define ALIGNED_ONE_IN 8
#define INVARIANT_ONE_IN 8    /* calls followed by the debug check */
#define REVOKE_ONE_IN 4       /* CPU 2's calls that revoke guest 1 */
#define G3_VCPU1_ONE_IN 3     /* CPU 2's other calls run guest 3's vCPU 1 */
#define REVOKE_MAX 24         /* frames one revocation asks for */
#define REVOKE_LOG 8
#define TEARDOWN_BUDGET 1     /* frames per step: a long teardown, many
			       * other calls between its steps */
#define POOL_HOT 4            /* slots a guest's vCPUs pick half the time:
			       * they act on the same runs at once */
#define FRAME_BYTES MM_FRAME_BYTES
#define RUN_COUNT_MASK (FRAME_BYTES - 1)  /* a pool slot: pa | count */
#define GUEST_FRAMES (3 * MM_BLOCK_FRAMES) /* where guests' frames lie */
#define STRAY_HOT 64          /* the lowest frames, the busiest */

enum scenario { SC_CHURN, SC_REVOKE, SC_TEARDOWN, SC_STRAY, NR_SCENARIOS };
static const char *const scenario_name[NR_SCENARIOS] = {
	"churn", "revocation", "teardown", "stray",
};

enum op { OP_ALLOC, OP_ALLOC_AT, OP_FREE, OP_SHARE, OP_UNSHARE, OP_LEND,
	  OP_RECLAIM, OP_DONATE, OP_QUERY, OP_REVOKE, OP_TEARDOWN,
	  OP_STRAY_FREE, NR_OPS };
static const char *const op_name[NR_OPS] = {
	"alloc", "alloc_at", "free", "share", "unshare", "lend", "reclaim",
	"donate", "query", "revoke", "teardown", "stray_free",
};
/* What each scenario's success counts must show (summed over its rounds):
 * every kind it runs succeeded at least once. */
static const unsigned scenario_ops[NR_SCENARIOS] = {
	[SC_CHURN] = 1u << OP_ALLOC | 1u << OP_ALLOC_AT | 1u << OP_FREE |
		     1u << OP_SHARE | 1u << OP_UNSHARE | 1u << OP_LEND |
		     1u << OP_RECLAIM | 1u << OP_DONATE | 1u << OP_QUERY,
	[SC_REVOKE] = 1u << OP_ALLOC | 1u << OP_FREE | 1u << OP_SHARE |
		      1u << OP_LEND | 1u << OP_DONATE | 1u << OP_REVOKE,
	[SC_TEARDOWN] = 1u << OP_ALLOC | 1u << OP_FREE | 1u << OP_SHARE |
			1u << OP_LEND | 1u << OP_DONATE | 1u << OP_REVOKE |
			1u << OP_TEARDOWN,
	/* Stray frees never succeed: check_round fails the round if one
	 * did. */
	[SC_STRAY] = 1u << OP_ALLOC | 1u << OP_FREE,
};

/* What successful calls imply, per guest index: frames owned (OWNED,
 * SHARED or LENT), frames borrowed from each owner, frames lent to each
 * borrower. Each CPU adds to its own; the round sums them. */
struct tally {
	int64_t owned[MC_GUESTS];
	int64_t borrowed[MC_GUESTS][MC_GUESTS];   /* [borrower][owner] */
	int64_t lent[MC_GUESTS][MC_GUESTS];       /* [owner][borrower] */
	uint64_t tries[NR_OPS], oks[NR_OPS];
};

/* A share or loan a CPU made, to take back later. */
struct given {
	uint64_t pa, n;
	unsigned to;
	bool lent;
};

struct cpu {
	pthread_t thread;
	unsigned id, g;          /* the CPU, the guest index it runs */
	struct vcpu *vcpu;       /* the vCPU it runs */
	uint64_t rng;
	enum scenario sc;
	struct tally t;
	struct given given[GIVEN_MAX];
	unsigned nr_given;
};

/* Runs each guest holds, shared by its vCPUs: 0 or pa | count. */
static _Atomic uint64_t pool[MC_GUESTS][POOL_SLOTS];
static struct cpu cpus[NR_CPUS];
static const unsigned guest_of_cpu[NR_CPUS] = { 0, 0, 1, 2 };
static struct vcpu g1_vcpu1;     /* guest 1's second vCPU (CPU 1) */
static pthread_barrier_t start;
static _Atomic uint64_t calls_made;   /* by every CPU, this round */
static _Atomic unsigned cpus_calling; /* CPUs not done with the round */
static struct tally expect;      /* since the machine booted */
static uint64_t seed;
static unsigned failures;
static struct mc_result result;  /* large: not on a stack */

static uint64_t next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * UINT64_C(0x2545f4914f6cdd1d);
}

static unsigned below(struct cpu *c, unsigned n)
{
	return (unsigned)(next(&c->rng) % n);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "mem_threads (seed %" PRIu64 "): ", seed);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

/* --- the guests' pools ---------------------------------------------------- */

static uint64_t run_pa(uint64_t slot) { return slot & ~RUN_COUNT_MASK; }
static uint64_t run_n(uint64_t slot) { return slot & RUN_COUNT_MASK; }

/* A run g now holds, into a free slot; false if the pool is full. */
static bool pool_put(unsigned g, uint64_t pa, uint64_t n, unsigned from)
{
	for (unsigned i = 0; i < POOL_SLOTS; i++) {
		unsigned s = (from + i) % POOL_SLOTS;
		uint64_t empty = 0;

		if (atomic_compare_exchange_strong(&pool[g][s], &empty, pa | n))
			return true;
	}
	return false;
}

/* A run the pool names (0: none in that slot). The guest may no longer
 * hold it (a sibling vCPU freed it, EL2 revoked it): the call then fails,
 * as a guest's stale call would. */
static uint64_t pool_pick(struct cpu *c, unsigned *slot)
{
	*slot = below(c, 2) ? below(c, POOL_HOT) : below(c, POOL_SLOTS);
	return atomic_load(&pool[c->g][*slot]);
}

static void pool_drop(unsigned g, unsigned slot, uint64_t was)
{
	atomic_compare_exchange_strong(&pool[g][slot], &was, 0);
}

/* --- one CPU's calls ----------------------------------------------------- */

static struct vm *vm_of(unsigned g) { return &mm_vms[g]; }

/* Another guest; in the teardown scenario, mostly the one that ends. */
static unsigned peer_of(struct cpu *c)
{
	if (c->sc == SC_TEARDOWN && c->g != 2 && below(c, 4))
		return 2;
	return (c->g + 1 + below(c, MC_GUESTS - 1)) % MC_GUESTS;
}

static bool counted(struct cpu *c, enum op op, int64_t rc)
{
	c->t.tries[op]++;
	if (rc == EXO_OK)
		c->t.oks[op]++;
	return rc == EXO_OK;
}

static void keep_or_free(struct cpu *c, uint64_t pa, uint64_t n)
{
	if (pool_put(c->g, pa, n, below(c, 2) ? 0 : below(c, POOL_SLOTS)))
		return;
	if (counted(c, OP_FREE, mem_frame_free(vm_of(c->g), pa_init(pa), n)))
		c->t.owned[c->g] -= (int64_t)n;
}

static uint64_t alloc_count(struct cpu *c)
{
	if (!below(c, BIG_ONE_IN))
		return MAX_RUN + 1 + below(c, BIG_RUN - MAX_RUN);
	return below(c, 2) ? 1 : 1 + below(c, MAX_RUN);
}

/* One frame, no alignment, as el2/dispatch.c's table calls it: the
 * one-frame entry point, which answers in x0-x3. */
static int64_t alloc_one_call(struct vm *vm, paddr_t *pa)
{
	uint64_t x[MEM_CALL_REGS] = { EXO_HVC_FRAME_ALLOC, 1, 0,
				      EXO_FRAME_ALLOC_NOZERO };

	mem_frame_alloc_one_call(vm, x);
	*pa = pa_init(x[1]);
	return (int64_t)x[0];
}

static int64_t free_one_call(struct vm *vm, uint64_t pa)
{
	uint64_t x[MEM_CALL_REGS] = { EXO_HVC_FRAME_FREE, pa, 1, 0 };

	mem_frame_free_one_call(vm, x);
	return (int64_t)x[0];
}

static void do_alloc(struct cpu *c)
{
	uint64_t n = alloc_count(c);
	unsigned align = below(c, ALIGNED_ONE_IN) ? 0 : 2;
	paddr_t pa;
	int64_t rc = n == 1 && !align && below(c, 2)
			     ? alloc_one_call(vm_of(c->g), &pa)
			     : mem_frame_alloc(vm_of(c->g), n, align, &pa);

	if (!counted(c, OP_ALLOC, rc))
		return;
	c->t.owned[c->g] += (int64_t)n;
	keep_or_free(c, pa_addr(pa), n);
}

/* One frame through the one-frame entry point, kept or freed. */
static void do_alloc_one_only(struct cpu *c)
{
	paddr_t pa;

	if (!counted(c, OP_ALLOC, alloc_one_call(vm_of(c->g), &pa)))
		return;
	c->t.owned[c->g] += 1;
	keep_or_free(c, pa_addr(pa), 1);
}

static void do_alloc_at(struct cpu *c)
{
	uint64_t n = 1 + below(c, MAX_RUN);
	uint64_t pa = mm_pa(below(c, GUEST_FRAMES - MAX_RUN));

	if (!counted(c, OP_ALLOC_AT, mem_frame_alloc_at(vm_of(c->g),
							 pa_init(pa), n)))
		return;
	c->t.owned[c->g] += (int64_t)n;
	keep_or_free(c, pa, n);
}

static void do_free(struct cpu *c)
{
	unsigned slot;
	uint64_t run = pool_pick(c, &slot), n = run_n(run), part;
	int64_t rc;

	if (!run)
		return;
	/* FRAME_FREE's bounded form: one frame (the fast path), or the first
	 * part of the run; or the whole run at once. */
	part = n == 1 || below(c, 2) ? 1 + below(c, (unsigned)n) : n;
	if (n == 1 && below(c, 2))
		rc = free_one_call(vm_of(c->g), run_pa(run));
	else if (part < n || n == 1)
		rc = mem_frame_free_part(vm_of(c->g), pa_init(run_pa(run)), n,
					 part);
	else
		rc = mem_frame_free(vm_of(c->g), pa_init(run_pa(run)), n);
	if (!counted(c, OP_FREE, rc))
		return;
	c->t.owned[c->g] -= (int64_t)part;
	if (part == n)
		pool_drop(c->g, slot, run);
	else   /* the rest of the run stays, unless a sibling changed it */
		atomic_compare_exchange_strong(&pool[c->g][slot], &run,
					       (run_pa(run) + part * FRAME_BYTES) |
						       (n - part));
}

static void remember(struct cpu *c, uint64_t pa, uint64_t n, unsigned to,
		     bool lent)
{
	c->given[c->nr_given++ % GIVEN_MAX] = (struct given){ pa, n, to, lent };
}

static void do_share(struct cpu *c)
{
	unsigned slot, b = peer_of(c);
	uint64_t run = pool_pick(c, &slot), pa = run_pa(run), n = run_n(run);
	unsigned perm = below(c, 2) ? EXO_SHARE_RW : EXO_SHARE_R;
	unsigned kind = perm == EXO_SHARE_RW ? EXO_OFFER_SHARE_RW
					     : EXO_OFFER_SHARE_R;

	if (!run) {
		do_alloc(c);   /* something to offer next time */
		return;
	}
	/* The offer (checked when it is made), then the acceptance. */
	if (mem_frame_offer_check(vm_of(c->g), vm_of(b), pa_init(pa), n, kind))
		return;
	if (!counted(c, OP_SHARE, mem_frame_share(vm_of(c->g), vm_of(b),
						  pa_init(pa), n, perm)))
		return;
	c->t.borrowed[b][c->g] += (int64_t)n;
	remember(c, pa, n, b, false);
}

static void do_lend(struct cpu *c)
{
	unsigned slot, b = peer_of(c);
	uint64_t run = pool_pick(c, &slot), pa = run_pa(run), n = run_n(run);

	if (!run) {
		do_alloc(c);
		return;
	}
	if (mem_frame_offer_check(vm_of(c->g), vm_of(b), pa_init(pa), n,
				  EXO_OFFER_LEND))
		return;
	if (!counted(c, OP_LEND, mem_frame_lend(vm_of(c->g), vm_of(b),
						pa_init(pa), n)))
		return;
	c->t.borrowed[b][c->g] += (int64_t)n;
	c->t.lent[c->g][b] += (int64_t)n;
	remember(c, pa, n, b, true);
}

/* Takes back a share or loan: one the CPU made (most often), or a run of
 * the pool from a peer it may never have been given to. */
static void do_take_back(struct cpu *c, bool lent)
{
	enum op op = lent ? OP_RECLAIM : OP_UNSHARE;
	struct given g = { 0, 0, peer_of(c), lent };
	unsigned slot;
	int64_t rc;

	if (c->nr_given && below(c, 4)) {
		unsigned i = below(c, c->nr_given < GIVEN_MAX ? c->nr_given
							      : GIVEN_MAX);

		if (c->given[i].lent == lent && c->given[i].n)
			g = c->given[i];
		c->given[i].n = 0;
	}
	if (!g.n) {
		uint64_t run = pool_pick(c, &slot);

		if (!run)
			return;
		g.pa = run_pa(run);
		g.n = run_n(run);
	}
	rc = lent ? mem_frame_reclaim(vm_of(c->g), vm_of(g.to), pa_init(g.pa),
				      g.n)
		  : mem_frame_unshare(vm_of(c->g), vm_of(g.to), pa_init(g.pa),
				      g.n);
	if (!counted(c, op, rc))
		return;
	c->t.borrowed[g.to][c->g] -= (int64_t)g.n;
	if (lent)
		c->t.lent[c->g][g.to] -= (int64_t)g.n;
}

static void do_donate(struct cpu *c)
{
	unsigned slot, b = peer_of(c);
	uint64_t run = pool_pick(c, &slot), pa = run_pa(run), n = run_n(run);

	if (!run) {
		do_alloc(c);
		return;
	}
	if (mem_frame_offer_check(vm_of(c->g), vm_of(b), pa_init(pa), n,
				  EXO_OFFER_DONATE))
		return;
	if (!counted(c, OP_DONATE, mem_frame_donate(vm_of(c->g), vm_of(b),
						    pa_init(pa), n)))
		return;
	c->t.owned[c->g] -= (int64_t)n;
	c->t.owned[b] += (int64_t)n;
	pool_drop(c->g, slot, run);
	/* The recipient's vCPUs may act on it (or it stays untracked). */
	pool_put(b, pa, n, below(c, POOL_SLOTS));
}

/* What a guest may ask at any time, read under the lock. */
static void do_query(struct cpu *c)
{
	uint64_t state, access, quota, used;
	int64_t rc = mem_frame_query(vm_of(c->g),
				     pa_init(mm_pa(below(c, GUEST_FRAMES))),
				     &state, &access);

	mem_vm_usage(vm_of(c->g), &quota, &used);
	if (!rc && used > quota)
		rc = EXO_EQUOTA;
	counted(c, OP_QUERY, rc);
}

/* EL2 on this CPU takes frames from guest index v (forced revocation).
 * Guest 1 shares and lends nothing in the revocation scenario, so what is
 * taken from it was OWNED; guest 3 (the teardown scenario) is gone at the
 * end of each round, whatever was taken from it. */
static void do_revoke(struct cpu *c, unsigned v)
{
	struct vm_run log[REVOKE_LOG];
	unsigned nr_log;
	uint64_t took = mem_revoke(vm_of(v), 1 + below(c, REVOKE_MAX), log,
				   REVOKE_LOG, &nr_log);

	c->t.tries[OP_REVOKE]++;
	c->t.oks[OP_REVOKE] += took != 0;
	c->t.owned[v] -= (int64_t)took;
}

/* The churn's mix: every call a guest makes. */
static void churn_op(struct cpu *c)
{
	switch (below(c, 10)) {
	case 0: case 1: do_alloc(c); break;
	case 2: do_alloc_at(c); break;
	case 3: do_free(c); break;
	case 4: do_share(c); break;
	case 5: do_take_back(c, false); break;
	case 6: do_lend(c); break;
	case 7: do_take_back(c, true); break;
	case 8: do_donate(c); break;
	default: do_query(c); break;
	}
}

/* Revocation: guest 1 allocates, frees, donates and borrows; the others
 * share and lend to it; CPU 2 also revokes it. */
static void revoke_op(struct cpu *c)
{
	if (c->g == 0) {
		switch (below(c, 5)) {
		case 0: case 1: do_alloc(c); break;
		case 2: case 3: do_free(c); break;
		default: do_donate(c); break;
		}
		return;
	}
	if (c->id == 2 && !below(c, REVOKE_ONE_IN)) {
		do_revoke(c, 0);
		return;
	}
	churn_op(c);
}

/* Set by guest 3's CPU once its teardown's beginning returned. */
static _Atomic bool g3_ending;

/* Guest 3's second vCPU, run by CPU 2 between guest 2's calls: one-frame
 * allocs and frees, the calls EL2 answers under mem's own locks on the
 * vCPU's CPU while its first vCPU's CPU begins the teardown (which kicks
 * it off only later). Once the beginning returned, none may succeed: the
 * stage 2 mem emptied must get nothing back, and the steps free each
 * frame once. */
static void do_g3_vcpu1(struct cpu *c)
{
	unsigned g = c->g, slot;
	bool ending = atomic_load(&g3_ending);
	uint64_t run;
	paddr_t pa;
	int64_t rc;

	c->g = 2;
	run = pool_pick(c, &slot);
	if (run_n(run) == 1 && below(c, 2)) {
		rc = free_one_call(vm_of(2), run_pa(run));
		if (counted(c, OP_FREE, rc)) {
			c->t.owned[2] -= 1;
			pool_drop(2, slot, run);
		}
	} else {
		rc = alloc_one_call(vm_of(2), &pa);
		if (counted(c, OP_ALLOC, rc)) {
			c->t.owned[2] += 1;
			pool_put(2, pa_addr(pa), 1, below(c, POOL_SLOTS));
		}
	}
	if (ending && rc == EXO_OK)
		fail("guest 3's own call succeeded after its end began");
	c->g = g;
}

/* Teardown: everyone's calls, guest 3 among their peers; CPU 2 also
 * revokes guest 3, before and while its teardown runs, and runs guest 3's
 * second vCPU at times. */
static void teardown_op(struct cpu *c)
{
	if (c->id == 2 && !below(c, REVOKE_ONE_IN))
		do_revoke(c, 2);
	else if (c->id == 2 && !below(c, G3_VCPU1_ONE_IN))
		do_g3_vcpu1(c);
	else
		churn_op(c);
}

/* Stray frees: guests 1 and 2 allocate and free one frame at a time
 * (the one-frame paths, past mem's gate); guest 3, which owns nothing in
 * this scenario, frees one frame of theirs after another, at random in
 * the guests' frames: the one-frame free's check with no lock
 * (frames_free_one_peek) reads entries the others' commits write at the
 * same time. Every stray free is refused, whatever it read. */
static void stray_op(struct cpu *c)
{
	if (c->g != 2) {
		if (below(c, 2))
			do_alloc_one_only(c);
		else
			do_free(c);
		return;
	}
	c->t.tries[OP_STRAY_FREE]++;
	/* Half of them among the lowest frames, which the others' one-frame
	 * allocs take first. */
	if (!free_one_call(vm_of(2), mm_pa(below(c, below(c, 2) ? STRAY_HOT
							       : GUEST_FRAMES))))
		c->t.oks[OP_STRAY_FREE]++;
}

static void one_call(struct cpu *c)
{
	if (c->sc == SC_REVOKE)
		revoke_op(c);
	else if (c->sc == SC_TEARDOWN)
		teardown_op(c);
	else if (c->sc == SC_STRAY)
		stray_op(c);
	else
		churn_op(c);
	if (!below(c, INVARIANT_ONE_IN))
		mem_check_invariant(vm_of(c->g));
	atomic_fetch_add(&calls_made, 1);
}

/* A teardown takes its VM's turns on its CPU, other work between them:
 * another CPU makes a call before the next step (unless all are done),
 * however the host schedules the threads. */
static void let_others_call(void)
{
	uint64_t seen = atomic_load(&calls_made);

	while (atomic_load(&calls_made) == seen &&
	       atomic_load(&cpus_calling) > 1)
		sched_yield();
}

/* Guest 3's teardown, by EL2 on its CPU once its vCPU is stopped: the
 * beginning, then steps until mem forgets it. */
static void tear_down_guest3(struct cpu *c)
{
	struct mem_teardown at = { 0, 0, 0 };

	mem_vm_teardown_begin(vm_of(2));
	atomic_store(&g3_ending, true);
	do
		let_others_call();
	while (!mem_vm_teardown_step(vm_of(2), &at, TEARDOWN_BUDGET));
	c->t.tries[OP_TEARDOWN]++;
	c->t.oks[OP_TEARDOWN]++;
}

static void *cpu_main(void *arg)
{
	struct cpu *c = arg;

	fake_bind_cpu(c->id);   /* its left frame where EL2 looks */
	this_cpu()->current = c->vcpu;
	pthread_barrier_wait(&start);
	for (unsigned i = 0; i < OPS_PER_ROUND; i++) {
		/* Guest 3's vCPU stops half way; its teardown begins. */
		if (c->sc == SC_TEARDOWN && c->g == 2 &&
		    i == OPS_PER_ROUND / 2) {
			tear_down_guest3(c);
			break;
		}
		one_call(c);
	}
	atomic_fetch_sub(&cpus_calling, 1);
	return NULL;   /* its current is cleared once all are joined: others
			* read it (vm_event_raise) while they run */
}

/* --- after a round ------------------------------------------------------- */

static void add_tally(const struct tally *t)
{
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		expect.owned[g] += t->owned[g];
		for (unsigned h = 0; h < MC_GUESTS; h++) {
			expect.borrowed[g][h] += t->borrowed[g][h];
			expect.lent[g][h] += t->lent[g][h];
		}
	}
	for (unsigned k = 0; k < NR_OPS; k++) {
		expect.tries[k] += t->tries[k];
		expect.oks[k] += t->oks[k];
	}
}

/* Guest 3 is gone: everything between it and the others ended. */
static void forget_guest3(void)
{
	const unsigned g = 2;

	mm_live[g] = false;
	expect.owned[g] = 0;
	for (unsigned h = 0; h < MC_GUESTS; h++) {
		expect.borrowed[g][h] = expect.borrowed[h][g] = 0;
		expect.lent[g][h] = expect.lent[h][g] = 0;
	}
	for (unsigned s = 0; s < POOL_SLOTS; s++)
		atomic_store(&pool[g][s], 0);
	for (unsigned i = 0; i < NR_CPUS; i++)
		for (unsigned j = 0; j < GIVEN_MAX; j++)
			if (cpus[i].given[j].to == g)
				cpus[i].given[j].n = 0;
}

/* Per guest index, counted frame by frame from the DB. */
struct held {
	uint64_t owned[MC_GUESTS];
	uint64_t borrowed[MC_GUESTS][MC_GUESTS];
	uint64_t lent[MC_GUESTS][MC_GUESTS];
	uint64_t named_dead;   /* frames naming a guest that is gone */
};

static bool dead(unsigned id)
{
	return id >= 1 && id <= MC_GUESTS && !mm_live[id - 1];
}

static void count_frame(const struct frames_db *d, uint64_t i, struct held *h)
{
	const struct frames_entry *e = &d->entry[i];
	struct frames_info info;
	unsigned o = e->owner;

	if (e->state != EXO_FRAME_OWNED && e->state != EXO_FRAME_SHARED &&
	    e->state != EXO_FRAME_LENT)
		return;
	if (o < 1 || o > MC_GUESTS) {
		fail("frame %" PRIu64 " is held by guest %u", i, o);
		return;
	}
	h->named_dead += dead(o);
	h->owned[o - 1]++;
	if (e->state == EXO_FRAME_LENT) {
		h->named_dead += dead(e->peer);
		h->borrowed[e->peer - 1][o - 1]++;
		h->lent[o - 1][e->peer - 1]++;
	} else if (e->state == EXO_FRAME_SHARED &&
		   !frames_query(d, d->base + i * FRAME_BYTES, &info)) {
		for (unsigned b = 1; b <= MC_GUESTS; b++) {
			if (frames_share_slot(&info.share, b) < 0)
				continue;
			h->named_dead += dead(b);
			h->borrowed[b - 1][o - 1]++;
		}
	}
}

static uint64_t sum(const uint64_t per_guest[MC_GUESTS])
{
	uint64_t n = 0;

	for (unsigned g = 0; g < MC_GUESTS; g++)
		n += per_guest[g];
	return n;
}

static void check_counts(const char *where)
{
	const struct frames_db *d = mm_db();
	struct held h;

	memset(&h, 0, sizeof(h));
	for (uint64_t i = 0; i < d->nr; i++)
		count_frame(d, i, &h);
	if (h.named_dead)
		fail("%s: %" PRIu64 " frames name a guest that is gone", where,
		     h.named_dead);
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(d, g + 1);

		if (mm_live[g] != a->live)
			fail("%s: guest %u is %s but the DB %s it", where, g + 1,
			     mm_live[g] ? "live" : "gone",
			     a->live ? "still counts" : "has no account for");
		if ((int64_t)h.owned[g] != expect.owned[g])
			fail("%s: guest %u owns %" PRIu64 " frames; its calls "
			     "imply %" PRId64, where, g + 1, h.owned[g],
			     expect.owned[g]);
		if (a->used - a->tables != h.owned[g])
			fail("%s: guest %u is charged %" PRIu64 " frames "
			     "(tables aside) but owns %" PRIu64, where, g + 1,
			     a->used - a->tables, h.owned[g]);
		if (a->borrowed != sum(h.borrowed[g]) ||
		    a->lent_out != sum(h.lent[g]))
			fail("%s: guest %u's account says it borrows %" PRIu64
			     " and lends %" PRIu64 " frames; its frames say %"
			     PRIu64 " and %" PRIu64, where, g + 1, a->borrowed,
			     a->lent_out, sum(h.borrowed[g]), sum(h.lent[g]));
		for (unsigned o = 0; o < MC_GUESTS; o++) {
			if ((int64_t)h.borrowed[g][o] != expect.borrowed[g][o])
				fail("%s: guest %u borrows %" PRIu64 " frames "
				     "of guest %u; the calls imply %" PRId64,
				     where, g + 1, h.borrowed[g][o], o + 1,
				     expect.borrowed[g][o]);
			if ((int64_t)h.lent[g][o] != expect.lent[g][o])
				fail("%s: guest %u lends %" PRIu64 " frames "
				     "to guest %u; the calls imply %" PRId64,
				     where, g + 1, h.lent[g][o], o + 1,
				     expect.lent[g][o]);
		}
	}
}

/* false if anything failed */
static bool check_round(enum scenario sc, unsigned round, uint64_t reserve)
{
	unsigned before = failures;
	static const enum mc_kind blame[NR_SCENARIOS] = {
		[SC_CHURN] = MC_SHARE, [SC_REVOKE] = MC_REVOKE,
		[SC_TEARDOWN] = MC_TEARDOWN, [SC_STRAY] = MC_FREE,
	};
	char where[64];

	snprintf(where, sizeof(where), "%s round %u", scenario_name[sc], round);
	mc_check_now(blame[sc], &result);
	for (unsigned p = 0; p < MC_NR_PROPS; p++)
		if (result.violated[p])
			fail("%s: %s", where, result.example[p]);
	if (mm_reserve() != reserve)
		fail("%s: EL2's reserve went from %" PRIu64 " to %" PRIu64
		     " frames", where, reserve, mm_reserve());
	if (strstr(fake.console, "warning"))
		fail("%s: EL2 warned: %s", where, fake.console);
	check_counts(where);
	if (expect.oks[OP_STRAY_FREE])
		fail("%s: %" PRIu64 " stray frees by a guest that owns "
		     "nothing succeeded", where, expect.oks[OP_STRAY_FREE]);
	return failures == before;
}

/* --- rounds and scenarios ------------------------------------------------ */

static void run_round(enum scenario sc, unsigned round)
{
	atomic_store(&calls_made, 0);
	atomic_store(&cpus_calling, NR_CPUS);

	for (unsigned i = 0; i < NR_CPUS; i++) {
		struct cpu *c = &cpus[i];

		memset(&c->t, 0, sizeof(c->t));
		c->sc = sc;
		c->rng = seed ^ ((uint64_t)sc << 48 | (uint64_t)round << 32 |
				 (uint64_t)(i + 1) << 16) ^ UINT64_C(0x9e3779b97f4a7c15);
		if (pthread_create(&c->thread, NULL, cpu_main, c)) {
			fprintf(stderr, "mem_threads: no thread\n");
			exit(2);
		}
	}
	for (unsigned i = 0; i < NR_CPUS; i++) {
		pthread_join(cpus[i].thread, NULL);
		add_tally(&cpus[i].t);
	}
	for (unsigned i = 0; i < NR_CPUS; i++)
		el2_percpus[i].current = NULL;
	if (sc == SC_TEARDOWN)
		forget_guest3();
	atomic_store(&g3_ending, false);
}

static void boot(void)
{
	mm_boot();
	memset(&expect, 0, sizeof(expect));
	for (unsigned g = 0; g < MC_GUESTS; g++)
		for (unsigned s = 0; s < POOL_SLOTS; s++)
			atomic_store(&pool[g][s], 0);
	for (unsigned i = 0; i < NR_CPUS; i++) {
		cpus[i].id = i;
		cpus[i].g = guest_of_cpu[i];
		cpus[i].vcpu = i == 1 ? &g1_vcpu1 : &mm_vms[cpus[i].g].vcpu;
		cpus[i].nr_given = 0;
	}
}

static void run_scenario(enum scenario sc)
{
	uint64_t reserve;
	unsigned missing;

	boot();
	reserve = mm_reserve();
	for (unsigned r = 0; r < (sc == SC_TEARDOWN ? TEARDOWN_ROUNDS : ROUNDS);
	     r++) {
		if (sc == SC_TEARDOWN && !mm_live[2] && !mm_create(2))
			fail("teardown round %u: guest 3 not created again", r);
		run_round(sc, r);
		if (!check_round(sc, r, reserve))
			break;   /* the next round would start from a broken state */
	}
	printf("mem_threads: %-10s", scenario_name[sc]);
	for (unsigned k = 0; k < NR_OPS; k++)
		if (expect.tries[k])
			printf(" %s %" PRIu64 "/%" PRIu64, op_name[k],
			       expect.oks[k], expect.tries[k]);
	printf("\n");
	missing = 0;
	for (unsigned k = 0; k < NR_OPS; k++)
		if (scenario_ops[sc] >> k & 1 && !expect.oks[k])
			missing |= 1u << k;
	for (unsigned k = 0; k < NR_OPS; k++)
		if (missing >> k & 1)
			fail("%s: no %s succeeded", scenario_name[sc],
			     op_name[k]);
}

int main(void)
{
	const char *s = getenv("EXO_TSAN_SEED");

	seed = s ? strtoull(s, NULL, 0) : DEFAULT_SEED;
	hyp_lock_enable();   /* several CPUs: EL2's locks are taken */
	if (!mc_machine_on(MC_THREADS)) {
		fprintf(stderr, "mem_threads: the machine's RAM is not at its "
			"PA\n");
		return 2;
	}
	pthread_barrier_init(&start, NULL, NR_CPUS);
	for (enum scenario sc = 0; sc < NR_SCENARIOS; sc++)
		run_scenario(sc);
	pthread_barrier_destroy(&start);
	mc_machine_off();
	printf("mem_threads: seed %" PRIu64 ", %u CPUs, %u rounds (teardown "
	       "%u) of %u calls each: %s\n", seed, NR_CPUS, ROUNDS,
	       TEARDOWN_ROUNDS, OPS_PER_ROUND, failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
