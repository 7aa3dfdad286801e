/*
 * What libos's top-level rooms say to each other (not for guests: they
 * include libos/libos.h). libos.c starts them in order: guest_pool.c (the
 * frame pool fed by EL2), kernel_aspace.c (the TTBR1 half's regions),
 * malloc.c (the heap and the C library's entry points); revocation.c
 * handles EL2's events over the pool and the heap; stats.c reports on all.
 *
 * Critical sections: every entry point that touches the pool or the heap
 * runs with IRQs masked and libos's lock held (LIBOS_CRIT_ENTER), and the
 * event handler runs from
 * the IRQ (or a safe point with IRQs masked): it always finds the pool and
 * heap consistent. It never prints (the console lock may be held by the
 * code it interrupted): it counts, and libos_events_print reports.
 *
 * Owns: these declarations. Never: holds state (each room keeps its own).
 */
#ifndef EXO_LIBOS_INTERNAL_H
#define EXO_LIBOS_INTERNAL_H

#include <libos/arch.h>
#include <libos/heap/heap.h>
#include <libos/lock.h>
#include <libos/pool/pool.h>
#include <stdbool.h>
#include <stdint.h>

/* IRQs masked and libos's lock held (libos/lock.h: one lock over the
 * pool, the heap, the regions and the tasks, for a guest of several
 * vCPUs; recursive on one vCPU). */
#define LIBOS_CRIT_ENTER() uint64_t crit_flags_ = libos_lock_take()
#define LIBOS_CRIT_LEAVE() libos_lock_give(crit_flags_)

/* --- guest_pool.c: the guest's one frame pool, fed by EL2 ---------------- */

struct pool *libos_guest_pool(void);
/* Gives back what the pool holds and forgets it (IRQs masked). */
void libos_guest_pool_reset(void);
/* An empty pool over EL2 that hands out runs of 2^unit frames at least. */
void libos_guest_pool_start(uint64_t high_water, unsigned unit);

/* --- kernel_aspace.c: the TTBR1 half's regions --------------------------- */

/* Detaches and empties the space (IRQs masked). */
void libos_kernel_aspace_reset(void);
/* The space over libos's TTBR1 tables, attached for faults, once those
 * tables exist (the MMU is on; never on the host). */
void libos_kernel_aspace_start(void);

/* --- malloc.c: the heap --------------------------------------------------- */

/* Destroys the heap and forgets its regions (IRQs masked). */
void libos_heap_reset(void);
/* The heap of this policy is created at the first allocation. */
void libos_heap_start(const char *policy);
/* The policy, and the heap's stats when it exists (false: not created). */
const char *libos_heap_policy(void);
bool libos_heap_stats(struct heap_stats *out);
/* Frames EL2 took from the pool were in use at pa: true when the current
 * heap may have used them (then it must be retired). */
bool libos_heap_lost(uint64_t pa);
/* Retires the current heap (its regions stay handed out, never reused):
 * new allocations go to a fresh heap. false: no heap to retire. */
bool libos_heap_retire(void);
/* Frees of a retired heap's blocks (ignored), ever. */
uint64_t libos_heap_retired_frees(void);
/* Handed-out pool frames at pa: [pa, *end) is the heap's (true) or not
 * (false), *end no further than limit. */
bool libos_heap_owns(uint64_t pa, uint64_t limit, uint64_t *end);

/* --- revocation.c: EL2's events ------------------------------------------- */

void libos_events_reset(void);
/* With IRQs masked: a request the pool could not meet when it came is
 * retried (frames may have come free since); nothing when none is open. */
void libos_events_retry_locked(void);

#endif
