/*
 * Per-CPU state of EL2. TPIDR_EL2 points at this CPU's struct percpu; the
 * trap path (el2/arch/guest.S) finds the running vCPU through it.
 */
#ifndef EXO_EL2_PERCPU_H
#define EXO_EL2_PERCPU_H

#include <stdbool.h>
#include <stdint.h>

#define EL2_MAX_CPUS 8
#define PERCPU_CURRENT 0   /* offset of current, for guest.S */

struct vcpu;

struct percpu {
	struct vcpu *current;   /* vCPU running (or last run) on this CPU */
	uint64_t stack_top;     /* EL2 stack while a guest runs */
	unsigned cpu;
	uint64_t mpidr;
	bool need_resched;      /* the running vCPU's slice ended or it yielded */
};

_Static_assert(PERCPU_CURRENT == 0, "guest.S layout");

struct percpu *this_cpu(void);
void percpu_init(unsigned cpu, uint64_t mpidr, uint64_t stack_top);

#endif
