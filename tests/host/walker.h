/*
 * An independent software model of the VMSAv8-64 stage-1 translation
 * process (Arm ARM, EL1&0 regime, TBI off, no LPA/LPA2, HA/HD off), used
 * only by tests to check libos/mmu/pgtable.c. It must never include or
 * call the engine: it reads raw descriptors from TTBR/TCR-like inputs.
 */
#ifndef EXO_TESTS_WALKER_H
#define EXO_TESTS_WALKER_H

#include <stdbool.h>
#include <stdint.h>

struct walker_cfg {
	unsigned tg_shift;          /* translation granule: 12, 14 or 16 */
	unsigned t0sz, t1sz;        /* TCR_EL1.T0SZ / T1SZ */
	uint64_t ttbr0, ttbr1;      /* TTBRn_EL1 (0: that half is disabled) */
	void *(*pa_to_ptr)(void *ctx, uint64_t pa);
	void *ctx;
};

enum walker_fault {
	WALK_OK,
	WALK_TRANSLATION,           /* invalid or reserved descriptor */
	WALK_ACCESS_FLAG,           /* leaf with AF clear */
	WALK_CONT_BAD,              /* contiguous run not consistent */
};

struct walker_result {
	enum walker_fault fault;
	int level;                  /* where the walk stopped */
	uint64_t pa;
	uint64_t desc;
	uint64_t leaf_size;
	bool el1_r, el1_w, el1_x, el0_r, el0_w, el0_x;
	bool dbm, ng, cont;
	unsigned attrindx;
};

void walker_translate(const struct walker_cfg *cfg, uint64_t va,
		      struct walker_result *r);

/* Visits every table reachable from both TTBRs. */
typedef void (*walker_table_fn)(void *ctx, const uint64_t *table,
				unsigned entries, int level, uint64_t va_base);
void walker_for_each_table(const struct walker_cfg *cfg, walker_table_fn fn,
			   void *ctx);

/* Bytes one entry at this level maps. */
uint64_t walker_entry_size(const struct walker_cfg *cfg, int level);

#endif
