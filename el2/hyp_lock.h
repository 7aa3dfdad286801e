/*
 * The EL2 lock: over the state EL2's handlers of guest traps change above
 * the frame DB (run queues and every CPU's scheduling record, vCPU and VM
 * life cycles, events, offers, interrupts posted, notifications, console
 * buffers). Taken at every entry from a guest into C but the one-frame
 * FRAME_ALLOC and FRAME_FREE (el2/dispatch.h, dispatch_memory_unlocked:
 * mem's own locks alone) and let go just before its ERET (el2/guest_trap.c),
 * and by an idle CPU whenever it
 * looks for work (el2/sched.c); never held across a wait for another CPU
 * (a CPU that needs another to act kicks it and comes back later), but
 * for the waits of the locks under it: a closer of mem's gate waits for
 * the one-frame calls inside to leave, which take nothing above mem. The
 * vector fast path (el2/hvc_fast.h) changes no state and takes nothing.
 *
 * Order (docs/architecture.md, "Locking"): the EL2 lock, then
 * offers_lock, then mem's gate (el2/mem_gate.h), a VM's s2_lock and the
 * frame DB's lock (el2/mem.c), then the console's lock (a leaf). With one CPU
 * online it is not taken at all: with EL2's IRQs masked nothing else runs
 * (hyp_lock_enable, at boot, once a second CPU is online).
 */
#ifndef EXO_EL2_HYP_LOCK_H
#define EXO_EL2_HYP_LOCK_H

#include <lib/spinlock.h>
#include <stdbool.h>

extern bool hyp_lock_on;
extern struct spinlock hyp_lock_word;

static inline void hyp_lock(void)
{
	if (hyp_lock_on)
		spin_lock(&hyp_lock_word);
}

static inline void hyp_unlock(void)
{
	if (hyp_lock_on)
		spin_unlock(&hyp_lock_word);
}

/* The finer locks under it (offers_lock; el2/mem.c tests hyp_lock_on
 * itself for its gate and locks), taken the same way: with one CPU
 * online nothing runs at once, so none is taken. The threaded host tests
 * turn them on and run el2/mem.c from several threads. */
static inline void hyp_spin_lock(struct spinlock *l)
{
	if (hyp_lock_on)
		spin_lock(l);
}

static inline void hyp_spin_unlock(struct spinlock *l)
{
	if (hyp_lock_on)
		spin_unlock(l);
}

/* Boot CPU, before any other CPU looks for work: several CPUs will run
 * EL2's handlers at once from now on. */
void hyp_lock_enable(void);

#endif
