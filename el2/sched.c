/*
 * Round-robin run queue of one CPU. A vCPU runs until its time slice ends
 * (the EL2 physical timer fires), it yields (hypercall or trapped WFI) or it
 * stops. A vCPU whose VM is ending (reaping) gets, at its turn, a slice's
 * worth of bounded teardown steps instead of a slice (el2/vm.c). CPU time is accounted per vCPU from the physical counter
 * (sched_account) when a slice ends, a vCPU stops or the layer above's due
 * time comes (sched_due_fn: the timer is armed for the earlier of the two),
 * never on the common trap path; what a VM past its limit means is its
 * caller's (the trap code stops it). EL2 runs with IRQs masked, so
 * nothing here races with the tick. One run queue, CPU 0's: with several
 * CPUs each will own a queue (the reschedule flag is already per CPU).
 */
#include <el2/arch.h>
#include <el2/gic.h>
#include <el2/irq.h>
#include <el2/manifest.h>
#include <el2/percpu.h>
#include <el2/sched.h>
#include <el2/timing.h>
#include <el2/vm.h>
#include <lib/compiler.h>
#include <stddef.h>

/* One per VM, and the manifests' others. */
#define SCHED_MAX_VCPUS (EXO_MAX_VMS + MANIFEST_EXTRA_VCPUS)

static struct vcpu *run_queue[SCHED_MAX_VCPUS];   /* in manifest order */
static unsigned run_queue_len;
/* One teardown step of a reaping vCPU's VM: the layer above's
 * (sched_set_reaper), as the tick is irq's caller's. */
static sched_reap_fn reaper;
static sched_due_fn due_fn;

void sched_set_reaper(sched_reap_fn fn)
{
	reaper = fn;
}

void sched_set_due(sched_due_fn fn)
{
	due_fn = fn;
}

/* The timer: the slice's end, or before it a due time of the running
 * vCPU (then it is accounted and runs on). */
static void tick(uint32_t intid, void *ctx)
{
	struct percpu *pc = this_cpu();

	(void)intid;
	(void)ctx;
	arch_hyp_timer_stop();
	pc->sched_pending |= SCHED_PENDING_ACCOUNT;
	if (arch_counter() >= pc->slice_end)
		pc->sched_pending |= SCHED_PENDING_RESCHED;
}

void sched_init(uint32_t timer_intid)
{
	irq_register(timer_intid, tick, NULL);
	sched_cpu_init(timer_intid);
}

void sched_cpu_init(uint32_t timer_intid)
{
	arch_hyp_timer_stop();
	gic_enable_ppi(timer_intid);
}

void sched_add(struct vcpu *v)
{
	if (run_queue_len < SCHED_MAX_VCPUS) {
		v->slot = run_queue_len;
		run_queue[run_queue_len++] = v;
	}
}

static bool has_turn(const struct vcpu *v)
{
	return v->state == VCPU_RUNNABLE ||
	       (v->state == VCPU_REAPING && reaper);
}

/* The first vCPU after slot `after` that has a turn (runnable or
 * reaping), wrapping round to it. */
static struct vcpu *next_turn(unsigned after)
{
	unsigned slot = after;

	for (unsigned n = 0; n < run_queue_len; n++) {
		if (++slot == run_queue_len)
			slot = 0;   /* a compare, not a division per step */
		if (has_turn(run_queue[slot]))
			return run_queue[slot];
	}
	return NULL;
}

/* A reaping vCPU's turn: steps of its VM's teardown instead of a slice,
 * as long as its slice (so an ending guest is given what a running one
 * is: one slice per round, overrun by one step at most), charged to its
 * CPU time as the teardown was when it ran in the ending call. Returns
 * true when a step booted the VM again (its vCPU runnable, fresh). */
static bool reap_turn(struct vcpu *v)
{
	uint64_t start = arch_counter(), now = start;

	while (v->state == VCPU_REAPING &&
	       now - start < v->vm->config.timeslice_ticks) {
		reaper(v);
		now = arch_counter();
	}
	v->vm->run_ticks += now - start;
	return v->state == VCPU_RUNNABLE;
}

/* The next runnable vCPU after slot `after`, giving each reaping vCPU met
 * on the way its turn: a victim waits for each other guest's slice,
 * whether it runs or is being scrubbed, and at most one step more.
 * *prev_fresh: prev was booted again here (its saved state is the fresh
 * one, not the CPU's). */
static struct vcpu *next_runnable(unsigned after, const struct vcpu *prev,
				  bool *prev_fresh)
{
	struct vcpu *v;

	/* A VM booted again in its turn runs at its next one: the others'
	 * come first, as after any slice. */
	while ((v = next_turn(after)) && v->state == VCPU_REAPING) {
		if (reap_turn(v) && v == prev)
			*prev_fresh = true;
		after = v->slot;
	}
	return v;
}

/* The timer for v's next `left` ticks of slice, cut at its due time; now
 * is when v's time was last taken (no second counter read). */
static void arm_timer(struct percpu *pc, const struct vcpu *v, uint64_t now,
		      uint64_t left)
{
	uint64_t due = due_fn ? due_fn(v) : UINT64_MAX;

	pc->sched_pending = 0;
	arch_hyp_timer_arm_at(now + (due < left ? due : left));
}

/* v's slice, from now on. */
static void start_slice(struct percpu *pc, struct vcpu *v, uint64_t now)
{
	uint64_t slice = v->vm->config.timeslice_ticks;

	if (!v->entered)
		timing_vcpu_entered(v);
	v->run_start = now;
	pc->slice_end = now + slice;
	arm_timer(pc, v, now, slice);
}

struct vcpu *sched_first(void)
{
	bool fresh = false;
	struct vcpu *v = run_queue_len ? next_runnable(run_queue_len - 1, NULL,
						       &fresh)
				       : NULL;

	if (!v)
		return NULL;
	this_cpu()->current = v;
	arch_vcpu_load(v);
	start_slice(this_cpu(), v, arch_counter());
	return v;
}

/* next (or nobody) to run after prev, switched to and its slice begun
 * at now. */
static ON_FAST_PATH struct vcpu *switch_to(struct vcpu *prev,
					  struct vcpu *next, bool prev_fresh,
					  uint64_t now)
{
	struct percpu *pc = this_cpu();

	if (!next) {
		arch_hyp_timer_stop();
		return NULL;
	}
	/* A vCPU booted again has its fresh state in memory: the CPU's is
	 * its old life's, never saved over it. */
	if (next != prev || prev_fresh) {
		if (!prev_fresh)
			arch_vcpu_save(prev);
		arch_vcpu_load(next);
		pc->current = next;
	}
	start_slice(pc, next, now);
	return next;
}

/* Some reaping vCPU has its turn before the next runnable one. */
static OFF_FAST_PATH struct vcpu *resume_after_reaping(struct vcpu *prev)
{
	bool prev_fresh = false;
	struct vcpu *next = next_runnable(prev->slot, prev, &prev_fresh);

	/* The reaping took time: the slice starts after it. */
	return switch_to(prev, next, prev_fresh, arch_counter());
}

struct vcpu *sched_resume(struct vcpu *prev)
{
	struct percpu *pc = this_cpu();
	struct vcpu *next;

	if (prev->state == VCPU_RUNNABLE &&
	    !(pc->sched_pending & SCHED_PENDING_RESCHED)) {
		uint64_t now = prev->run_start;   /* just accounted */

		arm_timer(pc, prev, now,
			  pc->slice_end > now ? pc->slice_end - now : 0);
		return prev;
	}
	next = next_turn(prev->slot);
	if (next && next->state == VCPU_REAPING)
		return resume_after_reaping(prev);
	/* Its slice starts when prev was accounted (sched.h): the switch
	 * itself is the new vCPU's, and no second counter read. */
	return switch_to(prev, next, false, prev->run_start);
}
