/*
 * Visible revocation with an abort protocol (exokernel style): EL2 asks a
 * guest for frames back through an event; a guest that does not give them
 * within its deadline loses them by force, and can read which.
 */
#ifndef EXO_EL2_REVOKE_H
#define EXO_EL2_REVOKE_H

#include <el2/vm.h>
#include <stdbool.h>
#include <stdint.h>

/* Asks vm for `frames` back within `deadline` ticks of its CPU time. */
void revoke_request(struct vm *vm, uint64_t frames, uint64_t deadline);
/* Whether anything of vm's revocation waits on its CPU time: a scheduled
 * request not made yet, a held-back notice, or a request outstanding.
 * Most guests have none, and the switch path asks twice a switch: inline,
 * so that costs it a few loads, not two calls. */
static inline bool revoke_waiting(const struct vm *vm)
{
	const struct vm_revoke *r = &vm->revoke;

	return vm->state == VM_RUNNING &&
	       ((vm->config.revoke_frames && !r->schedule_fired) ||
		r->notice_pending || r->active);
}
void revoke_tick_waiting(struct vm *vm);
uint64_t revoke_due_waiting(const struct vm *vm);

/* Called when the vCPU's CPU time is accounted (a slice's end, a stop or
 * a switch, revoke_due's time): fires the manifest's schedule, and takes
 * frames by force when a deadline has passed. */
static inline void revoke_tick(struct vm *vm)
{
	if (revoke_waiting(vm))
		revoke_tick_waiting(vm);
}
/* The vCPU time from its run_ticks now until revoke_tick has something to
 * do (the manifest's request, a held-back notice, a deadline), or
 * UINT64_MAX; at least 1. */
static inline uint64_t revoke_due(const struct vm *vm)
{
	return revoke_waiting(vm) ? revoke_due_waiting(vm) : UINT64_MAX;
}
/* The guest may own fewer frames now (it freed some): ends an
 * outstanding request whose target level it has reached. Inline, the
 * test of the request: FRAME_FREE asks after every call. */
void revoke_check_given_active(struct vm *vm);
static inline void revoke_check_given(struct vm *vm)
{
	if (vm->revoke.active)
		revoke_check_given_active(vm);
}
/* Did EL2 take pa from vm (and the guest not acknowledge it yet)? */
bool revoke_taken(const struct vm *vm, uint64_t pa);
/* EVENTS: frames still asked for (the frames the guest owns above the
 * request's target) and the time left to give them (the guest's CPU time, in
 * microseconds); both 0 with no request. */
void revoke_outstanding(struct vm *vm, uint64_t *want, uint64_t *left_us);
/* A stage-2 fault of vm at pa: an ordinary violation, or a touch of a
 * frame taken from it that it has not acknowledged (excused: counted in
 * stats.excused_touches, not as a violation), or one such touch past its
 * excused-touch-limit (the guest is to be torn down). */
enum revoke_touch {
	REVOKE_TOUCH_VIOLATION,
	REVOKE_TOUCH_TAKEN,       /* EL2 took it by force (REVOKED) */
	REVOKE_TOUCH_LOST,        /* its owner took it back (RECLAIMED) */
	REVOKE_TOUCH_OVER_LIMIT,
};
/* The lookups, for a VM with something taken or lost outstanding. */
enum revoke_touch revoke_touch_lookup(struct vm *vm, uint64_t pa);
/* Has vm anything taken or lost outstanding, so that a touch may be
 * excused? Almost always not: inline, so a violation's path makes no
 * call to learn it. */
static inline bool revoke_touch_possible(const struct vm *vm)
{
	return vm->revoke.nr_taken || vm->lost.nr;
}
static inline enum revoke_touch revoke_touch(struct vm *vm, uint64_t pa)
{
	if (!revoke_touch_possible(vm))
		return REVOKE_TOUCH_VIOLATION;
	return revoke_touch_lookup(vm, pa);
}
/* REVOKED: the i-th run EL2 took by force, or EXO_ENOENT past the last. */
int64_t revoke_taken_run(const struct vm *vm, uint64_t i, struct vm_run *run);
/* REVOKED_ACK: the guest has repaired; its touches count again. */
void revoke_ack(struct vm *vm);
/* A restart: the new life has no request outstanding, no frames taken or
 * lost to an owner (its touches of the old life's count as violations)
 * and no revocation or reclaim event pending. The manifest's schedule is the guest's,
 * not the life's: it does not fire again. */
void revoke_new_life(struct vm *vm);

#endif
