/*
 * Round-robin scheduling of vCPUs on this CPU, preempted by the EL2
 * physical timer at each guest's time slice. Policy-free beyond that: which
 * guest runs is not the guests' business, how long each may run is the
 * manifest's.
 */
#ifndef EXO_EL2_SCHED_H
#define EXO_EL2_SCHED_H

#include <el2/arch.h>
#include <el2/percpu.h>
#include <el2/vcpu.h>
#include <el2/vm.h>
#include <stdbool.h>

/* struct percpu's sched_pending. */
#define SCHED_PENDING_RESCHED (1u << 0)  /* slice over, yield or a stop */
#define SCHED_PENDING_ACCOUNT (1u << 1)  /* the running vCPU's CPU time is due */

void sched_init(uint32_t timer_intid);
/* Another CPU's EL2 timer: its interrupt enabled on that CPU, the timer
 * stopped (no slice runs there yet). */
void sched_cpu_init(uint32_t timer_intid);
/* A reaping vCPU (VCPU_REAPING) is given, at its turn and for as long as
 * its time slice, calls of fn, each one bounded step of its VM's
 * teardown (el2/system.c registers it; sched knows nothing above it). */
typedef void (*sched_reap_fn)(struct vcpu *v);
void sched_set_reaper(sched_reap_fn fn);
/* The CPU time v may use, from its run_ticks now, before the layer above
 * must look at it again (its CPU-time limit, a revocation deadline), or
 * UINT64_MAX: the slice is cut there, so those checks stay off the
 * per-trap path and still fire on time (el2/guest_trap.c registers it). */
typedef uint64_t (*sched_due_fn)(const struct vcpu *v);
void sched_set_due(sched_due_fn fn);
void sched_add(struct vcpu *v);
/* The running vCPU gives up the rest of its slice (the switch happens on
 * the way back to a guest). Inline: a yield's call chain is part of every
 * guest switch on yield. */
static inline void sched_yield(struct vcpu *v)
{
	(void)v;
	this_cpu()->sched_pending |= SCHED_PENDING_RESCHED;
}
/* The CPU time v used since it was last entered, added to its VM's
 * run_ticks. Run on the way back to a guest when sched_pending says so (a
 * slice ended, a due time came, a switch), and by anything that reads the
 * running VM's run_ticks between those. */
static inline void sched_account(struct vcpu *v)
{
	uint64_t now = arch_counter();

	v->vm->run_ticks += now - v->run_start;
	v->run_start = now;
}
/* The common way back: v runs on, nothing to account or switch. */
static inline bool sched_keeps(const struct vcpu *v)
{
	return v->state == VCPU_RUNNABLE && !this_cpu()->sched_pending;
}
/* Called on the way back to a guest when sched_keeps fails, right after
 * sched_account(prev): returns the vCPU to resume (the same one unless its
 * slice ended, it yielded or it stopped). NULL when no vCPU is runnable
 * any more. Performs the switch of EL1/FP/timer/stage-2 state; the next
 * slice starts at prev's accounting (prev->run_start), unless a reaping
 * turn ran in between. */
struct vcpu *sched_resume(struct vcpu *prev);
/* First vCPU to run, loaded; NULL if none. */
struct vcpu *sched_first(void);

#endif
