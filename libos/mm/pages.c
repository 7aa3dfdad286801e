/*
 * Page source for libos's translation tables (see pages.h). Pages are
 * granule-sized runs of 4 KiB frames from EL2, aligned to the granule. A
 * small cache of physical addresses absorbs alloc/free churn; a reserve of
 * mapped pages is always kept so that mapping a new batch in the direct map
 * (which may need table pages itself) can never run dry. Single CPU, no
 * locks: the caller serialises table operations.
 */
#include <exo/frame.h>
#include <libos/arch.h>
#include <libos/el2.h>
#include <libos/mm/batches.h>
#include <libos/mm/mm.h>
#include <libos/mm/pages.h>
#include <stddef.h>


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
	struct batches held;            /* what is held, for pages_held */
	struct pages_stats stats;
} src;

void pages_init(enum pgtable_granule granule)
{
	src.page_size = UINT64_C(1) << granule;
	src.align_log2 = (unsigned)granule - EXO_FRAME_SHIFT;
	src.batch_pages = pages_per_batch(src.page_size);
	src.cached = 0;
	src.switched = false;
	src.boot_batches = 0;
	batches_init(&src.held, src.batch_pages, src.page_size);
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
	if (libos_el2_frame_alloc(size >> EXO_FRAME_SHIFT, src.align_log2, &pa))
		return;
	if (src.switched) {
		int rc;

		src.refilling = true;
		rc = src.map(pa, size);
		src.refilling = false;
		if (rc) {
			libos_el2_frame_free(pa, size >> EXO_FRAME_SHIFT);
			return;
		}
	} else {
		if (src.boot_batches == PAGES_BATCHES_MAX) {
			libos_el2_frame_free(pa, size >> EXO_FRAME_SHIFT);
			return;
		}
		src.boot[src.boot_batches++] = (struct pages_batch){ pa, size };
	}
	batches_add(&src.held, pa);
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
	libos_el2_frame_free(pa, src.page_size >> EXO_FRAME_SHIFT);
	batches_drop(&src.held, pa);
	src.stats.returned++;
}

unsigned pages_held(pages_run_fn fn, void *ctx)
{
	return batches_runs(&src.held, fn, ctx);
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
