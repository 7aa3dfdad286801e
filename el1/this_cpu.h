/*
 * el1's state of one vCPU, behind its TPIDR_EL1 (EL2 switches the register
 * with the vCPU): whatever an exception taken on that vCPU changes. Its
 * exception stack is the SP_EL1 it runs on (the boot stack, the stack
 * el1_cpu_start was given, or the one el1_task_enter ran on), so each
 * vCPU's frames are its own. libos's per-vCPU state is libos's own,
 * indexed by libos_cpu_self() (libos/lock.h). docs/architecture.md,
 * "libos on several vCPUs".
 */
#ifndef EXO_EL1_THIS_CPU_H
#define EXO_EL1_THIS_CPU_H

#include <exo/hvc.h>
#include <stdbool.h>
#include <stdint.h>

/* el1_task_enter's saved callee state (el1/task_entry.S's layout). No
 * d8-d15: el1's callers keep nothing in FP/SIMD registers, and a task's
 * own stay live in them across el1_task_leave. */
struct el1_task_ctx {
	uint64_t x19_x30[12], sp, daif;
};

struct libos_task;

struct el1_percpu {
	/* How deep class handlers are nested on this vCPU (el1/vectors.S
	 * reads and writes it at offset 0: EL1_PCPU_DEPTH). */
	unsigned handler_depth;
	/* EXO_EXIT_CAUSE_* a handler gave for the exception in hand. */
	uint64_t declined_cause;
	/* EL0 tasks on this vCPU (el1/el0_task.c): the task whose FP/SIMD
	 * state is in this vCPU's registers, whether EL0's FP/SIMD traps
	 * (CPACR_EL1 is the vCPU's), and where el1_task_enter returns. */
	struct libos_task *fp_owner;
	bool el0_fp_trapped;
	struct el1_task_ctx task_ctx;
};

#define EL1_PCPU_DEPTH 0

extern struct el1_percpu el1_percpu[EXO_VM_MAX_VCPUS];

/* The calling vCPU's (TPIDR_EL1, set by el1_cpu_init on every vCPU before
 * anything may take an exception there). */
static inline struct el1_percpu *el1_this_cpu(void)
{
	uint64_t p;

	__asm__ volatile("mrs %0, tpidr_el1" : "=r"(p));
	return (struct el1_percpu *)(uintptr_t)p;
}

#endif
