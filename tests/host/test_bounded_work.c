/*
 * Rule 5 (issue 13), bounded work in EL2. The bounded calls
 * (mem_frame_alloc_part, _alloc_at_part, _free_part): only their part is
 * handled, the whole range is checked against RAM. A teardown in slices
 * (el2/mem.c's mem_vm_teardown_begin and _step, el2/vm.c's
 * vm_reap_step): once a VM's
 * end begins nothing it shared stays mapped in a borrower; each step frees
 * at most its budget of frames, resuming inside a run where the last one
 * stopped; between steps the borrower's stage 2 equals the DB, every FREE
 * frame reads zero and the dying VM's other frames are still its own.
 */
#define _GNU_SOURCE /* MAP_FIXED_NOREPLACE */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/frames.h>
#include <el2/mem.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <el2/vm_ops.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RAM_BASE UINT64_C(0x40000000)
#define RAM_FRAMES 8192u
#define QUOTA_A 4096u
#define QUOTA_B 1024u
#define HELD_A 3000u          /* frames the dying VM owns */
#define SHARED_AT 7u          /* frames of its run it shares with b */
#define SHARED 21u
#define MARK 0xa5

static struct vm vms[2];
static uint64_t roots[2][S2_ROOT_SIZE / sizeof(uint64_t)]
	__attribute__((aligned(S2_ROOT_SIZE)));
static void *ram, *storage;
static uint64_t run_a;

static void create(unsigned i, uint64_t quota)
{
	memset(&vms[i], 0, sizeof(vms[i]));
	vms[i].id = i + 1;
	vms[i].state = VM_RUNNING;
	cr_assert_eq(mem_vm_create(&vms[i], quota, roots[i]), EXO_OK);
}

/* RAM at its PA, guest a holding HELD_A frames (written), SHARED of them
 * shared with guest b, which holds two frames of its own. */
static void setup(void)
{
	size_t size = mem_storage_size(RAM_FRAMES);
	paddr_t at;

	ram = mmap((void *)RAM_BASE, RAM_FRAMES * FRAMES_SIZE,
		   PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	cr_assert_eq(ram, (void *)RAM_BASE, "RAM at its PA");
	storage = calloc(1, size);
	fake_reset();
	cr_assert_eq(mem_init(RAM_BASE, RAM_FRAMES, storage, size), 0);
	cr_assert_eq(mem_add_ram(RAM_BASE, RAM_FRAMES), 0);
	create(0, QUOTA_A);
	create(1, QUOTA_B);
	cr_assert_eq(mem_frame_alloc(&vms[0], HELD_A, 0, &at), EXO_OK);
	run_a = pa_addr(at);
	memset((void *)(uintptr_t)run_a, MARK, HELD_A * FRAMES_SIZE);
	cr_assert_eq(mem_frame_share(&vms[0], &vms[1],
				     pa_init(run_a + SHARED_AT * FRAMES_SIZE),
				     SHARED, EXO_SHARE_R), EXO_OK);
	cr_assert_eq(mem_frame_alloc(&vms[1], 2, 0, &at), EXO_OK);
}

static void teardown(void)
{
	mem_vm_teardown(&vms[1]);
	free(storage);
	munmap(ram, RAM_FRAMES * FRAMES_SIZE);
}

static uint64_t free_frames(void)
{
	return frames_count(mem_frames_db(), EXO_FRAME_FREE);
}

/* Every frame of a's run is FREE and zero, or still a's (not scrubbed
 * yet, its contents intact); the borrower's stage 2 equals the DB. */
static uint64_t check_between_steps(void)
{
	uint64_t still_a = 0;

	for (unsigned i = 0; i < HELD_A; i++) {
		uint64_t pa = run_a + i * FRAMES_SIZE;
		const uint8_t *p = (const uint8_t *)(uintptr_t)pa;
		struct frames_info info;

		cr_assert_eq(frames_query(mem_frames_db(), pa, &info), 0);
		if (info.state == EXO_FRAME_FREE) {
			for (unsigned b = 0; b < FRAMES_SIZE; b++)
				cr_assert_eq(p[b], 0, "FREE frame 0x%lx not zero",
					     (unsigned long)pa);
			continue;
		}
		cr_assert_eq(info.state, EXO_FRAME_OWNED,
			     "frame %u of the dying VM in state %u", i,
			     info.state);
		cr_assert_eq(p[0], MARK, "frame %u zeroed but not FREE", i);
		still_a++;
	}
	mem_check_invariant(&vms[1]);
	return still_a;
}

Test(teardown_slices, the_end_takes_shares_back_and_each_step_is_bounded,
     .init = setup, .fini = teardown)
{
	struct mem_teardown at = { 0, 0, 0 };
	uint64_t before, left = HELD_A, steps = 0;
	bool done = false;

	mem_vm_teardown_begin(&vms[0]);
	for (unsigned i = 0; i < SHARED; i++)
		cr_assert_eq(frames_access(mem_frames_db(), vms[1].id,
					   run_a + (SHARED_AT + i) *
						   FRAMES_SIZE),
			     FRAMES_ACCESS_NONE,
			     "borrower keeps frame %u of a VM whose end began",
			     i);
	cr_assert_eq(check_between_steps(), HELD_A, "begin scrubbed frames");
	while (!done) {
		unsigned tables = vms[0].s2_cache.nr;

		before = free_frames();
		done = mem_vm_teardown_step(&vms[0], &at,
					    MEM_TEARDOWN_STEP_FRAMES);
		steps++;
		/* Its table pages go back with the last step. */
		cr_assert_leq(free_frames() - before,
			      MEM_TEARDOWN_STEP_FRAMES + (done ? tables : 0),
			      "step %lu freed %lu frames",
			      (unsigned long)steps,
			      (unsigned long)(free_frames() - before));
		left = check_between_steps();
	}
	cr_assert_eq(left, 0);
	/* 3000 frames: two full steps, then the rest with the tables. */
	cr_assert_eq(steps, (HELD_A + MEM_TEARDOWN_STEP_FRAMES - 1) /
				    MEM_TEARDOWN_STEP_FRAMES);
	/* mem forgot the VM: its id can live again. */
	create(0, QUOTA_A);
	mem_vm_teardown(&vms[0]);
}

#define SMALL_BUDGET 100u

Test(teardown_slices, a_step_resumes_inside_a_run, .init = setup,
     .fini = teardown)
{
	struct mem_teardown at = { 0, 0, 0 };
	uint64_t left = HELD_A;

	mem_vm_teardown_begin(&vms[0]);
	while (left > SMALL_BUDGET) {
		cr_assert_not(mem_vm_teardown_step(&vms[0], &at,
						   SMALL_BUDGET));
		cr_assert_eq(check_between_steps(), left - SMALL_BUDGET);
		left -= SMALL_BUDGET;
	}
	cr_assert(mem_vm_teardown_step(&vms[0], &at, SMALL_BUDGET));
	cr_assert_eq(check_between_steps(), 0);
}

Test(teardown_slices, a_reaping_vcpu_stops_after_its_steps, .init = setup,
     .fini = teardown)
{
	struct vm *a = &vms[0];
	uint64_t expected = (HELD_A + MEM_TEARDOWN_STEP_FRAMES - 1) /
			    MEM_TEARDOWN_STEP_FRAMES;

	mem_vm_teardown_begin(a);
	a->vcpu.state = VCPU_REAPING;
	a->state = VM_EXITED;
	for (uint64_t i = 0; i < expected; i++) {
		cr_assert_eq(a->vcpu.state, VCPU_REAPING, "stopped after %lu "
			     "steps", (unsigned long)i);
		cr_assert_eq(vm_reap_step(a), i + 1 == expected,
			     "step %lu of %lu said it was the last or not",
			     (unsigned long)i + 1, (unsigned long)expected);
	}
	cr_assert_eq(a->vcpu.state, VCPU_STOPPED);
	cr_assert_eq(a->reap.steps, expected);
	cr_assert_not(vm_reap_step(a), "a stopped vCPU has no step");
	cr_assert_eq(a->reap.steps, expected);
	cr_assert_eq(check_between_steps(), 0);
}

/* --- the bounded calls ---------------------------------------------------- */

#define PART 10u
#define ASKED 50u

Test(bounded_calls, only_the_part_is_handled, .init = setup, .fini = teardown)
{
	struct vm *b = &vms[1];
	uint64_t before = free_frames(), pa;
	paddr_t at;

	cr_assert_eq(mem_frame_alloc_part(b, ASKED, 0, PART, &at), EXO_OK);
	pa = pa_addr(at);
	cr_assert_eq(before - free_frames(), PART + vms[1].s2_cache.nr -
		     EXO_S2_TABLE_RESERVE, "took %lu frames",
		     (unsigned long)(before - free_frames()));
	/* The rest of the run it found is still FREE: the continuation. */
	cr_assert_eq(mem_frame_alloc_at_part(b, pa_init(pa + PART * FRAMES_SIZE),
					     ASKED - PART, PART), EXO_OK);
	cr_assert_eq(mem_frame_free_part(b, at, 2 * PART, PART), EXO_OK);
	cr_assert_eq(frames_access(mem_frames_db(), b->id, pa),
		     FRAMES_ACCESS_NONE);
	cr_assert_eq(frames_access(mem_frames_db(), b->id,
				   pa + PART * FRAMES_SIZE), FRAMES_ACCESS_RW,
		     "freed past its part");
	cr_assert_eq(mem_frame_free_part(b, pa_init(pa + PART * FRAMES_SIZE),
					 PART, PART), EXO_OK);
	mem_check_invariant(b);
}

Test(bounded_calls, the_whole_range_must_lie_in_ram, .init = setup,
     .fini = teardown)
{
	struct vm *b = &vms[1];
	uint64_t last = RAM_BASE + (RAM_FRAMES - PART) * FRAMES_SIZE;

	/* The part lies in RAM (its frames decide: the top of RAM holds
	 * table pages), the range runs past RAM's end: ERANGE first. */
	cr_assert_neq(mem_frame_alloc_at_part(b, pa_init(last), PART, PART),
		      EXO_ERANGE);
	cr_assert_eq(mem_frame_alloc_at_part(b, pa_init(last), 2 * PART, PART),
		     EXO_ERANGE);
	cr_assert_neq(mem_frame_free_part(b, pa_init(last), PART, PART),
		      EXO_ERANGE);
	cr_assert_eq(mem_frame_free_part(b, pa_init(last), 2 * PART, PART),
		     EXO_ERANGE);
	cr_assert_eq(mem_frame_free_part(b, pa_init(last), UINT64_MAX, PART),
		     EXO_ERANGE, "a range that wraps");
}

Test(bounded_calls, a_part_outside_1_to_count_is_refused, .init = setup,
     .fini = teardown)
{
	struct vm *b = &vms[1];
	uint64_t free_at = RAM_BASE + (RAM_FRAMES - PART) * FRAMES_SIZE;
	paddr_t at;

	cr_assert_eq(mem_frame_alloc_part(b, PART, 0, 0, &at), EXO_EINVAL);
	cr_assert_eq(mem_frame_alloc_part(b, PART, 0, PART + 1, &at),
		     EXO_EINVAL);
	cr_assert_eq(mem_frame_alloc_at_part(b, pa_init(free_at), PART, 0),
		     EXO_EINVAL);
	cr_assert_eq(mem_frame_alloc_at_part(b, pa_init(free_at), PART,
					     PART + 1), EXO_EINVAL);
	cr_assert_eq(mem_frame_free_part(b, pa_init(run_a), PART, 0),
		     EXO_EINVAL);
	cr_assert_eq(mem_frame_free_part(b, pa_init(run_a), PART, PART + 1),
		     EXO_EINVAL);
}
