/*
 * The page source of libos's own translation tables: granule-sized,
 * granule-aligned pages from EL2 (FRAME_ALLOC), fetched in batches, kept in
 * a small cache of physical addresses, given back when the cache is full.
 * Before the MMU is on pages are reached at their physical address; after,
 * through the direct map, which every page handed out is mapped in (each
 * batch is mapped with pages already mapped: a reserve is kept for that).
 * Never decides where tables go: libos/mm/boot.c and pgtable.c do.
 */
#ifndef EXO_LIBOS_MM_PAGES_H
#define EXO_LIBOS_MM_PAGES_H

#include <libos/mmu/pgtable.h>
#include <stdbool.h>
#include <stdint.h>

#define PAGES_CACHE_MAX 64      /* free pages kept, by physical address */
#define PAGES_BATCHES_MAX 64    /* batches fetched before the switch */
#define PAGES_BATCH_BYTES (UINT64_C(64) << 10)  /* 16 frames per hypercall */
/* Pages one direct-map insertion of a batch may need: one new table per
 * level below the root (a batch never crosses a last-level table: it is at
 * most 64 KiB and aligned to its size). pages_alloc fetches a batch
 * whenever the cache is down to this. */
#define PAGES_RESERVE (PGTABLE_LEVELS_MAX - 1)

/* Pages of page_size bytes in one batch (at least one page). */
static inline unsigned pages_per_batch(uint64_t page_size)
{
	return page_size >= PAGES_BATCH_BYTES
		       ? 1
		       : (unsigned)(PAGES_BATCH_BYTES / page_size);
}

struct pages_batch {
	uint64_t pa, size;
};

struct pages_stats {
	unsigned fetched;       /* pages taken from EL2 */
	unsigned returned;      /* pages given back to EL2 */
	unsigned in_use;        /* pages held by tables */
	unsigned cached;        /* free pages in the cache */
};

/* Set up for a granule; the MMU is off (physical addresses = pointers). */
void pages_init(enum pgtable_granule granule);
/* Table-page callbacks for struct pgtable_mm_ops (ctx unused). */
void *pages_alloc(void *ctx);
void pages_free(void *ctx, void *page);
/* Batches fetched while the MMU was off: boot maps them in the direct map.
 * Returns how many; *out points at them. */
unsigned pages_boot_batches(const struct pages_batch **out);
/* The MMU is on: from now on pages are reached through the direct map, and
 * every new batch is mapped in it (through map, using pages already mapped). */
void pages_switched(int (*map)(uint64_t pa, uint64_t size));
void pages_stats(struct pages_stats *out);
/* What the source holds now, tables and cached pages alike, as runs of 4 KiB
 * frames (calls fn for each, batch by batch). Returns the pages it holds
 * beyond the batches it remembers (BATCHES_MAX), not in any run. */
typedef void (*pages_run_fn)(void *ctx, uint64_t pa, uint64_t frames);
unsigned pages_held(pages_run_fn fn, void *ctx);


#endif
