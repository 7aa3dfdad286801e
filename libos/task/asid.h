/*
 * ASIDs for EL0 address spaces: a generation-based allocator after Linux
 * arm64 (arch/arm64/mm/context.c), for every vCPU of the guest, under
 * libos's lock (libos/lock.h; the caller's). A context is a 64-bit value
 * (generation | ASID); a context of an old generation gets a new ASID at its
 * next switch, keeping its old number when that is still free. When the
 * numbers run out the generation is bumped, the bitmap cleared (but for the
 * ASID each vCPU runs now, reserved so the TLB entries it may still create
 * are never shared), and every vCPU's TLB flushed (TLBI VMALLE1IS,
 * broadcast: one flush for all) before the next TTBR0 write.
 *
 * Owns: the bitmap, the generation, the active and reserved ASIDs of each
 * vCPU (by libos_cpu_self()). Never: touches TTBR0
 * (libos/task/uspace.c does) or frees an ASID early (numbers come back at the
 * next roll-over, as in Linux; destroyed tables drop their TLB entries with
 * TLBI ASIDE1IS). ASID 0 is never handed out: it tags nothing a task uses.
 * Portable: the flush goes through libos/arch.h.
 */
#ifndef EXO_LIBOS_TASK_ASID_H
#define EXO_LIBOS_TASK_ASID_H

#include <libos/lock.h>
#include <stdbool.h>
#include <stdint.h>

#define ASID_BITS_MAX 16
#define ASID_BITS_MIN 2          /* 3 usable ASIDs: roll-over every few switches */
/* With several vCPUs a roll-over keeps each one's running ASID: more
 * usable ASIDs than vCPUs (15 > LIBOS_CPUS_MAX) leave one to hand out. */
#define ASID_BITS_SMP_MIN 4
_Static_assert((1u << ASID_BITS_SMP_MIN) - 1 > LIBOS_CPUS_MAX,
	       "a roll-over leaves a number free");

struct asid_stats {
	uint64_t switches;       /* asid_switch calls */
	uint64_t fast;           /* context of the current generation: no work */
	uint64_t allocs;         /* a number taken from the bitmap */
	uint64_t kept;           /* old context kept its number in a new generation */
	uint64_t rollovers;      /* generation bumps */
	uint64_t flushes;        /* TLBI VMALLE1IS issued */
};

struct asid_allocator {
	unsigned bits;           /* width in use (<= the CPU's) */
	uint64_t generation;     /* a multiple of 1 << bits, never 0 */
	/* By vCPU: the context in its TTBR0 now (0: none), and the one it
	 * ran at the last roll-over, kept. */
	uint64_t active[LIBOS_CPUS_MAX];
	uint64_t reserved[LIBOS_CPUS_MAX];
	uint32_t next;           /* where the search resumes */
	bool flush_pending;
	uint64_t map[(UINT32_C(1) << ASID_BITS_MAX) / 64];
	struct asid_stats stats;
};

/* bits: the width to use (the CPU's, or less to test roll-over); clamped to
 * [ASID_BITS_MIN, ASID_BITS_MAX]. */
void asid_init(struct asid_allocator *a, unsigned bits);

/*
 * The ASID to run *ctx with (0 on first use): refreshes *ctx if it is of an
 * old generation, rolling over if needed, and flushes the local TLB when a
 * roll-over is pending. The caller writes TTBR0 with the result right after.
 */
uint16_t asid_switch(struct asid_allocator *a, uint64_t *ctx);

/* TTBR0 no longer holds an ASID the allocator gave (its tables are gone). */
void asid_deactivate(struct asid_allocator *a);

static inline uint16_t asid_of(const struct asid_allocator *a, uint64_t ctx)
{
	return (uint16_t)(ctx & ((UINT64_C(1) << a->bits) - 1));
}

/* Is ctx of the current generation (its ASID valid without a switch)? */
static inline bool asid_current(const struct asid_allocator *a, uint64_t ctx)
{
	return ctx && (ctx >> a->bits) == (a->generation >> a->bits);
}

#endif
