/*
 * The library OS's own address space: regions (libos/mm/region.h) over
 * the TTBR1 tables, attached for faults once the MMU is on, with the page
 * source (pool frames, one granule each, reached through the direct map)
 * and the shared-page table for it.
 *
 * Owns: the kernel space, its page source and reference table. Never:
 * chooses where regions go (callers put them in the vmap window), or
 * exists before the tables do (never on the host).
 */
#include "libos/addr.h"
#include "libos/internal.h"
#include "libos/libos.h"
#include "libos/mm/mm.h"

#include <string.h>

static struct {
	struct libos_pagerefs refs;  /* shared pages of the space */
	struct libos_vm_pages pages; /* region pages, ctx: the pool */
	uint64_t page_frames;	     /* pool frames per page */
	struct libos_aspace kernel;  /* the TTBR1 half's regions */
	bool ready;
} ks;

static bool vm_page_alloc(void *pool, uint64_t *pa)
{
	return pool_alloc(pool, ks.page_frames, pa);
}

static void vm_page_free(void *pool, uint64_t pa)
{
	pool_free(pool, pa, ks.page_frames);
}

static void *vm_page_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return libos_phys_to_virt(pa);
}

void libos_kernel_aspace_reset(void)
{
	if (ks.ready) {
		libos_aspace_fini(&ks.kernel);
		libos_vm_detach(PGTABLE_TTBR1);
	}
	memset(&ks, 0, sizeof(ks));
}

void libos_kernel_aspace_start(void)
{
	struct pgtable *pt = libos_mm_kernel();

	ks.pages = (struct libos_vm_pages){vm_page_alloc, vm_page_free,
					   vm_page_virt, libos_guest_pool(),
					   NULL, 0};
	libos_pagerefs_init(&ks.refs);
	if (!pt || !pt->root || pt->geom.page_shift < POOL_FRAME_SHIFT)
		return;
	ks.page_frames = (uint64_t)1
			 << (pt->geom.page_shift - POOL_FRAME_SHIFT);
	/* The fault fast path's inline take: one pool frame a page only (a
	 * 4K granule; pool_alloc takes a single frame from its hinted chunk
	 * first), reached through the direct map (pa + its base). */
	if (ks.page_frames == 1) {
		ks.pages.pool = libos_guest_pool();
		ks.pages.virt_offset = (uint64_t)(uintptr_t)libos_phys_to_virt(0);
	}
	libos_aspace_init(&ks.kernel, pt, &ks.pages, &ks.refs);
	libos_vm_attach(&ks.kernel);
	ks.ready = true;
}

struct libos_aspace *libos_kernel_aspace(void)
{
	return ks.ready ? &ks.kernel : NULL;
}

struct libos_pagerefs *libos_pagerefs(void)
{
	return &ks.refs;
}

const struct libos_vm_pages *libos_vm_pages(void)
{
	return &ks.pages;
}
