/*
 * A bounded walk of a flattened device tree blob (DTB), run before libfdt
 * reads one. It owns the question "does every offset and length in this
 * blob stay inside it?": the header against the readable size, the memory
 * reservation map, then every tag of the structure block, each property
 * length and name offset checked with arithmetic that cannot wrap. It never
 * interprets what the tree says (libfdt and the parsers above it do that)
 * and never writes to the blob.
 *
 * Why: libfdt 1.6.1 adds a property's length to an int offset unchecked, so
 * a length near 2^32 wraps back onto the same tag and fdt_check_full() (and
 * every walk after it) loops forever. This walk moves forward only, at least
 * one 4-byte tag per step, so it ends within size / 4 steps on any input.
 */
#ifndef EXO_EL2_DTB_BOUNDS_H
#define EXO_EL2_DTB_BOUNDS_H

#include <stddef.h>

/* The v17 header: ten big-endian 32-bit fields. Older versions lack
 * size_dt_struct, which the walk needs; dtc and QEMU write 17. */
#define DTB_BOUNDS_HEADER_SIZE 40u
#define DTB_BOUNDS_VERSION     17u
/* libfdt's offsets are int: a larger blob breaks its arithmetic. */
#define DTB_BOUNDS_MAX_SIZE 0x7fffffffu
/* Deeper than any real tree (a manifest is 3 levels, QEMU's DTB 3). */
#define DTB_BOUNDS_MAX_DEPTH 32u

/* Checks the DTB at blob, of which size bytes are readable. Returns 0 when
 * libfdt may walk it, or -1 with one sentence saying what is wrong and at
 * which offset from the start of the blob written into why. */
int dtb_bounds_check(const void *blob, size_t size, char *why, size_t why_size);

#endif
