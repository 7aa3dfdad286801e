/*
 * Issue 13, rules 3 and 4, through the real el2/mem.c, frames.c, s2.c,
 * revoke.c and lost.c over simulated RAM at its physical address:
 *  - forced revocation reaches everything a guest holds outside its boot
 *    run: owned first, then shared out, then lent out; every borrower
 *    loses the frames first and is told (EXO_EVENT_RECLAIMED, its list);
 *  - an owner's UNSHARE and RECLAIM, and its end, tell the borrower too;
 *  - a request is a level of the guest's charge: frames freed and
 *    allocated again do not count;
 *  - touches of frames taken back are excused (not violations) but
 *    counted, and past the excused-touch limit the guest is to be ended.
 * Every step ends with each stage 2 checked against the DB
 * (mem_check_invariant panics otherwise).
 */
#define _GNU_SOURCE /* MAP_FIXED_NOREPLACE */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/dispatch.h>
#include <el2/frames.h>
#include <el2/lost.h>
#include <el2/mem.h>
#include <el2/revoke.h>
#include <el2/s2.h>
#include <el2/vcpu.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RAM_BASE UINT64_C(0x40000000)
#define RAM_FRAMES 2048u
#define NR_VMS 3
#define QUOTA 512u
#define RUN 8u              /* frames of each run the tests make */
#define LOG_MAX VM_REVOKED_MAX
#define EXCUSED_LIMIT 3u
#define DEADLINE_TICKS 1000u

static struct vm vms[NR_VMS];
static uint64_t *roots[NR_VMS];
static void *db_storage;

static void machine(void)
{
	size_t size = mem_storage_size(RAM_FRAMES);
	void *ram = mmap((void *)RAM_BASE, RAM_FRAMES * FRAMES_SIZE,
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	cr_assert_eq(ram, (void *)RAM_BASE, "RAM at its PA");
	fake_reset();
	db_storage = calloc(1, size);
	cr_assert_eq(mem_init(RAM_BASE, RAM_FRAMES, db_storage, size), 0);
	cr_assert_eq(mem_add_ram(RAM_BASE, RAM_FRAMES), 0);
	mem_set_debug_checks(true);
	for (unsigned i = 0; i < NR_VMS; i++) {
		struct vm *vm = &vms[i];

		memset(vm, 0, sizeof(*vm));
		vm->id = i + 1;
		snprintf(vm->name, sizeof(vm->name), "g%u", i + 1);
		vm->state = VM_RUNNING;
		vm->config.violation_limit = 3;
		vm->config.excused_touch_limit = EXCUSED_LIMIT;
		roots[i] = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
		cr_assert_eq(mem_vm_create(vm, QUOTA, roots[i]), EXO_OK);
	}
}

static void check_all(void)
{
	for (unsigned i = 0; i < NR_VMS; i++) {
		if (vms[i].state == VM_RUNNING)
			mem_check_invariant(&vms[i]);
	}
}

static uint64_t alloc(struct vm *vm, uint64_t n)
{
	paddr_t got = pa_init(0);

	cr_assert_eq(mem_frame_alloc(vm, n, 0, &got), EXO_OK);
	return pa_addr(got);
}

static unsigned state_of(uint64_t pa)
{
	struct frames_info info;

	cr_assert_eq(frames_query(mem_frames_db(), pa, &info), 0);
	return info.state;
}

static bool maps(const struct vm *vm, uint64_t pa)
{
	struct s2_leaf leaf;

	return s2_lookup(&vm->s2, ipa_init(pa), &leaf);
}

static uint64_t frame(uint64_t pa, uint64_t i)
{
	return pa + i * FRAMES_SIZE;
}

static uint64_t charged(struct vm *vm)
{
	uint64_t quota, used;

	mem_vm_usage(vm, &quota, &used);
	return used;
}

/* The owner g1 holds three runs: owned, shared with g2, lent to g3. */
struct holdings {
	uint64_t owned, shared, lent;
};

static struct holdings hold_three_kinds(void)
{
	struct holdings h;

	h.owned = alloc(&vms[0], RUN);
	h.shared = alloc(&vms[0], RUN);
	h.lent = alloc(&vms[0], RUN);
	cr_assert_eq(mem_frame_share(&vms[0], &vms[1], pa_init(h.shared), RUN,
				     EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_frame_lend(&vms[0], &vms[2], pa_init(h.lent), RUN),
		     EXO_OK);
	check_all();
	return h;
}

Test(revoke_reach, owned_frames_go_first_and_borrowers_keep_theirs)
{
	struct vm_run log[LOG_MAX];
	unsigned nr;
	struct holdings h;

	machine();
	h = hold_three_kinds();
	cr_assert_eq(mem_revoke(&vms[0], RUN, log, LOG_MAX, &nr), RUN);
	check_all();
	cr_assert_eq(nr, 1);
	cr_assert_eq(log[0].pa, h.owned);
	cr_assert_eq(state_of(h.owned), EXO_FRAME_FREE);
	cr_assert_eq(state_of(h.shared), EXO_FRAME_SHARED);
	cr_assert_eq(state_of(h.lent), EXO_FRAME_LENT);
	cr_assert_not(vms[1].events & EXO_EVENT_RECLAIMED);
	cr_assert_not(vms[2].events & EXO_EVENT_RECLAIMED);
}

Test(revoke_reach, shared_out_frames_are_taken_and_every_borrower_told)
{
	struct vm_run log[LOG_MAX], run;
	uint64_t gen, shared = 0;
	unsigned nr;

	machine();
	alloc(&vms[0], RUN);
	shared = alloc(&vms[0], RUN);
	cr_assert_eq(mem_frame_share(&vms[0], &vms[1], pa_init(shared), RUN,
				     EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_frame_share(&vms[0], &vms[2], pa_init(shared), RUN,
				     EXO_SHARE_R), EXO_OK);
	/* All the owned frames, then the top half of the shared run. */
	cr_assert_eq(mem_revoke(&vms[0], RUN + RUN / 2, log, LOG_MAX, &nr),
		     RUN + RUN / 2);
	check_all();
	cr_assert_eq(nr, 2);
	cr_assert_eq(log[1].pa, frame(shared, RUN / 2));
	cr_assert_eq(log[1].count, RUN / 2);
	for (unsigned b = 1; b < NR_VMS; b++) {
		cr_assert(vms[b].events & EXO_EVENT_RECLAIMED);
		cr_assert_not(maps(&vms[b], frame(shared, RUN / 2)));
		cr_assert(maps(&vms[b], shared), "the lower half stays shared");
		cr_assert(lost_covers(&vms[b].lost, frame(shared, RUN - 1)));
		cr_assert_not(lost_covers(&vms[b].lost, shared));
		cr_assert_eq(lost_run(&vms[b].lost, 0, &run, &gen), EXO_OK);
		cr_assert_eq(run.pa, frame(shared, RUN / 2));
		cr_assert_eq(run.count, RUN / 2);
		cr_assert_eq(lost_run(&vms[b].lost, 1, &run, &gen), EXO_ENOENT);
	}
	cr_assert_eq(state_of(frame(shared, RUN - 1)), EXO_FRAME_FREE);
	cr_assert_eq(state_of(shared), EXO_FRAME_SHARED);
}

Test(revoke_reach, lent_out_frames_are_taken_last_and_the_borrower_told)
{
	struct vm_run log[LOG_MAX];
	unsigned nr;
	struct holdings h;
	uint64_t before = 0;

	machine();
	h = hold_three_kinds();
	before = charged(&vms[0]);
	cr_assert_eq(mem_revoke(&vms[0], 3 * RUN, log, LOG_MAX, &nr), 3 * RUN);
	check_all();
	cr_assert_eq(nr, 3);
	cr_assert_eq(log[0].pa, h.owned, "owned first");
	cr_assert_eq(log[1].pa, h.shared, "shared out second");
	cr_assert_eq(log[2].pa, h.lent, "lent out last");
	cr_assert_eq(state_of(h.lent), EXO_FRAME_FREE);
	cr_assert_not(maps(&vms[2], h.lent));
	cr_assert(lost_covers(&vms[2].lost, frame(h.lent, RUN - 1)));
	cr_assert(vms[2].events & EXO_EVENT_RECLAIMED);
	cr_assert_leq(charged(&vms[0]) + 3 * RUN, before,
		      "the charge fell by what was taken");
}

Test(revoke_reach, the_boot_run_is_kept_even_when_shared)
{
	struct vm_run log[LOG_MAX];
	unsigned nr;
	uint64_t boot;

	machine();
	boot = alloc(&vms[0], RUN);
	vms[0].boot_run = (struct vm_run){ boot, RUN };
	cr_assert_eq(mem_frame_share(&vms[0], &vms[1], pa_init(boot), RUN,
				     EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_revoke(&vms[0], RUN, log, LOG_MAX, &nr), 0);
	cr_assert_eq(nr, 0);
	cr_assert(maps(&vms[1], boot));
	cr_assert_not(vms[1].events & EXO_EVENT_RECLAIMED);
	check_all();
}

Test(revoke_reach, an_owners_unshare_reclaim_and_end_tell_the_borrower)
{
	uint64_t a, b, c;

	machine();
	a = alloc(&vms[0], RUN);
	b = alloc(&vms[0], RUN);
	c = alloc(&vms[0], RUN);
	cr_assert_eq(mem_frame_share(&vms[0], &vms[1], pa_init(a), RUN,
				     EXO_SHARE_RW), EXO_OK);
	cr_assert_eq(mem_frame_lend(&vms[0], &vms[1], pa_init(b), RUN), EXO_OK);
	cr_assert_eq(mem_frame_share(&vms[0], &vms[2], pa_init(c), RUN,
				     EXO_SHARE_R), EXO_OK);
	cr_assert_eq(mem_frame_unshare(&vms[0], &vms[1], pa_init(a), 1),
		     EXO_OK);
	cr_assert(lost_covers(&vms[1].lost, a));
	cr_assert_not(lost_covers(&vms[1].lost, frame(a, 1)));
	cr_assert_eq(mem_frame_reclaim(&vms[0], &vms[1], pa_init(b), RUN),
		     EXO_OK);
	cr_assert(lost_covers(&vms[1].lost, frame(b, RUN - 1)));
	cr_assert(vms[1].events & EXO_EVENT_RECLAIMED);
	cr_assert_not(vms[2].events & EXO_EVENT_RECLAIMED);
	check_all();
	vms[0].state = VM_EXITED;
	mem_vm_teardown(&vms[0]);
	cr_assert(lost_covers(&vms[2].lost, c), "the owner's end is told");
	cr_assert(lost_covers(&vms[1].lost, frame(a, 1)));
	check_all();
}

Test(revoke_reach, the_lost_list_merges_when_full_and_forgets_nothing)
{
	struct vm_lost l;
	struct vm_run run;
	uint64_t gen = 0, far = RAM_BASE + (UINT64_C(1) << 30);

	memset(&l, 0, sizeof(l));
	lost_note(&l, RAM_BASE, 1);
	lost_note(&l, frame(RAM_BASE, 1), 1);
	cr_assert_eq(l.nr, 1, "adjacent runs coalesce");
	cr_assert_eq(l.runs[0].count, 2);
	/* Runs two frames apart fill the list. */
	for (unsigned i = 1; i < VM_LOST_MAX; i++)
		lost_note(&l, frame(RAM_BASE, 4 * i), 1);
	cr_assert_eq(l.nr, VM_LOST_MAX);
	lost_note(&l, far, 1);
	cr_assert_eq(l.nr, VM_LOST_MAX, "full: merged, not appended");
	for (unsigned i = 1; i < VM_LOST_MAX; i++)
		cr_assert(lost_covers(&l, frame(RAM_BASE, 4 * i)));
	cr_assert(lost_covers(&l, far), "the newest run is kept");
	cr_assert(lost_covers(&l, RAM_BASE), "and so is the oldest");
	cr_assert_eq(lost_run(&l, 0, &run, &gen), EXO_OK);
	cr_assert_eq(lost_ack(&l, gen - 1), EXO_ESTATE,
		     "a run came after the generation read: nothing forgotten");
	cr_assert(lost_covers(&l, far));
	cr_assert_eq(lost_ack(&l, gen), EXO_OK);
	cr_assert_not(lost_covers(&l, far));
	cr_assert_eq(lost_run(&l, 0, &run, &gen), EXO_ENOENT);
}

Test(revoke_reach, freeing_and_allocating_again_does_not_meet_a_request)
{
	struct vm *vm;
	uint64_t pa, want, left;

	machine();
	vm = &vms[0];
	pa = alloc(vm, 2 * RUN);
	revoke_request(vm, RUN, DEADLINE_TICKS);
	/* One frame freed and taken again, as often as EL2 asks frames:
	 * each FRAME_FREE used to count. */
	for (unsigned i = 0; i < RUN; i++) {
		cr_assert_eq(mem_frame_free(vm, pa_init(pa), 1), EXO_OK);
		revoke_check_given(vm);
		cr_assert_eq(mem_frame_alloc_at(vm, pa_init(pa), 1), EXO_OK);
		revoke_check_given(vm);
	}
	cr_assert(vm->revoke.active, "freed and allocated again: not given");
	revoke_outstanding(vm, &want, &left);
	cr_assert_eq(want, RUN, "EVENTS still asks for all of it");
	/* Past the deadline EL2 takes what is still missing. */
	vm->run_ticks = DEADLINE_TICKS;
	revoke_tick(vm);
	cr_assert_not(vm->revoke.active);
	cr_assert_eq(vm->stats.frames_revoked, RUN);
	cr_assert(vm->events & EXO_EVENT_REVOKED);
	check_all();
}

/* FRAME_FREE of one frame at a time through the dispatcher (its table's
 * one-frame entry: el2/mem.c answers in x0-x3) counts towards a request
 * as every FRAME_FREE does: the last frame asked for ends it. */
Test(revoke_reach, one_frame_frees_through_the_dispatcher_meet_a_request)
{
	static struct vcpu v;
	struct vm *vm;
	uint64_t pa;

	machine();
	vm = &vms[0];
	pa = alloc(vm, 2 * RUN);
	revoke_request(vm, RUN, DEADLINE_TICKS);
	v.vm = vm;
	for (unsigned i = 0; i < RUN; i++) {
		cr_assert(vm->revoke.active, "%u of %u frames given", i, RUN);
		v.x[0] = EXO_HVC_FRAME_FREE;
		v.x[1] = frame(pa, i);
		v.x[2] = 1;
		dispatch_hypercall_unhooked(&v);
		cr_assert_eq(v.x[0], EXO_OK);
		cr_assert_eq(v.x[1], 1, "one frame freed");
	}
	cr_assert_not(vm->revoke.active, "given back as asked");
	vm->run_ticks = DEADLINE_TICKS;
	revoke_tick(vm);
	cr_assert_eq(vm->stats.frames_revoked, 0, "nothing taken by force");
	check_all();
}

Test(revoke_reach, a_lower_charge_meets_a_request)
{
	struct vm *vm;
	uint64_t pa, want, left;

	machine();
	vm = &vms[0];
	pa = alloc(vm, 2 * RUN);
	revoke_request(vm, RUN, DEADLINE_TICKS);
	cr_assert_eq(mem_frame_free(vm, pa_init(pa), RUN / 2), EXO_OK);
	revoke_check_given(vm);
	revoke_outstanding(vm, &want, &left);
	cr_assert_eq(want, RUN - RUN / 2);
	cr_assert_eq(mem_frame_free(vm, pa_init(frame(pa, RUN / 2)),
				    RUN - RUN / 2), EXO_OK);
	revoke_check_given(vm);
	cr_assert_not(vm->revoke.active);
	revoke_outstanding(vm, &want, &left);
	cr_assert_eq(want, 0);
	vm->run_ticks = DEADLINE_TICKS;
	revoke_tick(vm);
	cr_assert_eq(vm->stats.frames_revoked, 0, "nothing taken by force");
}

Test(revoke_reach, touches_of_frames_taken_back_are_excused_then_limited)
{
	struct vm *b;
	uint64_t pa, gen;
	struct vm_run run;

	machine();
	b = &vms[1];
	pa = alloc(&vms[0], RUN);
	cr_assert_eq(mem_frame_lend(&vms[0], b, pa_init(pa), RUN), EXO_OK);
	cr_assert_eq(revoke_touch(b, pa), REVOKE_TOUCH_VIOLATION,
		     "nothing lost yet: a fault is a violation");
	cr_assert_eq(b->stats.excused_touches, 0);
	cr_assert_eq(mem_frame_reclaim(&vms[0], b, pa_init(pa), RUN), EXO_OK);
	for (unsigned i = 0; i < EXCUSED_LIMIT; i++)
		cr_assert_eq(revoke_touch(b, frame(pa, i)), REVOKE_TOUCH_LOST);
	cr_assert_eq(b->stats.excused_touches, EXCUSED_LIMIT);
	cr_assert_eq(revoke_touch(b, pa), REVOKE_TOUCH_OVER_LIMIT,
		     "no endless free pass");
	cr_assert_eq(b->stats.violations, 0);
	cr_assert_eq(lost_run(&b->lost, 0, &run, &gen), EXO_OK);
	cr_assert_eq(lost_ack(&b->lost, gen), EXO_OK);
	cr_assert_eq(revoke_touch(b, pa), REVOKE_TOUCH_VIOLATION,
		     "acknowledged: a touch is a violation again");
}

Test(revoke_reach, touches_of_frames_taken_by_force_are_excused)
{
	struct vm *vm;
	uint64_t pa;

	machine();
	vm = &vms[0];
	pa = alloc(vm, RUN);
	revoke_request(vm, RUN, 0);
	revoke_tick(vm);
	cr_assert_eq(vm->stats.frames_revoked, RUN);
	cr_assert_eq(revoke_touch(vm, pa), REVOKE_TOUCH_TAKEN);
	cr_assert_eq(vm->stats.excused_touches, 1);
	revoke_ack(vm);
	cr_assert_eq(revoke_touch(vm, pa), REVOKE_TOUCH_VIOLATION);
}

/* With several CPUs online the one-frame FRAME_FREE runs without the EL2
 * lock (el2/dispatch.c, dispatch_memory_unlocked), so another CPU's
 * request can come between its test of the request and the free: the
 * free is not reported, but a request is a level, so the frame counts
 * all the same, and the force taken at the deadline takes what is still
 * above the level, read with the taking (mem_revoke_to_level), never the
 * freed frame's share a second time. */
Test(revoke_reach, a_free_that_missed_the_request_still_counts)
{
	uint64_t x[MEM_CALL_REGS] = { EXO_HVC_FRAME_FREE, 0, 1, 0 };
	struct vm *vm;
	uint64_t pa, owned;

	machine();
	vm = &vms[0];
	pa = alloc(vm, 2 * RUN);
	owned = mem_vm_owned(vm);
	revoke_request(vm, RUN, DEADLINE_TICKS);
	x[1] = frame(pa, 0);
	mem_frame_free_one_call(vm, x);	/* its test came before the request */
	cr_assert_eq(x[0], EXO_OK);
	cr_assert(vm->revoke.active, "the free was not reported");
	vm->run_ticks = DEADLINE_TICKS;
	revoke_tick(vm);
	cr_assert_eq(vm->stats.frames_revoked, RUN - 1,
		     "the freed frame counted towards the request");
	cr_assert_eq(mem_vm_owned(vm), owned - RUN);
	check_all();
}

Test(revoke_reach, revoking_to_a_level_takes_what_is_above_it)
{
	struct vm_run log[LOG_MAX];
	unsigned nr;
	uint64_t owned, wanted;
	struct vm *vm;

	machine();
	vm = &vms[0];
	alloc(vm, 2 * RUN);
	owned = mem_vm_owned(vm);
	cr_assert_eq(mem_revoke_to_level(vm, owned - 3, log, LOG_MAX, &nr,
					 &wanted), 3);
	cr_assert_eq(wanted, 3);
	cr_assert_eq(mem_vm_owned(vm), owned - 3);
	cr_assert_eq(mem_revoke_to_level(vm, owned, log, LOG_MAX, &nr,
					 &wanted), 0, "below the level already");
	cr_assert_eq(wanted, 0);
	cr_assert_eq(nr, 0);
	check_all();
}

/* What the unlocked entry answers: FRAME_ALLOC and FRAME_FREE of one
 * frame, the free only with no request active; anything else it leaves
 * untouched, registers and count, for the locked dispatcher. */
Test(revoke_reach, the_unlocked_entry_answers_the_one_frame_calls_alone)
{
	static struct vcpu v;
	const uint64_t declined[][4] = {
		{ EXO_HVC_VERSION, 0, 0, 0 },
		{ EXO_HVC_FRAME_ALLOC, 2, 0, 0 },		/* two frames */
		{ EXO_HVC_FRAME_ALLOC, 1, 1, 0 },		/* aligned */
		{ EXO_HVC_FRAME_ALLOC, 1, 0, 1u << 7 },	/* unknown flag */
		{ EXO_HVC_FRAME_FREE, RAM_BASE + 8, 1, 0 },	/* unaligned */
		{ EXO_HVC_FRAME_FREE, RAM_BASE, 2, 0 },	/* two frames */
		{ EXO_HVC_FRAME_ALLOC_AT, RAM_BASE, 1, 1 },
	};
	uint64_t pa;

	machine();
	v.vm = &vms[0];
	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
		memcpy(v.x, declined[i], sizeof(declined[i]));
		cr_assert_not(dispatch_memory_unlocked(&v), "call %zu", i);
		cr_assert_eq(memcmp(v.x, declined[i], sizeof(declined[i])), 0);
	}
	cr_assert_eq(v.hypercalls, 0);
	v.x[0] = EXO_HVC_FRAME_ALLOC;
	v.x[1] = 1;
	v.x[2] = v.x[3] = 0;
	cr_assert(dispatch_memory_unlocked(&v));
	cr_assert_eq(v.x[0], EXO_OK);
	cr_assert_eq(v.x[2], 1);
	pa = v.x[1];
	cr_assert_eq(state_of(pa), EXO_FRAME_OWNED);
	revoke_request(v.vm, 1, DEADLINE_TICKS);
	v.x[0] = EXO_HVC_FRAME_FREE;
	v.x[1] = pa;
	v.x[2] = 1;
	cr_assert_not(dispatch_memory_unlocked(&v),
		      "a free with a request active is reported: locked");
	dispatch_hypercall_unhooked(&v);
	cr_assert_eq(v.x[0], EXO_OK);
	cr_assert_not(v.vm->revoke.active, "the free met the request");
	cr_assert(dispatch_memory_unlocked(&(struct vcpu){ .vm = v.vm,
		.x = { EXO_HVC_FRAME_ALLOC, 1, 0, 0 } }));
	cr_assert_eq(v.hypercalls, 2, "each vCPU counts its own calls");
	check_all();
}
