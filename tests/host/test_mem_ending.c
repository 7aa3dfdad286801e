/*
 * A VM whose end began (el2/mem.c, mem_ending): with several CPUs another
 * guest's accept, take-back or offer, or a revocation, can reach mem after
 * the VM's teardown began on another CPU. Each is refused (EXO_ENOENT;
 * revocation takes nothing) from the beginning to the last step, whichever
 * side is ending, and changes nothing; once the teardown is done the DB
 * refuses them, and a new life of the VM is served again. The threaded
 * test (tests/host/tsan/mem_threads.c) finds the race; this one checks
 * every refusal one at a time.
 *
 * Owns: its machine (RAM, two guests). Never: tests what a running VM's
 * calls do (test_mem_random.c).
 */
#include "fake_arch.h"
#include "mem_machine.h"

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

#define RAM_FRAMES 1024u
#define EL2_FRAMES 16u
#define QUOTA 128u
#define RUN 4u              /* frames each guest holds */
#define REVOKE_LOG 4

static struct vm a, b;      /* a stays; b ends */
static uint64_t *roots[2];
static paddr_t a_run, b_run;

static void create(struct vm *vm, unsigned id, uint64_t *root)
{
	memset(vm, 0, sizeof(*vm));
	vm->id = id;
	snprintf(vm->name, sizeof(vm->name), "g%u", id);
	vm->state = VM_RUNNING;
	cr_assert_eq(mem_vm_create(vm, QUOTA, root), EXO_OK);
}

static void boot(void)
{
	cr_assert(mem_machine_map(RAM_FRAMES), "RAM at its PA");
	fake_reset();
	cr_assert_eq(mem_machine_boot(true, EL2_FRAMES), 0);
	for (unsigned i = 0; i < 2; i++)
		roots[i] = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
	create(&a, 1, roots[0]);
	create(&b, 2, roots[1]);
	cr_assert_eq(mem_frame_alloc(&a, RUN, 0, &a_run), EXO_OK);
	cr_assert_eq(mem_frame_alloc(&b, RUN, 0, &b_run), EXO_OK);
}

static void done(void)
{
	mem_machine_unmap();
	for (unsigned i = 0; i < 2; i++)
		free(roots[i]);
}

TestSuite(mem_ending, .init = boot, .fini = done);

/* Every call between a and b, both ways; each must say ENOENT. */
static void expect_refused(const char *when)
{
	static const unsigned kinds[] = {
		EXO_OFFER_SHARE_R, EXO_OFFER_SHARE_RW, EXO_OFFER_LEND,
		EXO_OFFER_DONATE,
	};
	struct vm *owner[2] = { &a, &b }, *peer[2] = { &b, &a };
	paddr_t run[2] = { a_run, b_run };

	for (unsigned s = 0; s < 2; s++) {
		struct vm *o = owner[s], *p = peer[s];

		for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			cr_expect_eq(mem_frame_offer_check(o, p, run[s], 1,
							   kinds[k]),
				     EXO_ENOENT, "%s: g%u's offer of kind %u to "
				     "g%u", when, o->id, kinds[k], p->id);
		cr_expect_eq(mem_frame_offer_check(o, p, run[s], RUN,
						   EXO_OFFER_SHARE_R),
			     EXO_ENOENT, "%s: g%u's offer of a run", when,
			     o->id);
		cr_expect_eq(mem_frame_share(o, p, run[s], RUN, EXO_SHARE_RW),
			     EXO_ENOENT, "%s: g%u shares", when, o->id);
		cr_expect_eq(mem_frame_unshare(o, p, run[s], RUN), EXO_ENOENT,
			     "%s: g%u unshares", when, o->id);
		cr_expect_eq(mem_frame_lend(o, p, run[s], RUN), EXO_ENOENT,
			     "%s: g%u lends", when, o->id);
		cr_expect_eq(mem_frame_reclaim(o, p, run[s], RUN), EXO_ENOENT,
			     "%s: g%u reclaims", when, o->id);
		cr_expect_eq(mem_frame_donate(o, p, run[s], RUN), EXO_ENOENT,
			     "%s: g%u donates", when, o->id);
	}
}

/* a still owns its run alone, mapped; b holds nothing of a's. */
static void expect_a_untouched(void)
{
	const struct frames_account *acct = frames_account(mem_frames_db(),
							   a.id);
	struct frames_info info;

	for (uint64_t i = 0; i < RUN; i++) {
		cr_assert_eq(frames_query(mem_frames_db(),
					  pa_addr(a_run) + i * EXO_FRAME_SIZE,
					  &info), EXO_OK);
		cr_expect_eq(info.state, EXO_FRAME_OWNED);
		cr_expect_eq(info.owner, a.id);
	}
	cr_expect_eq(acct->used - acct->tables, RUN);
	cr_expect_eq(acct->borrowed, 0);
	cr_expect_eq(acct->lent_out, 0);
	mem_check_invariant(&a);
}

Test(mem_ending, every_call_naming_an_ending_vm_is_refused)
{
	struct mem_teardown at = { 0, 0, 0 };

	mem_vm_teardown_begin(&b);
	expect_refused("after the beginning");
	expect_a_untouched();
	/* One frame a step: the refusals hold between the steps too. */
	cr_assert_not(mem_vm_teardown_step(&b, &at, 1));
	expect_refused("between the steps");
	while (!mem_vm_teardown_step(&b, &at, 1))
		;
	cr_expect_not(frames_account(mem_frames_db(), b.id)->live);
	expect_refused("once forgotten");   /* the DB's refusal now */
	expect_a_untouched();
	cr_expect_eq(strstr(fake.console, "warning"), NULL, "%s",
		     fake.console);
}

Test(mem_ending, an_ending_vm_is_not_revoked)
{
	struct mem_teardown at = { 0, 0, 0 };
	struct vm_run log[REVOKE_LOG];
	unsigned nr_log = REVOKE_LOG;
	uint64_t free_before;

	mem_vm_teardown_begin(&b);
	free_before = frames_count(mem_frames_db(), EXO_FRAME_FREE);
	cr_expect_eq(mem_revoke(&b, RUN, log, REVOKE_LOG, &nr_log), 0);
	cr_expect_eq(nr_log, 0);
	cr_expect_eq(frames_count(mem_frames_db(), EXO_FRAME_FREE),
		     free_before, "a revocation freed frames of a VM being "
		     "torn down");
	/* The steps free every frame once (a frame freed twice panics). */
	while (!mem_vm_teardown_step(&b, &at, 1))
		;
	cr_expect_eq(strstr(fake.console, "warning"), NULL, "%s",
		     fake.console);
}

Test(mem_ending, a_new_life_is_served_again)
{
	mem_vm_teardown(&b);
	create(&b, 2, roots[1]);
	cr_expect_eq(mem_frame_share(&a, &b, a_run, RUN, EXO_SHARE_R), EXO_OK);
	cr_expect_eq(mem_frame_unshare(&a, &b, a_run, RUN), EXO_OK);
	cr_expect_eq(mem_frame_lend(&a, &b, a_run, RUN), EXO_OK);
	cr_expect_eq(mem_frame_reclaim(&a, &b, a_run, RUN), EXO_OK);
	cr_expect_eq(mem_frame_donate(&a, &b, a_run, 1), EXO_OK);
	mem_check_invariant(&a);
	mem_check_invariant(&b);
}

/* b's own calls after its end began: another of its vCPUs can make one on
 * another CPU before the kick takes it off (the one-frame calls run
 * under mem's own locks alone). Each is refused with nothing changed, so its
 * stage 2, emptied at the beginning, gets no table or mapping back, and
 * the steps free every frame once. */
static void expect_own_calls_refused(const char *when)
{
	uint64_t x[MEM_CALL_REGS] = { EXO_HVC_FRAME_ALLOC, 1, 0, 0 };
	uint64_t used = frames_account(mem_frames_db(), b.id)->used;
	uint64_t free_before = frames_count(mem_frames_db(), EXO_FRAME_FREE);
	paddr_t pa;

	mem_frame_alloc_one_call(&b, x);
	cr_expect_eq((int64_t)x[0], EXO_ENOENT, "%s: one-frame alloc", when);
	cr_expect_eq(x[1], 0);
	x[3] = EXO_FRAME_ALLOC_NOZERO;
	x[1] = 1;
	mem_frame_alloc_one_call(&b, x);
	cr_expect_eq((int64_t)x[0], EXO_ENOENT, "%s: NOZERO alloc", when);
	cr_expect_eq(mem_frame_alloc(&b, 2, 1, &pa), EXO_ENOENT,
		     "%s: aligned alloc", when);
	cr_expect_eq(mem_frame_alloc_at(&b, pa_init(pa_addr(a_run) +
						    RUN * EXO_FRAME_SIZE), 1),
		     EXO_ENOENT, "%s: alloc_at", when);
	x[0] = EXO_HVC_FRAME_FREE;
	x[1] = pa_addr(b_run);
	x[2] = 1;
	mem_frame_free_one_call(&b, x);
	cr_expect_eq((int64_t)x[0], EXO_ENOENT, "%s: one-frame free", when);
	cr_expect_eq(mem_frame_free(&b, b_run, RUN), EXO_ENOENT,
		     "%s: free of its run", when);
	cr_expect_eq(frames_account(mem_frames_db(), b.id)->used, used,
		     "%s: b's charge changed", when);
	cr_expect_eq(frames_count(mem_frames_db(), EXO_FRAME_FREE),
		     free_before, "%s: free frames changed", when);
	cr_expect_eq(b.s2.nr_tables, 0, "%s: b's stage 2 has tables again",
		     when);
}

Test(mem_ending, an_ending_vms_own_calls_are_refused)
{
	struct mem_teardown at = { 0, 0, 0 };
	uint64_t x[MEM_CALL_REGS] = { EXO_HVC_FRAME_FREE, 0, 1, 0 };

	/* A frame b freed and left unscrubbed before its end: the NOZERO
	 * alloc would take it back without the check. */
	x[1] = pa_addr(b_run) + (RUN - 1) * EXO_FRAME_SIZE;
	mem_frame_free_one_call(&b, x);
	cr_assert_eq((int64_t)x[0], EXO_OK);
	mem_vm_teardown_begin(&b);
	expect_own_calls_refused("after the beginning");
	cr_assert_not(mem_vm_teardown_step(&b, &at, 1));
	expect_own_calls_refused("between the steps");
	while (!mem_vm_teardown_step(&b, &at, 1))
		;
	expect_a_untouched();
	cr_expect_eq(strstr(fake.console, "warning"), NULL, "%s",
		     fake.console);
}
