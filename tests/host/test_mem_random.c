/*
 * Frames between guests on the host (issue 5): seeded random sequences of
 * alloc, alloc-at, free, share, unshare, lend, reclaim, donate and
 * teardown across four guests, through the real el2/mem.c, el2/frames.c
 * and el2/s2.c over simulated RAM at its physical address (mem.c reaches
 * frames by PA). After every step every guest's stage 2 must equal what
 * the frame DB allows (mem_check_invariant panics otherwise), and at the
 * end, with every guest torn down, no frame is held. A failure names the
 * seed and step: EXO_MEM_SEED=<seed> replays one sequence.
 */
#define _GNU_SOURCE /* MAP_FIXED_NOREPLACE */
#include "fake_arch.h"

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
#include <sys/mman.h>

/* Criterion's timeout here is a hang guard, not a deadline: the test takes
 * seconds, and a starved CI machine (docs/testing.md, "Time in tests")
 * must never reach it. */
#define HANG_GUARD_S 1800

#define RAM_BASE UINT64_C(0x40000000)
#define RAM_FRAMES 16384u
#define NR_VMS 4
#define QUOTA 1024
#define STEPS 3000
#define NR_SEEDS 6

extern struct frames_db mem_db;

static struct vm vms[NR_VMS];
static bool live[NR_VMS];
static uint64_t *roots[NR_VMS];
static void *db_storage;
static uint64_t rng;
static unsigned step;
static uint64_t seed_now;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(0x2545f4914f6cdd1d);
}

static struct vm *lookup(unsigned id)
{
	return id >= 1 && id <= NR_VMS && live[id - 1] ? &vms[id - 1] : NULL;
}

static void create(unsigned i)
{
	memset(&vms[i], 0, sizeof(vms[i]));
	vms[i].id = i + 1;
	snprintf(vms[i].name, sizeof(vms[i].name), "g%u", i + 1);
	vms[i].state = VM_RUNNING;
	cr_assert_eq(mem_vm_create(&vms[i], QUOTA, roots[i]), EXO_OK);
	live[i] = true;
}

static void machine(void)
{
	size_t size = mem_storage_size(RAM_FRAMES);
	void *ram = mmap((void *)RAM_BASE, RAM_FRAMES * 4096ul,
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	cr_assert_eq(ram, (void *)RAM_BASE, "RAM at its PA");
	fake_reset();
	db_storage = calloc(1, size);
	cr_assert_eq(mem_init(RAM_BASE, RAM_FRAMES, db_storage, size), 0);
	cr_assert_eq(mem_add_ram(RAM_BASE, RAM_FRAMES), 0);
	cr_assert_eq(mem_reserve_init(), 0);
	mem_set_vm_lookup(lookup);
	for (unsigned i = 0; i < NR_VMS; i++) {
		roots[i] = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
		create(i);
	}
}

/* A frame this guest owns (the DB says so), or a random frame. */
static uint64_t frame_of(unsigned id)
{
	for (int tries = 0; tries < 64; tries++) {
		uint64_t pa = RAM_BASE + (next() % RAM_FRAMES) * 4096;
		struct frames_info info;

		if (!frames_query(&mem_db, pa, &info) && info.owner == id &&
		    info.state != EXO_FRAME_HYP)
			return pa;
	}
	return RAM_BASE + (next() % RAM_FRAMES) * 4096;
}

static void one_step(void)
{
	unsigned a = (unsigned)(next() % NR_VMS), b = (unsigned)(next() % NR_VMS);
	struct vm *va = &vms[a], *vb = &vms[b];
	uint64_t pa = frame_of(a + 1), n = 1 + next() % 4, out;

	if (!live[a] || !live[b])
		return;
	switch (next() % 10) {
	case 0: mem_frame_alloc(va, n, (unsigned)(next() % 4), &out); break;
	case 1: mem_frame_alloc_at(va, RAM_BASE + (next() % RAM_FRAMES) * 4096, n); break;
	case 2: mem_frame_free(va, pa, n); break;
	case 3:
		if (a != b)
			mem_frame_share(va, vb, pa, n,
					next() % 2 ? EXO_SHARE_R : EXO_SHARE_RW);
		break;
	case 4: if (a != b) mem_frame_unshare(va, vb, pa, n); break;
	case 5: if (a != b) mem_frame_lend(va, vb, pa, n); break;
	case 6: if (a != b) mem_frame_reclaim(va, vb, pa, n); break;
	case 7: if (a != b) mem_frame_donate(va, vb, pa, n); break;
	case 8:
		if (next() % 8 == 0) {   /* teardown, then a fresh guest */
			live[a] = false;
			va->state = VM_EXITED;
			mem_vm_teardown(va);
			create(a);
		}
		break;
	default: mem_frame_alloc(va, 1 + next() % 32, 0, &out); break;
	}
}

static void check_all(void)
{
	for (unsigned i = 0; i < NR_VMS; i++)
		if (live[i])
			mem_check_invariant(&vms[i]);
}

static void run(uint64_t seed)
{
	uint64_t free_frames, hyp, held;

	seed_now = seed;
	rng = seed | 1;
	fprintf(stderr, "mem random: seed %lu (EXO_MEM_SEED=%lu replays)\n",
		(unsigned long)seed, (unsigned long)seed);
	for (step = 0; step < STEPS; step++) {
		one_step();
		check_all();
	}
	for (unsigned i = 0; i < NR_VMS; i++) {
		live[i] = false;
		vms[i].state = VM_EXITED;
		mem_vm_teardown(&vms[i]);
	}
	mem_totals(&free_frames, &hyp, &held);
	cr_assert_eq(held, 0, "seed %lu: %lu frames still held at the end",
		     (unsigned long)seed, (unsigned long)held);
	cr_assert_eq(free_frames + hyp, RAM_FRAMES,
		     "seed %lu: every frame FREE again, or EL2's reserve",
		     (unsigned long)seed);
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
	free(db_storage);
	munmap((void *)RAM_BASE, RAM_FRAMES * 4096ul);
}

Test(mem_random, share_lend_donate_keep_the_invariant,
     .timeout = HANG_GUARD_S)
{
	const char *env = getenv("EXO_MEM_SEED");

	machine();
	if (env)
		run(strtoul(env, NULL, 0));
	else
		for (uint64_t s = 1; s <= NR_SEEDS; s++)
			run(s * UINT64_C(0x9e3779b97f4a7c15));
	machine_off();
}

/* Revocation under memory pressure: the borrower maps two 2 MiB blocks,
 * each made of frames from two owners; another guest has taken all it can
 * get (its allocations stop at ENOMEM); one owner leaves, so both blocks
 * must be split, which needs table pages the borrower's cache does not
 * hold. They are found (beyond its quota) and the invariant holds. (When
 * not even those few frames are left, EL2's reserve, el2/mem.c, supplies
 * them; this test does not get RAM that full.) */
Test(mem_random, revocation_split_under_memory_pressure,
     .timeout = HANG_GUARD_S)
{
	uint64_t half = 256, pa, hyp0, hyp1, free0, held0;
	uint64_t a = RAM_BASE + (UINT64_C(2) << 20), b = a + (UINT64_C(2) << 20);
	struct vm *v1 = &vms[0], *v2 = &vms[1], *v3 = &vms[2], *v4 = &vms[3];
	struct s2_leaf leaf;

	machine();
	/* Block a: v1 then v3; block b: v3 then v1. */
	cr_assert_eq(mem_frame_alloc_at(v1, a, half), EXO_OK);
	cr_assert_eq(mem_frame_alloc_at(v3, a + half * 4096, half), EXO_OK);
	cr_assert_eq(mem_frame_alloc_at(v3, b, half), EXO_OK);
	cr_assert_eq(mem_frame_alloc_at(v1, b + half * 4096, half), EXO_OK);
	cr_assert_eq(mem_frame_share(v1, v2, a, half, EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_frame_share(v3, v2, a + half * 4096, half,
				     EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_frame_share(v3, v2, b, half, EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_frame_share(v1, v2, b + half * 4096, half,
				     EXO_SHARE_RW), EXO_OK);
	cr_assert(s2_lookup(&v2->s2, a, &leaf) && leaf.level == 2,
		  "the borrower maps block a as a block");
	/* A guest that may own all of RAM takes every FREE frame. */
	live[3] = false;
	v4->state = VM_EXITED;
	mem_vm_teardown(v4);
	memset(v4, 0, sizeof(*v4));
	v4->id = 4;
	strcpy(v4->name, "hog");
	cr_assert_eq(mem_vm_create(v4, RAM_FRAMES, roots[3]), EXO_OK);
	live[3] = true;
	while (mem_frame_alloc(v4, 1, 0, &pa) == EXO_OK)
		;
	cr_assert_eq(mem_frame_alloc(v4, 1, 0, &pa), EXO_ENOMEM, "RAM is taken");
	cr_assert_lt(v2->s2_cache.nr, 2, "the borrower cannot split twice alone");
	check_all();
	mem_totals(&free0, &hyp0, &held0);
	/* v1 leaves: its halves are taken out of both of v2's blocks. */
	live[0] = false;
	v1->state = VM_EXITED;
	mem_vm_teardown(v1);
	check_all();
	mem_totals(&free0, &hyp1, &held0);
	cr_assert_not(s2_lookup(&v2->s2, a, &leaf), "v1's half of a is gone");
	cr_assert_not(s2_lookup(&v2->s2, b + half * 4096, &leaf));
	cr_assert(s2_lookup(&v2->s2, a + half * 4096, &leaf) && leaf.level == 3,
		  "v3's half of a is still shared, now in pages");
	cr_assert(s2_lookup(&v2->s2, b, &leaf) && leaf.level == 3);
	machine_off();
}
