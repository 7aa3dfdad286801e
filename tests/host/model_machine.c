/*
 * The model checker's machine (model_machine.h): RAM, guests and their
 * stage-2 roots, the steps as lines and as calls into el2/mem.c (guarded:
 * a panic returns here), what each guest holds, snapshots of the machine
 * and the hash of its state.
 *
 * Owns: the guests' structs and roots, the steps run since boot, the
 * snapshots' layout. Never: judges a step (model_check.c does) or calls
 * anything in el2/ above mem.c.
 */
#include "model_machine.h"

#include "fake_arch.h"
#include "mem_machine.h"
#include "share_bits.h"

#include <arch/pte.h>
#include <el2/frames.h>
#include <el2/mem.h>
#include <el2/s2.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <inttypes.h>
#include <lib/panic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the machine -------------------------------------------------------- */

#define SPARE_FRAMES 8u         /* table pages: a few guests' use them up */
#define EL2_FRAMES 16u          /* EL2's own (HYP), at the top of RAM */
#define MAX_BLOCKS 3u
#define MAX_RAM_FRAMES (MAX_BLOCKS * MM_BLOCK_FRAMES + EL2_FRAMES + \
			SPARE_FRAMES)

/* RAM: blocks of 2 MiB, then a few frames (guests' table pages use them
 * up) and EL2's own frames. */
static const struct {
	unsigned blocks;
	uint64_t quota[MC_GUESTS];
} machine[MC_NR_MACHINES] = {
	/* Guests 1 and 2 can each hold the block and its tables; guest 3
	 * one table page: a borrower whose quota is full once it maps a
	 * block it borrows. The quotas add up to twice the RAM. */
	[MC_SMALL] = { 1, { 520, 520, 1 } },
	/* Guest 1 can hold the three blocks and their tables, and is then
	 * at its quota: splits use up its page cache. */
	[MC_WIDE] = { 3, { 3 * MM_BLOCK_FRAMES + 3, 520, 1 } },
	/* The threaded tests' (tests/host/tsan/): guests 1 and 2 together
	 * can ask for more than the RAM (ENOMEM, table pages short), guest 3
	 * a few runs and its tables (its quota, and table pages given back
	 * for it). */
	[MC_THREADS] = { 3, { 2 * MM_BLOCK_FRAMES, 2 * MM_BLOCK_FRAMES, 48 } },
};
_Static_assert(MAX_BLOCKS >= 3, "the wide machine fits");

#define REVOKE_LOG 8

uint64_t mm_ram_frames;
const uint64_t *mm_quota;
struct vm mm_vms[MC_GUESTS];
bool mm_live[MC_GUESTS];
static uint64_t *roots[MC_GUESTS];
static bool ram_dirty;          /* a panic left RAM unknown: zero it all */
static jmp_buf halt_jump;
uint64_t mm_gen = 1;            /* changes whenever the machine may */
uint64_t mm_replayed;

struct mc_call mm_path[MC_MAX_STEPS + 1];
unsigned mm_path_len;

uint64_t mm_pa(uint64_t frame)
{
	return MEM_MACHINE_BASE + frame * MM_FRAME_BYTES;
}

const struct frames_db *mm_db(void)
{
	return mem_frames_db();
}

bool mc_machine_on(enum mc_machine m)
{
	mm_ram_frames = machine[m].blocks * MM_BLOCK_FRAMES + EL2_FRAMES +
		     SPARE_FRAMES;
	mm_quota = machine[m].quota;
	for (unsigned i = 0; i < MC_GUESTS; i++) {
		roots[i] = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
		if (!roots[i])
			return false;
	}
	ram_dirty = false;
	return mem_machine_map(mm_ram_frames);
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
 * pages, EL2's own) may hold data. */
static void zero_used_frames(void)
{
	const struct frames_db *d = mm_db();

	if (ram_dirty || d->nr != mm_ram_frames || !d->entry) {
		memset((void *)(uintptr_t)MEM_MACHINE_BASE, 0,
		       mm_ram_frames * MM_FRAME_BYTES);
		ram_dirty = false;
		return;
	}
	for (uint64_t i = 0; i < mm_ram_frames; i++) {
		if (d->entry[i].state == EXO_FRAME_HYP)
			memset((void *)(uintptr_t)mm_pa(i), 0, MM_FRAME_BYTES);
	}
}

bool mm_create(unsigned i)
{
	memset(&mm_vms[i], 0, sizeof(mm_vms[i]));
	mm_vms[i].id = i + 1;
	snprintf(mm_vms[i].name, sizeof(mm_vms[i].name), "g%u", i + 1);
	mm_vms[i].state = VM_RUNNING;
	mm_live[i] = mem_vm_create(&mm_vms[i], mm_quota[i], roots[i]) == EXO_OK;
	return mm_live[i];
}

void mm_boot(void)
{
	mm_gen++;
	zero_used_frames();
	fake_reset();
	panic_recovered();
	/* Off: reading every block handed out for zeros would take most of
	 * the time; test_mem_random checks the scrubbing. */
	if (mem_machine_boot(false, EL2_FRAMES)) {
		fprintf(stderr, "model checker: the machine does not boot\n");
		abort();
	}
	for (unsigned i = 0; i < MC_GUESTS; i++) {
		if (!mm_create(i)) {
			fprintf(stderr, "model checker: guest %u not created\n",
				i + 1);
			abort();
		}
	}
	mm_path_len = 0;
}

/* --- steps -------------------------------------------------------------- */

static const char *const kind_name[MC_NR_KINDS] = {
	"alloc", "alloc_at", "free", "share", "unshare", "lend", "reclaim",
	"donate", "revoke", "teardown", "restart",
};

bool mm_between_two(enum mc_kind k)
{
	return k >= MC_SHARE && k <= MC_DONATE;
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
	       (!mm_between_two(c->kind) || (guest_ok(c->b) && c->b != c->a));
}

static int64_t call_pair(const struct mc_call *c, struct vm *a, struct vm *b)
{
	paddr_t pa = pa_init(mm_pa(c->frame));

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
		return mem_frame_alloc_at(a, pa_init(mm_pa(c->frame)), c->n);
	case MC_FREE:
		return mem_frame_free(a, pa_init(mm_pa(c->frame)), c->n);
	case MC_REVOKE:
		mem_revoke(a, c->n, log, REVOKE_LOG, &nr_log);
		return EXO_OK;
	case MC_TEARDOWN:
		mm_live[c->a - 1] = false;
		mem_vm_teardown(a);
		return EXO_OK;
	default:   /* restart: a new life in the same slot */
		if (mm_live[c->a - 1]) {
			mm_live[c->a - 1] = false;
			mem_vm_teardown(a);
		}
		return mm_create(c->a - 1) ? EXO_OK : EXO_EBUSY;
	}
}

/* Runs a step; false if EL2 stopped (the machine must boot again). */
bool mm_run(const struct mc_call *c, int64_t *rc)
{
	bool pair = mm_between_two(c->kind);

	*rc = MM_NOT_RUN;
	if ((!mm_live[c->a - 1] && c->kind != MC_RESTART) ||
	    (pair && !mm_live[c->b - 1]))
		return true;
	fake_halt_recover = &halt_jump;
	if (setjmp(halt_jump)) {
		fake_halt_recover = NULL;
		ram_dirty = true;
		return false;
	}
	mm_gen++;
	*rc = pair ? call_pair(c, &mm_vms[c->a - 1], &mm_vms[c->b - 1])
		   : call_one(c, &mm_vms[c->a - 1]);
	fake_halt_recover = NULL;
	return true;
}

const char *mc_kind_name(enum mc_kind k)
{
	return k < MC_NR_KINDS ? kind_name[k] : "?";
}

/* --- what a guest holds ------------------------------------------------- */

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
	       frames_share_slot(&d->share[e->share], b) >= 0;
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
	const struct frames_db *d = mm_db();
	uint64_t i = 0;

	while (i < d->nr && !pred(d, i, a, b))
		i++;
	if (i == d->nr)
		return false;
	*first = i;
	*n = 0;
	while (i < d->nr && *n < MM_BLOCK_FRAMES && pred(d, i, a, b)) {
		i++;
		(*n)++;
	}
	return true;
}

bool mm_find_run(enum run_kind k, unsigned a, unsigned b,
		     uint64_t *first, uint64_t *n)
{
	struct run_found *m = &run_memo[k][a][b];

	if (m->gen != mm_gen) {
		m->gen = mm_gen;
		m->found = scan_run(run_pred[k], a, b, &m->first, &m->n);
	}
	*first = m->first;
	*n = m->n;
	return m->found;
}

/* --- snapshots ---------------------------------------------------------- */

#define MAX_SHARE_RECORDS MAX_RAM_FRAMES   /* one per frame (el2/mem.c) */
#define MAX_SAVED_PAGES 64   /* guests' table pages (a few each) */
#define PAGE_WORDS (MM_FRAME_BYTES / sizeof(uint64_t))

/* A state of the machine: EL2's frame DB (the struct mem.c keeps, which
 * the test reaches through mem_frames_db, and its storage), the guests'
 * structs, stage-2 roots and table pages (guests' own frames are zero:
 * nothing writes them), and the steps that led to it. EL2's revocation
 * reserve and mem.c's table of live guests are statics a test cannot
 * restore: when they differ (the reserve was used, a guest is gone), the
 * state is reached by replaying its steps instead. */
struct mm_snapshot {
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

/* EL2's own HYP frames: they never change (EL2 keeps no reserve). */
uint64_t mm_reserve(void)
{
	const struct frames_db *d = mm_db();

	return d->count[EXO_FRAME_HYP] - d->hyp_charged;
}

void mm_save(struct mm_snapshot *sn)
{
	const struct frames_db *d = mm_db();

	sn->db = *d;
	memcpy(sn->entry, d->entry, d->nr * sizeof(*d->entry));
	memcpy(sn->share, d->share, d->nr_shares * sizeof(*d->share));
	memcpy(sn->vms, mm_vms, sizeof(mm_vms));
	memcpy(sn->live, mm_live, sizeof(mm_live));
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
		memcpy(sn->page[sn->nr_pages++], (void *)(uintptr_t)mm_pa(i),
		       MM_FRAME_BYTES);
	}
	sn->reserve = mm_reserve();
	sn->path_len = mm_path_len;
	memcpy(sn->path, mm_path, mm_path_len * sizeof(*mm_path));
}

void mm_replay(void);

void mm_restore(const struct mm_snapshot *sn)
{
	struct frames_db *d = (struct frames_db *)mem_frames_db();

	mm_gen++;
	mm_path_len = sn->path_len;
	memcpy(mm_path, sn->path, mm_path_len * sizeof(*mm_path));
	if (ram_dirty || memcmp(sn->live, mm_live, sizeof(mm_live)) ||
	    sn->reserve != mm_reserve()) {
		mm_replay();
		return;
	}
	for (uint64_t i = 0; i < d->nr; i++) {
		if (guest_table(&d->entry[i]))
			memset((void *)(uintptr_t)mm_pa(i), 0, MM_FRAME_BYTES);
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
		memcpy((void *)(uintptr_t)mm_pa(sn->page_at[k]), sn->page[k],
		       MM_FRAME_BYTES);
	memcpy(mm_vms, sn->vms, sizeof(mm_vms));
	for (unsigned g = 0; g < MC_GUESTS; g++)
		memcpy(roots[g], sn->root[g], S2_ROOT_SIZE);
}

void mm_replay(void)
{
	unsigned n = mm_path_len;
	int64_t rc;

	mm_boot();
	for (unsigned i = 0; i < n; i++) {
		mm_replayed++;
		if (!mm_run(&mm_path[i], &rc)) {
			fprintf(stderr, "model checker: a replay panicked: %s\n",
				fake_halt_line);
			abort();
		}
	}
	mm_path_len = n;
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
	for (uint64_t r = 0; r * MM_BLOCK_FRAMES < mm_ram_frames; r++) {
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
	const struct frames_db *d = mm_db();
	uint8_t from[MC_GUESTS + 1];
	uint64_t h = 0;

	for (unsigned g = 0; g <= MC_GUESTS; g++)
		from[to[g]] = (uint8_t)g;
	for (uint64_t i = 0; i < d->nr; i++) {
		const struct frames_entry *e = &d->entry[i];
		unsigned owner = e->owner <= MC_GUESTS ? to[e->owner] : e->owner;
		unsigned lent_to = e->state == EXO_FRAME_LENT ? e->peer : 0;
		unsigned peer = lent_to <= MC_GUESTS ? to[lent_to] : lent_to;
		uint64_t v = e->state | (uint64_t)owner << 8 |
			     (uint64_t)peer << 16;

		if (e->state == EXO_FRAME_SHARED) {
			const struct frames_share *s = &d->share[e->share];

			v ^= bits_mapped(share_bits(s, false), to) << 24 ^
			     bits_mapped(share_bits(s, true), to) << 40;
		}
		h = mix(h, v);
	}
	for (unsigned n = 1; n <= MC_GUESTS; n++) {
		unsigned g = from[n] - 1;
		const struct frames_account *a = frames_account(d, g + 1);

		h = mix(h, mm_live[g]);
		if (!mm_live[g])
			continue;
		h = mix(h, a->used ^ a->tables << 16 ^ a->borrowed << 32 ^
			   a->lent_out << 48);
		h = mix(h, mm_vms[g].s2_cache.nr);
		h = mix(h, stage2_shape(&mm_vms[g]));
	}
	return h ? h : 1;
}

/* This very state (to see whether a step changed anything). */
uint64_t mm_state_hash(void)
{
	return state_hash_as(as_is);
}

/* The state up to the mirror (to see whether it was explored). */
uint64_t mm_state_class_hash(void)
{
	uint64_t h = state_hash_as(as_is), m;

	if (mm_quota[0] != mm_quota[1])
		return h;
	m = state_hash_as(swapped);
	return h < m ? h : m;
}

bool mm_invariant_holds(unsigned g)
{
	fake_halt_recover = &halt_jump;
	if (setjmp(halt_jump)) {
		fake_halt_recover = NULL;
		ram_dirty = true;
		return false;
	}
	mem_check_invariant(&mm_vms[g]);
	fake_halt_recover = NULL;
	return true;
}

struct mm_snapshot *mm_snapshot_new(void)
{
	struct mm_snapshot *s = malloc(sizeof(*s));

	if (!s)
		abort();
	return s;
}
