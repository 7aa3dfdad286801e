/*
 * libos's one lock, for a guest of several vCPUs (docs/architecture.md,
 * "libos on several vCPUs"): the frame pool, the heap (every policy),
 * the regions and stage-1 tables of every address space, the fault
 * path's slow half, the task table and the ASIDs are changed only by its
 * holder. Taken with IRQs masked (libos's critical sections, internal.h:
 * the event handler takes it from the IRQ, and a vCPU that held it when
 * the IRQ came would wait for itself), and recursive on one vCPU: a
 * heap's growth takes frames from the pool, a fault taken while the lock
 * is held (a user copy in a system call, a fault inside a handler) takes
 * it again, as one vCPU's nesting did before there were several. Nothing
 * is taken inside it but the console's lock (a leaf).
 *
 * Uncontended: the IRQ mask, a read of MPIDR_EL1 and one atomic swap,
 * about a dozen instructions; a waiter spins a while, then yields its
 * slice to EL2 (libos/lock.c). The single-vCPU fast paths
 * (the fault fast path, el1/vectors.S) run without it, and only while
 * one vCPU runs (libos_smp_active).
 */
#ifndef EXO_LIBOS_LOCK_H
#define EXO_LIBOS_LOCK_H

#include <exo/hvc.h>
#include <libos/arch.h>
#include <stdbool.h>
#include <stdint.h>

/* Per-CPU arrays are indexed by libos_cpu_self(). */
#define LIBOS_CPUS_MAX EXO_VM_MAX_VCPUS
_Static_assert((LIBOS_CPUS_MAX & (LIBOS_CPUS_MAX - 1)) == 0,
	       "libos_cpu_self masks with LIBOS_CPUS_MAX - 1");

struct libos_lock {
	uint32_t taken;		/* 1 while held */
	uint32_t holder;	/* the holder's CPU number + 1; 0: free */
	uint32_t depth;		/* the holder's nesting */
	uint64_t waits;		/* takes that found another vCPU holding it */
	uint64_t yields;	/* slices given away waiting */
};

extern struct libos_lock libos_lock;

/* Reads of a held lock before a waiter gives its slice away: EL2 runs a
 * guest's vCPUs time-sliced, and a holder that is not running releases
 * nothing however long the others spin. */
#define LIBOS_LOCK_SPINS 64

/* The calling vCPU's number, below LIBOS_CPUS_MAX whatever MPIDR says. */
static inline unsigned libos_cpu_self(void)
{
	return libos_arch_cpu_self() & (LIBOS_CPUS_MAX - 1);
}

/* Masks IRQs and takes the lock (again, if this vCPU holds it); returns
 * the IRQ state libos_lock_give puts back. Test-and-set, not a ticket:
 * a ticket's next owner may be a vCPU EL2 is not running, and every
 * other waiter would wait for its turn too. Out of line (libos/lock.c):
 * about thirty callers, none on a path the benches hold to a budget. */
uint64_t libos_lock_take(void);
void libos_lock_give(uint64_t flags);

/* Whether the calling vCPU holds the lock (assertions, tests). */
static inline bool libos_lock_held(void)
{
	return __atomic_load_n(&libos_lock.holder, __ATOMIC_RELAXED) ==
	       libos_cpu_self() + 1;
}

/* How many vCPUs besides the boot one are on: counted up before one
 * starts (el1_cpu_start) and down when its function has returned, both
 * under the lock. While any is, the fault fast path, which takes no lock,
 * is off, and a task that leaves a vCPU leaves its registers and TTBR0
 * too (another vCPU may run it next). */
extern unsigned libos_smp_others;

static inline bool libos_smp_active(void)
{
	return __atomic_load_n(&libos_smp_others, __ATOMIC_RELAXED) != 0;
}

/* Under the lock (the caller's): one vCPU more, one less. */
void libos_smp_cpu_on(void);
void libos_smp_cpu_off(void);

#endif
