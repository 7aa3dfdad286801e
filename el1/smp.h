/*
 * The guest's other vCPUs (manifest `cpus`; EL2 emulates PSCI for them,
 * docs/abi.md "vCPUs"). el1_cpu_start turns one on running a function on
 * a stack the caller gives; it switches its MMU on with the boot vCPU's
 * tables (el1/secondary.S) and turns itself off when the function returns.
 * A started vCPU is a vCPU like the boot one: its own el1 state behind
 * TPIDR_EL1 (el1/this_cpu.h), interrupts (el1_irqs_on, el1/gic_cpu.h: SGIs
 * and its timer, counted per vCPU), faults, the heap, the frame pool,
 * regions and EL0 tasks (el1_tasks_run from several vCPUs at once) under
 * libos's lock (libos/lock.h). Its stack is its exception stack: big
 * enough for the function and a fault's handling (a few KiB). While any
 * started vCPU is on, the lock-free fault fast paths are off
 * (docs/architecture.md, "libos on several vCPUs").
 */
#ifndef EXO_EL1_SMP_H
#define EXO_EL1_SMP_H

#include <stdint.h>

typedef void (*el1_cpu_fn)(unsigned cpu, void *arg);

/* PSCI's answer: 0, EXO_PSCI_INVALID_PARAMETERS (no vCPU `cpu`),
 * EXO_PSCI_ALREADY_ON. stack_top: 16-byte aligned, mapped, the caller's. */
int64_t el1_cpu_start(unsigned cpu, el1_cpu_fn fn, void *arg,
		      void *stack_top);
/* PSCI AFFINITY_INFO: EXO_PSCI_AFF_ON, EXO_PSCI_AFF_OFF, or
 * EXO_PSCI_INVALID_PARAMETERS. */
int64_t el1_cpu_state(unsigned cpu);
/* The calling vCPU's number (its MPIDR affinity, Aff0). */
unsigned el1_cpu_self(void);

#endif
