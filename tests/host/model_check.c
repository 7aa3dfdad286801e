/*
 * The adversarial model checker (model_check.h): the machine, the step
 * alphabet, one function per property, the take-back probes and the
 * depth-first search with state hashing. EL2's state lives in el2/'s own
 * statics: a state is saved and restored through the frame DB mem.c
 * exposes (mem_frames_db), the guests' structs and their table pages; what
 * a test cannot restore (EL2's revocation reserve once used, a guest that
 * is gone) is reached again by replaying the steps on a fresh boot.
 *
 * Owns: the machine's guests and roots, the alphabet, the visited-state
 * set, the snapshots. Never: calls anything in el2/ above mem.c; a check
 * never changes the explored state (probes run from a snapshot).
 */
#include "model_check.h"

#include "fake_arch.h"
#include "mem_machine.h"

#include <arch/pte.h>
#include <el2/frames.h>
#include <el2/mem.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <inttypes.h>
#include <lib/panic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * THE PROPERTIES TODAY'S el2/ BREAKS, each with the change that mends it
 * (issue 13's plan, decision D1). This is the one place that marks a
 * property expected to fail: its counterexamples, kept in
 * tests/host/model_check_cases.txt, must still break it (a property that
 * starts to hold fails test_model_check.c until its line here is
 * removed); the search reports but does not fail on it, nor does the fuzz
 * target. Every other property must hold.
 */
static const struct {
	enum mc_prop prop;
	const char *mended_by;
} expected_failures[] = {
	/* Reclaiming (or unsharing) one frame of a block the borrower maps
	 * splits it with a page charged to the borrower, in the owner's
	 * step; a borrower's end re-maps the frames it had on loan in the
	 * lender's stage 2 with pages charged to the lender. */
	{ MC_CHARGED_ONLY_ACTORS,
	  "D1: a block's split page is paid when the block is made" },
	/* FRAME_SHARE of a block takes 512 records from a pool of one per
	 * 16 frames of RAM: ENOMEM with RAM to spare. */
	{ MC_NO_GLOBAL_POOL, "D1: one share record per frame, no pool" },
	/* A guest that split blocks until its page cache is empty, its
	 * frames revoked while RAM is full: the split page comes from EL2's
	 * 16-frame reserve (never refilled; EL2 panics when it is dry). */
	{ MC_RESERVE_UNTOUCHED,
	  "D1: no reserve; an unmap never needs a new table page" },
	/* The owner's RECLAIM/UNSHARE of one frame of a block the borrower
	 * maps fails with EQUOTA (the borrower's quota is full) or ENOMEM
	 * (RAM is), and its FREE of a frame of its own block with ENOMEM. */
	{ MC_TAKE_BACK,
	  "D1: an unmap never needs a new table page" },
};

/* --- the machine -------------------------------------------------------- */

#define BLOCK_FRAMES 512u       /* one 2 MiB stage-2 block */
#define SPARE_FRAMES 8u         /* table pages: a few guests' use them up */
#define MAX_BLOCKS 3u
#define MAX_RAM_FRAMES (MAX_BLOCKS * BLOCK_FRAMES + MEM_REVOKE_RESERVE + \
			SPARE_FRAMES)
#define FRAME_BYTES (UINT64_C(1) << EXO_FRAME_SHIFT)

/* RAM: blocks of 2 MiB, then EL2's revocation reserve and a few frames
 * (guests' table pages use them up). */
static const struct {
	unsigned blocks;
	uint64_t quota[MC_GUESTS];
} machine[MC_NR_MACHINES] = {
	/* Guests 1 and 2 can each hold the block and its tables; guest 3
	 * one table page: a borrower whose quota is full once it maps a
	 * block it borrows. The quotas add up to twice the RAM. */
	[MC_SMALL] = { 1, { 520, 520, 1 } },
	/* Guest 1 can hold the three blocks and has quota for one table
	 * page less than they take once two of them are split: a guest at
	 * its quota that has used up its cache. */
	[MC_WIDE] = { 3, { 3 * BLOCK_FRAMES + 3, 520, 1 } },
};
_Static_assert(MAX_BLOCKS >= 3, "the wide machine fits");

static enum mc_machine kind;    /* the machine mapped */
static uint64_t ram_frames;
static const uint64_t *quota;
#define REVOKE_LOG 8
#define MC_NOT_RUN INT64_MIN    /* a step of a guest that is not running */

static struct vm vms[MC_GUESTS];
static bool live[MC_GUESTS];
static uint64_t *roots[MC_GUESTS];
static bool ram_dirty;          /* a panic left RAM unknown: zero it all */
static jmp_buf halt_jump;
static struct mc_result *res;   /* where the checks report */
static FILE *trace;             /* mc_set_trace */
static uint64_t machine_gen = 1; /* changes whenever the machine may */
static enum mc_kind blamed;     /* the kind of the step being checked */

/* The sequence that led to the state being checked. */
static struct mc_call path[MC_MAX_STEPS + 1];
static unsigned path_len;

static uint64_t pa_of(uint64_t frame)
{
	return MEM_MACHINE_BASE + frame * FRAME_BYTES;
}

static const struct frames_db *db(void)
{
	return mem_frames_db();
}

bool mc_machine_on(enum mc_machine m)
{
	kind = m;
	ram_frames = machine[m].blocks * BLOCK_FRAMES + MEM_REVOKE_RESERVE +
		     SPARE_FRAMES;
	quota = machine[m].quota;
	for (unsigned i = 0; i < MC_GUESTS; i++) {
		roots[i] = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
		if (!roots[i])
			return false;
	}
	ram_dirty = false;
	return mem_machine_map(ram_frames);
}

void mc_machine_off(void)
{
	for (unsigned i = 0; i < MC_GUESTS; i++) {
		free(roots[i]);
		roots[i] = NULL;
	}
	mem_machine_unmap();
}

/* FREE frames are zero (EL2 scrubs them), guests' frames too (they were
 * zero when allocated and no guest runs here): only HYP frames (table
 * pages, EL2's reserve) may hold data. */
static void zero_used_frames(void)
{
	const struct frames_db *d = db();

	if (ram_dirty || d->nr != ram_frames || !d->entry) {
		memset((void *)(uintptr_t)MEM_MACHINE_BASE, 0,
		       ram_frames * FRAME_BYTES);
		ram_dirty = false;
		return;
	}
	for (uint64_t i = 0; i < ram_frames; i++) {
		if (d->entry[i].state == EXO_FRAME_HYP)
			memset((void *)(uintptr_t)pa_of(i), 0, FRAME_BYTES);
	}
}

static bool create(unsigned i)
{
	memset(&vms[i], 0, sizeof(vms[i]));
	vms[i].id = i + 1;
	snprintf(vms[i].name, sizeof(vms[i].name), "g%u", i + 1);
	vms[i].state = VM_RUNNING;
	live[i] = mem_vm_create(&vms[i], quota[i], roots[i]) == EXO_OK;
	return live[i];
}

static void boot(void)
{
	machine_gen++;
	zero_used_frames();
	fake_reset();
	panic_recovered();
	/* Off: reading every block handed out for zeros would take most of
	 * the time; test_mem_random checks the scrubbing. */
	if (mem_machine_boot(false)) {
		fprintf(stderr, "model checker: the machine does not boot\n");
		abort();
	}
	for (unsigned i = 0; i < MC_GUESTS; i++) {
		if (!create(i)) {
			fprintf(stderr, "model checker: guest %u not created\n",
				i + 1);
			abort();
		}
	}
	path_len = 0;
}

/* --- steps -------------------------------------------------------------- */

static const char *const kind_name[MC_NR_KINDS] = {
	"alloc", "alloc_at", "free", "share", "unshare", "lend", "reclaim",
	"donate", "revoke", "teardown", "restart",
};

static bool between_two(enum mc_kind k)
{
	return k >= MC_SHARE && k <= MC_DONATE;
}

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

void mc_format(const struct mc_call *c, char *buf, size_t size)
{
	const char *k = kind_name[c->kind];

	switch (c->kind) {
	case MC_ALLOC:
		snprintf(buf, size, "%s g%u n=%" PRIu64 " align=%u", k, c->a,
			 c->n, c->align);
		break;
	case MC_ALLOC_AT:
	case MC_FREE:
		snprintf(buf, size, "%s g%u pa=+%" PRIu64 " n=%" PRIu64, k,
			 c->a, c->frame, c->n);
		break;
	case MC_SHARE:
		snprintf(buf, size, "%s g%u->g%u pa=+%" PRIu64 " n=%" PRIu64
			 " %s", k, c->a, c->b, c->frame, c->n,
			 c->rw ? "RW" : "R");
		break;
	case MC_UNSHARE:
	case MC_LEND:
	case MC_RECLAIM:
	case MC_DONATE:
		snprintf(buf, size, "%s g%u->g%u pa=+%" PRIu64 " n=%" PRIu64,
			 k, c->a, c->b, c->frame, c->n);
		break;
	case MC_REVOKE:
		snprintf(buf, size, "%s g%u n=%" PRIu64, k, c->a, c->n);
		break;
	default:
		snprintf(buf, size, "%s g%u", k, c->a);
		break;
	}
}

static bool guest_ok(unsigned g)
{
	return g >= 1 && g <= MC_GUESTS;
}

bool mc_parse(const char *line, struct mc_call *c)
{
	char word[16], perm[4] = "";
	int used = 0, got;
	const char *rest;

	memset(c, 0, sizeof(*c));
	if (sscanf(line, "%15s%n", word, &used) != 1)
		return false;
	for (c->kind = 0; c->kind < MC_NR_KINDS; c->kind++)
		if (!strcmp(word, kind_name[c->kind]))
			break;
	rest = line + used;
	switch (c->kind) {
	case MC_ALLOC:
		got = sscanf(rest, " g%u n=%" SCNu64 " align=%u", &c->a, &c->n,
			     &c->align) == 3;
		break;
	case MC_ALLOC_AT:
	case MC_FREE:
		got = sscanf(rest, " g%u pa=+%" SCNu64 " n=%" SCNu64, &c->a,
			     &c->frame, &c->n) == 3;
		break;
	case MC_SHARE:
		got = sscanf(rest, " g%u->g%u pa=+%" SCNu64 " n=%" SCNu64
			     " %3s", &c->a, &c->b, &c->frame, &c->n,
			     perm) == 5 &&
		      (!strcmp(perm, "R") || !strcmp(perm, "RW"));
		c->rw = !strcmp(perm, "RW");
		break;
	case MC_UNSHARE:
	case MC_LEND:
	case MC_RECLAIM:
	case MC_DONATE:
		got = sscanf(rest, " g%u->g%u pa=+%" SCNu64 " n=%" SCNu64,
			     &c->a, &c->b, &c->frame, &c->n) == 4;
		break;
	case MC_REVOKE:
		got = sscanf(rest, " g%u n=%" SCNu64, &c->a, &c->n) == 2;
		break;
	case MC_TEARDOWN:
	case MC_RESTART:
		got = sscanf(rest, " g%u", &c->a) == 1;
		break;
	default:
		return false;
	}
	return got && guest_ok(c->a) &&
	       (!between_two(c->kind) || (guest_ok(c->b) && c->b != c->a));
}

static int64_t call_pair(const struct mc_call *c, struct vm *a, struct vm *b)
{
	paddr_t pa = pa_init(pa_of(c->frame));

	switch (c->kind) {
	case MC_SHARE:
		return mem_frame_share(a, b, pa, c->n,
				       c->rw ? EXO_SHARE_RW : EXO_SHARE_R);
	case MC_UNSHARE: return mem_frame_unshare(a, b, pa, c->n);
	case MC_LEND: return mem_frame_lend(a, b, pa, c->n);
	case MC_RECLAIM: return mem_frame_reclaim(a, b, pa, c->n);
	default: return mem_frame_donate(a, b, pa, c->n);
	}
}

static int64_t call_one(const struct mc_call *c, struct vm *a)
{
	struct vm_run log[REVOKE_LOG];
	unsigned nr_log;
	paddr_t got;

	switch (c->kind) {
	case MC_ALLOC: return mem_frame_alloc(a, c->n, c->align, &got);
	case MC_ALLOC_AT:
		return mem_frame_alloc_at(a, pa_init(pa_of(c->frame)), c->n);
	case MC_FREE:
		return mem_frame_free(a, pa_init(pa_of(c->frame)), c->n);
	case MC_REVOKE:
		mem_revoke(a, c->n, log, REVOKE_LOG, &nr_log);
		return EXO_OK;
	case MC_TEARDOWN:
		live[c->a - 1] = false;
		mem_vm_teardown(a);
		return EXO_OK;
	default:   /* restart: a new life in the same slot */
		if (live[c->a - 1]) {
			live[c->a - 1] = false;
			mem_vm_teardown(a);
		}
		return create(c->a - 1) ? EXO_OK : EXO_EBUSY;
	}
}

/* Runs a step; false if EL2 stopped (the machine must boot again). */
static bool run_guarded(const struct mc_call *c, int64_t *rc)
{
	bool pair = between_two(c->kind);

	*rc = MC_NOT_RUN;
	if ((!live[c->a - 1] && c->kind != MC_RESTART) ||
	    (pair && !live[c->b - 1]))
		return true;
	fake_halt_recover = &halt_jump;
	if (setjmp(halt_jump)) {
		fake_halt_recover = NULL;
		ram_dirty = true;
		return false;
	}
	machine_gen++;
	*rc = pair ? call_pair(c, &vms[c->a - 1], &vms[c->b - 1])
		   : call_one(c, &vms[c->a - 1]);
	fake_halt_recover = NULL;
	return true;
}

/* --- reports ------------------------------------------------------------ */

static const char *const prop_name[MC_NR_PROPS] = {
	"no-panic", "stage2-is-db", "within-quota", "charge-accounted",
	"charged-only-actors", "no-global-pool", "reserve-untouched",
	"take-back",
};

const char *mc_kind_name(enum mc_kind k)
{
	return k < MC_NR_KINDS ? kind_name[k] : "?";
}

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
	for (unsigned i = 0; i < path_len; i++) {
		mc_format(&path[i], line, sizeof(line));
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
	    path_len < res->kind_steps[p][blamed]) {
		res->kinds[p] |= 1u << blamed;
		res->kind_steps[p][blamed] = path_len;
		va_start(ap, fmt);
		write_example(res->kind_example[p][blamed], p, fmt, ap);
		va_end(ap);
	}
	if (res->violated[p] && path_len >= res->example_steps[p])
		return;
	res->violated[p] = true;
	res->example_steps[p] = path_len;
	va_start(ap, fmt);
	write_example(res->example[p], p, fmt, ap);
	va_end(ap);
}

static uint64_t reserve_now(void);

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
	ipaddr_t ipa = ipa_of_pa(pa_init(pa_of(frame)));
	unsigned need;

	if (s2_check(&vm->s2, op, ipa, n * FRAME_BYTES,
		     S2_PROT_R | S2_PROT_W | S2_PROT_X))
		return 0;
	need = s2_pages_needed(&vm->s2, op, ipa, n * FRAME_BYTES);
	return need > vm->s2_cache.nr ? need - vm->s2_cache.nr : 0;
}

static void capture(const struct mc_call *c, struct before *b)
{
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(db(), g + 1);

		b->live[g] = live[g];
		b->used[g] = live[g] ? a->used : 0;
	}
	b->free_frames = frames_count(db(), EXO_FRAME_FREE);
	b->reserve = reserve_now();
	b->lacking = 0;
	if (!between_two(c->kind) || !live[c->a - 1] || !live[c->b - 1])
		return;
	/* The recipient maps (share, lend, donate) or unmaps (unshare,
	 * reclaim); the owner unmaps (lend, donate) or maps (reclaim). */
	b->lacking = lacking_for(&vms[c->b - 1],
				 c->kind == MC_UNSHARE || c->kind == MC_RECLAIM
					 ? S2_OP_UNMAP : S2_OP_MAP,
				 c->frame, c->n);
	if (c->kind == MC_LEND || c->kind == MC_DONATE)
		b->lacking += lacking_for(&vms[c->a - 1], S2_OP_UNMAP,
					  c->frame, c->n);
	if (c->kind == MC_RECLAIM)
		b->lacking += lacking_for(&vms[c->a - 1], S2_OP_MAP, c->frame,
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
		if (!live[g])
			continue;
		fake_halt_recover = &halt_jump;
		if (setjmp(halt_jump)) {
			fake_halt_recover = NULL;
			ram_dirty = true;
			violation(MC_STAGE2_IS_DB, "%s", fake_halt_line);
			return false;
		}
		mem_check_invariant(&vms[g]);
		fake_halt_recover = NULL;
	}
	return true;
}

/* Every guest's charge is within its quota. */
static void check_within_quota(void)
{
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(db(), g + 1);

		if (live[g] && a->used > a->quota)
			violation(MC_WITHIN_QUOTA,
				  "g%u is charged %" PRIu64 " frames, quota %"
				  PRIu64 " (tables %" PRIu64 ")", g + 1,
				  a->used, a->quota, a->tables);
	}
}

static bool table_of_guest(uint64_t pa, unsigned id)
{
	const struct frames_db *d = db();
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
	const struct frames_db *d = db();

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
		const struct frames_account *a = frames_account(db(), g + 1);
		uint64_t frames, hyp, alien = 0, tables = 0, cached = 0;
		const uint64_t *page;

		held_in_db(g + 1, &frames, &hyp);
		if (!live[g]) {
			if (frames || hyp)
				violation(MC_CHARGE_ACCOUNTED,
					  "g%u is gone but holds %" PRIu64
					  " frames and %" PRIu64 " HYP frames",
					  g + 1, frames, hyp);
			continue;
		}
		tables = count_tables(vms[g].s2.root,
				      S2_ROOT_PAGES * PTES_PER_TABLE,
				      S2_START_LEVEL, g + 1, &alien);
		for (page = vms[g].s2_cache.head; page && cached <= hyp;
		     page = (const uint64_t *)(uintptr_t)page[0]) {
			cached++;
			alien += !table_of_guest((uint64_t)(uintptr_t)page,
						 g + 1);
		}
		if (a->used != frames + hyp || hyp != tables + cached ||
		    cached != vms[g].s2_cache.nr || alien)
			violation(MC_CHARGE_ACCOUNTED,
				  "g%u is charged %" PRIu64 "; it owns %" PRIu64
				  " frames and %" PRIu64 " HYP frames; its "
				  "stage 2 has %" PRIu64 " table pages, its "
				  "cache %" PRIu64 " (says %u); %" PRIu64
				  " of them not its HYP frames", g + 1, a->used,
				  frames, hyp, tables, cached,
				  vms[g].s2_cache.nr, alien);
	}
}

/* A guest that took no part in a step is charged no more after it. */
static void check_charged_only_actors(const struct mc_call *c,
				      const struct before *b)
{
	unsigned mask = actors(c);
	char line[128];

	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(db(), g + 1);

		if (mask & (1u << (g + 1)) || !b->live[g] || !live[g] ||
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

	if (rc != EXO_ENOMEM || !between_two(c->kind) ||
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
	uint64_t now = reserve_now();

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

typedef bool (*frame_pred)(const struct frames_db *d, uint64_t i, unsigned a,
			   unsigned b);

static bool owned_by(const struct frames_db *d, uint64_t i, unsigned a,
		     unsigned b)
{
	(void)b;
	return d->entry[i].state == EXO_FRAME_OWNED && d->entry[i].owner == a;
}

static bool borrows(const struct frames_db *d, uint64_t i, unsigned b)
{
	const struct frames_entry *e = &d->entry[i];

	return e->state == EXO_FRAME_SHARED &&
	       (d->share[e->share].borrowers >> b & 1);
}

static bool shareable(const struct frames_db *d, uint64_t i, unsigned a,
		      unsigned b)
{
	const struct frames_entry *e = &d->entry[i];

	return e->owner == a && (e->state == EXO_FRAME_OWNED ||
				 (e->state == EXO_FRAME_SHARED &&
				  !borrows(d, i, b)));
}

static bool shared_with(const struct frames_db *d, uint64_t i, unsigned a,
			unsigned b)
{
	return d->entry[i].owner == a && borrows(d, i, b);
}

static bool lent_to(const struct frames_db *d, uint64_t i, unsigned a,
		    unsigned b)
{
	const struct frames_entry *e = &d->entry[i];

	return e->state == EXO_FRAME_LENT && e->owner == a && e->peer == b;
}

/* What a step names, as a predicate over frames. */
enum run_kind { RUN_OWNED, RUN_SHAREABLE, RUN_SHARED_WITH, RUN_LENT_TO,
		NR_RUN_KINDS };
static const frame_pred run_pred[NR_RUN_KINDS] = {
	owned_by, shareable, shared_with, lent_to,
};

/* Runs found since the machine last changed (machine_gen): the search
 * asks each guest's runs once per state, not once per step. */
struct run_found {
	uint64_t gen;
	bool found;
	uint64_t first, n;
};
static struct run_found run_memo[NR_RUN_KINDS][MC_GUESTS + 1][MC_GUESTS + 1];

/* The lowest run of frames the predicate holds for, at most a block. */
static bool scan_run(frame_pred pred, unsigned a, unsigned b,
		     uint64_t *first, uint64_t *n)
{
	const struct frames_db *d = db();
	uint64_t i = 0;

	while (i < d->nr && !pred(d, i, a, b))
		i++;
	if (i == d->nr)
		return false;
	*first = i;
	*n = 0;
	while (i < d->nr && *n < BLOCK_FRAMES && pred(d, i, a, b)) {
		i++;
		(*n)++;
	}
	return true;
}

static bool find_run(enum run_kind k, unsigned a, unsigned b,
		     uint64_t *first, uint64_t *n)
{
	struct run_found *m = &run_memo[k][a][b];

	if (m->gen != machine_gen) {
		m->gen = machine_gen;
		m->found = scan_run(run_pred[k], a, b, &m->first, &m->n);
	}
	*first = m->first;
	*n = m->n;
	return m->found;
}

/* --- snapshots ---------------------------------------------------------- */

#define MAX_SHARE_RECORDS (MAX_RAM_FRAMES / MEM_SHARE_RECORD_RATIO + 1)
#define MAX_SAVED_PAGES 64   /* guests' table pages (a few each) */
#define PAGE_WORDS (FRAME_BYTES / sizeof(uint64_t))

/* A state of the machine: EL2's frame DB (the struct mem.c keeps, which
 * the test reaches through mem_frames_db, and its storage), the guests'
 * structs, stage-2 roots and table pages (guests' own frames are zero:
 * nothing writes them), and the steps that led to it. EL2's revocation
 * reserve and mem.c's table of live guests are statics a test cannot
 * restore: when they differ (the reserve was used, a guest is gone), the
 * state is reached by replaying its steps instead. */
struct snapshot {
	struct frames_db db;
	struct frames_entry entry[MAX_RAM_FRAMES];
	struct frames_share share[MAX_SHARE_RECORDS];
	struct vm vms[MC_GUESTS];
	bool live[MC_GUESTS];
	uint64_t root[MC_GUESTS][S2_ROOT_SIZE / sizeof(uint64_t)];
	unsigned nr_pages;
	uint32_t page_at[MAX_SAVED_PAGES];
	uint64_t page[MAX_SAVED_PAGES][PAGE_WORDS];
	uint64_t reserve;           /* HYP frames charged to nobody */
	unsigned path_len;
	struct mc_call path[MC_MAX_STEPS + 1];
};

static bool guest_table(const struct frames_entry *e)
{
	return e->state == EXO_FRAME_HYP && e->owner != FRAMES_VM_EL2;
}

/* EL2's own HYP frames: here only its revocation reserve. */
static uint64_t reserve_now(void)
{
	const struct frames_db *d = db();

	return d->count[EXO_FRAME_HYP] - d->hyp_charged;
}

static void save(struct snapshot *sn)
{
	const struct frames_db *d = db();

	sn->db = *d;
	memcpy(sn->entry, d->entry, d->nr * sizeof(*d->entry));
	memcpy(sn->share, d->share, d->nr_shares * sizeof(*d->share));
	memcpy(sn->vms, vms, sizeof(vms));
	memcpy(sn->live, live, sizeof(live));
	for (unsigned g = 0; g < MC_GUESTS; g++)
		memcpy(sn->root[g], roots[g], S2_ROOT_SIZE);
	sn->nr_pages = 0;
	for (uint64_t i = 0; i < d->nr; i++) {
		if (!guest_table(&d->entry[i]))
			continue;
		if (sn->nr_pages == MAX_SAVED_PAGES) {
			fprintf(stderr, "model checker: more than %u table "
				"pages to save\n", MAX_SAVED_PAGES);
			abort();
		}
		sn->page_at[sn->nr_pages] = (uint32_t)i;
		memcpy(sn->page[sn->nr_pages++], (void *)(uintptr_t)pa_of(i),
		       FRAME_BYTES);
	}
	sn->reserve = reserve_now();
	sn->path_len = path_len;
	memcpy(sn->path, path, path_len * sizeof(*path));
}

static void replay_path(void);

static void restore(const struct snapshot *sn)
{
	struct frames_db *d = (struct frames_db *)mem_frames_db();

	machine_gen++;
	path_len = sn->path_len;
	memcpy(path, sn->path, path_len * sizeof(*path));
	if (ram_dirty || memcmp(sn->live, live, sizeof(live)) ||
	    sn->reserve != reserve_now()) {
		replay_path();
		return;
	}
	for (uint64_t i = 0; i < d->nr; i++) {
		if (guest_table(&d->entry[i]))
			memset((void *)(uintptr_t)pa_of(i), 0, FRAME_BYTES);
	}
	{
		struct frames_entry *entry = d->entry;
		struct frames_share *share = d->share;

		*d = sn->db;
		d->entry = entry;
		d->share = share;
	}
	memcpy(d->entry, sn->entry, d->nr * sizeof(*d->entry));
	memcpy(d->share, sn->share, d->nr_shares * sizeof(*d->share));
	for (unsigned k = 0; k < sn->nr_pages; k++)
		memcpy((void *)(uintptr_t)pa_of(sn->page_at[k]), sn->page[k],
		       FRAME_BYTES);
	memcpy(vms, sn->vms, sizeof(vms));
	for (unsigned g = 0; g < MC_GUESTS; g++)
		memcpy(roots[g], sn->root[g], S2_ROOT_SIZE);
}

/* Runs one probe step; false (reported) unless it succeeded. */
static bool probe_step(const struct mc_call *c)
{
	char line[128];
	int64_t rc;

	res->probes++;
	res->steps++;
	blamed = c->kind;
	if (!run_guarded(c, &rc)) {
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
		       const struct snapshot *at)
{
	struct mc_call part = *give_back, all = *give_back, free_all;
	uint64_t first, n;

	part.n = 1;
	restore(at);
	probe_step(&part);
	restore(at);
	if (!probe_step(&all))
		return;
	if (!find_run(RUN_OWNED, all.a, 0, &first, &n) || first > all.frame ||
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
 * (restore(at) brings it back). */
static bool check_take_back(struct snapshot *at)
{
	struct mc_call gift[MAX_GIFTS];
	unsigned nr = 0;

	for (unsigned a = 1; a <= MC_GUESTS; a++) {
		for (unsigned b = 1; b <= MC_GUESTS; b++) {
			struct mc_call c = { .a = a, .b = b };

			if (a == b || !live[a - 1] || !live[b - 1])
				continue;
			c.kind = MC_UNSHARE;
			if (find_run(RUN_SHARED_WITH, a, b, &c.frame, &c.n))
				gift[nr++] = c;
			c.kind = MC_RECLAIM;
			if (find_run(RUN_LENT_TO, a, b, &c.frame, &c.n))
				gift[nr++] = c;
		}
	}
	if (nr)
		save(at);
	for (unsigned i = 0; i < nr; i++)
		probe_gift(&gift[i], at);
	return nr > 0;
}

static void replay_path(void)
{
	unsigned n = path_len;
	int64_t rc;

	boot();
	for (unsigned i = 0; i < n; i++) {
		res->steps++;
		if (!run_guarded(&path[i], &rc)) {
			fprintf(stderr, "model checker: a replay panicked: %s\n",
				fake_halt_line);
			abort();
		}
	}
	path_len = n;
}

/* --- state hashing ------------------------------------------------------ */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h << 5 | h >> 59) ^ v;
	return h * UINT64_C(0x9e3779b97f4a7c15);
}

/* The shape of a guest's stage 2 over RAM: for each 2 MiB region, no
 * entry, a block or a table. With the stage-2 invariant (checked in every
 * new state), the DB and the shape give every leaf. */
static uint64_t stage2_shape(const struct vm *vm)
{
	const uint64_t *l1 = vm->s2.root, *l2;
	uint64_t l1_entry = l1[MEM_MACHINE_BASE >> LEVEL_SHIFT(1)], shape = 1;

	if ((l1_entry & PTE_TYPE_MASK) != (PTE_VALID | PTE_TABLE))
		return (l1_entry & PTE_TYPE_MASK) << 1;
	l2 = (const uint64_t *)(uintptr_t)(l1_entry & PTE_ADDR_MASK);
	for (uint64_t r = 0; r * BLOCK_FRAMES < ram_frames; r++) {
		uint64_t i = ((MEM_MACHINE_BASE >> LEVEL_SHIFT(2)) + r) %
			     PTES_PER_TABLE;

		shape = shape << 2 | (l2[i] & PTE_TYPE_MASK);
	}
	return shape;
}

/* Guests 1 and 2 are alike when their quotas are (they take the same
 * steps): a state and its mirror image with their ids swapped behave
 * alike, and are one state. */
static const uint8_t as_is[MC_GUESTS + 1] = { 0, 1, 2, 3 };
static const uint8_t swapped[MC_GUESTS + 1] = { 0, 2, 1, 3 };
_Static_assert(MC_GUESTS == 3, "the mirror maps three guests");

static uint64_t bits_mapped(uint64_t bits, const uint8_t *to)
{
	uint64_t out = bits & ~(uint64_t)0xf;

	for (unsigned g = 1; g <= MC_GUESTS; g++)
		if (bits >> g & 1)
			out |= UINT64_C(1) << to[g];
	return out;
}

/* The frame DB (each frame's state, owner, peer, borrowers and their
 * permissions: not which share record holds them), the accounts, and each
 * guest's stage-2 shape and page cache, with guest g named to[g]. */
static uint64_t state_hash_as(const uint8_t *to)
{
	const struct frames_db *d = db();
	uint8_t from[MC_GUESTS + 1];
	uint64_t h = 0;

	for (unsigned g = 0; g <= MC_GUESTS; g++)
		from[to[g]] = (uint8_t)g;
	for (uint64_t i = 0; i < d->nr; i++) {
		const struct frames_entry *e = &d->entry[i];
		unsigned owner = e->owner <= MC_GUESTS ? to[e->owner] : e->owner;
		unsigned peer = e->peer <= MC_GUESTS ? to[e->peer] : e->peer;
		uint64_t v = e->state | (uint64_t)owner << 8 |
			     (uint64_t)peer << 16;

		if (e->state == EXO_FRAME_SHARED)
			v ^= bits_mapped(d->share[e->share].borrowers, to) << 24 ^
			     bits_mapped(d->share[e->share].rw, to) << 40;
		h = mix(h, v);
	}
	for (unsigned n = 1; n <= MC_GUESTS; n++) {
		unsigned g = from[n] - 1;
		const struct frames_account *a = frames_account(d, g + 1);

		h = mix(h, live[g]);
		if (!live[g])
			continue;
		h = mix(h, a->used ^ a->tables << 16 ^ a->borrowed << 32 ^
			   a->lent_out << 48);
		h = mix(h, vms[g].s2_cache.nr);
		h = mix(h, stage2_shape(&vms[g]));
	}
	return h ? h : 1;
}

/* This very state (to see whether a step changed anything). */
static uint64_t state_hash(void)
{
	return state_hash_as(as_is);
}

/* The state up to the mirror (to see whether it was explored). */
static uint64_t state_class_hash(void)
{
	uint64_t h = state_hash_as(as_is), m;

	if (quota[0] != quota[1])
		return h;
	m = state_hash_as(swapped);
	return h < m ? h : m;
}

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
	add(MC_ALLOC, a, 0, SEL_NONE, 0, BLOCK_FRAMES, 9, false, false);
	add(MC_ALLOC, a, 0, SEL_NONE, 0, 1, 0, false, false);
	add(MC_ALLOC_AT, a, 0, SEL_NONE, BLOCK_FRAMES - 1, 1, 0, false, false);
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
	if (!live[c->a - 1] || (c->b && !live[c->b - 1]))
		return false;
	if (!find_run(run_of(c->kind), c->a, c->b, &c->frame, &c->n))
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
	fprintf(trace, "%-36s -> %s", line, rc == MC_NOT_RUN ? "not run"
					      : rc ? "error" : "ok");
	if (rc != MC_NOT_RUN && rc)
		fprintf(trace, " %" PRId64, rc);
	for (unsigned g = 0; g < MC_GUESTS; g++) {
		const struct frames_account *a = frames_account(db(), g + 1);

		if (live[g])
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
	path[path_len++] = *c;
	res->steps++;
	if (!run_guarded(c, &rc)) {
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
static struct snapshot *snaps;

static void snaps_alloc(void)
{
	if (!snaps)
		snaps = malloc((MC_MAX_STEPS + 2) * sizeof(*snaps));
	if (!snaps)
		abort();
}

void mc_run_calls(const struct mc_call *calls, unsigned n,
		  struct mc_result *r)
{
	result_init(r);
	boot();
	for (unsigned i = 0; i < n && i < MC_MAX_STEPS; i++) {
		if (!step_checked(&calls[i]) || !check_state())
			return;
		r->states++;
		r->depth = i + 1;
		if (check_take_back(&snaps[0]))
			restore(&snaps[0]);
	}
}

void mc_run_steps(const uint8_t *steps, unsigned n, struct mc_result *r)
{
	struct mc_call c;

	result_init(r);
	boot();
	for (unsigned i = 0; i < n && path_len < MC_MAX_STEPS; i++) {
		if (!resolve(&alphabet[steps[i] % alphabet_n], &c))
			continue;
		if (!step_checked(&c) || !check_state())
			return;
		r->states++;
		r->depth = path_len;
		if (check_take_back(&snaps[0]))
			restore(&snaps[0]);
	}
}

/* --- the search --------------------------------------------------------- */

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
	struct snapshot *here_snap = &snaps[d];
	uint64_t here;
	bool at_node = true;

	save(here_snap);
	here = state_hash();
	for (unsigned k = 0; k < searched_n; k++) {
		struct mc_call c;
		unsigned seen_at;
		bool fresh;

		if (!at_node)
			restore(here_snap);
		at_node = true;
		if (!resolve(&alphabet[searched[k]], &c))
			continue;
		at_node = false;
		if (!step_checked(&c))
			continue;
		if (state_hash() == here) {     /* refused: nothing changed */
			path_len--;
			at_node = true;
			continue;
		}
		fresh = seen_put(state_class_hash(), d + 1, &seen_at);
		if (!fresh && seen_at <= d + 1)
			continue;
		if (fresh)
			res->states++;
		if (fresh || example_longer_than(d + 1)) {
			if (!check_state())
				continue;
			if (check_take_back(&snaps[MC_MAX_STEPS + 1]))
				restore(&snaps[MC_MAX_STEPS + 1]);
		}
		if (d + 1 > res->depth)
			res->depth = d + 1;
		if (d + 1 < max)
			dfs(d + 1, max);
	}
}

void mc_explore(unsigned depth, struct mc_result *r)
{
	result_init(r);
	if (depth > MC_MAX_STEPS)
		depth = MC_MAX_STEPS;
	seen_reset();
	boot();
	seen_put(state_class_hash(), 0, NULL);
	r->states = 1;
	if (depth)
		dfs(0, depth);
	free(seen.slot);
	free(seen.depth);
	seen.slot = NULL;
	seen.depth = NULL;
}
