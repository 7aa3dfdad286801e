/*
 * Frames between guests on the host (issues 5 and 17): seeded random
 * sequences of alloc, alloc-at, free, share, unshare, lend, reclaim, donate
 * and teardown across four guests, through the real el2/mem.c,
 * el2/frames.c and el2/s2.c over simulated RAM at its physical address
 * (mem.c reaches frames by PA). Every call's status (and an allocation's
 * PA) must be what the reference model (mem_model.c) predicts; after every
 * step the DB's frames, accounts and share records must equal the model's,
 * and every guest's stage 2 what the DB allows (mem_check_invariant panics
 * otherwise); at the end, with every guest torn down, no frame is held.
 * Half the operations aim at what the model says a guest holds, so every
 * kind succeeds often; the per-kind success counts are printed and held
 * above a floor. A failure names the seed and step: EXO_MEM_SEED=<seed>
 * replays one sequence.
 */
#include "fake_arch.h"
#include "mem_machine.h"
#include "mem_model.h"
#include "share_bits.h"

#include <criterion/criterion.h>
#include <el2/frames.h>
#include <el2/mem.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Criterion's timeout here is a hang guard, not a deadline: the test takes
 * seconds, and a starved CI machine (docs/testing.md, "Time in tests")
 * must never reach it. */
#define HANG_GUARD_S 1800

#define RAM_BASE MEM_MACHINE_BASE
#define RAM_FRAMES 16384u
#define NR_VMS 4
/* Frames each guest may hold: the last one is kept short, so allocations,
 * donations to it and table pages for what it borrows hit its quota. */
static const uint64_t quota[NR_VMS] = { 1024, 1024, 1024, 128 };
#define STEPS 3000
#define NR_SEEDS 6
#define NR_SEEDS_FWB 2
#define EL2_RESERVE 16      /* EL2's own frames (HYP) at the top, as
			     * its image and DB are on target */
#define TABLE_ZONE 1008     /* below them: where table pages come from */
#define MAX_RUN 4           /* frames per call between guests */
#define MAX_ALLOC 16
#define TEARDOWN_ONE_IN 64  /* steps */
#define FULL_COMPARE_EVERY 500
/* Every kind of call succeeds at least this often, in percent. */
#define SUCCESS_FLOOR_PCT 10


static struct vm vms[NR_VMS];
static bool live[NR_VMS];
static uint64_t *roots[NR_VMS];
static uint64_t rng;
static unsigned step;
static uint64_t seed_now;
static struct mem_model model;

enum op_kind { OP_ALLOC, OP_ALLOC_AT, OP_FREE, OP_SHARE, OP_UNSHARE,
	       OP_LEND, OP_RECLAIM, OP_DONATE, OP_TEARDOWN, NR_OPS };
static const char *const op_name[NR_OPS] = {
	"alloc", "alloc_at", "free", "share", "unshare", "lend", "reclaim",
	"donate", "teardown" };
static unsigned tries[NR_OPS], oks[NR_OPS];

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(0x2545f4914f6cdd1d);
}

static void create(unsigned i)
{
	memset(&vms[i], 0, sizeof(vms[i]));
	vms[i].id = i + 1;
	snprintf(vms[i].name, sizeof(vms[i].name), "g%u", i + 1);
	vms[i].state = VM_RUNNING;
	cr_assert_eq(mem_vm_create(&vms[i], quota[i], roots[i]), EXO_OK);
	model_vm_create(&model, i + 1, quota[i]);
	live[i] = true;
}

/* Stage 2 forces guest RAM Write-Back (FEAT_S2FWB), so scrubs zero with
 * no clean (el2/mem.c, scrub_frames): set before the machine boots. */
static bool fwb;

static void machine(void)
{
	cr_assert(mem_machine_map(RAM_FRAMES), "RAM at its PA");
	fake_reset();
	s2_set_forced_wb(fwb);
	fake_cache_model(RAM_BASE, RAM_FRAMES);
	/* As the debug EL2 does: every frame an allocation hands out must read
	 * zero (a frame that left a guest or a table page unscrubbed panics). */
	cr_assert_eq(mem_machine_boot(true, EL2_RESERVE), 0);
	model_init(&model, RAM_BASE, RAM_FRAMES, EL2_RESERVE, TABLE_ZONE,
		   RAM_FRAMES);
	for (unsigned i = 0; i < NR_VMS; i++) {
		roots[i] = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
		create(i);
	}
}

/* --- the model against the DB ------------------------------------------- */

static void expect_frame(uint64_t i)
{
	const struct model_frame *f = &model.f[i];
	uint64_t pa = RAM_BASE + i * FRAMES_SIZE;
	struct frames_info info;
	unsigned want;

	if (f->state == MODEL_ZONE)
		return;
	cr_assert_eq(frames_query(mem_frames_db(), pa, &info), 0);
	want = f->state == MODEL_FREE ? EXO_FRAME_FREE
	       : f->state == MODEL_HYP ? EXO_FRAME_HYP
	       : f->state == MODEL_OWNED ? EXO_FRAME_OWNED
	       : f->state == MODEL_SHARED ? EXO_FRAME_SHARED : EXO_FRAME_LENT;
	cr_assert(info.state == want &&
		  (want != EXO_FRAME_OWNED || info.owner == f->owner) &&
		  (want != EXO_FRAME_SHARED ||
		   (info.owner == f->owner &&
		    share_bits(&info.share, false) == f->borrowers &&
		    share_bits(&info.share, true) == f->rw)) &&
		  (want != EXO_FRAME_LENT ||
		   (info.owner == f->owner && info.peer == f->peer)),
		  "seed %lu step %u: PA 0x%lx is %u owner %u peer %u borrowers "
		  "0x%lx rw 0x%lx; the model says %u owner %u peer %u borrowers "
		  "0x%x rw 0x%x", (unsigned long)seed_now, step,
		  (unsigned long)pa, info.state, info.owner, info.peer,
		  (unsigned long)share_bits(&info.share, false),
		  (unsigned long)share_bits(&info.share, true), want,
		  f->owner, f->peer, f->borrowers, f->rw);
}

static void expect_frames(uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n && i < RAM_FRAMES; i++)
		expect_frame(i);
}

/* Tables below t (at level) with a valid leaf below them; the others
 * (kept for reuse) are added to *idle. */
static unsigned tables_in_use(const uint64_t *t, int level, unsigned *idle)
{
	unsigned n = level == S2_START_LEVEL ? 2 * PTES_PER_TABLE
					     : PTES_PER_TABLE;
	unsigned used = 0;

	for (unsigned i = 0; level < 3 && i < n; i++) {
		const uint64_t *sub = (const uint64_t *)(uintptr_t)(t[i] &
								    PTE_ADDR_MASK);
		unsigned below;
		bool leaves = false;

		if ((t[i] & (PTE_VALID | PTE_TABLE)) != (PTE_VALID | PTE_TABLE))
			continue;
		below = tables_in_use(sub, level + 1, idle);
		for (unsigned j = 0; j < PTES_PER_TABLE && !leaves; j++)
			leaves = (sub[j] & PTE_VALID) &&
				 (level + 1 == 3 || !(sub[j] & PTE_TABLE));
		if (below || leaves)
			used += 1 + below;
		else
			++*idle;
	}
	return used;
}

/* Guest id's stage 2 uses the table pages the model says its mappings
 * need; every other table page it holds is kept for reuse, and the empty
 * ones are on its list. */
static void expect_tables(unsigned id)
{
	const struct s2 *s2 = &vms[id - 1].s2;
	unsigned idle = 0, used = tables_in_use(s2->root, S2_START_LEVEL, &idle);

	cr_assert_eq(used, model_tables_in_use(&model, id),
		     "seed %lu step %u: guest %u's stage 2 uses %u table "
		     "pages, the model says %lu", (unsigned long)seed_now,
		     step, id, used,
		     (unsigned long)model_tables_in_use(&model, id));
	cr_assert_eq(s2->nr_tables, used + idle, "seed %lu step %u: guest %u",
		     (unsigned long)seed_now, step, id);
	cr_assert_leq(s2_empty_tables(s2), idle, "seed %lu step %u: guest %u",
		      (unsigned long)seed_now, step, id);
}

/* The DB's accounts and stage 2s agree with the model's. */
static void expect_accounts(bool tables_known)
{
	unsigned shares_left = mem_frames_db()->shares_left;

	cr_assert_eq(shares_left, model.shares_left,
		     "seed %lu step %u: %u share records left, the model says %u",
		     (unsigned long)seed_now, step, shares_left,
		     model.shares_left);
	for (unsigned id = 1; id <= NR_VMS; id++) {
		const struct frames_account *a =
			frames_account(mem_frames_db(), id);
		const struct model_vm *v = &model.vm[id];

		if (!live[id - 1])
			continue;
		cr_assert(a->used == v->owned + a->tables &&
			  a->borrowed == v->borrowed &&
			  a->lent_out == v->lent_out,
			  "seed %lu step %u: guest %u: used %lu (tables %lu), "
			  "borrowed %lu, lent out %lu; the model says owned %lu, "
			  "borrowed %lu, lent out %lu", (unsigned long)seed_now,
			  step, id, (unsigned long)a->used,
			  (unsigned long)a->tables, (unsigned long)a->borrowed,
			  (unsigned long)a->lent_out, (unsigned long)v->owned,
			  (unsigned long)v->borrowed, (unsigned long)v->lent_out);
		expect_tables(id);
		if (tables_known)
			cr_assert_eq(a->tables, v->tables,
				     "seed %lu step %u: guest %u is charged %lu "
				     "table frames, the model says %lu",
				     (unsigned long)seed_now, step, id,
				     (unsigned long)a->tables,
				     (unsigned long)v->tables);
	}
}

static void observe_tables(void)
{
	for (unsigned id = 1; id <= NR_VMS; id++)
		if (live[id - 1])
			model_observe_tables(&model, id, frames_account(
					mem_frames_db(), id)->tables);
}

/* --- the generator ------------------------------------------------------- */

struct call {
	enum op_kind op;
	unsigned a, b, perm, align;
	uint64_t pa, n;
};

static uint64_t pa_of(uint64_t i)
{
	return RAM_BASE + i * FRAMES_SIZE;
}

static uint64_t idx_of(uint64_t pa)
{
	return (pa - RAM_BASE) / FRAMES_SIZE;
}

static bool same(const struct model_frame *x, const struct model_frame *y)
{
	return x->state == y->state && x->owner == y->owner &&
	       x->peer == y->peer && x->borrowers == y->borrowers;
}

/* From a random frame on, the first in `state` (guests' frames only). */
static bool find(unsigned state, uint64_t *found)
{
	uint64_t span = model.zone_first - MAX_RUN, start = next() % span;

	for (uint64_t k = 0; k < span; k++) {
		uint64_t i = (start + k) % span;

		if (model.f[i].state == state) {
			*found = i;
			return true;
		}
	}
	return false;
}

/* Up to c->n frames from i like frame i: a range the call will accept. */
static void aim(struct call *c, uint64_t i)
{
	uint64_t n = 1;

	while (n < c->n && i + n < model.zone_first &&
	       same(&model.f[i + n], &model.f[i]))
		n++;
	c->pa = pa_of(i);
	c->n = n;
}

static unsigned some_bit(uint8_t mask)
{
	unsigned pick = (unsigned)(next() % (unsigned)__builtin_popcount(mask));

	for (unsigned id = 1; id <= NR_VMS; id++)
		if ((mask >> id & 1) && !pick--)
			return id;
	return 0;
}

static unsigned other_than(unsigned a)
{
	return 1 + (a + (unsigned)(next() % (NR_VMS - 1))) % NR_VMS;
}

/* The state a call aims at: the one it accepts (half the shares add a
 * borrower to a frame already shared); one time in four any state a guest
 * holds a frame in, for the refusals of held frames (EBUSY, ESHARED,
 * ELENT, ESTATE). */
static unsigned aimed_state(enum op_kind op)
{
	static const unsigned accepts[NR_OPS] = {
		[OP_ALLOC_AT] = MODEL_FREE, [OP_FREE] = MODEL_OWNED,
		[OP_SHARE] = MODEL_OWNED, [OP_UNSHARE] = MODEL_SHARED,
		[OP_LEND] = MODEL_OWNED, [OP_RECLAIM] = MODEL_LENT,
		[OP_DONATE] = MODEL_OWNED };
	static const unsigned held[] = { MODEL_OWNED, MODEL_SHARED, MODEL_LENT };

	if (next() % 4 == 0)
		return held[next() % 3];
	if (op == OP_SHARE && next() % 2)
		return MODEL_SHARED;
	return accepts[op];
}

/* What the model says the call should work on: true if one was found. */
static bool aim_at_model(struct call *c)
{
	const struct model_frame *f;
	uint64_t i;

	if (!find(aimed_state(c->op), &i))
		return false;
	aim(c, i);
	f = &model.f[i];
	if (c->op == OP_ALLOC_AT)
		return true;
	c->a = f->owner;
	if (c->op == OP_UNSHARE && f->borrowers)
		c->b = some_bit(f->borrowers);
	else if (c->op == OP_RECLAIM && f->state == MODEL_LENT)
		c->b = f->peer;
	else
		c->b = other_than(c->a);
	return true;
}

/* A random target: mostly guests' frames, sometimes EL2's reserve, a range
 * off the end of RAM or below it. */
static void aim_at_random(struct call *c)
{
	unsigned where = (unsigned)(next() % 100);

	if (where < 4) {
		c->pa = pa_of(RAM_FRAMES - 1);
	} else if (where < 7) {
		c->pa = pa_of(RAM_FRAMES - 2);
		c->n = MAX_RUN;
	} else if (where < 9) {
		c->pa = RAM_BASE - FRAMES_SIZE;
	} else {
		c->pa = pa_of(next() % (model.zone_first - MAX_RUN));
	}
}

static struct call pick(void)
{
	struct call c = {
		.op = (enum op_kind)(next() % OP_TEARDOWN),
		.a = 1 + (unsigned)(next() % NR_VMS),
		.b = 1 + (unsigned)(next() % NR_VMS),
		.perm = next() % 2 ? EXO_SHARE_R : EXO_SHARE_RW,
		.align = (unsigned)(next() % 4),
		.n = 1 + next() % MAX_RUN,
	};

	if (next() % TEARDOWN_ONE_IN == 0) {
		c.op = OP_TEARDOWN;
		return c;
	}
	if (c.op == OP_ALLOC) {
		c.n = 1 + next() % MAX_ALLOC;
		return c;
	}
	if (next() % 2 == 0 || !aim_at_model(&c))
		aim_at_random(&c);
	return c;
}

/* --- one step: the model's answer, then EL2's ----------------------------- */

static int64_t predict(const struct call *c, uint64_t *pa)
{
	switch (c->op) {
	case OP_ALLOC: return model_alloc(&model, c->a, c->n, c->align, pa);
	case OP_ALLOC_AT: return model_alloc_at(&model, c->a, c->pa, c->n);
	case OP_FREE: return model_free(&model, c->a, c->pa, c->n);
	case OP_SHARE:
		return model_share(&model, c->a, c->b, c->pa, c->n, c->perm);
	case OP_UNSHARE: return model_unshare(&model, c->a, c->b, c->pa, c->n);
	case OP_LEND: return model_lend(&model, c->a, c->b, c->pa, c->n);
	case OP_RECLAIM: return model_reclaim(&model, c->a, c->b, c->pa, c->n);
	case OP_DONATE: return model_donate(&model, c->a, c->b, c->pa, c->n);
	default: model_teardown(&model, c->a); return EXO_OK;
	}
}

static void teardown(unsigned i)
{
	live[i] = false;
	vms[i].state = VM_EXITED;
	mem_vm_teardown(&vms[i]);
}

/* FRAME_ALLOC's PA as the model gives it (a number). */
static int64_t alloc(struct vm *vm, uint64_t n, unsigned align, uint64_t *pa)
{
	paddr_t got = pa_init(0);
	int64_t rc = mem_frame_alloc(vm, n, align, &got);

	*pa = pa_addr(got);
	return rc;
}

static int64_t perform(const struct call *c, uint64_t *pa)
{
	struct vm *va = &vms[c->a - 1], *vb = &vms[c->b - 1];

	switch (c->op) {
	case OP_ALLOC: return alloc(va, c->n, c->align, pa);
	case OP_ALLOC_AT: return mem_frame_alloc_at(va, pa_init(c->pa), c->n);
	case OP_FREE: return mem_frame_free(va, pa_init(c->pa), c->n);
	case OP_SHARE: return mem_frame_share(va, vb, pa_init(c->pa), c->n,
					      c->perm);
	case OP_UNSHARE: return mem_frame_unshare(va, vb, pa_init(c->pa), c->n);
	case OP_LEND: return mem_frame_lend(va, vb, pa_init(c->pa), c->n);
	case OP_RECLAIM: return mem_frame_reclaim(va, vb, pa_init(c->pa), c->n);
	case OP_DONATE: return mem_frame_donate(va, vb, pa_init(c->pa), c->n);
	default: teardown(c->a - 1); return EXO_OK;
	}
}

static bool frame_zero(uint64_t pa)
{
	const uint64_t *w = (const uint64_t *)(uintptr_t)pa;

	for (unsigned j = 0; j < FRAMES_SIZE / sizeof(*w); j++)
		if (w[j])
			return false;
	return true;
}

/* Every FREE frame is clean to DRAM (the cache model of fake_arch.h): a
 * scrub that zeroed a frame but left the zeros in the cache would hand
 * the next owner the old contents. Under FWB a FREE frame may be dirty
 * only with zeros (a scrub with no clean: every view of it is the
 * cache's), or be the frame a guest left unscrubbed (el2/mem.c,
 * the left frame), whose data is its last owner's. */
static void expect_free_frames_clean(void)
{
	unsigned left_vm;
	uint64_t left = mem_left_frame(&left_vm);

	for (uint64_t i = 0; i < RAM_FRAMES; i++) {
		uint64_t pa = RAM_BASE + i * FRAMES_SIZE;
		struct frames_info info;

		if (frames_query(mem_frames_db(), pa, &info) ||
		    info.state != EXO_FRAME_FREE || pa == left)
			continue;
		cr_assert(!fake_frame_dirty(pa) || (fwb && frame_zero(pa)),
			  "seed %lu step %u: FREE frame 0x%lx is zero in the "
			  "cache, not in DRAM (scrubbed without a clean to the "
			  "point of coherency, and stage 2 does not force "
			  "Write-Back)", (unsigned long)seed_now, step,
			  (unsigned long)pa);
	}
}

static void one_step(void)
{
	struct call c = pick();
	uint64_t want_pa = 0, got_pa = 0;
	int64_t want, got;

	observe_tables();
	want = predict(&c, &want_pa);
	cr_assert_neq(want, MODEL_UNKNOWN, "seed %lu step %u: the generator "
		      "touched frames the model leaves to EL2",
		      (unsigned long)seed_now, step);
	if (getenv("EXO_MEM_TRACE"))
		fprintf(stderr, "step %u: %s(a=%u, b=%u, pa=0x%lx, n=%lu)\n",
			step, op_name[c.op], c.a, c.b, (unsigned long)c.pa,
			(unsigned long)c.n);
	got = perform(&c, &got_pa);
	cr_assert(want == got && want_pa == got_pa,
		  "seed %lu step %u: %s(a=%u, b=%u, pa=0x%lx, n=%lu, perm=%u, "
		  "align=%u): expected %ld (pa 0x%lx), got %ld (pa 0x%lx)",
		  (unsigned long)seed_now, step, op_name[c.op], c.a, c.b,
		  (unsigned long)c.pa, (unsigned long)c.n, c.perm, c.align,
		  (long)want, (unsigned long)want_pa, (long)got,
		  (unsigned long)got_pa);
	tries[c.op]++;
	oks[c.op] += got == EXO_OK;
	if (c.op == OP_TEARDOWN) {
		create(c.a - 1);
		expect_frames(0, RAM_FRAMES);
		expect_accounts(true);
		return;
	}
	if (c.op == OP_ALLOC && got == EXO_OK)
		c.pa = got_pa;
	if (c.pa >= RAM_BASE)
		expect_frames(idx_of(c.pa), c.n);
	expect_accounts(c.op == OP_ALLOC || c.op == OP_ALLOC_AT);
	if (step % FULL_COMPARE_EVERY == 0) {
		expect_frames(0, RAM_FRAMES);
		expect_free_frames_clean();
	}
}

static void check_all(void)
{
	for (unsigned i = 0; i < NR_VMS; i++)
		if (live[i])
			mem_check_invariant(&vms[i]);
}

/* One line per seed; every kind of call must succeed often enough for the
 * model's predictions of success to be tested. */
static void report_rates(void)
{
	char line[512];
	int len = snprintf(line, sizeof(line), "mem random: seed %lu: ok/tried",
			   (unsigned long)seed_now);

	for (unsigned op = 0; op < NR_OPS; op++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, " %s %u/%u",
				op_name[op], oks[op], tries[op]);
	fprintf(stderr, "%s\n", line);
	for (unsigned op = 0; op < NR_OPS; op++)
		cr_assert(oks[op] * 100 >= tries[op] * SUCCESS_FLOOR_PCT &&
			  tries[op],
			  "seed %lu: %s succeeded %u times of %u, below %u %%",
			  (unsigned long)seed_now, op_name[op], oks[op], tries[op],
			  SUCCESS_FLOOR_PCT);
}

/* Every FREE frame reads zero once every guest is gone: frames, and the
 * stage-2 table pages that held their descriptors, were scrubbed on the
 * way out (docs/memory-model.md). */
static void expect_free_frames_zero(uint64_t seed)
{
	expect_free_frames_clean();
	for (uint64_t i = 0; i < RAM_FRAMES; i++) {
		uint64_t pa = RAM_BASE + i * FRAMES_SIZE;
		const uint64_t *w = (const uint64_t *)(uintptr_t)pa;
		struct frames_info info;

		if (frames_query(mem_frames_db(), pa, &info) ||
		    info.state != EXO_FRAME_FREE)
			continue;
		for (unsigned j = 0; j < FRAMES_SIZE / sizeof(*w); j++)
			cr_assert_eq(w[j], 0, "seed %lu: FREE frame 0x%lx holds "
				     "0x%lx at +0x%x (not scrubbed)",
				     (unsigned long)seed, (unsigned long)pa,
				     (unsigned long)w[j],
				     (unsigned)(j * sizeof(*w)));
	}
}

/* EL2 panicked (its invariant check, a CHECK): say where, and how to
 * replay just this sequence. */
static void where_it_stopped(FILE *out)
{
	fprintf(out, "mem random: EL2 stopped at seed %lu step %u "
		"(EXO_MEM_SEED=%lu replays)\n", (unsigned long)seed_now, step,
		(unsigned long)seed_now);
}

static void run(uint64_t seed)
{
	uint64_t free_frames, hyp, held;

	seed_now = seed;
	rng = seed | 1;
	memset(tries, 0, sizeof(tries));
	memset(oks, 0, sizeof(oks));
	fprintf(stderr, "mem random: seed %lu (EXO_MEM_SEED=%lu replays)\n",
		(unsigned long)seed, (unsigned long)seed);
	for (step = 0; step < STEPS; step++) {
		one_step();
		check_all();
	}
	report_rates();
	for (unsigned i = 0; i < NR_VMS; i++) {
		teardown(i);
		model_teardown(&model, i + 1);
	}
	mem_totals(&free_frames, &hyp, &held);
	cr_assert_eq(held, 0, "seed %lu: %lu frames still held at the end",
		     (unsigned long)seed, (unsigned long)held);
	cr_assert_eq(free_frames + hyp, RAM_FRAMES,
		     "seed %lu: every frame FREE again, or EL2's reserve",
		     (unsigned long)seed);
	expect_frames(0, RAM_FRAMES);
	cr_assert_eq(mem_left_frame(&(unsigned){ 0 }), 0, "seed %lu: every "
		     "guest's end scrubbed the frame it left",
		     (unsigned long)seed);
	expect_free_frames_zero(seed);
	for (unsigned i = 0; i < NR_VMS; i++)
		create(i);
}

static void machine_off(void)
{
	for (unsigned i = 0; i < NR_VMS; i++) {
		live[i] = false;
		mem_vm_teardown(&vms[i]);
		free(roots[i]);
	}
	mem_machine_unmap();
}

static void run_seeds(unsigned nr_seeds)
{
	const char *env = getenv("EXO_MEM_SEED");

	machine();
	fake_halt_context = where_it_stopped;
	if (env)
		run(strtoul(env, NULL, 0));
	else
		for (uint64_t s = 1; s <= nr_seeds; s++)
			run(s * UINT64_C(0x9e3779b97f4a7c15));
	machine_off();
	fake_halt_context = NULL;
}

Test(mem_random, share_lend_donate_keep_the_invariant,
     .timeout = HANG_GUARD_S)
{
	run_seeds(NR_SEEDS);
}

/* The same where stage 2 forces guest RAM Write-Back (FEAT_S2FWB, as on
 * QEMU's max): scrubs zero with no clean. Fewer seeds: only the scrub
 * differs. EXO_MEM_SEED replays one seed here too. */
Test(mem_random, share_lend_donate_keep_the_invariant_with_fwb,
     .timeout = HANG_GUARD_S)
{
	fwb = true;
	run_seeds(NR_SEEDS_FWB);
}

/* The last guest again, now with a quota of all of RAM. */
static void recreate_large(unsigned i, const char *name)
{
	struct vm *vm = &vms[i];

	teardown(i);
	memset(vm, 0, sizeof(*vm));
	vm->id = i + 1;
	strcpy(vm->name, name);
	cr_assert_eq(mem_vm_create(vm, RAM_FRAMES, roots[i]), EXO_OK);
	live[i] = true;
}

/* Each 2 MiB block a guest maps keeps its split page in the guest's cache,
 * beyond the spare pages any trim keeps: freeing a frame from the middle
 * of each of several blocks needs no page from RAM or the quota. */
Test(mem_random, every_block_keeps_its_split_page, .timeout = HANG_GUARD_S)
{
	const uint64_t blocks = 6, block = EXO_S2_L3_TABLE_FRAMES;
	struct vm *v = &vms[3];
	uint64_t pa, tables;

	machine();
	recreate_large(3, "blocks");
	cr_assert_eq(alloc(v, blocks * block, 9, &pa), EXO_OK);
	cr_assert_eq(s2_blocks(&v->s2), blocks);
	cr_assert_geq(v->s2_cache.nr, blocks + EXO_S2_TABLE_RESERVE);
	tables = frames_account(mem_frames_db(), v->id)->tables;
	for (uint64_t k = 0; k < blocks; k++)
		cr_assert_eq(mem_frame_free(v, pa_init(pa + (k * block + 1) *
							       FRAMES_SIZE), 1),
			     EXO_OK, "block %lu", (unsigned long)k);
	cr_assert_eq(s2_blocks(&v->s2), 0);
	cr_assert_leq(frames_account(mem_frames_db(), v->id)->tables, tables,
		      "the splits were paid when the blocks were made");
	check_all();
	machine_off();
}

/* Revocation under memory pressure: the borrower maps two 2 MiB blocks,
 * each made of frames from two owners; another guest has taken every FREE
 * frame; one owner leaves, so both blocks must be split. The table pages
 * for that are the ones each block kept when it was made (paid by the
 * borrower then, within its quota): nothing is taken from RAM, nothing is
 * charged beyond a quota, the invariant holds (docs/memory-model.md,
 * "Rule 1"). */
Test(mem_random, revocation_split_under_memory_pressure,
     .timeout = HANG_GUARD_S)
{
	uint64_t half = 256, pa, hyp0, hyp1, free0, held0;
	uint64_t a = RAM_BASE + (UINT64_C(2) << 20), b = a + (UINT64_C(2) << 20);
	struct vm *v1 = &vms[0], *v2 = &vms[1], *v3 = &vms[2], *v4 = &vms[3];
	struct s2_leaf leaf;

	machine();
	/* Block a: v1 then v3; block b: v3 then v1. */
	cr_assert_eq(mem_frame_alloc_at(v1, pa_init(a), half), EXO_OK);
	cr_assert_eq(mem_frame_alloc_at(v3, pa_init(a + half * FRAMES_SIZE), half),
		     EXO_OK);
	cr_assert_eq(mem_frame_alloc_at(v3, pa_init(b), half), EXO_OK);
	cr_assert_eq(mem_frame_alloc_at(v1, pa_init(b + half * FRAMES_SIZE), half),
		     EXO_OK);
	cr_assert_eq(mem_frame_share(v1, v2, pa_init(a), half, EXO_SHARE_RW),
		     EXO_OK);
	cr_assert_eq(mem_frame_share(v3, v2, pa_init(a + half * FRAMES_SIZE), half,
				     EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_frame_share(v3, v2, pa_init(b), half, EXO_SHARE_RW),
		     EXO_OK);
	cr_assert_eq(mem_frame_share(v1, v2, pa_init(b + half * FRAMES_SIZE), half,
				     EXO_SHARE_RW), EXO_OK);
	cr_assert(s2_lookup(&v2->s2, ipa_init(a), &leaf) && leaf.level == 2,
		  "the borrower maps block a as a block");
	/* A guest that may own all of RAM takes every FREE frame. */
	recreate_large(3, "hog");
	while (alloc(v4, 1, 0, &pa) == EXO_OK)
		;
	cr_assert_eq(alloc(v4, 1, 0, &pa), EXO_ENOMEM, "RAM is taken");
	cr_assert_eq(s2_blocks(&v2->s2), 2);
	cr_assert_geq(v2->s2_cache.nr, 2, "each block kept its split page");
	cr_assert_leq(frames_count(mem_frames_db(), EXO_FRAME_FREE), 1,
		      "RAM is full: too few FREE frames for a split");
	check_all();
	mem_totals(&free0, &hyp0, &held0);
	/* v1 leaves: its halves are taken out of both of v2's blocks. */
	live[0] = false;
	v1->state = VM_EXITED;
	mem_vm_teardown(v1);
	check_all();
	mem_totals(&free0, &hyp1, &held0);
	cr_assert_leq(hyp1, hyp0, "the splits took no new table page");
	cr_assert_leq(frames_account(mem_frames_db(), v2->id)->used,
		      frames_account(mem_frames_db(), v2->id)->quota,
		      "the borrower is charged within its quota");
	cr_assert_not(s2_lookup(&v2->s2, ipa_init(a), &leaf),
		      "v1's half of a is gone");
	cr_assert_not(s2_lookup(&v2->s2, ipa_init(b + half * FRAMES_SIZE), &leaf));
	cr_assert(s2_lookup(&v2->s2, ipa_init(a + half * FRAMES_SIZE),
			    &leaf) && leaf.level == 3,
		  "v3's half of a is still shared, now in pages");
	cr_assert(s2_lookup(&v2->s2, ipa_init(b), &leaf) && leaf.level == 3);
	machine_off();
}
