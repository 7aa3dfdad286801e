/*
 * Ticket spinlock: FIFO fair, so no CPU starves. Acquire/release ordering
 * through the C11 atomic builtins (LDAXR/STLXR or LSE on AArch64).
 */
#ifndef EXO_LIB_SPINLOCK_H
#define EXO_LIB_SPINLOCK_H

#include <stdint.h>

#ifdef EXO_HOST
#include <sched.h>
/* Host threads (tests/host/tsan/) outnumber the cores they share: a waiter
 * that has spun a while gives its core away, so a holder (or a ticket
 * before its own) that was preempted can run, instead of spinning out its
 * time slice. EL2's CPUs are never preempted while they hold or wait. */
#define SPIN_WAIT_SPINS 64u
#define SPIN_WAIT(spins)                                                      \
	do {                                                                  \
		if (++(spins) % SPIN_WAIT_SPINS == 0)                         \
			sched_yield();                                        \
	} while (0)
#else
#define SPIN_WAIT(spins) ((void)(spins))
#endif

struct spinlock {
	uint32_t next;    /* ticket handed to the next arrival */
	uint32_t owner;   /* ticket now allowed in */
};

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(struct spinlock *l)
{
	uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	unsigned spins = 0;

	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		SPIN_WAIT(spins);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

#endif
