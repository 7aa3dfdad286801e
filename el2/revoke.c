/*
 * The revocation protocol (docs/abi.md, "Revocation"):
 *   1. EL2 posts EXO_EVENT_REVOKE_REQUEST (want, deadline) and raises the
 *      guest's event interrupt; its library OS picks frames and frees them.
 *   2. The request is a level: it is met when the frames the guest owns
 *      (its charge less its stage-2 table pages) fall to `target` (what it
 *      owned when asked, less `want`), so frames freed and allocated again
 *      do not count.
 *   3. Past the deadline (the guest's own CPU time, so a busy system does
 *      not make it miss it), EL2 takes the rest by force: it chooses frames
 *      outside the guest's guaranteed boot run (owned, then shared out,
 *      then lent out: every borrower loses them first and is told, see
 *      el2/lost.h), unmaps, scrubs and frees them, records the runs and
 *      posts EXO_EVENT_REVOKED. Until the guest
 *      acknowledges (REVOKED_ACK), touching those frames is reflected as an
 *      abort but not counted as a violation (el2/guest_trap.c counts it
 *      apart).
 * This file owns the protocol's state (struct vm_revoke): the dispatcher
 * and the trap code ask through the functions of el2/revoke.h. Never: map,
 * unmap or free a frame itself (el2/mem.c does, and says what it took).
 */
#include <el2/arch.h>
#include <el2/faultinject.h>
#include <el2/lost.h>
#include <el2/mem.h>
#include <el2/revoke.h>
#include <el2/vm_event.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <lib/print.h>
#include <string.h>

#define MS_PER_S 1000u
#define US_PER_S 1000000u

/* Frames still to come back before the frames the guest owns reach the
 * target. The level counts owned frames, not the guest's stage-2 table
 * pages: those follow what it maps (what others share with it included)
 * and are not frames it could give back. */
static uint64_t still_wanted(struct vm *vm)
{
	uint64_t now = mem_vm_owned(vm);

	return now > vm->revoke.target ? now - vm->revoke.target : 0;
}

void revoke_request(struct vm *vm, uint64_t frames, uint64_t deadline)
{
	struct vm_revoke *r = &vm->revoke;
	uint64_t now = mem_vm_owned(vm);

	r->active = true;
	r->want = frames;
	r->target = now > frames ? now - frames : 0;
	r->deadline = vm_run_ticks(vm) + deadline;
	kprintf("guest '%s': asked to give back %lu frames\n", vm->name,
		(unsigned long)frames);
	if (faultinject_drops_revoke(vm)) {
		kprintf("guest '%s': injected: the notice is dropped\n",
			vm->name);
		return;
	}
	if (faultinject_revoke_delay_ms(vm)) {
		r->notice_pending = true;
		r->notice_at = vm_run_ticks(vm) + arch_timer_freq() *
			       faultinject_revoke_delay_ms(vm) / MS_PER_S;
		kprintf("guest '%s': injected: the notice is delayed %u ms\n",
			vm->name, faultinject_revoke_delay_ms(vm));
		return;
	}
	vm_event_raise(vm, EXO_EVENT_REVOKE_REQUEST);
}

void revoke_check_given_active(struct vm *vm)
{
	struct vm_revoke *r = &vm->revoke;

	if (still_wanted(vm))
		return;
	r->active = false;
	kprintf("guest '%s': gave back %lu frames as asked\n", vm->name,
		(unsigned long)r->want);
}

static void force(struct vm *vm)
{
	struct vm_revoke *r = &vm->revoke;
	uint64_t missing, took;

	r->active = false;
	took = mem_revoke_to_level(vm, r->target, r->taken, VM_REVOKED_MAX,
				   &r->nr_taken, &missing);
	vm->stats.frames_revoked += took;
	kprintf("guest '%s': deadline passed; EL2 took %lu of %lu frames by "
		"force in %u run(s)\n", vm->name, (unsigned long)took,
		(unsigned long)missing, r->nr_taken);
	vm_event_raise(vm, EXO_EVENT_REVOKED);
}

/* revoke_tick when revoke_waiting. */
void revoke_tick_waiting(struct vm *vm)
{
	const struct vm_config *c = &vm->config;
	struct vm_revoke *r = &vm->revoke;

	if (c->revoke_frames && !r->schedule_fired &&
	    vm_run_ticks(vm) >= c->revoke_after_ticks) {
		r->schedule_fired = true;
		revoke_request(vm, c->revoke_frames, c->revoke_deadline_ticks);
	}
	if (r->notice_pending && vm_run_ticks(vm) >= r->notice_at) {
		r->notice_pending = false;
		if (r->active)
			vm_event_raise(vm, EXO_EVENT_REVOKE_REQUEST);
	}
	revoke_check_given(vm);   /* a donation counts too */
	if (r->active && vm_run_ticks(vm) >= r->deadline)
		force(vm);
}

/* Ticks from now to at, at least 1; due when at <= now, kept as is. */
static uint64_t until(uint64_t now, uint64_t at, uint64_t due)
{
	uint64_t left = at > now ? at - now : 1;

	return left < due ? left : due;
}

/* revoke_due when revoke_waiting. */
uint64_t revoke_due_waiting(const struct vm *vm)
{
	const struct vm_config *c = &vm->config;
	const struct vm_revoke *r = &vm->revoke;
	uint64_t now = vm_run_ticks(vm), due = UINT64_MAX;

	if (c->revoke_frames && !r->schedule_fired)
		due = until(now, c->revoke_after_ticks, due);
	if (r->notice_pending)
		due = until(now, r->notice_at, due);
	if (r->active)
		due = until(now, r->deadline, due);
	return due;
}

bool revoke_taken(const struct vm *vm, uint64_t pa)
{
	const struct vm_revoke *r = &vm->revoke;

	for (unsigned i = 0; i < r->nr_taken; i++) {
		if (pa >= r->taken[i].pa &&
		    pa - r->taken[i].pa <
			    (r->taken[i].count << EXO_FRAME_SHIFT))
			return true;
	}
	return false;
}

enum revoke_touch revoke_touch_lookup(struct vm *vm, uint64_t pa)
{
	enum revoke_touch why = revoke_taken(vm, pa) ? REVOKE_TOUCH_TAKEN
				: lost_covers(&vm->lost, pa) ? REVOKE_TOUCH_LOST
							     : REVOKE_TOUCH_VIOLATION;

	if (why == REVOKE_TOUCH_VIOLATION)
		return why;
	vm->stats.excused_touches++;
	return vm->stats.excused_touches > vm->config.excused_touch_limit
		       ? REVOKE_TOUCH_OVER_LIMIT
		       : why;
}

void revoke_outstanding(struct vm *vm, uint64_t *want, uint64_t *left_us)
{
	const struct vm_revoke *r = &vm->revoke;
	uint64_t freq = arch_timer_freq(), now = vm_run_ticks(vm);

	*want = 0;
	*left_us = 0;
	if (!r->active)
		return;
	*want = still_wanted(vm);
	if (r->deadline > now && freq)
		*left_us = (r->deadline - now) * US_PER_S / freq;
}

int64_t revoke_taken_run(const struct vm *vm, uint64_t i, struct vm_run *run)
{
	const struct vm_revoke *r = &vm->revoke;

	if (i >= r->nr_taken)
		return EXO_ENOENT;
	*run = r->taken[i];
	return EXO_OK;
}

void revoke_ack(struct vm *vm)
{
	vm->revoke.nr_taken = 0;
}

void revoke_new_life(struct vm *vm)
{
	bool fired = vm->revoke.schedule_fired;

	memset(&vm->revoke, 0, sizeof(vm->revoke));
	vm->revoke.schedule_fired = fired;
	vm->events &= ~(uint64_t)(EXO_EVENT_REVOKE_REQUEST | EXO_EVENT_REVOKED);
	lost_new_life(vm);
}
