/*
 * The CPUs EL2 runs on: the boot CPU starts each other CPU the host DTB
 * lists (PSCI CPU_ON), waits for it to check in, and reports what became
 * of it; a CPU that fails to start is reported and the rest carry on.
 * Owns EL2's CPU numbering (0 = the boot CPU) and each CPU's start-up
 * state. Never: a CPU's registers (el2/arch), its run queue (el2/sched.c).
 */
#ifndef EXO_EL2_CPUS_H
#define EXO_EL2_CPUS_H

#include <el2/platform.h>
#include <stdint.h>

/* What became of a CPU EL2 tried to start. */
enum cpu_state {
	CPU_OFF,          /* never started */
	CPU_STARTING,     /* CPU_ON accepted, not checked in yet */
	CPU_ONLINE,       /* its EL2 is up: stack, vectors, GIC, timer */
	CPU_LATE,         /* did not check in in time: left out for good */
	CPU_DIFFERS,      /* its ID registers are not the boot CPU's */
	CPU_NO_GIC,       /* no redistributor answers for it */
};

/* The longest a started CPU may take to check in. */
#define CPUS_CHECK_IN_MS 1000

/* Boot CPU, after its own EL2 is up: starts every other CPU of p and
 * prints one line per CPU and a summary. Returns the CPUs online, itself
 * included. */
unsigned cpus_start(const struct platform *p);

/* On a started CPU: `outcome` (CPU_ONLINE or why not, with a detail the
 * boot CPU prints, or NULL) is its answer. A CPU that checks in after the
 * boot CPU gave up on it (CPU_LATE) is told so: false, and it must stay
 * parked. */
bool cpus_check_in(unsigned cpu, enum cpu_state outcome, const char *detail);

/* On a started CPU: the name of the first ID register whose value is not
 * the boot CPU's (arch_cpu_signature), or NULL when all are the same. */
const char *cpus_differs_from_boot(void);

/* CPUs online (the boot CPU included), and one CPU's state. */
unsigned cpus_online(void);
enum cpu_state cpus_state(unsigned cpu);
uint64_t cpus_mpidr(unsigned cpu);

#endif
