/*
 * What libos reports about itself: the stats (frames, table pages, EL2's
 * view, region faults, the heap), the stage-1 dump (ptdump) and the memory
 * report (which frames hold what, libos/memuse.h).
 *
 * Owns: the report formats. Never: changes what it reports on, or runs
 * from the event handler (it prints).
 */
#include "libos/internal.h"
#include "libos/libos.h"
#include "libos/memuse.h"
#include "libos/addr.h"
#include "libos/mm/mm.h"
#include "libos/mm/pages.h"

#include <lib/print.h>
#include <string.h>

/* ---- stats ---- */

void libos_stats(struct libos_stats *st)
{
	struct pages_stats tables;

	LIBOS_CRIT_ENTER();

	memset(st, 0, sizeof(*st));
	st->policy = libos_heap_policy();
	st->heap_created = libos_heap_stats(&st->heap);
	pool_stats(libos_guest_pool(), &st->pool);
	pages_stats(&tables);
	st->table_pages = tables.in_use;
	LIBOS_CRIT_LEAVE();
	st->vm_valid = libos_el2_vm_info(&st->vm) == 0;
	libos_vm_stats(&st->regions);
}

static void print_heap(const char *policy, const struct heap_stats *h)
{
	kprintf("libos: heap %s: %lu B in use, %lu B free, largest free "
		"%lu B, fragmentation %u%%\n",
		policy, (unsigned long)h->bytes_in_use,
		(unsigned long)h->bytes_free, (unsigned long)h->largest_free,
		h->fragmentation_pct);
	kprintf("libos: heap %s: footprint %lu B (peak %lu B), %lu live "
		"blocks\n",
		policy, (unsigned long)h->footprint,
		(unsigned long)h->peak_footprint,
		(unsigned long)h->live_blocks);
	kprintf("libos: heap %s: %lu allocs, %lu frees, %lu reallocs, "
		"%lu failures, %lu bad frees, %lu grows, %lu shrinks\n",
		policy, (unsigned long)h->allocs, (unsigned long)h->frees,
		(unsigned long)h->reallocs, (unsigned long)h->failures,
		(unsigned long)h->bad_frees, (unsigned long)h->grows,
		(unsigned long)h->shrinks);
}

static void print_regions(const struct libos_vm_stats *v)
{
	kprintf("libos: region faults: %u demand-zero, %u cow copies, "
		"%u cow reuses, %u stack growths\n",
		v->demand_zero, v->cow_copies, v->cow_reuses, v->stack_growths);
	kprintf("libos: region refusals: %u stack overflows, %u guard hits, "
		"%u not allowed, %u outside regions, %u out of memory\n",
		v->stack_overflows, v->guard_hits, v->refused, v->no_region,
		v->no_memory);
}

void libos_stats_print(void)
{
	struct libos_stats st;
	const struct pool_stats *p = &st.pool;

	libos_stats(&st);
	kprintf("libos: frames: %lu held (%lu in use, %lu free), %lu from "
		"EL2, %lu returned, peak %lu, high water %lu\n",
		(unsigned long)p->frames_held, (unsigned long)p->frames_in_use,
		(unsigned long)p->frames_free,
		(unsigned long)p->frames_from_src,
		(unsigned long)p->frames_returned, (unsigned long)p->peak_held,
		(unsigned long)p->high_water);
	kprintf("libos: table pages: %lu\n", (unsigned long)st.table_pages);
	if (st.vm_valid)
		kprintf("libos: vm info: quota %lu frames, %lu charged\n",
			(unsigned long)st.vm.quota,
			(unsigned long)st.vm.charged);
	print_regions(&st.regions);
	if (st.heap_created)
		print_heap(st.policy, &st.heap);
	else
		kprintf("libos: heap %s: not created (no allocation yet)\n",
			st.policy ? st.policy : "-");
}

/* ---- the stage-1 tables ---- */

static void ptdump_line(void *ctx, const char *line)
{
	size_t n = strlen(line);

	(void)ctx;
	kprintf(n && line[n - 1] == '\n' ? "ptdump: %s" : "ptdump: %s\n",
		line);
}

void libos_ptdump(void)
{
	const struct libos_mm_info *mi = libos_mm_info();
	struct pgtable *kernel = libos_mm_kernel();

	if (!mi || !kernel || !kernel->root) {
		kprintf("ptdump: no stage-1 tables (MMU off)\n");
		return;
	}
	kprintf("ptdump: TTBR1 half from 0x%lx, %u-bit VA, %lu-byte pages\n",
		(unsigned long)mi->half_base, mi->va_bits,
		(unsigned long)mi->page_size);
	pgtable_dump_range(kernel, mi->half_base,
			   UINT64_C(1) << mi->va_bits, ptdump_line, NULL);
}

/* ---- the memory report ---- */

static void memuse_line(void *ctx, const char *line)
{
	(void)ctx;
	kprintf("%s\n", line);
}

static void table_run(void *ctx, uint64_t pa, uint64_t frames)
{
	memuse_add(ctx, MEMUSE_S1_TABLES, pa, frames);
}

/* Handed-out pool frames: the heap's regions, the rest region pages. */
static void pool_run(void *ctx, uint64_t pa, uint64_t count, bool free)
{
	uint64_t end = pa + count * POOL_FRAME_SIZE;

	if (free) {
		memuse_add(ctx, MEMUSE_POOL_FREE, pa, count);
		return;
	}
	while (pa < end) {
		uint64_t to;
		bool heap = libos_heap_owns(pa, end, &to);

		memuse_add(ctx, heap ? MEMUSE_HEAP : MEMUSE_REGION_PAGES, pa,
			   (to - pa) / POOL_FRAME_SIZE);
		pa = to;
	}
}

void libos_memory_report(void)
{
	struct memuse m;
	unsigned untracked_pages;
	LIBOS_CRIT_ENTER();

	memuse_init(&m, memuse_line, NULL);
	untracked_pages = pages_held(table_run, &m);
	pool_runs(libos_guest_pool(), pool_run, &m);
	memuse_finish(&m, (uint64_t)untracked_pages *
				  (libos_addr_page_size() / POOL_FRAME_SIZE));
	LIBOS_CRIT_LEAVE();
}
