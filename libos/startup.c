/*
 * What a guest needs to start (libos/startup.h): the boot run EL2 gives,
 * the stage-1 tables boot builds, the pool's first chunk for the heap's
 * first region, and the stage-2 tables EL2 charges for all of them.
 */
#include "libos/startup.h"

#include <exo/hvc.h>
#include <lib/fmt.h>
#include <libos/heap/heap.h>
#include <libos/mm/boot_need.h>
#include <libos/pool/pool.h>
#include <string.h>

static uint64_t div_up(uint64_t x, uint64_t d)
{
	return (x + d - 1) / d;
}

/* Stage-2 tables for `frames` frames in one run: the pages EL2 keeps in
 * hand, a table per 1 GiB and per 2 MiB the run covers, plus the crossing
 * of one 2 MiB boundary (libos/mm/boot_need.h). */
static uint64_t s2_tables(uint64_t frames)
{
	uint64_t cross = (uint64_t)EXO_S2_L3_TABLE_FRAMES << POOL_FRAME_SHIFT <=
					 LIBOS_MM_CROSS_SPAN;

	return EXO_S2_TABLE_RESERVE + div_up(frames, EXO_S2_L2_TABLE_FRAMES) +
	       div_up(frames, EXO_S2_L3_TABLE_FRAMES) + cross;
}

const char *libos_startup_need(const struct libos_startup_params *p,
			       struct libos_startup_need *need)
{
	enum pgtable_granule granule;
	const char *err = libos_mm_granule(p->granule, &granule);
	size_t heap_bytes = heap_policy_first_grow(p->heap_policy);
	unsigned pages;

	memset(need, 0, sizeof(*need));
	if (err)
		return err;
	if (!heap_bytes)
		return "unknown heap policy";
	pages = libos_mm_boot_table_pages(granule,
					  libos_mm_va_bits(p->argc, p->argv),
					  p->image_bytes,
					  p->boot_run_frames << POOL_FRAME_SHIFT);
	need->image = div_up(p->image_bytes, POOL_FRAME_SIZE);
	need->boot = p->boot_run_frames - need->image;
	need->s1_tables = libos_mm_table_frames(granule, pages);
	need->heap = pool_first_chunk_frames(div_up(heap_bytes,
						    POOL_FRAME_SIZE));
	need->s2_tables = s2_tables(p->boot_run_frames + need->s1_tables +
				    need->heap);
	need->tables = need->s1_tables + need->s2_tables;
	need->total = p->boot_run_frames + need->tables + need->heap;
	return NULL;
}

int libos_startup_format(const struct libos_startup_need *need,
			 uint64_t quota, char *buf, size_t size)
{
	return fmt_snprintf(buf, size, "start-up needs %lu frames, quota %lu "
			    "(image %lu, boot %lu, tables %lu, heap batch %lu)",
			    (unsigned long)need->total, (unsigned long)quota,
			    (unsigned long)need->image,
			    (unsigned long)need->boot,
			    (unsigned long)need->tables,
			    (unsigned long)need->heap);
}
