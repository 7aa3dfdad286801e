/*
 * The adversarial model checker (model_check.h): one function per
 * property, the take-back probes, the step alphabet, running sequences and
 * the depth-first search with state hashing, over the machine of
 * model_machine.c (snapshots of it, or replays of the steps where a
 * snapshot cannot be copied back).
 *
 * Owns: the alphabet, the visited-state set, the snapshots it takes, the
 * result it fills. Never: calls el2/ except through the machine and the
 * DB's read-only view; a check never changes the explored state (probes
 * run from a snapshot).
 */
#include "model_check.h"

#include "fake_arch.h"
#include "model_machine.h"

#include <arch/pte.h>
#include <el2/frames.h>
#include <el2/mem.h>
#include <el2/s2.h>
#include <exo/errors.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Properties a known bug of el2/ breaks, each with the change that will
 * mend it. This is the one place that marks a property expected to fail: its counterexamples, kept in
 * tests/host/model_check_cases.txt, must still break it (a property that
 * starts to hold fails test_model_check.c until its line here is
 * removed); the search reports but does not fail on it, nor does the fuzz
 * target. Every other property must hold.
 */
static const struct {
	enum mc_prop prop;
	const char *mended_by;
} expected_failures[] = {
	/* None since D1 (issue 13, rule 1): the four properties D1 mended
	 * (charged-only-actors, no-global-pool, reserve-untouched,
	 * take-back) hold, and their counterexamples are kept as cases that
	 * must hold too. The end marker below is no property. */
	{ MC_NR_PROPS, NULL },
};


static struct mc_result *res;   /* where the checks report */
static FILE *trace;             /* mc_set_trace */
static enum mc_kind blamed;     /* the kind of the step being checked */
/* The guests that take part in a step. A share, loan or donation is the
 * owner's offer and the recipient's acceptance (decision D2 of issue 13:
 * the recipient's own FRAME_ACCEPT makes the mem-level call): both act.
 * Taking back (unshare, reclaim) is the owner's act alone. */
static unsigned actors(const struct mc_call *c)
{
	unsigned mask = 1u << c->a;

	if (c->kind == MC_SHARE || c->kind == MC_LEND || c->kind == MC_DONATE)
		mask |= 1u << c->b;
	return mask;
}
/* --- reports ------------------------------------------------------------ */

static const char *const prop_name[MC_NR_PROPS] = {
	"no-panic", "stage2-is-db", "within-quota", "charge-accounted",
	"charged-only-actors", "no-global-pool", "reserve-untouched",
	"take-back",
};

const char *mc_prop_name(enum mc_prop p)
{
	return p < MC_NR_PROPS ? prop_name[p] : "?";
}

enum mc_prop mc_prop_by_name(const char *name)
{
	enum mc_prop p;

	for (p = 0; p < MC_NR_PROPS; p++)
		if (!strcmp(name, prop_name[p]))
			break;
	return p;
}

bool mc_expected_to_fail(enum mc_prop p, const char **mended_by)
{
	for (size_t i = 0; i < sizeof(expected_failures) /
				   sizeof(expected_failures[0]); i++) {
		if (expected_failures[i].prop == p) {
			if (mended_by)
				*mended_by = expected_failures[i].mended_by;
			return true;
		}
	}
	return false;
}

/* A counterexample: the sequence that led to it, one replayable line a
 * step, then what broke. */
static void write_example(char *out, enum mc_prop p, const char *fmt,
			  va_list ap)
{
	char line[128];
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < mm_path_len; i++) {
		mc_format(&mm_path[i], line, sizeof(line));
		len += (size_t)snprintf(out + len, MC_EXAMPLE_MAX - len, "%s\n",
					line);
		if (len >= MC_EXAMPLE_MAX)
			return;
	}
	len += (size_t)snprintf(out + len, MC_EXAMPLE_MAX - len, "# %s: ",
				prop_name[p]);
	if (len < MC_EXAMPLE_MAX)
		vsnprintf(out + len, MC_EXAMPLE_MAX - len, fmt, ap);
}

/* Keeps the shortest counterexample of each property, and of each
 * property and kind of step that broke it. */
static void violation(enum mc_prop p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void violation(enum mc_prop p, const char *fmt, ...)
{
	va_list ap;

	if (!(res->kinds[p] >> blamed & 1) ||
	    mm_path_len < res->kind_steps[p][blamed]) {
		res->kinds[p] |= 1u << blamed;
		res->kind_steps[p][blamed] = mm_path_len;
		va_start(ap, fmt);
		write_example(res->kind_example[p][blamed], p, fmt, ap);
		va_end(ap);
	}
	if (res->violated[p] && mm_path_len >= res->example_steps[p])
		return;
	res->violated[p] = true;
	res->example_steps[p] = mm_path_len;
	va_start(ap, fmt);
	write_example(res->example[p], p, fmt, ap);
	va_end(ap);
}

/* --- the properties, one function each ---------------------------------- */

struct before {
	uint64_t used[MC_GUESTS];
	bool live[MC_GUESTS];
	uint64_t lacking;       /* table pages the step's stage 2s lack */
	uint64_t free_frames;
	uint64_t reserve;       /* EL2's own HYP frames */
};

static uint64_t lacking_for(struct vm *vm, enum s2_op op, uint64_t frame,
			    uint64_t n)
{
	ipaddr_t ipa = ipa_of_pa(pa_init(mm_pa(frame)));
	unsigned need;

	if (s2_check(&vm->s2, op, ipa, n * MM_FRAME_BYTES,
		     S2_PROT_R | S2_PROT_W | S2_PROT_X))
		return 0;
	unsigned spare = vm->s2_cache.nr - s2_blocks(&vm->s2);

	need = s2_pages_needed(&vm->s2, op, ipa, n * MM_FRAME_BYTES);
	return need > spare ? need - spare : 0;
}

static void capture(const struct mc_call *c, struct before *b)
{
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(mm_db(), g + 1);

		b->live[g] = mm_live[g];
		b->used[g] = mm_live[g] ? a->used : 0;
	}
	b->free_frames = frames_count(mm_db(), EXO_FRAME_FREE);
	b->reserve = mm_reserve();
	b->lacking = 0;
	if (!mm_between_two(c->kind) || !mm_live[c->a - 1] || !mm_live[c->b - 1])
		return;
	/* The recipient maps (share, lend, donate) or unmaps (unshare,
	 * reclaim); the owner unmaps (lend, donate) or maps (reclaim). */
	b->lacking = lacking_for(&mm_vms[c->b - 1],
				 c->kind == MC_UNSHARE || c->kind == MC_RECLAIM
					 ? S2_OP_UNMAP : S2_OP_MAP,
				 c->frame, c->n);
	if (c->kind == MC_LEND || c->kind == MC_DONATE)
		b->lacking += lacking_for(&mm_vms[c->a - 1], S2_OP_UNMAP,
					  c->frame, c->n);
	if (c->kind == MC_RECLAIM)
		b->lacking += lacking_for(&mm_vms[c->a - 1], S2_OP_MAP, c->frame,
					  c->n);
}

/* EL2 never panics: the step returned. */
static void check_no_panic(const struct mc_call *c, const char *where)
{
	char line[128];

	mc_format(c, line, sizeof(line));
	violation(MC_NO_PANIC, "%s `%s` stopped EL2: %s", where, line,
		  fake_halt_line);
}

/* Every guest's stage 2 maps exactly what the DB allows it. */
static bool check_stage2_is_db(void)
{
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		if (mm_live[g] && !mm_invariant_holds(g)) {
			violation(MC_STAGE2_IS_DB, "%s", fake_halt_line);
			return false;
		}
	}
	return true;
}

/* Every guest's charge is within its quota. */
static void check_within_quota(void)
{
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(mm_db(), g + 1);

		if (mm_live[g] && a->used > a->quota)
			violation(MC_WITHIN_QUOTA,
				  "g%u is charged %" PRIu64 " frames, quota %"
				  PRIu64 " (tables %" PRIu64 ")", g + 1,
				  a->used, a->quota, a->tables);
	}
}

static bool table_of_guest(uint64_t pa, unsigned id)
{
	const struct frames_db *d = mm_db();
	uint64_t i = (pa - d->base) >> EXO_FRAME_SHIFT;

	return pa >= d->base && i < d->nr &&
	       d->entry[i].state == EXO_FRAME_HYP && d->entry[i].owner == id;
}

/* Table pages below a stage-2 table, counted from the descriptors; *alien
 * counts those that are not HYP frames charged to id. */
static uint64_t count_tables(const uint64_t *t, unsigned entries, int level,
			     unsigned id, uint64_t *alien)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < entries; i++) {
		uint64_t d = t[i], pa = d & PTE_ADDR_MASK;

		if ((d & PTE_TYPE_MASK) != (PTE_VALID | PTE_TABLE))
			continue;
		n++;
		*alien += !table_of_guest(pa, id);
		if (level + 1 < 3)
			n += count_tables((const uint64_t *)(uintptr_t)pa,
					  PTES_PER_TABLE, level + 1, id, alien);
	}
	return n;
}

/* What the DB says a guest holds, counted frame by frame. */
static void held_in_db(unsigned id, uint64_t *frames, uint64_t *hyp)
{
	const struct frames_db *d = mm_db();

	*frames = *hyp = 0;
	for (uint64_t i = 0; i < d->nr; i++) {
		const struct frames_entry *e = &d->entry[i];

		if (e->owner != id)
			continue;
		if (e->state == EXO_FRAME_HYP)
			(*hyp)++;
		else if (e->state == EXO_FRAME_OWNED ||
			 e->state == EXO_FRAME_SHARED ||
			 e->state == EXO_FRAME_LENT)
			(*frames)++;
	}
}

/* Every guest's charge is the frames it owns plus the table pages it holds
 * (its stage 2's, from the descriptors, and its page cache's, from the
 * list), each of them a HYP frame charged to it; counted independently of
 * frames.c's counters. A guest that is gone holds nothing. */
static void check_charge_accounted(void)
{
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(mm_db(), g + 1);
		uint64_t frames, hyp, alien = 0, tables = 0, cached = 0;
		const uint64_t *page;

		held_in_db(g + 1, &frames, &hyp);
		if (!mm_live[g]) {
			if (frames || hyp)
				violation(MC_CHARGE_ACCOUNTED,
					  "g%u is gone but holds %" PRIu64
					  " frames and %" PRIu64 " HYP frames",
					  g + 1, frames, hyp);
			continue;
		}
		tables = count_tables(mm_vms[g].s2.root,
				      S2_ROOT_PAGES * PTES_PER_TABLE,
				      S2_START_LEVEL, g + 1, &alien);
		for (page = mm_vms[g].s2_cache.head; page && cached <= hyp;
		     page = (const uint64_t *)(uintptr_t)page[0]) {
			cached++;
			alien += !table_of_guest((uint64_t)(uintptr_t)page,
						 g + 1);
		}
		if (a->used != frames + hyp || hyp != tables + cached ||
		    cached != mm_vms[g].s2_cache.nr || alien)
			violation(MC_CHARGE_ACCOUNTED,
				  "g%u is charged %" PRIu64 "; it owns %" PRIu64
				  " frames and %" PRIu64 " HYP frames; its "
				  "stage 2 has %" PRIu64 " table pages, its "
				  "cache %" PRIu64 " (says %u); %" PRIu64
				  " of them not its HYP frames", g + 1, a->used,
				  frames, hyp, tables, cached,
				  mm_vms[g].s2_cache.nr, alien);
	}
}

/* A guest that took no part in a step is charged no more after it. */
static void check_charged_only_actors(const struct mc_call *c,
				      const struct before *b)
{
	unsigned mask = actors(c);
	char line[128];

	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(mm_db(), g + 1);

		if (mask & (1u << (g + 1)) || !b->live[g] || !mm_live[g] ||
		    a->used <= b->used[g])
			continue;
		mc_format(c, line, sizeof(line));
		violation(MC_CHARGED_ONLY_ACTORS,
			  "`%s` raised g%u's charge from %" PRIu64 " to %"
			  PRIu64, line, g + 1, b->used[g], a->used);
	}
}

/* No pool shared by all guests runs dry: a share, loan or donation fails
 * with ENOMEM only when RAM lacks the table pages it needs. */
static void check_no_global_pool(const struct mc_call *c, int64_t rc,
				 const struct before *b)
{
	char line[128];

	if (rc != EXO_ENOMEM || !mm_between_two(c->kind) ||
	    b->lacking > b->free_frames)
		return;
	mc_format(c, line, sizeof(line));
	violation(MC_NO_GLOBAL_POOL,
		  "`%s` failed with ENOMEM; it lacks %" PRIu64 " table pages "
		  "and %" PRIu64 " frames are FREE", line, b->lacking,
		  b->free_frames);
}

/* EL2 keeps no reserve a step can drain: no step hands a guest one of
 * EL2's own frames (the reserve runs dry after a few, and EL2 panics). */
static void check_reserve_untouched(const struct mc_call *c,
				    const struct before *b)
{
	char line[128];
	uint64_t now = mm_reserve();

	if (now >= b->reserve)
		return;
	mc_format(c, line, sizeof(line));
	violation(MC_RESERVE_UNTOUCHED,
		  "`%s` took %" PRIu64 " of EL2's %" PRIu64 " reserved frames",
		  line, b->reserve - now, b->reserve);
}

/* The checks of a step's effect (after every step). */
static void check_transition(const struct mc_call *c, int64_t rc,
			     const struct before *b)
{
	check_charged_only_actors(c, b);
	check_no_global_pool(c, rc, b);
	check_reserve_untouched(c, b);
}

/* The checks of a state (each state once: a state reached again passed
 * them already); false if it cannot be explored further. */
static bool check_state(void)
{
	if (!check_stage2_is_db())
		return false;
	check_within_quota();
	check_charge_accounted();
	return true;
}

/* --- the take-back probes ----------------------------------------------- */

/* Runs one probe step; false (reported) unless it succeeded. */
static bool probe_step(const struct mc_call *c)
{
	char line[128];
	int64_t rc;

	res->probes++;
	res->steps++;
	blamed = c->kind;
	if (!mm_run(c, &rc)) {
		check_no_panic(c, "the probe");
		return false;
	}
	if (rc == EXO_OK)
		return true;
	mc_format(c, line, sizeof(line));
	violation(MC_TAKE_BACK, "the owner's `%s` returned %" PRId64, line, rc);
	return false;
}

/* From the state saved in at: the owner takes back the first frame of the
 * run only (a split in the borrower's stage 2), or all of it and then
 * frees it if nobody else borrows it. Each from the state. */
static void probe_gift(const struct mc_call *give_back,
		       const struct mm_snapshot *at)
{
	struct mc_call part = *give_back, all = *give_back, free_all;
	uint64_t first, n;

	part.n = 1;
	mm_restore(at);
	probe_step(&part);
	mm_restore(at);
	if (!probe_step(&all))
		return;
	if (!mm_find_run(RUN_OWNED, all.a, 0, &first, &n) || first > all.frame ||
	    first + n < all.frame + all.n)
		return;
	free_all = (struct mc_call){ .kind = MC_FREE, .a = all.a,
				     .frame = all.frame, .n = all.n };
	probe_step(&free_all);
}

#define MAX_GIFTS (MC_GUESTS * (MC_GUESTS - 1) * 2)

/* Every owner's take-back of what it gave (the lowest run it shares with
 * or lends to each other guest), probed from the state now, which is saved
 * in at first. True if it probed anything: the machine is then elsewhere
 * (mm_restore(at) brings it back). */
static bool check_take_back(struct mm_snapshot *at)
{
	struct mc_call gift[MAX_GIFTS];
	unsigned nr = 0;

	for (unsigned a = 1; a <= MC_GUESTS; a++) {
		for (unsigned b = 1; b <= MC_GUESTS; b++) {
			struct mc_call c = { .a = a, .b = b };

			if (a == b || !mm_live[a - 1] || !mm_live[b - 1])
				continue;
			c.kind = MC_UNSHARE;
			if (mm_find_run(RUN_SHARED_WITH, a, b, &c.frame, &c.n))
				gift[nr++] = c;
			c.kind = MC_RECLAIM;
			if (mm_find_run(RUN_LENT_TO, a, b, &c.frame, &c.n))
				gift[nr++] = c;
		}
	}
	if (nr)
		mm_save(at);
	for (unsigned i = 0; i < nr; i++)
		probe_gift(&gift[i], at);
	return nr > 0;
}

/* --- the alphabet ------------------------------------------------------- */

/* Which frames a step names, found in the state it runs in. */
enum sel { SEL_NONE, SEL_FIRST, SEL_WHOLE };

struct sym {
	struct mc_call c;   /* kind, guests, and n/align/frame where fixed */
	enum sel sel;
};

#define MAX_ALPHABET 128
static struct sym alphabet[MAX_ALPHABET];
static unsigned alphabet_n;
/* The steps the exhaustive search takes (indices into alphabet); the fuzz
 * target takes them all. */
static uint8_t searched[MAX_ALPHABET];
static unsigned searched_n;

/* Only in the fuzz target's deeper runs: with them the search takes three
 * times the states (63,000 at depth 6) to reach no case the others do not
 * (the other permission of a share, a loan of one frame, a whole
 * donation). */
#define DEEP_ONLY true

static void add(enum mc_kind k, unsigned a, unsigned b, enum sel sel,
		uint64_t frame, uint64_t n, unsigned align, bool rw,
		bool deep_only)
{
	if (!deep_only)
		searched[searched_n++] = (uint8_t)alphabet_n;
	alphabet[alphabet_n++] = (struct sym){
		.c = { .kind = k, .a = a, .b = b, .frame = frame, .n = n,
		       .align = align, .rw = rw },
		.sel = sel,
	};
}

/* A guest's steps: a whole 2 MiB block (a block in every stage 2 that maps
 * it), one frame (first fit), the block's last frame at a fixed address
 * (then no block can be had), freeing a frame of what it owns (a split) or
 * all of it, forced revocation of one frame, the end of its life (it stays
 * gone), a restart (the end of its life and a new one). */
static void add_guest_steps(unsigned a)
{
	add(MC_ALLOC, a, 0, SEL_NONE, 0, MM_BLOCK_FRAMES, 9, false, false);
	add(MC_ALLOC, a, 0, SEL_NONE, 0, 1, 0, false, false);
	add(MC_ALLOC_AT, a, 0, SEL_NONE, MM_BLOCK_FRAMES - 1, 1, 0, false, false);
	add(MC_FREE, a, 0, SEL_FIRST, 0, 0, 0, false, false);
	add(MC_FREE, a, 0, SEL_WHOLE, 0, 0, 0, false, false);
	add(MC_REVOKE, a, 0, SEL_NONE, 0, 1, 0, false, false);
	add(MC_RESTART, a, 0, SEL_NONE, 0, 0, 0, false, false);
	add(MC_TEARDOWN, a, 0, SEL_NONE, 0, 0, 0, false, false);
}

/* From a to b: a frame of a block or the whole of it (shared R, or RW),
 * taken back in part (a split in b's stage 2) or whole. */
static void add_pair_steps(unsigned a, unsigned b)
{
	add(MC_SHARE, a, b, SEL_FIRST, 0, 0, 0, false, false);
	add(MC_SHARE, a, b, SEL_WHOLE, 0, 0, 0, true, false);
	add(MC_SHARE, a, b, SEL_FIRST, 0, 0, 0, true, DEEP_ONLY);
	add(MC_SHARE, a, b, SEL_WHOLE, 0, 0, 0, false, DEEP_ONLY);
	add(MC_UNSHARE, a, b, SEL_FIRST, 0, 0, 0, false, false);
	add(MC_UNSHARE, a, b, SEL_WHOLE, 0, 0, 0, false, false);
	add(MC_LEND, a, b, SEL_WHOLE, 0, 0, 0, false, false);
	add(MC_LEND, a, b, SEL_FIRST, 0, 0, 0, false, DEEP_ONLY);
	add(MC_RECLAIM, a, b, SEL_FIRST, 0, 0, 0, false, false);
	add(MC_RECLAIM, a, b, SEL_WHOLE, 0, 0, 0, false, false);
	add(MC_DONATE, a, b, SEL_FIRST, 0, 0, 0, false, false);
	add(MC_DONATE, a, b, SEL_WHOLE, 0, 0, 0, false, DEEP_ONLY);
}

static void build_alphabet(void)
{
	if (alphabet_n)
		return;
	for (unsigned a = 1; a <= MC_GUESTS; a++)
		add_guest_steps(a);
	for (unsigned a = 1; a <= MC_GUESTS; a++) {
		for (unsigned b = 1; b <= MC_GUESTS; b++) {
			if (a != b)
				add_pair_steps(a, b);
		}
	}
}

unsigned mc_alphabet_size(void)
{
	build_alphabet();
	return alphabet_n;
}

static enum run_kind run_of(enum mc_kind k)
{
	switch (k) {
	case MC_SHARE: return RUN_SHAREABLE;
	case MC_UNSHARE: return RUN_SHARED_WITH;
	case MC_RECLAIM: return RUN_LENT_TO;
	default: return RUN_OWNED;
	}
}

/* The concrete step in the state now; false if the guest holds nothing the
 * step could name (it would change nothing). */
static bool resolve(const struct sym *s, struct mc_call *c)
{
	*c = s->c;
	if (s->sel == SEL_NONE)
		return true;
	if (!mm_live[c->a - 1] || (c->b && !mm_live[c->b - 1]))
		return false;
	if (!mm_find_run(run_of(c->kind), c->a, c->b, &c->frame, &c->n))
		return false;
	if (s->sel == SEL_FIRST)
		c->n = 1;
	return true;
}

/* --- running sequences -------------------------------------------------- */

void mc_set_trace(FILE *out)
{
	trace = out;
}

/* The step, its status and every guest's charge. */
static void trace_step(const struct mc_call *c, int64_t rc)
{
	char line[128];

	mc_format(c, line, sizeof(line));
	fprintf(trace, "%-36s -> %s", line, rc == MM_NOT_RUN ? "not run"
					      : rc ? "error" : "ok");
	if (rc != MM_NOT_RUN && rc)
		fprintf(trace, " %" PRId64, rc);
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(mm_db(), g + 1);

		if (mm_live[g])
			fprintf(trace, "  g%u %" PRIu64 "/%" PRIu64 " (tables %"
				PRIu64 ")", g + 1, a->used, a->quota,
				a->tables);
		else
			fprintf(trace, "  g%u gone", g + 1);
	}
	fprintf(trace, "\n");
}

/* One step from the state path leads to, its effect checked; path grows
 * by it. False if EL2 stopped. */
static bool step_checked(const struct mc_call *c)
{
	struct before b;
	int64_t rc;

	capture(c, &b);
	blamed = c->kind;
	mm_path[mm_path_len++] = *c;
	res->steps++;
	if (!mm_run(c, &rc)) {
		check_no_panic(c, "step");
		return false;
	}
	if (trace)
		trace_step(c, rc);
	check_transition(c, rc, &b);
	return true;
}

static void snaps_alloc(void);

static void result_init(struct mc_result *r)
{
	memset(r, 0, sizeof(*r));
	res = r;
	build_alphabet();
	snaps_alloc();
}

/* Snapshots: one per depth of the search, and one for the probes. */
static struct mm_snapshot *snaps[MC_MAX_STEPS + 2];

static void snaps_alloc(void)
{
	for (unsigned i = 0; i < MC_MAX_STEPS + 2; i++)
		if (!snaps[i])
			snaps[i] = mm_snapshot_new();
}

void mc_check_now(enum mc_kind by, struct mc_result *r)
{
	memset(r, 0, sizeof(*r));
	res = r;
	blamed = by;
	check_state();
}

void mc_run_calls(const struct mc_call *calls, unsigned n,
		  struct mc_result *r)
{
	result_init(r);
	mm_boot();
	for (unsigned i = 0; i < n && i < MC_MAX_STEPS; i++) {
		if (!step_checked(&calls[i]) || !check_state())
			return;
		r->states++;
		r->depth = i + 1;
		if (check_take_back(snaps[0]))
			mm_restore(snaps[0]);
	}
}

void mc_run_steps(const uint8_t *steps, unsigned n, struct mc_result *r)
{
	struct mc_call c;

	result_init(r);
	mm_boot();
	for (unsigned i = 0; i < n && mm_path_len < MC_MAX_STEPS; i++) {
		if (!resolve(&alphabet[steps[i] % alphabet_n], &c))
			continue;
		if (!step_checked(&c) || !check_state())
			return;
		r->states++;
		r->depth = mm_path_len;
		if (check_take_back(snaps[0]))
			mm_restore(snaps[0]);
	}
}

/* --- the search --------------------------------------------------------- */

/* Visited state classes: open addressing over 64-bit hashes (0 = empty),
 * with the least depth each was reached at. */
static struct {
	uint64_t *slot;
	uint8_t *depth;
	uint64_t size, used;
} seen;

static void seen_alloc(uint64_t size)
{
	seen.size = size;
	seen.used = 0;
	seen.slot = calloc(size, sizeof(*seen.slot));
	seen.depth = calloc(size, sizeof(*seen.depth));
	if (!seen.slot || !seen.depth)
		abort();
}

static void seen_reset(void)
{
	free(seen.slot);
	free(seen.depth);
	seen_alloc(1u << 16);
}

static bool seen_put(uint64_t h, unsigned depth, unsigned *was);

static void seen_grow(void)
{
	uint64_t *old = seen.slot, size = seen.size;
	uint8_t *old_depth = seen.depth;

	seen_alloc(2 * size);
	for (uint64_t i = 0; i < size; i++)
		if (old[i])
			seen_put(old[i], old_depth[i], NULL);
	free(old);
	free(old_depth);
}

/* True if h is new; else *was is the least depth it had, lowered to depth. */
static bool seen_put(uint64_t h, unsigned depth, unsigned *was)
{
	uint64_t i;

	if (2 * (seen.used + 1) > seen.size)
		seen_grow();
	for (i = h & (seen.size - 1); seen.slot[i];
	     i = (i + 1) & (seen.size - 1)) {
		if (seen.slot[i] != h)
			continue;
		*was = seen.depth[i];
		if (depth < seen.depth[i])
			seen.depth[i] = (uint8_t)depth;
		return false;
	}
	seen.slot[i] = h;
	seen.depth[i] = (uint8_t)depth;
	seen.used++;
	return true;
}

/* Is some counterexample longer than steps? A state reached again by a
 * shorter path is then checked again, so each example is a shortest. */
static bool example_longer_than(unsigned steps)
{
	for (enum mc_prop p = 0; p < MC_NR_PROPS; p++)
		if (res->violated[p] && res->example_steps[p] > steps)
			return true;
	return false;
}

/*
 * Depth first, from a snapshot per depth, each state class (up to the
 * mirror) explored once from the least depth it was reached at: a state
 * first reached deep is explored again when a shorter path reaches it, so
 * every state within the depth bound is explored as far as the bound
 * allows, as a breadth-first search would.
 */
static void dfs(unsigned d, unsigned max)
{
	struct mm_snapshot *here_snap = snaps[d];
	uint64_t here;
	bool at_node = true;

	mm_save(here_snap);
	here = mm_state_hash();
	for (unsigned k = 0; k < searched_n; k++) {
		struct mc_call c;
		unsigned seen_at;
		bool fresh;

		if (!at_node)
			mm_restore(here_snap);
		at_node = true;
		if (!resolve(&alphabet[searched[k]], &c))
			continue;
		at_node = false;
		if (!step_checked(&c))
			continue;
		if (mm_state_hash() == here) {     /* refused: nothing changed */
			mm_path_len--;
			at_node = true;
			continue;
		}
		fresh = seen_put(mm_state_class_hash(), d + 1, &seen_at);
		if (!fresh && seen_at <= d + 1)
			continue;
		if (fresh)
			res->states++;
		if (fresh || example_longer_than(d + 1)) {
			if (!check_state())
				continue;
			if (check_take_back(snaps[MC_MAX_STEPS + 1]))
				mm_restore(snaps[MC_MAX_STEPS + 1]);
		}
		if (d + 1 > res->depth)
			res->depth = d + 1;
		if (d + 1 < max)
			dfs(d + 1, max);
	}
}

void mc_explore(unsigned depth, struct mc_result *r)
{
	uint64_t replayed = mm_replayed;

	result_init(r);
	if (depth > MC_MAX_STEPS)
		depth = MC_MAX_STEPS;
	seen_reset();
	mm_boot();
	seen_put(mm_state_class_hash(), 0, NULL);
	r->states = 1;
	if (depth)
		dfs(0, depth);
	free(seen.slot);
	free(seen.depth);
	seen.slot = NULL;
	seen.depth = NULL;
	r->replayed = mm_replayed - replayed;
}
