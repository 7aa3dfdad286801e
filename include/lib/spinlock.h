/*
 * Ticket spinlock: FIFO fair, so no CPU starves. Acquire/release ordering
 * through the C11 atomic builtins (LDAXR/STLXR or LSE on AArch64).
 */
#ifndef EXO_LIB_SPINLOCK_H
#define EXO_LIB_SPINLOCK_H

#include <stdint.h>

struct spinlock {
	uint32_t next;    /* ticket handed to the next arrival */
	uint32_t owner;   /* ticket now allowed in */
};

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(struct spinlock *l)
{
	uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		;
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

#endif
