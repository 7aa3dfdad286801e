/*
 * Round-robin run queues, one per CPU. Each vCPU is placed on one CPU when
 * its VM is created (sched_add: the least loaded CPU its manifest's
 * cpu-affinity allows) and only ever runs there, so its state is loaded
 * and saved by one CPU alone. A vCPU runs until its time slice ends (the
 * CPU's EL2 physical timer fires), it yields (hypercall or trapped WFI) or
 * it stops. A vCPU whose VM is ending (reaping) gets, at its turn, a
 * slice's worth of bounded teardown steps instead of a slice (el2/vm.c),
 * once none of its VM's other vCPUs is still on a CPU. CPU time is
 * accounted per vCPU from the physical counter (sched_account) when a
 * slice ends, a vCPU stops or the layer above's due time comes
 * (sched_due_fn: the timer is armed for the earlier of the two), never on
 * the common trap path; what a VM past its limit means is its caller's
 * (the trap code stops it).
 *
 * Everything here runs under the EL2 lock (el2/hyp_lock.h), on any CPU:
 * a CPU that changes a vCPU of another CPU (wakes it, stops it, posts it
 * an interrupt) kicks that CPU (sched_kick: a physical SGI to EL2), which
 * looks again on its way back to its guest, or wakes from its idle wait.
 * A CPU with nothing to run waits for interrupts with the lock let go;
 * the last one to find nothing to run anywhere ends the system.
 */
#include <el2/arch.h>
#include <el2/gic.h>
#include <el2/hyp_lock.h>
#include <el2/irq.h>
#include <el2/manifest.h>
#include <el2/percpu.h>
#include <el2/sched.h>
#include <el2/timing.h>
#include <el2/vm.h>
#include <lib/compiler.h>
#include <lib/print.h>
#include <stddef.h>

/* One per VM, and the manifests' others. */
#define SCHED_MAX_VCPUS (EXO_MAX_VMS + MANIFEST_EXTRA_VCPUS)

struct run_queue {
	struct vcpu *slot[SCHED_MAX_VCPUS];   /* in manifest order */
	unsigned len;
};

static struct run_queue run_queues[EL2_MAX_CPUS];
/* The CPUs vCPUs are placed on (sched_set_cpus): CPU 0 until told. */
static uint32_t cpus_usable = 1;
/* Every VM is created: the CPUs may look for work (sched_start). */
static bool started;
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

void sched_set_cpus(uint32_t online)
{
	cpus_usable = online ? online : 1;
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

/* A kick: the sender set SCHED_PENDING_KICK already (under the EL2 lock);
 * the interrupt only brings this CPU back to EL2. */
static void kicked(uint32_t intid, void *ctx)
{
	(void)intid;
	(void)ctx;
}

void sched_init(uint32_t timer_intid)
{
	irq_register(timer_intid, tick, NULL);
	irq_register(SCHED_KICK_SGI, kicked, NULL);
	sched_cpu_init(timer_intid);
}

void sched_cpu_init(uint32_t timer_intid)
{
	this_cpu()->queue = &run_queues[this_cpu()->cpu];
	arch_hyp_timer_stop();
	gic_enable_ppi(timer_intid);
	gic_enable_ppi(SCHED_KICK_SGI);
}

/* The usable CPU, among those v's VM may use, with the fewest vCPUs
 * (the lowest on a tie); any usable CPU when the affinity names none. */
static unsigned place(const struct vcpu *v)
{
	uint32_t allowed = v->vm->config.cpu_affinity & cpus_usable;
	unsigned best = 0, best_len = ~0u;

	if (!allowed) {
		if (v->vm->config.cpu_affinity)
			kprintf("sched: guest '%s' vCPU %u: its cpu-affinity "
				"names no CPU online; placed on any\n",
				v->vm->name, v->index);
		allowed = cpus_usable;
	}
	for (unsigned cpu = 0; cpu < EL2_MAX_CPUS; cpu++) {
		if ((allowed & (UINT32_C(1) << cpu)) &&
		    run_queues[cpu].len < best_len) {
			best = cpu;
			best_len = run_queues[cpu].len;
		}
	}
	return best;
}

void sched_add(struct vcpu *v)
{
	unsigned cpu = place(v);
	struct run_queue *q = &run_queues[cpu];

	if (q->len >= SCHED_MAX_VCPUS)
		return;
	v->cpu = cpu;
	v->slot = q->len;
	q->slot[q->len++] = v;
	if (cpus_usable & ~UINT32_C(1))
		kprintf("sched: guest '%s' vCPU %u runs on cpu %u\n",
			v->vm->name, v->index, cpu);
}

bool sched_on_cpu(const struct vcpu *v)
{
	return percpu_of(v->cpu)->current == v;
}

void sched_kick_other(struct vcpu *v)
{
	struct percpu *pc = percpu_of(v->cpu);

	if (!started)
		return;   /* nobody looks yet */
	pc->sched_pending |= SCHED_PENDING_KICK;
	arch_send_sgi(pc->mpidr, SCHED_KICK_SGI);
}

/* A reaping vCPU scrubs its VM's frames only once none of the VM's other
 * vCPUs is on a CPU any more: each left when its own CPU was kicked
 * (el2/vm.c stops them, sched_kick), and kicks this vCPU's CPU then
 * (switch_to). */
static bool siblings_off_cpus(const struct vcpu *v)
{
	const struct vm *vm = v->vm;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] != v && sched_on_cpu(vm->vcpus[i]))
			return false;
	return true;
}

static bool has_turn(const struct vcpu *v)
{
	return v->state == VCPU_RUNNABLE ||
	       (v->state == VCPU_REAPING && reaper && siblings_off_cpus(v));
}

/* The first vCPU of this CPU's queue after slot `after` that has a turn
 * (runnable or reaping), wrapping round to it. */
static struct vcpu *next_turn(const struct run_queue *q, unsigned after)
{
	unsigned slot = after, len = q->len;

	for (unsigned n = 0; n < len; n++) {
		if (++slot >= len)
			slot = 0;   /* a compare, not a division per step */
		if (has_turn(q->slot[slot]))
			return q->slot[slot];
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

/* The next runnable vCPU of this CPU after slot `after`, giving each
 * reaping vCPU met on the way its turn: a victim waits for each other
 * guest's slice, whether it runs or is being scrubbed, and at most one
 * step more. *prev_fresh: prev was booted again here (its saved state is
 * the fresh one, not the CPU's). */
static struct vcpu *next_runnable(unsigned after, const struct vcpu *prev,
				  bool *prev_fresh)
{
	const struct run_queue *q = this_cpu()->queue;
	struct vcpu *v;

	/* A VM booted again in its turn runs at its next one: the others'
	 * come first, as after any slice. */
	while ((v = next_turn(q, after)) && v->state == VCPU_REAPING) {
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

/* v, found by this CPU after it idled: loaded, its slice begun. */
static struct vcpu *enter_from_idle(struct percpu *pc, struct vcpu *v)
{
	pc->current = v;
	arch_vcpu_load(v);
	start_slice(pc, v, arch_counter());
	return v;
}

/* Some vCPU anywhere has a turn, or some CPU still holds one (a stopped
 * vCPU its CPU has not left yet): the system is not over. */
static bool work_anywhere(void)
{
	for (unsigned cpu = 0; cpu < EL2_MAX_CPUS; cpu++) {
		const struct run_queue *q = &run_queues[cpu];

		if (!(cpus_usable & (UINT32_C(1) << cpu)))
			continue;
		if (percpu_of(cpu)->current)
			return true;
		for (unsigned i = 0; i < q->len; i++)
			if (q->slot[i]->state == VCPU_RUNNABLE ||
			    q->slot[i]->state == VCPU_REAPING)
				return true;
	}
	return false;
}

/* This CPU runs no vCPU: the first of its vCPUs with a turn, loaded;
 * while there is none, it waits for an interrupt with the EL2 lock let
 * go. NULL when nothing has a turn anywhere (the system is over, and this
 * CPU ends it, the lock held). Looks before it waits: leaving its last
 * vCPU may have given another of its own a turn (a stopped vCPU leaving
 * lets its VM's teardown go on). */
static OFF_FAST_PATH struct vcpu *idle(void)
{
	struct percpu *pc = this_cpu();
	unsigned last = pc->queue->len;
	bool fresh = false;
	struct vcpu *v;

	arch_hyp_timer_stop();
	for (;;) {
		v = next_runnable(last ? last - 1 : 0, NULL, &fresh);
		if (v)
			return enter_from_idle(pc, v);
		if (started && !work_anywhere())
			return NULL;
		hyp_unlock();
		arch_wait_for_interrupt();
		irq_handle();
		hyp_lock();
	}
}

void sched_start(void)
{
	__atomic_store_n(&started, true, __ATOMIC_RELEASE);
	for (unsigned cpu = 0; cpu < EL2_MAX_CPUS; cpu++) {
		struct percpu *pc = percpu_of(cpu);

		if ((cpus_usable & (UINT32_C(1) << cpu)) && pc != this_cpu())
			arch_send_sgi(pc->mpidr, SCHED_KICK_SGI);
	}
}

void sched_wait_for_start(void)
{
	while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE)) {
		arch_wait_for_interrupt();
		irq_handle();
	}
}

struct vcpu *sched_first(void)
{
	return idle();
}

/* prev's state is saved (unless it was booted again: then its fresh state
 * is in memory and the CPU's is its old life's); a stopped vCPU leaving
 * may be what its VM's reaping waits for. */
static void save_prev(struct vcpu *prev, bool prev_fresh)
{
	if (!prev_fresh)
		arch_vcpu_save(prev);
	if (prev->state == VCPU_STOPPED && prev != &prev->vm->vcpu)
		sched_kick(&prev->vm->vcpu);
}

/* next (or nobody) to run after prev, switched to and its slice begun
 * at now; nobody: this CPU idles. */
static ON_FAST_PATH struct vcpu *switch_to(struct vcpu *prev,
					  struct vcpu *next, bool prev_fresh,
					  uint64_t now)
{
	struct percpu *pc = this_cpu();

	if (!next) {
		save_prev(prev, prev_fresh);
		pc->current = NULL;
		return idle();
	}
	if (next != prev || prev_fresh) {
		save_prev(prev, prev_fresh);
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
	next = next_turn(pc->queue, prev->slot);
	if (next && next->state == VCPU_REAPING)
		return resume_after_reaping(prev);
	/* Its slice starts when prev was accounted (sched.h): the switch
	 * itself is the new vCPU's, and no second counter read. */
	return switch_to(prev, next, false, prev->run_start);
}
