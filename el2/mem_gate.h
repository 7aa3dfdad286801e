/*
 * The gate of el2/mem.c on several CPUs (docs/architecture.md, "Locking").
 * The one-frame FRAME_ALLOC and FRAME_FREE pass it together: each marks
 * its CPU inside (struct percpu's mem_inside), then takes its VM's lock
 * (struct vm's s2_lock) and, for the frame DB's few loads and stores, the
 * DB's lock. Every other entry of el2/mem.c closes it (mem_gate_close):
 * one closer at a time (the gate's own lock), which says closed, then
 * waits until no CPU is inside. Behind a closed gate nothing else runs in
 * mem, as under one lock. A CPU that finds the gate closed steps out and
 * waits until it opens, so a closer waits only for the calls already
 * inside, never for a stream of new ones.
 *
 * Each side writes its own word, then reads the other's (Dekker's
 * pattern), both sequentially consistent: a CPU that entered is seen by
 * the closer, or it sees the gate closed. On AArch64 that is STLR then
 * LDAR, which the architecture keeps in order (no DMB). A waiter sleeps
 * in WFE (spin_wait_zero). With one CPU online nothing is taken
 * (hyp_lock_on): the callers test it once.
 */
#ifndef EXO_EL2_MEM_GATE_H
#define EXO_EL2_MEM_GATE_H

#include <el2/percpu.h>
#include <lib/spinlock.h>
#include <stdint.h>

struct mem_gate {
	struct spinlock closers;  /* one closer at a time */
	uint32_t closed;          /* 1 while a closer is in or waits */
};

#define MEM_GATE_INIT { SPINLOCK_INIT, 0 }

/* This CPU's call enters: inside, and the gate open. */
static inline void mem_gate_enter(struct mem_gate *g)
{
	uint32_t *inside = &this_cpu()->mem_inside;

	for (;;) {
		__atomic_store_n(inside, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&g->closed, __ATOMIC_SEQ_CST))
			return;
		__atomic_store_n(inside, 0, __ATOMIC_RELEASE);
		spin_wait_zero(&g->closed);
	}
}

static inline void mem_gate_leave(void)
{
	__atomic_store_n(&this_cpu()->mem_inside, 0, __ATOMIC_RELEASE);
}

/* No CPU inside until mem_gate_open. */
static inline void mem_gate_close(struct mem_gate *g)
{
	spin_lock(&g->closers);
	__atomic_store_n(&g->closed, 1, __ATOMIC_SEQ_CST);
	for (unsigned c = 0; c < EL2_MAX_CPUS; c++)
		spin_wait_zero(&el2_percpus[c].mem_inside);
}

static inline void mem_gate_open(struct mem_gate *g)
{
	__atomic_store_n(&g->closed, 0, __ATOMIC_RELEASE);
	spin_unlock(&g->closers);
}

#endif
