/*
 * Round-robin run queue of one CPU. A vCPU runs until its time slice ends
 * (the EL2 physical timer fires), it yields (hypercall or trapped WFI) or it
 * stops. CPU time is accounted per vCPU from the physical counter
 * (sched_account); what a VM past its limit means is its caller's (the trap
 * code stops it). EL2 runs with IRQs masked, so
 * nothing here races with the tick. One run queue, CPU 0's: with several
 * CPUs each will own a queue (the reschedule flag is already per CPU).
 */
#include <el2/arch.h>
#include <el2/gic.h>
#include <el2/irq.h>
#include <el2/percpu.h>
#include <el2/sched.h>
#include <el2/timing.h>
#include <el2/vm.h>
#include <stddef.h>

#define SCHED_MAX_VCPUS 64

static struct vcpu *run_queue[SCHED_MAX_VCPUS];   /* in manifest order */
static unsigned run_queue_len;

static void tick(uint32_t intid, void *ctx)
{
	(void)intid;
	(void)ctx;
	arch_hyp_timer_stop();
	this_cpu()->need_resched = true;
}

void sched_init(uint32_t timer_intid)
{
	irq_register(timer_intid, tick, NULL);
	gic_enable_ppi(timer_intid);
}

void sched_add(struct vcpu *v)
{
	if (run_queue_len < SCHED_MAX_VCPUS) {
		v->slot = run_queue_len;
		run_queue[run_queue_len++] = v;
	}
}

void sched_yield(struct vcpu *v)
{
	(void)v;
	this_cpu()->need_resched = true;
}

/* The first runnable vCPU after slot `after`, wrapping round to it. */
static struct vcpu *next_runnable(unsigned after)
{
	for (unsigned i = 1; i <= run_queue_len; i++) {
		struct vcpu *v = run_queue[(after + i) % run_queue_len];

		if (v->state == VCPU_RUNNABLE)
			return v;
	}
	return NULL;
}

static void start_slice(struct vcpu *v)
{
	timing_vcpu_entered(v);
	this_cpu()->need_resched = false;
	v->run_start = arch_counter();
	arch_hyp_timer_arm(v->vm->config.timeslice_ticks);
}

struct vcpu *sched_first(void)
{
	struct vcpu *v = run_queue_len ? next_runnable(run_queue_len - 1)
				       : NULL;

	if (!v)
		return NULL;
	this_cpu()->current = v;
	arch_vcpu_load(v);
	start_slice(v);
	return v;
}

struct vcpu *sched_resume(struct vcpu *prev)
{
	struct vcpu *next;

	if (prev->state == VCPU_RUNNABLE && !this_cpu()->need_resched)
		return prev;
	next = next_runnable(prev->slot);
	if (!next) {
		arch_hyp_timer_stop();
		return NULL;
	}
	if (next != prev) {
		arch_vcpu_save(prev);
		arch_vcpu_load(next);
		this_cpu()->current = next;
	}
	start_slice(next);
	return next;
}
