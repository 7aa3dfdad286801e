/*
 * The one-frame paths of FRAME_ALLOC and FRAME_FREE (el2/mem.c,
 * alloc_one and free_one; el2/frames.h's one-frame pairs; el2/s2.h's
 * slots, all inline): the same script of calls, on the same freshly booted machine,
 * once with them and once with the general transaction alone, must give
 * the same status for every call and leave the same state after every
 * call: the frame DB (every entry, share record, count, hint and
 * account), both guests' stage 2 (every leaf, table counts, empty tables,
 * page caches), their peaks and all of RAM. The script walks the paths'
 * refusals (a frame not owned, FREE, another's, shared, lent, EL2's,
 * outside RAM, unaligned; quota spent) and the cases they leave to the
 * general path (no level-3 table yet, a page inside a 2 MiB block, a
 * cache short of its reserve: a borrower's tables made by a share), and
 * the paths must have answered some calls (mem_fast_path_calls, counted
 * with the debug checks on, as this machine boots). Also: the one-frame
 * DB pairs give the general checks' verdict, and on copies of the DB the
 * general commits' state, for every frame state (and with a lo_free hint
 * below the lowest FREE frame, which the hints allow); and the one-frame offer
 * check (an offer to share one frame) gives the general check's verdict
 * for every frame state, pair of guests and kind of share. And under the
 * cache model (RAM garbage at boot): the one-frame alloc scrubs a frame
 * at its first use; the one-frame free leaves the frame unscrubbed for
 * its guest while no other frame is left (a second free scrubs and cleans
 * at once), the guest gets it back with its data only when it asks for a
 * frame it need not find zeroed (EXO_FRAME_ALLOC_NOZERO), and every other
 * taker (a call wanting zeros, another guest) and the guest's end scrub
 * and clean it (zero through the cache and in DRAM, no dirty line).
 *
 * Owns: the machine of these tests (RAM, two guests). Never: tests what
 * the general transaction decides (test_mem_random.c, test_frames.c).
 */
#include "fake_arch.h"
#include "mem_machine.h"

#include <criterion/criterion.h>
#include <el2/frames.h>
#include <el2/hyp_lock.h>
#include <el2/mem.h>
#include <el2/percpu.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAM_BASE MEM_MACHINE_BASE
#define RAM_FRAMES 1536u   /* three 2 MiB regions */
#define REGION_FRAMES 512u /* one level-3 table's */
#define EL2_FRAMES 16u
#define QUOTA 600u         /* a whole block, and room to spare */
#define FRAME EXO_FRAME_SIZE
#define MAX_LEAVES 2048u
#define MAX_STEPS 128u
#define GARBAGE_SEED UINT64_C(0x0dd5eed)
#define SECRET 0xa5

static struct vm vms[2];
static uint64_t *roots[2];

/* Everything a call may change, as plain data. */
struct leaf_rec {
	uint64_t ipa, size, desc;
};
struct state {
	struct frames_account acct[2];
	uint64_t count[EXO_FRAME_DEVICE + 1];
	uint64_t lo_free, hi_free, hyp_charged;
	uint32_t shares_left, share_free;
	struct frames_entry *entries;
	struct frames_share *shares;
	struct {
		unsigned nr_tables, nr_blocks, nr_empty, cache_nr;
		uint64_t cache_head;
		unsigned nr_leaves;
		struct leaf_rec leaf[MAX_LEAVES];
	} g[2];
	unsigned char *ram;
};

static void add_leaf(void *ctx, const struct s2_leaf *leaf)
{
	unsigned *nr = ctx;
	struct leaf_rec *r = (struct leaf_rec *)(nr + 1);

	cr_assert_lt(*nr, MAX_LEAVES);
	r[*nr] = (struct leaf_rec){ leaf->ipa, leaf->size, leaf->desc };
	(*nr)++;
}

static void snapshot(struct state *st)
{
	const struct frames_db *db = mem_frames_db();

	for (unsigned i = 0; i < 2; i++) {
		st->acct[i] = *frames_account(db, vms[i].id);
		st->g[i].nr_tables = vms[i].s2.nr_tables;
		st->g[i].nr_blocks = vms[i].s2.nr_blocks;
		st->g[i].nr_empty = vms[i].s2.nr_empty;
		st->g[i].cache_nr = vms[i].s2_cache.nr;
		st->g[i].cache_head = (uint64_t)(uintptr_t)vms[i].s2_cache.head;
		st->g[i].nr_leaves = 0;
		s2_walk(&vms[i].s2, add_leaf, &st->g[i].nr_leaves);
	}
	memcpy(st->count, db->count, sizeof(st->count));
	st->lo_free = db->lo_free;
	st->hi_free = db->hi_free;
	st->hyp_charged = db->hyp_charged;
	st->shares_left = db->shares_left;
	st->share_free = db->share_free;
	memcpy(st->entries, db->entry, db->nr * sizeof(*db->entry));
	memcpy(st->shares, db->share, db->nr_shares * sizeof(*db->share));
	memcpy(st->ram, (void *)(uintptr_t)RAM_BASE, RAM_FRAMES * FRAME);
}

static struct state *state_new(void)
{
	const struct frames_db *db = mem_frames_db();
	struct state *st = calloc(1, sizeof(*st));

	cr_assert(st);
	st->entries = calloc(db->nr, sizeof(*st->entries));
	st->shares = calloc(db->nr_shares, sizeof(*st->shares));
	st->ram = malloc(RAM_FRAMES * FRAME);
	cr_assert(st->entries && st->shares && st->ram);
	return st;
}

static void state_free(struct state *st)
{
	free(st->entries);
	free(st->shares);
	free(st->ram);
	free(st);
}

/* The hints are bounds (el2/frames.h): no FREE frame below lo_free or at
 * or above hi_free. The one-frame alloc moves them one step at most, the
 * general commits as far as they go, so two runs' hints may differ while
 * both hold. */
static void expect_hints_hold(const struct frames_entry *entry, uint64_t nr,
			      uint64_t lo_free, uint64_t hi_free)
{
	for (uint64_t i = 0; i < nr; i++)
		if (entry[i].state == EXO_FRAME_FREE)
			cr_assert(i >= lo_free && i < hi_free,
				  "FREE frame %lu outside the hints [%lu, %lu)",
				  (unsigned long)i, (unsigned long)lo_free,
				  (unsigned long)hi_free);
}

static void expect_same(const struct state *a, const struct state *b,
			unsigned step)
{
	const struct frames_db *db = mem_frames_db();

	cr_assert(!memcmp(a->acct, b->acct, sizeof(a->acct)),
		  "step %u: accounts differ", step);
	cr_assert(!memcmp(a->count, b->count, sizeof(a->count)),
		  "step %u: state counts differ", step);
	expect_hints_hold(a->entries, db->nr, a->lo_free, a->hi_free);
	expect_hints_hold(b->entries, db->nr, b->lo_free, b->hi_free);
	cr_assert_eq(a->hyp_charged, b->hyp_charged, "step %u", step);
	cr_assert_eq(a->shares_left, b->shares_left, "step %u", step);
	cr_assert_eq(a->share_free, b->share_free, "step %u", step);
	cr_assert(!memcmp(a->entries, b->entries,
			  db->nr * sizeof(*a->entries)),
		  "step %u: DB entries differ", step);
	cr_assert(!memcmp(a->shares, b->shares,
			  db->nr_shares * sizeof(*a->shares)),
		  "step %u: share records differ", step);
	cr_assert(!memcmp(a->g, b->g, sizeof(a->g)),
		  "step %u: a stage 2 or a cache differs", step);
	cr_assert(!memcmp(a->ram, b->ram, RAM_FRAMES * FRAME),
		  "step %u: RAM differs", step);
}

static uint64_t frame_at(unsigned region, unsigned i)
{
	return RAM_BASE + ((uint64_t)region * REGION_FRAMES + i) * FRAME;
}

static void boot_with(bool garbage)
{
	cr_assert(mem_machine_map(RAM_FRAMES), "RAM at its PA");
	fake_reset();
	if (garbage) {
		fake_cache_model(RAM_BASE, RAM_FRAMES);
		fake_cache_fill_garbage(GARBAGE_SEED);
	}
	cr_assert_eq(mem_machine_boot(true, EL2_FRAMES), 0);
	for (unsigned i = 0; i < 2; i++) {
		memset(&vms[i], 0, sizeof(vms[i]));
		vms[i].id = i + 1;
		snprintf(vms[i].name, sizeof(vms[i].name), "g%u", i + 1);
		vms[i].state = VM_RUNNING;
		if (!roots[i])
			roots[i] = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
		cr_assert_eq(mem_vm_create(&vms[i], QUOTA, roots[i]), EXO_OK);
	}
}

static void boot(void)
{
	boot_with(false);
}

/* RAM as after a warm reset (garbage), under the cache model
 * (tests/host/fake_arch.h: what DRAM holds apart from what EL2 sees). */
static void boot_garbage(void)
{
	boot_with(true);
}

static void done(void)
{
	hyp_lock_on = false;
	mem_set_fast_paths(true);
	mem_machine_unmap();
	fake_reset();
}

/* What the script remembers between calls: the frames it got. */
struct script {
	uint64_t got[MAX_STEPS];
	unsigned nr_got;
	int64_t rc[MAX_STEPS];
	unsigned steps;
	struct state **after;
};

static void record(struct script *sc, int64_t rc)
{
	cr_assert_lt(sc->steps, MAX_STEPS);
	sc->rc[sc->steps] = rc;
	snapshot(sc->after[sc->steps]);
	sc->steps++;
}

/* Through the call el2/dispatch.c's table makes (x0-x3 the registers). */
static void alloc1(struct script *sc, struct vm *vm)
{
	uint64_t x[MEM_CALL_REGS] = { EXO_HVC_FRAME_ALLOC, 1, 0, 0 };

	mem_frame_alloc_one_call(vm, x);
	if (!x[0]) {
		cr_assert_eq(x[2], 1, "one frame taken");
		sc->got[sc->nr_got++] = x[1];
	} else {
		cr_assert(!x[1] && !x[2], "a refusal returns no frame");
	}
	cr_assert_eq(x[3], 0);
	record(sc, (int64_t)x[0]);
}

static void free1(struct script *sc, struct vm *vm, uint64_t pa)
{
	record(sc, mem_frame_free(vm, pa_init(pa), 1));
}

static void free_part1(struct script *sc, struct vm *vm, uint64_t pa)
{
	record(sc, mem_frame_free_part(vm, pa_init(pa), 1, 1));
}

/* Through the call el2/dispatch.c's table makes, as free_part1. */
static void free_call1(struct script *sc, struct vm *vm, uint64_t pa)
{
	uint64_t x[MEM_CALL_REGS] = { EXO_HVC_FRAME_FREE, pa, 1, 0 };

	mem_frame_free_one_call(vm, x);
	cr_assert_eq(x[1], x[0] ? 0 : 1, "one frame freed, or none");
	cr_assert(!x[2] && !x[3]);
	record(sc, (int64_t)x[0]);
}

static void run_script(struct script *sc)
{
	struct vm *a = &vms[0], *b = &vms[1];
	const uint64_t hyp = frame_at(2, REGION_FRAMES - 1); /* EL2's */
	const uint64_t past_ram = RAM_BASE + (uint64_t)RAM_FRAMES * FRAME;

	alloc1(sc, a);	/* no tables yet: the general path makes them */
	for (unsigned i = 0; i < 6; i++)
		alloc1(sc, a);
	free1(sc, a, sc->got[2]);
	free_part1(sc, a, sc->got[3]);
	free_call1(sc, a, sc->got[1]);
	alloc1(sc, a);				/* got[1]'s frame again */
	{
		paddr_t pa;	/* aligned: not the one-frame path's */

		record(sc, mem_frame_alloc(a, 1, 3, &pa));
		free1(sc, a, pa_addr(pa));
	}
	free1(sc, a, sc->got[2]);		/* FREE now: EPERM */
	free_part1(sc, a, sc->got[3]);
	alloc1(sc, a);				/* takes the lowest again */
	/* b's tables come from a share, with no reserve in its cache: its
	 * first alloc in that region must top the reserve up (charged). */
	record(sc, mem_frame_share(a, b, pa_init(sc->got[6]), 1,
				   EXO_SHARE_RW));
	alloc1(sc, b);
	alloc1(sc, b);
	free1(sc, a, sc->got[sc->nr_got - 1]);	/* b's frame: EPERM */
	free_call1(sc, a, sc->got[sc->nr_got - 1]);
	free_part1(sc, b, sc->got[0]);		/* a's frame */
	free_call1(sc, b, sc->got[0]);
	record(sc, mem_frame_share(a, b, pa_init(sc->got[4]), 1,
				   EXO_SHARE_R));
	free1(sc, a, sc->got[4]);		/* shared: ESHARED */
	free_part1(sc, a, sc->got[4]);
	free_call1(sc, a, sc->got[4]);
	record(sc, mem_frame_lend(a, b, pa_init(sc->got[5]), 1));
	free1(sc, a, sc->got[5]);		/* lent: ELENT */
	free1(sc, b, sc->got[5]);		/* the borrower: EPERM */
	free1(sc, a, hyp);			/* EL2's: EHYP */
	free_part1(sc, a, hyp);
	free_call1(sc, a, hyp);
	free1(sc, a, past_ram);			/* outside RAM: ERANGE */
	free_part1(sc, a, past_ram);
	free_call1(sc, a, past_ram);
	free1(sc, a, sc->got[0] + 8);		/* not a frame's address */
	record(sc, mem_frame_unshare(a, b, pa_init(sc->got[4]), 1));
	record(sc, mem_frame_reclaim(a, b, pa_init(sc->got[5]), 1));
	free1(sc, a, sc->got[4]);
	free_part1(sc, a, sc->got[5]);
	/* A page inside a 2 MiB block: the general path splits it. */
	record(sc, mem_frame_alloc_at(a, pa_init(frame_at(1, 0)),
				      REGION_FRAMES));
	free1(sc, a, frame_at(1, 7));
	free_call1(sc, a, frame_at(1, 8));	/* a table again: fast */
	/* Spend the quota one frame at a time, past its end. */
	for (unsigned i = 0; i < 120; i++) {
		paddr_t pa;
		int64_t rc = mem_frame_alloc(a, 1, 0, &pa);

		if (rc) {
			record(sc, rc);
			break;
		}
	}
	record(sc, frames_account(mem_frames_db(), a->id)->used > QUOTA);
	free1(sc, a, frame_at(1, 9));
	alloc1(sc, a);
	free1(sc, a, sc->got[sc->nr_got - 1]);
	/* The rest of the block goes; then a lone frame again. */
	record(sc, mem_frame_free(a, pa_init(frame_at(1, 10)),
				  REGION_FRAMES - 10));
	alloc1(sc, a);
	free_part1(sc, a, sc->got[sc->nr_got - 1]);
}

/* The script twice, fast paths on and off, compared call by call. */
static void compare_with_general_paths(void)
{
	struct script fast = { 0 }, slow = { 0 };
	struct state *fast_after[MAX_STEPS], *slow_after[MAX_STEPS];
	uint64_t calls;

	for (unsigned i = 0; i < MAX_STEPS; i++) {
		fast_after[i] = state_new();
		slow_after[i] = state_new();
	}
	fast.after = fast_after;
	slow.after = slow_after;
	calls = mem_fast_path_calls();
	run_script(&fast);
	cr_assert_gt(mem_fast_path_calls() - calls, 20,
		     "the one-frame paths answered %lu calls",
		     (unsigned long)(mem_fast_path_calls() - calls));

	mem_vm_teardown(&vms[0]);
	mem_vm_teardown(&vms[1]);
	mem_machine_unmap();
	boot();
	mem_set_fast_paths(false);
	calls = mem_fast_path_calls();
	run_script(&slow);
	cr_assert_eq(mem_fast_path_calls(), calls, "off means off");

	cr_assert_eq(fast.steps, slow.steps);
	for (unsigned i = 0; i < fast.steps; i++) {
		cr_assert_eq(fast.rc[i], slow.rc[i], "step %u: %ld vs %ld", i,
			     (long)fast.rc[i], (long)slow.rc[i]);
		expect_same(fast_after[i], slow_after[i], i);
	}
	for (unsigned i = 0; i < MAX_STEPS; i++) {
		state_free(fast_after[i]);
		state_free(slow_after[i]);
	}
}

Test(mem_fast, the_one_frame_paths_leave_the_general_paths_state,
     .init = boot, .fini = done)
{
	compare_with_general_paths();
}

/* The same with several CPUs online (one thread): the one-frame calls
 * pass mem's gate and take their VM's lock and the frame DB's, and the
 * free's check reads the entry with no lock (frames_free_one_peek); every
 * verdict (the refusals of the script included) and every state change
 * still the general paths'. */
Test(mem_fast, the_several_cpu_one_frame_paths_leave_the_general_paths_state,
     .init = boot, .fini = done)
{
	hyp_lock_on = true;
	compare_with_general_paths();
	cr_assert_eq(this_cpu()->mem_inside, 0, "left mem's gate");
}

/* The refusals the script must have met, in the fast run: each call's
 * status as the ABI says. */
Test(mem_fast, the_one_frame_paths_refuse_as_the_abi_says,
     .init = boot, .fini = done)
{
	struct vm *a = &vms[0], *b = &vms[1];
	paddr_t p0, p1, pb;

	cr_assert_eq(mem_frame_alloc(a, 1, 0, &p0), EXO_OK);
	cr_assert_eq(mem_frame_alloc(a, 1, 0, &p1), EXO_OK);
	cr_assert_eq(mem_frame_alloc(b, 1, 0, &pb), EXO_OK);
	cr_assert_eq(mem_frame_free(a, pb, 1), EXO_EPERM, "another's");
	cr_assert_eq(mem_frame_free_part(a, pb, 1, 1), EXO_EPERM);
	cr_assert_eq(mem_frame_share(a, b, p0, 1, EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_frame_free(a, p0, 1), EXO_ESHARED);
	cr_assert_eq(mem_frame_lend(a, b, p1, 1), EXO_OK);
	cr_assert_eq(mem_frame_free_part(a, p1, 1, 1), EXO_ELENT);
	cr_assert_eq(mem_frame_free(a, pa_init(frame_at(2, REGION_FRAMES - 1)),
				    1), EXO_EHYP);
	cr_assert_eq(mem_frame_free_part(a, pa_init(RAM_BASE + (uint64_t)
							 RAM_FRAMES * FRAME),
					 1, 1), EXO_ERANGE);
	cr_assert_eq(mem_frame_free(a, pa_init(frame_at(0, 300)), 1),
		     EXO_EPERM, "a FREE frame");
	cr_assert_eq(mem_frame_free(b, pb, 1), EXO_OK);
	cr_assert_eq(mem_frame_free(b, pb, 1), EXO_EPERM, "twice");
	mem_check_invariant(a);
	mem_check_invariant(b);
}

/* The quota holds on the one-frame path: the frame past it is refused
 * and charges nothing. */
Test(mem_fast, the_one_frame_alloc_stops_at_the_quota,
     .init = boot, .fini = done)
{
	struct vm *a = &vms[0];
	const struct frames_account *acct =
		frames_account(mem_frames_db(), a->id);
	uint64_t calls = mem_fast_path_calls(), used;
	paddr_t pa;
	int64_t rc;

	while (!(rc = mem_frame_alloc(a, 1, 0, &pa)))
		;
	cr_assert_eq(rc, EXO_EQUOTA);
	cr_assert_eq(acct->used, acct->quota, "charged up to the quota");
	cr_assert_gt(mem_fast_path_calls() - calls, QUOTA / 2);
	used = acct->used;
	cr_assert_eq(mem_frame_alloc(a, 1, 0, &pa), EXO_EQUOTA);
	cr_assert_eq(acct->used, used, "a refusal charges nothing");
	mem_check_invariant(a);
}

/* A frame reads zero through the cache and from DRAM (what a guest with
 * its MMU off reads), with no line left dirty: scrubbed, and the zeros
 * cleaned to the point of coherency. */
static void expect_scrubbed(uint64_t pa, const char *what)
{
	static uint8_t dram[FRAME];
	static const uint8_t zero[FRAME];

	cr_assert(!memcmp((const void *)(uintptr_t)pa, zero, FRAME),
		  "%s: frame %#lx is not zero", what, (unsigned long)pa);
	fake_nc_read(pa, dram, FRAME);
	cr_assert(!memcmp(dram, zero, FRAME),
		  "%s: DRAM under frame %#lx is not zero (not cleaned)", what,
		  (unsigned long)pa);
	cr_assert(!fake_frame_dirty(pa), "%s: frame %#lx has dirty lines",
		  what, (unsigned long)pa);
}

/* --- a frame left unscrubbed (EXO_FRAME_ALLOC_NOZERO) ------------------ */

/* The frame at pa is the one left, for vm, holding its byte: in the cache
 * and in DRAM (the guest's lines were evicted), not zeroed. */
static void expect_left(uint64_t pa, const struct vm *vm, uint8_t byte)
{
	unsigned who;

	cr_assert_eq(mem_left_frame(&who), pa, "the frame freed is left");
	cr_assert_eq(who, vm->id);
	cr_assert_eq(*(const uint8_t *)(uintptr_t)pa, byte,
		     "a free leaves what the guest wrote");
}

static void expect_nothing_left(void)
{
	unsigned who;

	cr_assert_eq(mem_left_frame(&who), 0, "no frame is left");
}

static uint64_t alloc_nozero(struct vm *vm)
{
	struct mem_alloc r = mem_frame_alloc_call(vm, 1, 0, 1,
						  EXO_FRAME_ALLOC_NOZERO);

	cr_assert_eq(r.rc, EXO_OK);
	return pa_addr(r.pa);
}

/* A frame a's calls made, filled with byte (its lines evicted: DRAM holds
 * it too), through the one-frame alloc (the tables made first). */
static uint64_t filled_frame(struct vm *vm, uint8_t byte)
{
	static uint8_t buf[FRAME];
	paddr_t pa;

	cr_assert_eq(mem_frame_alloc(vm, 1, 0, &pa), EXO_OK);
	memset(buf, byte, sizeof(buf));
	fake_guest_write(pa_addr(pa), buf, sizeof(buf));
	return pa_addr(pa);
}

/* The one-frame paths scrub as the general ones do, but for the frame a
 * free leaves for its guest: RAM no scrub has reached since boot
 * (garbage) is scrubbed when the one-frame alloc hands it out, and a
 * frame the guest filled (its lines evicted to DRAM) and freed is left
 * unscrubbed for it (el2/mem.c, the left frame), then scrubbed and cleaned
 * when it is handed out again to a call that wants it zeroed. */
Test(mem_fast, the_one_frame_paths_scrub_and_clean,
     .init = boot_garbage, .fini = done)
{
	static uint8_t secret[FRAME];
	struct vm *a = &vms[0];
	paddr_t first, pa;
	uint64_t calls;

	/* The first makes the tables: the general path. */
	cr_assert_eq(mem_frame_alloc(a, 1, 0, &first), EXO_OK);
	calls = mem_fast_path_calls();
	cr_assert_eq(mem_frame_alloc(a, 1, 0, &pa), EXO_OK);
	cr_assert_eq(mem_fast_path_calls(), calls + 1, "the one-frame alloc");
	expect_scrubbed(pa_addr(pa), "handed out at its first use");
	memset(secret, SECRET, sizeof(secret));
	fake_guest_write(pa_addr(pa), secret, sizeof(secret));
	cr_assert_eq(mem_frame_free(a, pa, 1), EXO_OK);
	cr_assert_eq(mem_fast_path_calls(), calls + 2, "the one-frame free");
	expect_left(pa_addr(pa), a, SECRET);
	/* Handed out again, to the same guest, zeroed: zero everywhere. */
	cr_assert_eq(mem_frame_alloc(a, 1, 0, &pa), EXO_OK);
	cr_assert_eq(mem_fast_path_calls(), calls + 3);
	expect_scrubbed(pa_addr(pa), "handed out again");
	expect_nothing_left();
	mem_check_invariant(a);
}

/* The guest that freed a frame gets it back as it left it when it asks for
 * a frame it need not find zeroed: no scrub, its own data, nothing left
 * after; even when a lower frame is FREE. A call that wants a zeroed
 * frame gets the lowest FREE one, and the left frame stays left. */
Test(mem_fast, a_frame_left_goes_back_unscrubbed_to_its_guest,
     .init = boot_garbage, .fini = done)
{
	const struct frames_db *db = mem_frames_db();
	struct vm *a = &vms[0];
	uint64_t low, high;
	paddr_t pa;

	low = filled_frame(a, SECRET);
	high = filled_frame(a, SECRET + 1);
	cr_assert_lt(low, high);
	cr_assert_eq(mem_frame_free(a, pa_init(high), 1), EXO_OK);
	cr_assert_eq(mem_frame_free(a, pa_init(low), 1), EXO_OK);
	expect_left(high, a, SECRET + 1);
	expect_scrubbed(low, "freed while another frame was left");
	cr_assert_eq(alloc_nozero(a), high, "a's own frame, not the lowest");
	cr_assert_eq(*(const uint8_t *)(uintptr_t)high, SECRET + 1,
		     "as a left it");
	expect_hints_hold(db->entry, db->nr, db->lo_free, db->hi_free);
	expect_nothing_left();
	cr_assert_eq(mem_frame_free(a, pa_init(high), 1), EXO_OK);
	expect_left(high, a, SECRET + 1);
	cr_assert_eq(mem_frame_alloc(a, 1, 0, &pa), EXO_OK);
	cr_assert_eq(pa_addr(pa), low, "zeroed: the lowest FREE frame");
	expect_scrubbed(low, "handed out zeroed");
	expect_left(high, a, SECRET + 1);
	mem_check_invariant(a);
}

/* No other guest ever gets a frame left for a: asking for a frame it need
 * not find zeroed, b gets the left frame scrubbed and cleaned (zero in the
 * cache and in DRAM), and nothing is left after. */
Test(mem_fast, no_other_guest_gets_a_frame_left_unscrubbed,
     .init = boot_garbage, .fini = done)
{
	struct vm *a = &vms[0], *b = &vms[1];
	uint64_t left, got;
	paddr_t first;

	cr_assert_eq(mem_frame_alloc(b, 1, 0, &first), EXO_OK);
	left = filled_frame(a, SECRET);
	cr_assert_eq(mem_frame_free(a, pa_init(left), 1), EXO_OK);
	expect_left(left, a, SECRET);
	got = alloc_nozero(b);
	cr_assert_eq(got, left, "the lowest FREE frame");
	expect_scrubbed(got, "left by another guest");
	expect_nothing_left();
	mem_check_invariant(a);
	mem_check_invariant(b);
}

/* Stage-2 table pages come from the highest FREE frames: the frame a left
 * there becomes b's table page, which a can no longer get back as its
 * frame, and a's end leaves it alone (b's stage 2 is still whole). */
static uint64_t highest_free(void)
{
	struct frames_info info;
	uint64_t top = 0;

	for (uint64_t i = 0; i < RAM_FRAMES; i++) {
		uint64_t f = RAM_BASE + i * FRAME;

		if (!frames_query(mem_frames_db(), f, &info) &&
		    info.state == EXO_FRAME_FREE)
			top = f;
	}
	return top;
}

Test(mem_fast, a_frame_left_taken_as_a_table_page_is_forgotten,
     .init = boot_garbage, .fini = done)
{
	struct vm *a = &vms[0], *b = &vms[1];
	struct frames_info info;
	uint64_t top;
	paddr_t pa;

	/* a's tables for the top 2 MiB region, from the highest frames. */
	cr_assert_eq(mem_frame_alloc_at(a, pa_init(highest_free() -
						   REGION_FRAMES / 2 * FRAME),
					1),
		     EXO_OK);
	top = highest_free();
	cr_assert_eq(mem_frame_alloc_at(a, pa_init(top), 1), EXO_OK);
	cr_assert_eq(mem_frame_free(a, pa_init(top), 1), EXO_OK);
	expect_left(top, a, 0);
	/* b's first map takes its tables from the highest FREE frames. */
	cr_assert_eq(mem_frame_alloc(b, 1, 0, &pa), EXO_OK);
	cr_assert_eq(frames_query(mem_frames_db(), top, &info), 0);
	cr_assert_eq(info.state, EXO_FRAME_HYP, "b's table page now");
	expect_nothing_left();
	cr_assert_neq(alloc_nozero(a), top);
	mem_vm_teardown(a);
	mem_check_invariant(b);
	cr_assert_eq(mem_frame_free(b, pa, 1), EXO_OK);
	mem_check_invariant(b);
}

/* A guest's end scrubs the frame it left: the next life with its id (a
 * restart) never gets the last one's data. */
Test(mem_fast, a_guests_end_scrubs_the_frame_it_left,
     .init = boot_garbage, .fini = done)
{
	struct vm *a = &vms[0];
	uint64_t left;

	left = filled_frame(a, SECRET);
	cr_assert_eq(mem_frame_free(a, pa_init(left), 1), EXO_OK);
	expect_left(left, a, SECRET);
	mem_vm_teardown(a);
	expect_nothing_left();
	expect_scrubbed(left, "left, then its guest ended");
	cr_assert_eq(mem_vm_create(a, QUOTA, roots[0]), EXO_OK);
	mem_check_invariant(a);
}

/* Each CPU keeps its own left frame (el2/mem.c, the left frame): a's vCPUs
 * freeing on CPUs 0 and 1 leave one each, unscrubbed, and each gets its
 * own back on its own CPU; a NOZERO call of a's on a CPU with nothing left
 * gets a's frame left on the other CPU unscrubbed (its own data), and
 * that CPU has nothing left then; another guest's call, or one wanting
 * zeros, scrubs it; and a's end scrubs every frame it left, on every CPU.
 * The main thread runs as CPU 0 or 1 (fake_bind_cpu). */
static void on_cpu(unsigned cpu)
{
	fake_bind_cpu(cpu);
}

Test(mem_fast, each_cpu_keeps_its_own_left_frame,
     .init = boot_garbage, .fini = done)
{
	struct vm *a = &vms[0];
	uint64_t f0, f1, spare;

	f0 = filled_frame(a, SECRET);
	f1 = filled_frame(a, SECRET + 1);
	spare = filled_frame(a, SECRET + 2);
	on_cpu(0);
	cr_assert_eq(mem_frame_free(a, pa_init(f0), 1), EXO_OK);
	on_cpu(1);
	cr_assert_eq(mem_frame_free(a, pa_init(f1), 1), EXO_OK);
	expect_left(f1, a, SECRET + 1);
	on_cpu(0);
	expect_left(f0, a, SECRET);
	cr_assert_eq(alloc_nozero(a), f0, "CPU 0's own frame back");
	cr_assert_eq(*(const uint8_t *)(uintptr_t)f0, SECRET);
	expect_nothing_left();
	cr_assert_eq(alloc_nozero(a), f1, "a's frame left on CPU 1");
	cr_assert_eq(*(const uint8_t *)(uintptr_t)f1, SECRET + 1,
		     "a's own data: no scrub");
	on_cpu(1);
	expect_nothing_left();
	/* Another guest on CPU 0 takes a's frame left on CPU 1: scrubbed. */
	cr_assert_eq(mem_frame_free(a, pa_init(f1), 1), EXO_OK);
	expect_left(f1, a, SECRET + 1);
	on_cpu(0);
	cr_assert_eq(alloc_nozero(&vms[1]), f1, "the lowest FREE frame");
	expect_scrubbed(f1, "a's, left on another CPU, taken by b");
	on_cpu(1);
	expect_nothing_left();
	on_cpu(1);
	/* Left on both CPUs, then a's end: both scrubbed. */
	cr_assert_eq(mem_frame_free(a, pa_init(spare), 1), EXO_OK);
	on_cpu(0);
	cr_assert_eq(mem_frame_free(a, pa_init(f0), 1), EXO_OK);
	mem_vm_teardown(a);
	expect_nothing_left();
	expect_scrubbed(f0, "left on CPU 0, then its guest ended");
	expect_scrubbed(spare, "left on CPU 1, then its guest ended");
	on_cpu(1);
	expect_nothing_left();
	on_cpu(0);
}

/* The one-frame DB pairs against the general ones, for a frame in every
 * state and every caller, and for addresses outside RAM: the same verdict,
 * the frame the general op names, and (on a copy of the DB each) the same
 * DB after the commits. */
struct db_copy {
	struct frames_db db;
};

static struct db_copy *db_clone(const struct frames_db *from)
{
	struct db_copy *c = malloc(sizeof(*c));

	cr_assert(c);
	c->db = *from;
	c->db.entry = malloc(from->nr * sizeof(*from->entry));
	c->db.share = malloc(from->nr_shares * sizeof(*from->share));
	cr_assert(c->db.entry && c->db.share);
	memcpy(c->db.entry, from->entry, from->nr * sizeof(*from->entry));
	memcpy(c->db.share, from->share,
	       from->nr_shares * sizeof(*from->share));
	return c;
}

static void db_free(struct db_copy *c)
{
	free(c->db.entry);
	free(c->db.share);
	free(c);
}

static void expect_same_db(const struct frames_db *x, const struct frames_db *y)
{
	cr_assert(!memcmp(x->count, y->count, sizeof(x->count)));
	cr_assert(!memcmp(x->acct, y->acct, sizeof(x->acct)));
	expect_hints_hold(x->entry, x->nr, x->lo_free, x->hi_free);
	expect_hints_hold(y->entry, y->nr, y->lo_free, y->hi_free);
	cr_assert_eq(x->hyp_charged, y->hyp_charged);
	cr_assert(!memcmp(x->entry, y->entry, x->nr * sizeof(*x->entry)));
	cr_assert(!memcmp(x->share, y->share,
			  x->nr_shares * sizeof(*x->share)));
}

static uint64_t idx(const struct frames_db *db, uint64_t pa)
{
	return (pa - db->base) / FRAME;
}

static void free_both_ways(const struct frames_db *db, unsigned vm,
			   uint64_t pa)
{
	struct frames_op op;
	int64_t fast = frames_free_one_check(db, vm, pa);
	int64_t peek = frames_free_one_peek(db, vm, pa);
	int slow = frames_free_check(db, vm, pa, 1, 0, &op);
	struct db_copy *a, *b;

	if (slow) {
		cr_assert_eq(fast, slow, "vm %u, %#lx", vm, (unsigned long)pa);
		cr_assert_eq(peek, -1, "peek: vm %u, %#lx", vm,
			     (unsigned long)pa);
		return;
	}
	cr_assert_eq(fast, (int64_t)idx(db, op.pa));
	cr_assert_eq(peek, fast, "peek: vm %u, %#lx", vm, (unsigned long)pa);
	a = db_clone(db);
	b = db_clone(db);
	frames_free_one_commit(&a->db, vm, (uint64_t)fast);
	frames_free_commit(&b->db, &op);
	expect_same_db(&a->db, &b->db);
	db_free(a);
	db_free(b);
}

static void alloc_both_ways(const struct frames_db *db, unsigned vm)
{
	struct frames_op op;
	int64_t fast = frames_alloc_one_check(db, vm);
	int slow = frames_alloc_check(db, vm, 1, 0, 0, &op);
	struct db_copy *a, *b;

	if (slow) {
		cr_assert_eq(fast, slow, "vm %u", vm);
		return;
	}
	cr_assert_eq(fast, (int64_t)idx(db, op.pa));
	a = db_clone(db);
	b = db_clone(db);
	frames_alloc_one_commit(&a->db, vm, (uint64_t)fast, false);
	frames_alloc_commit(&b->db, &op);
	expect_same_db(&a->db, &b->db);
	db_free(a);
	db_free(b);
}

Test(mem_fast, the_one_frame_db_pairs_give_the_general_verdicts_and_state,
     .init = boot, .fini = done)
{
	const struct frames_db *db = mem_frames_db();
	struct vm *a = &vms[0], *b = &vms[1];
	paddr_t p[4];
	uint64_t probe[12];
	unsigned n = 0;

	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(mem_frame_alloc(a, 1, 0, &p[i]), EXO_OK);
	cr_assert_eq(mem_frame_share(a, b, p[1], 1, EXO_SHARE_R), EXO_OK);
	cr_assert_eq(mem_frame_lend(a, b, p[2], 1), EXO_OK);
	for (unsigned i = 0; i < 4; i++)
		probe[n++] = pa_addr(p[i]);
	probe[n++] = frame_at(0, 100);				/* FREE */
	probe[n++] = frame_at(2, REGION_FRAMES - 1);		/* HYP */
	probe[n++] = RAM_BASE + (uint64_t)RAM_FRAMES * FRAME;	/* past */
	probe[n++] = RAM_BASE - FRAME;				/* below */
	probe[n++] = pa_addr(p[0]) + 8;				/* unaligned */
	for (unsigned vm = 0; vm <= 3; vm++) {
		for (unsigned i = 0; i < n; i++)
			free_both_ways(db, vm, probe[i]);
		alloc_both_ways(db, vm);
	}
	/* At the quota: EQUOTA both ways. */
	while (!mem_frame_alloc(a, 1, 0, &p[0]))
		;
	alloc_both_ways(db, a->id);
	cr_assert_eq(frames_alloc_one_check(db, a->id), EXO_EQUOTA);
	/* The hints only bound where FREE frames are (none below lo_free):
	 * with lo_free moved down onto a frame that is not FREE, a state
	 * they allow, the one-frame check still hands out the lowest FREE
	 * frame, as the general check does. */
	{
		struct db_copy *c = db_clone(db);

		c->db.lo_free = 0;
		cr_assert_neq(c->db.entry[0].state, EXO_FRAME_FREE);
		alloc_both_ways(&c->db, b->id);
		cr_assert_geq(frames_alloc_one_check(&c->db, b->id),
			      (int64_t)db->lo_free);
		db_free(c);
	}
}

/* The one-frame offer check (mem_frame_offer_check of one frame to
 * share, frames_share_one_check): for a frame in every state, every pair
 * of guests (a sender and a recipient the DB does not know included) and
 * both kinds of share, the verdict the general check gives; and at the
 * DB, the general check's with a shortage of share records, which an
 * offer does not refuse for. */
static int64_t offer_both_ways(struct vm *from, struct vm *to, uint64_t pa,
			       unsigned kind)
{
	uint64_t calls = mem_fast_path_calls();
	int64_t fast, slow;

	fast = mem_frame_offer_check(from, to, pa_init(pa), 1, kind);
	cr_assert_eq(mem_fast_path_calls(), calls + 1, "the fast check ran");
	mem_set_fast_paths(false);
	slow = mem_frame_offer_check(from, to, pa_init(pa), 1, kind);
	mem_set_fast_paths(true);
	cr_assert_eq(mem_fast_path_calls(), calls + 1, "off means off");
	cr_assert_eq(fast, slow, "vm %u -> %u, %#lx, kind %u: %ld vs %ld",
		     from->id, to->id, (unsigned long)pa, kind, (long)fast,
		     (long)slow);
	return fast;
}

static int share_verdict(const struct frames_db *db, unsigned vm,
			 unsigned b, uint64_t pa, enum frames_perm perm)
{
	struct frames_op op;
	int rc = frames_share_check(db, vm, b, pa, 1, perm, 0, &op);

	return rc == EXO_ENOMEM ? EXO_OK : rc;
}

Test(mem_fast, the_one_frame_offer_check_gives_the_general_verdict,
     .init = boot, .fini = done)
{
	const struct frames_db *db = mem_frames_db();
	struct vm *a = &vms[0], *b = &vms[1];
	struct vm ghost = { .id = 3 };	/* never created: ENOENT */
	struct vm *who[] = { a, b, &ghost };
	static const unsigned kinds[] = { EXO_OFFER_SHARE_R,
					  EXO_OFFER_SHARE_RW };
	paddr_t p[5], pb;
	uint64_t probe[12];
	unsigned n = 0, ok = 0;
	struct db_copy *none;

	for (unsigned i = 0; i < 5; i++)
		cr_assert_eq(mem_frame_alloc(a, 1, 0, &p[i]), EXO_OK);
	cr_assert_eq(mem_frame_alloc(b, 1, 0, &pb), EXO_OK);
	cr_assert_eq(mem_frame_share(a, b, p[1], 1, EXO_SHARE_R), EXO_OK);
	cr_assert_eq(mem_frame_share(a, b, p[3], 1, EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_frame_lend(a, b, p[2], 1), EXO_OK);
	for (unsigned i = 0; i < 5; i++)
		probe[n++] = pa_addr(p[i]);
	probe[n++] = pa_addr(pb);				/* b's */
	probe[n++] = frame_at(0, 100);				/* FREE */
	probe[n++] = frame_at(2, REGION_FRAMES - 1);		/* HYP */
	probe[n++] = RAM_BASE + (uint64_t)RAM_FRAMES * FRAME;	/* past */
	probe[n++] = RAM_BASE - FRAME;				/* below */
	probe[n++] = pa_addr(p[0]) + 8;				/* unaligned */
	for (unsigned f = 0; f < 3; f++)
		for (unsigned t = 0; t < 3; t++)
			for (unsigned i = 0; i < n; i++)
				for (unsigned k = 0; k < 2; k++)
					ok += !offer_both_ways(who[f], who[t],
							       probe[i],
							       kinds[k]);
	cr_assert_gt(ok, 4, "some offers pass (%u)", ok);
	/* No share record left: the general check says ENOMEM, which no
	 * offer refuses for (the accept will). */
	none = db_clone(db);
	none->db.shares_left = 0;
	for (unsigned i = 0; i < n; i++) {
		for (unsigned vm = 0; vm <= 3; vm++) {
			for (unsigned to = 0; to <= 3; to++) {
				cr_assert_eq(frames_share_one_check(&none->db,
								    vm, to,
								    probe[i]),
					     share_verdict(&none->db, vm, to,
							   probe[i],
							   FRAMES_PERM_RW));
				cr_assert_eq(frames_share_one_check(db, vm, to,
								    probe[i]),
					     share_verdict(db, vm, to, probe[i],
							   FRAMES_PERM_R));
			}
		}
	}
	db_free(none);
}

/* A run of one-frame allocs stays on the one-frame path: each commit
 * moves lo_free one step past the frame it took, so the next check finds
 * the next FREE frame there, without the general search (which the hints
 * allow, but which costs a walk and a transaction). */
Test(mem_fast, a_run_of_one_frame_allocs_stays_on_the_one_frame_path,
     .init = boot, .fini = done)
{
	const struct frames_db *db = mem_frames_db();
	const unsigned run = 8;
	uint64_t x[MEM_CALL_REGS], first, calls;
	struct vm *a = &vms[0];

	x[0] = EXO_HVC_FRAME_ALLOC, x[1] = 1, x[2] = 0, x[3] = 0;
	mem_frame_alloc_one_call(a, x);	/* the general path makes tables */
	cr_assert_eq(x[0], EXO_OK);
	first = x[1];
	calls = mem_fast_path_calls();
	for (unsigned i = 1; i <= run; i++) {
		x[0] = EXO_HVC_FRAME_ALLOC, x[1] = 1, x[2] = 0, x[3] = 0;
		mem_frame_alloc_one_call(a, x);
		cr_assert_eq(x[0], EXO_OK);
		cr_assert_eq(x[1], first + i * FRAME, "the lowest FREE frame");
		cr_assert_eq(db->lo_free, idx(db, x[1]) + 1,
			     "lo_free one step past it");
	}
	cr_assert_eq(mem_fast_path_calls() - calls, run,
		     "all %u on the one-frame path", run);
}

/* The one-frame paths move the DB's peak alone (el2/mem.c, alloc_one):
 * the guest's stats get it at its end, as the summary prints it. */
Test(mem_fast, the_peak_of_one_frame_allocs_reaches_the_stats_at_the_end,
     .init = boot, .fini = done)
{
	const struct frames_db *db = mem_frames_db();
	struct vm *a = &vms[0];
	uint64_t got[4], peak;

	for (unsigned i = 0; i < 4; i++) {
		uint64_t x[MEM_CALL_REGS] = { EXO_HVC_FRAME_ALLOC, 1, 0, 0 };

		mem_frame_alloc_one_call(a, x);
		cr_assert_eq(x[0], EXO_OK);
		got[i] = x[1];
	}
	for (unsigned i = 0; i < 4; i++) {
		uint64_t x[MEM_CALL_REGS] = { EXO_HVC_FRAME_FREE, got[i], 1, 0 };

		mem_frame_free_one_call(a, x);
		cr_assert_eq(x[0], EXO_OK);
	}
	peak = frames_account(db, a->id)->peak;
	cr_assert_lt(a->stats.frames_peak, peak,
		     "the one-frame allocs left the stats behind");
	mem_vm_teardown(a);
	cr_assert_eq(a->stats.frames_peak, peak, "its end copied the peak");
}
