/*
 * What libos_mm_boot and its table-page source need, as arithmetic: the
 * VA size the guest's arguments choose, the table pages boot builds, the
 * frames the page source fetches for them. Owns no state and touches no
 * table or frame, so libos/startup.c and the host manifest checker
 * (tools/mancheck) use the same numbers libos boots with. Never: a
 * constant of its own that boot.c or pages.c also defines.
 */
#ifndef EXO_LIBOS_MM_BOOT_NEED_H
#define EXO_LIBOS_MM_BOOT_NEED_H

#include <libos/mmu/pgtable.h>
#include <stdint.h>

#define LIBOS_MM_DEFAULT_VA_BITS 48

/* A range at a physical address is counted as crossing one table boundary
 * where a table spans this much or less (a 4K last-level table; a stage-2
 * last-level table too), none where tables are larger (16K: 32 MiB, 64K:
 * 512 MiB), where a crossing is rare. */
#define LIBOS_MM_CROSS_SPAN (UINT64_C(2) << 20)

/* The granule a guest DTB's exo,granule names ("4k", "16k", "64k"; NULL:
 * 4k); NULL, or what is wrong with the name. */
const char *libos_mm_granule(const char *name, enum pgtable_granule *g);

/* The VA size the guest's arguments choose: 48, or 39 with --va-bits=39. */
unsigned libos_mm_va_bits(int argc, char *const *argv);

/* Table pages libos_mm_boot builds for an image of image_bytes and boot
 * memory of mem_bytes in one run; 0 for a granule or VA size it refuses. */
unsigned libos_mm_boot_table_pages(enum pgtable_granule granule,
				   unsigned va_bits, uint64_t image_bytes,
				   uint64_t mem_bytes);

/* Frames the page source (libos/mm/pages.c) has fetched from EL2 once it
 * has handed out `pages` table pages from an empty cache: whole batches,
 * one more whenever the cache is down to its reserve. */
uint64_t libos_mm_table_frames(enum pgtable_granule granule, unsigned pages);

#endif
