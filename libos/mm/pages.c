/*
 * Page source for libos's translation tables (see pages.h). Pages are
 * granule-sized runs of 4 KiB frames from EL2, aligned to the granule. A
 * small cache of physical addresses absorbs alloc/free churn; a reserve of
 * mapped pages is always kept so that mapping a new batch in the direct map
 * (which may need table pages itself) can never run dry. Single CPU, no
 * locks: the caller serialises table operations.
 */
#include <libos/arch.h>
#include <libos/mm/mm.h>
#include <libos/mm/pages.h>
#include <stddef.h>

#define FRAME_SHIFT 12
#define BATCH_BYTES (UINT64_C(64) << 10)  /* 16 frames per hypercall */
/* Pages one direct-map insertion of a batch may need: one new table per
 * level below the root (a batch never crosses a last-level table: it is at
 * most 64 KiB and aligned to its size). */
#define PAGES_RESERVE (PGTABLE_LEVELS_MAX - 1)
/* Batches remembered for the memory report (pages_held): 16 MiB of 4 KiB
 * tables; pages of later batches are only counted. */
#define PAGES_HELD_MAX 256

/* A batch fetched from EL2; bit i of gone: its page i went back. */
struct pages_held_batch {
	uint64_t pa;
	uint32_t gone;
};

static struct {
	uint64_t page_size;
	unsigned align_log2;            /* in frames */
	unsigned batch_pages;
	uint64_t cache[PAGES_CACHE_MAX];
	unsigned cached;
	bool switched;                  /* MMU on: pages via the direct map */
	bool refilling;
	int (*map)(uint64_t pa, uint64_t size);
	struct pages_batch boot[PAGES_BATCHES_MAX];
	unsigned boot_batches;
	struct pages_held_batch held[PAGES_HELD_MAX];
	unsigned nheld;
	unsigned untracked;             /* pages held past PAGES_HELD_MAX */
	struct pages_stats stats;
} src;

void pages_init(enum pgtable_granule granule)
{
	src.page_size = UINT64_C(1) << granule;
	src.align_log2 = (unsigned)granule - FRAME_SHIFT;
	src.batch_pages = src.page_size >= BATCH_BYTES
				  ? 1
				  : (unsigned)(BATCH_BYTES / src.page_size);
	src.cached = 0;
	src.switched = false;
	src.boot_batches = 0;
	src.nheld = 0;
	src.untracked = 0;
}

static void held_add(uint64_t pa)
{
	if (src.nheld == PAGES_HELD_MAX) {
		src.untracked += src.batch_pages;
		return;
	}
	src.held[src.nheld++] = (struct pages_held_batch){ pa, 0 };
}

/* Page pa went back to EL2: its batch forgets it, and is dropped when
 * every page of it has gone. */
static void held_drop(uint64_t pa)
{
	uint64_t batch_size = src.batch_pages * src.page_size;
	uint32_t all = (uint32_t)((UINT64_C(1) << src.batch_pages) - 1);

	for (unsigned i = 0; i < src.nheld; i++) {
		struct pages_held_batch *b = &src.held[i];

		if (pa < b->pa || pa - b->pa >= batch_size)
			continue;
		b->gone |= UINT32_C(1) << ((pa - b->pa) / src.page_size);
		if (b->gone == all)
			*b = src.held[--src.nheld];
		return;
	}
	src.untracked--;
}

static void push(uint64_t pa)
{
	src.cache[src.cached++] = pa;
}

/* One batch from EL2 into the cache; after the switch it is mapped in the
 * direct map first, with pages the reserve still holds. */
static void refill(void)
{
	uint64_t size = src.batch_pages * src.page_size, pa;

	if (src.cached + src.batch_pages > PAGES_CACHE_MAX)
		return;
	if (libos_arch_frame_alloc(size >> FRAME_SHIFT, src.align_log2, &pa))
		return;
	if (src.switched) {
		int rc;

		src.refilling = true;
		rc = src.map(pa, size);
		src.refilling = false;
		if (rc) {
			libos_arch_frame_free(pa, size >> FRAME_SHIFT);
			return;
		}
	} else {
		if (src.boot_batches == PAGES_BATCHES_MAX) {
			libos_arch_frame_free(pa, size >> FRAME_SHIFT);
			return;
		}
		src.boot[src.boot_batches++] = (struct pages_batch){ pa, size };
	}
	held_add(pa);
	for (unsigned i = 0; i < src.batch_pages; i++)
		push(pa + i * src.page_size);
	src.stats.fetched += src.batch_pages;
}

static void *to_virt(uint64_t pa)
{
	return src.switched ? libos_dmap_phys_to_virt(pa)
			    : (void *)(uintptr_t)pa;
}

static uint64_t to_phys(const void *p)
{
	return src.switched ? libos_dmap_virt_to_phys(p)
			    : (uint64_t)(uintptr_t)p;
}

void *pages_alloc(void *ctx)
{
	(void)ctx;
	if (!src.refilling && src.cached <= PAGES_RESERVE)
		refill();
	if (!src.cached)
		return NULL;
	src.stats.in_use++;
	return to_virt(src.cache[--src.cached]);
}

void pages_free(void *ctx, void *page)
{
	uint64_t pa = to_phys(page);

	(void)ctx;
	src.stats.in_use--;
	if (src.cached < PAGES_CACHE_MAX) {
		push(pa);
		return;
	}
	/* Before the switch every fetched page stays: boot maps whole
	 * batches in the direct map. After it, unmap, then give back. */
	if (!src.switched || libos_dmap_unmap(pa, src.page_size))
		return;
	libos_arch_frame_free(pa, src.page_size >> FRAME_SHIFT);
	held_drop(pa);
	src.stats.returned++;
}

/* One batch's pages still held, as runs of frames. */
static void batch_runs(const struct pages_held_batch *b, pages_run_fn fn,
		       void *ctx)
{
	uint64_t frames = src.page_size >> FRAME_SHIFT;
	unsigned start = 0;

	for (unsigned i = 1; i <= src.batch_pages; i++) {
		bool gone = b->gone >> start & 1;

		if (i < src.batch_pages && (b->gone >> i & 1) == gone)
			continue;
		if (!gone)
			fn(ctx, b->pa + start * src.page_size,
			   (i - start) * frames);
		start = i;
	}
}

unsigned pages_held(pages_run_fn fn, void *ctx)
{
	for (unsigned i = 0; i < src.nheld; i++)
		batch_runs(&src.held[i], fn, ctx);
	return src.untracked;
}

unsigned pages_boot_batches(const struct pages_batch **out)
{
	*out = src.boot;
	return src.boot_batches;
}

void pages_switched(int (*map)(uint64_t pa, uint64_t size))
{
	src.map = map;
	src.switched = true;
}

void pages_stats(struct pages_stats *out)
{
	*out = src.stats;
	out->cached = src.cached;
}
