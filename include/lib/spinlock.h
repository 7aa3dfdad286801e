/*
 * Ticket spinlock: FIFO fair, so no CPU starves. Acquire/release ordering
 * through the C11 atomic builtins (LDAXR/STLXR or LSE on AArch64).
 *
 * A waiter on AArch64 sleeps in WFE between looks: its exclusive load of
 * the owner word arms its monitor, and the unlock's store to that word
 * clears it, which is a wake-up event (Arm ARM, "Wait for Event"). So a
 * waiter does not hammer the line the holder writes, and under QEMU's
 * round-robin TCG (-icount) a WFE yields to the next vCPU at once instead
 * of spinning out its whole time quantum while the holder cannot run.
 */
#ifndef EXO_LIB_SPINLOCK_H
#define EXO_LIB_SPINLOCK_H

#include <stdint.h>

#ifdef EXO_HOST
/* Host threads (tests/host/tsan/) outnumber the cores they share: a waiter
 * that has spun a while gives its core away, so a holder (or a ticket
 * before its own) that was preempted can run, instead of spinning out its
 * time slice. EL2's CPUs are never preempted while they hold or wait.
 * The C library's sched_yield under another name: EL2's own sched_yield
 * (el2/sched.h) is a different function. */
extern int spin_host_yield(void) __asm__("sched_yield");
#define SPIN_WAIT_SPINS 64u
#endif

/* A waiter's look that found the word not as it waits for, off AArch64:
 * a host thread gives its core away every SPIN_WAIT_SPINS looks. */
static inline void spin_relax(unsigned *spins)
{
#ifdef EXO_HOST
	if (++*spins % SPIN_WAIT_SPINS == 0)
		spin_host_yield();
#else
	(void)spins;
#endif
}

struct spinlock {
	uint32_t next;    /* ticket handed to the next arrival */
	uint32_t owner;   /* ticket now allowed in */
};

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(struct spinlock *l)
{
	uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
#ifdef __aarch64__
	uint32_t now;

	/* Uncontended: one load-acquire and a compare. Else WFE until the
	 * owner word changes (its exclusive load arms the monitor). */
	__asm__ volatile("	ldar	%w0, [%1]\n"
			 "	cmp	%w0, %w2\n"
			 "	b.eq	2f\n"
			 "	sevl\n"
			 "1:	wfe\n"
			 "	ldaxr	%w0, [%1]\n"
			 "	cmp	%w0, %w2\n"
			 "	b.ne	1b\n"
			 "2:\n"
			 : "=&r"(now)
			 : "r"(&l->owner), "r"(ticket)
			 : "memory", "cc");
#else
	unsigned spins = 0;

	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		spin_relax(&spins);
#endif
}

/* Waits until *w reads zero, the read that finds it an acquire that is
 * also sequentially consistent (LDAR on AArch64; a gate's closer reads
 * the CPUs' flags after its own store, el2/mem_gate.h). A waiter sleeps
 * in WFE as spin_lock's does: the store that clears *w wakes it. */
static inline void spin_wait_zero(const uint32_t *w)
{
#ifdef __aarch64__
	uint32_t now;

	__asm__ volatile("	ldar	%w0, [%1]\n"
			 "	cbz	%w0, 2f\n"
			 "	sevl\n"
			 "1:	wfe\n"
			 "	ldaxr	%w0, [%1]\n"
			 "	cbnz	%w0, 1b\n"
			 "2:\n"
			 : "=&r"(now)
			 : "r"(w)
			 : "memory", "cc");
#else
	unsigned spins = 0;

	while (__atomic_load_n(w, __ATOMIC_SEQ_CST))
		spin_relax(&spins);
#endif
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

#endif
