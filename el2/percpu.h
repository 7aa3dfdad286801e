/*
 * Per-CPU state of EL2. TPIDR_EL2 points at this CPU's struct percpu; the
 * trap path (el2/arch/guest.S) finds the running vCPU through it.
 */
#ifndef EXO_EL2_PERCPU_H
#define EXO_EL2_PERCPU_H

#include <el2/trap_layout.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EL2_MAX_CPUS 8
/* Each CPU's EL2 stack: an unmapped guard page below 16 KiB (el2/el2.ld
 * lays out EL2_MAX_CPUS such slots; el2/main.c checks it at boot). */
#define EL2_STACK_GUARD_SIZE 4096
#define EL2_STACK_SIZE 16384
#define EL2_STACK_SLOT (EL2_STACK_GUARD_SIZE + EL2_STACK_SIZE)

struct vcpu;
struct run_queue;

struct percpu {
	/* The vCPU this CPU runs, whose registers the CPU holds; NULL while
	 * it idles (el2/sched.c saves it first). */
	struct vcpu *current;
	uint64_t stack_top;     /* EL2 stack while a guest runs */
	unsigned cpu;
	uint64_t mpidr;
	/* SCHED_PENDING_*: what the way back to the guest must do before it
	 * resumes the running vCPU; 0 on the common path (el2/sched.h). */
	uint32_t sched_pending;
	uint64_t slice_end;     /* counter at which the running slice ends */
	struct vcpu *fp_owner;  /* whose FP/SIMD state the registers hold */
	uint64_t gicr;          /* this CPU's GICv3 redistributor */
	/* The vCPU whose state this CPU's PMU holds (el2/pmu_owner.h). */
	struct vcpu *pmu_owner;
	struct run_queue *queue;   /* this CPU's (el2/sched.c) */
	/* The frame this CPU's one-frame FRAME_FREE left unscrubbed for its
	 * guest (el2/mem.c, leave_unscrubbed), under the frame DB's lock:
	 * its index in the frame DB's span, and the guest (FRAMES_VM_EL2, 0:
	 * none). In the record, so the one-frame paths find it with no more
	 * loads than a global's. */
	uint64_t left_frame;
	unsigned left_vm;
	/* Set while this CPU's one-frame memory call is inside el2/mem.c
	 * past its gate (el2/mem_gate.h): what a closer waits for. */
	uint32_t mem_inside;
};

_Static_assert(offsetof(struct percpu, current) == PERCPU_CURRENT &&
		       offsetof(struct percpu, sched_pending) ==
			       PERCPU_SCHED_PENDING &&
		       sizeof(((struct percpu *)0)->sched_pending) == 4,
	       "guest.S layout: a 32-bit sched_pending");

#ifdef EXO_HOST
struct percpu *this_cpu(void);   /* tests/host/fake_arch.c */
#else
#include <arch/sysreg.h>
/* Inline: the trap path reads it several times per exit. */
static inline struct percpu *this_cpu(void)
{
	return (struct percpu *)read_sysreg(tpidr_el2);
}
#endif
void percpu_init(unsigned cpu, uint64_t mpidr, uint64_t stack_top);

/* Every CPU's (el2/arch/percpu.c; the host's in tests/host/fake_arch.c). */
extern struct percpu el2_percpus[EL2_MAX_CPUS];

/* Another CPU's (cpu < EL2_MAX_CPUS): read and written only under the EL2
 * lock (el2/hyp_lock.h), as that CPU does its own. Inline: posting an
 * event asks it. */
static inline struct percpu *percpu_of(unsigned cpu)
{
	return &el2_percpus[cpu];
}

#endif
