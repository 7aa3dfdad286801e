/*
 * A restart is a new life for revocation (el2/revoke.c, revoke_new_life;
 * issue 13): nothing outstanding, no frames taken, no revocation event
 * pending, nothing lost to an owner, so the new life's touches of the old
 * life's taken frames are violations like any other; the manifest's schedule does not fire again.
 */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/lost.h>
#include <el2/revoke.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <string.h>

#define TAKEN_PA 0x40400000u
#define LOST_PA 0x40800000u

Test(revoke_life, a_restart_forgets_what_was_taken_and_asked)
{
	struct vm vm;
	struct vm_run run;
	uint64_t want, left;

	fake_reset();
	memset(&vm, 0, sizeof(vm));
	vm.state = VM_RUNNING;
	vm.revoke = (struct vm_revoke){
		.active = true, .schedule_fired = true, .want = 24, .target = 100,
		.deadline = 1000, .notice_pending = true, .nr_taken = 1,
	};
	vm.revoke.taken[0] = (struct vm_run){ TAKEN_PA, 24 };
	vm.events = EXO_EVENT_REVOKE_REQUEST | EXO_EVENT_REVOKED | EXO_EVENT_NOTIFY |
		    EXO_EVENT_RECLAIMED;
	lost_note(&vm.lost, LOST_PA, 2);
	cr_assert(revoke_taken(&vm, TAKEN_PA + 0x1000));
	cr_assert(lost_covers(&vm.lost, LOST_PA));

	revoke_new_life(&vm);

	cr_assert_not(revoke_taken(&vm, TAKEN_PA + 0x1000),
		      "a touch of an old taken frame counts again");
	cr_assert_not(lost_covers(&vm.lost, LOST_PA),
		      "so does a touch of a frame an owner took back");
	cr_assert_eq(revoke_taken_run(&vm, 0, &run), EXO_ENOENT);
	revoke_outstanding(&vm, &want, &left);
	cr_assert_eq(want, 0);
	cr_assert_eq(left, 0);
	cr_assert_eq(vm.events, EXO_EVENT_NOTIFY, "only revocation's events go");
	cr_assert(vm.revoke.schedule_fired, "the schedule is the guest's");
	cr_assert_not(vm.revoke.notice_pending);
}
