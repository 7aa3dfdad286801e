/*
 * Round-robin scheduling of vCPUs, one run queue per CPU, preempted by
 * each CPU's EL2 physical timer at each guest's time slice. Policy-free
 * beyond that: which guest runs is not the guests' business, how long each
 * may run and on which CPUs is the manifest's. Everything here but
 * sched_wait_for_start runs under the EL2 lock (el2/hyp_lock.h).
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
#define SCHED_PENDING_KICK (1u << 2)     /* another CPU changed this one's
					  * vCPUs: look again (sched_kick) */
/* The physical SGI one CPU's EL2 sends another's (a kick). EL2 owns every
 * physical SGI: guests' SGIs are virtual (el2/vgic_sgi.c). */
#define SCHED_KICK_SGI 8u

void sched_init(uint32_t timer_intid);
/* Another CPU's EL2 timer and kick: their interrupts enabled on that CPU,
 * the timer stopped (no slice runs there yet). */
void sched_cpu_init(uint32_t timer_intid);
/* The CPUs vCPUs are placed on, one bit per EL2 CPU number (the online
 * ones); CPU 0 alone until set. */
void sched_set_cpus(uint32_t online);
/* Every VM is created: the other CPUs are kicked to look for work. */
void sched_start(void);
/* Another CPU, checked in: waits (interrupts masked, WFI) until
 * sched_start; then it takes the EL2 lock and calls sched_first. */
void sched_wait_for_start(void);
/* v's state, or the interrupts posted to it, were changed by this CPU,
 * and v is another CPU's: that CPU is made to look again (its
 * SCHED_PENDING_KICK, and the kick SGI). Nothing when v is this CPU's. */
void sched_kick_other(struct vcpu *v);
static inline void sched_kick(struct vcpu *v)
{
	if (v->cpu != this_cpu()->cpu)
		sched_kick_other(v);   /* never on one CPU */
}
/* Whether v's registers are on its CPU: it runs there, or its CPU has
 * not yet switched it out. */
bool sched_on_cpu(const struct vcpu *v);
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
/* Places v on a CPU (the least loaded the VM's cpu-affinity allows) and
 * queues it there for good. */
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
/* The same without the EL2 lock (el2/guest_trap.c's guest_hvc_locked):
 * the fields are written under it by other CPUs, so each is read once,
 * relaxed; a change it misses came with a kick, whose SGI traps v again
 * at once. */
static inline bool sched_keeps_unlocked(const struct vcpu *v)
{
	return __atomic_load_n(&v->state, __ATOMIC_RELAXED) == VCPU_RUNNABLE &&
	       !__atomic_load_n(&this_cpu()->sched_pending, __ATOMIC_RELAXED);
}
/* Called on the way back to a guest when sched_keeps fails, right after
 * sched_account(prev): returns the vCPU to resume (the same one unless its
 * slice ended, it yielded or it stopped). When this CPU has none to run it
 * idles (the EL2 lock let go while it waits) until one of its vCPUs has a
 * turn; NULL when no vCPU anywhere has one any more (the system is over).
 * Performs the switch of EL1/FP/timer/stage-2 state; the next slice
 * starts at prev's accounting (prev->run_start), unless a reaping turn or
 * an idle wait ran in between. */
struct vcpu *sched_resume(struct vcpu *prev);
/* This CPU's first vCPU to run, loaded (after an idle wait if none has a
 * turn yet); NULL when no vCPU anywhere has one. */
struct vcpu *sched_first(void);

#endif
