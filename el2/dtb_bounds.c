/*
 * The bounded DTB walk (dtb_bounds.h). Offsets are kept in uint64_t and
 * every length is compared with what is left, never added first, so no sum
 * can wrap. Messages give offsets from the start of the blob, in hex, as a
 * hex dump shows them. Uses libfdt's tag and magic constants only, none of
 * its functions.
 */
#include <el2/dtb_bounds.h>
#include <lib/fmt.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The header fields, in file order. */
enum dtb_field {
	DTB_MAGIC,
	DTB_TOTALSIZE,
	DTB_OFF_STRUCT,
	DTB_OFF_STRINGS,
	DTB_OFF_RSVMAP,
	DTB_VERSION,
	DTB_LAST_COMP_VERSION,
	DTB_BOOT_CPUID,
	DTB_SIZE_STRINGS,
	DTB_SIZE_STRUCT,
	DTB_NR_FIELDS,
};

_Static_assert(DTB_NR_FIELDS * 4 == DTB_BOUNDS_HEADER_SIZE, "v17 header");

#define DTB_RSV_ENTRY_SIZE 16u /* address and size, 64 bits each */
#define DTB_RSVMAP_ALIGN   8u
#define DTB_PROP_HEADER	   12u /* tag, len, nameoff */

struct dtb_walk {
	const uint8_t *blob;
	uint32_t hdr[DTB_NR_FIELDS];
	uint64_t struct_end; /* offsets from the start of the blob */
	unsigned depth;	     /* nodes open */
	bool root_seen;
	bool root_closed;
	char *why;
	size_t why_size;
};

static int dtb_fail(struct dtb_walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int dtb_fail(struct dtb_walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(w->why, w->why_size, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t dtb_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* --- header --------------------------------------------------------------- */

/* A block [off, off + size) lies after the header, aligned, inside
 * totalsize. */
static int dtb_check_block(struct dtb_walk *w, const char *name, uint32_t off,
			   uint32_t size, uint32_t align)
{
	uint32_t total = w->hdr[DTB_TOTALSIZE];

	if (off < DTB_BOUNDS_HEADER_SIZE)
		return dtb_fail(w, "%s block at 0x%x overlaps the header", name,
				off);
	if (off % align)
		return dtb_fail(w, "%s block at 0x%x is not %u-byte aligned",
				name, off, align);
	if (off > total || size > total - off)
		return dtb_fail(w,
				"%s block at 0x%x, 0x%x bytes, ends past "
				"totalsize (0x%x)",
				name, off, size, total);
	return 0;
}

static int dtb_check_header(struct dtb_walk *w, size_t size)
{
	const uint32_t *h = w->hdr;

	if (size < DTB_BOUNDS_HEADER_SIZE)
		return dtb_fail(w, "%zu bytes, smaller than a DTB header (%u)",
				size, DTB_BOUNDS_HEADER_SIZE);
	for (unsigned i = 0; i < DTB_NR_FIELDS; i++)
		w->hdr[i] = dtb_be32(w->blob + 4 * i);
	if (h[DTB_MAGIC] != FDT_MAGIC)
		return dtb_fail(w, "bad magic 0x%08x (a DTB starts d00dfeed)",
				h[DTB_MAGIC]);
	if (h[DTB_VERSION] < DTB_BOUNDS_VERSION ||
	    h[DTB_LAST_COMP_VERSION] > DTB_BOUNDS_VERSION)
		return dtb_fail(w,
				"version %u (compatible with %u), not 17 "
				"(compile the .dts with dtc)",
				h[DTB_VERSION], h[DTB_LAST_COMP_VERSION]);
	if (h[DTB_TOTALSIZE] > DTB_BOUNDS_MAX_SIZE)
		return dtb_fail(w,
				"totalsize 0x%x is above 2 GiB (libfdt's "
				"offsets are int)",
				h[DTB_TOTALSIZE]);
	if (h[DTB_TOTALSIZE] < DTB_BOUNDS_HEADER_SIZE)
		return dtb_fail(w, "totalsize 0x%x is smaller than the header",
				h[DTB_TOTALSIZE]);
	if (h[DTB_TOTALSIZE] > size)
		return dtb_fail(w,
				"truncated: totalsize says 0x%x bytes, only "
				"0x%zx are there",
				h[DTB_TOTALSIZE], size);
	if (dtb_check_block(w, "structure", h[DTB_OFF_STRUCT],
			    h[DTB_SIZE_STRUCT], FDT_TAGSIZE) ||
	    dtb_check_block(w, "strings", h[DTB_OFF_STRINGS],
			    h[DTB_SIZE_STRINGS], 1) ||
	    dtb_check_block(w, "memory reservation", h[DTB_OFF_RSVMAP], 0,
			    DTB_RSVMAP_ALIGN))
		return -1;
	w->struct_end = (uint64_t)h[DTB_OFF_STRUCT] + h[DTB_SIZE_STRUCT];
	return 0;
}

/* Entries until one of size 0 (where libfdt stops too), every one inside
 * totalsize. */
static int dtb_check_rsvmap(struct dtb_walk *w)
{
	uint64_t total = w->hdr[DTB_TOTALSIZE];

	for (uint64_t o = w->hdr[DTB_OFF_RSVMAP];; o += DTB_RSV_ENTRY_SIZE) {
		const uint8_t *size = w->blob + o + DTB_RSV_ENTRY_SIZE / 2;

		if (total - o < DTB_RSV_ENTRY_SIZE)
			return dtb_fail(w,
					"memory reservation map at 0x%x has "
					"no end entry before totalsize (0x%x)",
					w->hdr[DTB_OFF_RSVMAP],
					w->hdr[DTB_TOTALSIZE]);
		if (!dtb_be32(size) && !dtb_be32(size + 4))
			return 0;
	}
}

/* --- structure block ------------------------------------------------------ */

static uint64_t dtb_tag_align(uint64_t o)
{
	return (o + FDT_TAGSIZE - 1) & ~(uint64_t)(FDT_TAGSIZE - 1);
}

static int dtb_begin_node(struct dtb_walk *w, uint64_t o, uint64_t *next)
{
	const uint8_t *name = w->blob + o + FDT_TAGSIZE;
	const uint8_t *nul =
	    memchr(name, '\0', w->struct_end - o - FDT_TAGSIZE);

	if (!nul)
		return dtb_fail(w,
				"node name at 0x%lx is not NUL-terminated "
				"inside the structure block",
				(unsigned long)(o + FDT_TAGSIZE));
	if (w->root_closed)
		return dtb_fail(w, "a second root node at 0x%lx",
				(unsigned long)o);
	if (w->depth == DTB_BOUNDS_MAX_DEPTH)
		return dtb_fail(w,
				"node at 0x%lx is nested deeper than %u "
				"levels",
				(unsigned long)o, DTB_BOUNDS_MAX_DEPTH);
	w->depth++;
	w->root_seen = true;
	*next = dtb_tag_align((uint64_t)(nul + 1 - w->blob));
	return 0;
}

static int dtb_end_node(struct dtb_walk *w, uint64_t o, uint64_t *next)
{
	if (!w->depth)
		return dtb_fail(w, "END_NODE at 0x%lx closes no node",
				(unsigned long)o);
	if (!--w->depth)
		w->root_closed = true;
	*next = o + FDT_TAGSIZE;
	return 0;
}

/* The name is a NUL-terminated string that starts inside the strings
 * block. */
static int dtb_prop_name(struct dtb_walk *w, uint64_t o, uint32_t nameoff)
{
	uint32_t strings_size = w->hdr[DTB_SIZE_STRINGS];
	const uint8_t *s = w->blob + w->hdr[DTB_OFF_STRINGS];

	if (nameoff >= strings_size)
		return dtb_fail(w,
				"property at 0x%lx: name offset 0x%x is past "
				"the strings block (0x%x bytes)",
				(unsigned long)o, nameoff, strings_size);
	if (!memchr(s + nameoff, '\0', strings_size - nameoff))
		return dtb_fail(w,
				"property at 0x%lx: its name (strings "
				"offset 0x%x) is not NUL-terminated inside the "
				"strings block",
				(unsigned long)o, nameoff);
	return 0;
}

static int dtb_prop(struct dtb_walk *w, uint64_t o, uint64_t *next)
{
	uint64_t left = w->struct_end - o;
	uint32_t len;

	if (!w->depth)
		return dtb_fail(w, "property at 0x%lx is outside any node",
				(unsigned long)o);
	if (left < DTB_PROP_HEADER)
		return dtb_fail(w,
				"property at 0x%lx is cut off by the end of "
				"the structure block (0x%lx)",
				(unsigned long)o, (unsigned long)w->struct_end);
	len = dtb_be32(w->blob + o + 4);
	if (len > left - DTB_PROP_HEADER)
		return dtb_fail(w,
				"property at 0x%lx has length 0x%x, past the "
				"end of the structure block (0x%lx)",
				(unsigned long)o, len,
				(unsigned long)w->struct_end);
	if (dtb_prop_name(w, o, dtb_be32(w->blob + o + 8)))
		return -1;
	*next = dtb_tag_align(o + DTB_PROP_HEADER + len);
	return 0;
}

static int dtb_end(struct dtb_walk *w, uint64_t o)
{
	if (!w->root_seen)
		return dtb_fail(w, "END at 0x%lx before any node",
				(unsigned long)o);
	if (w->depth)
		return dtb_fail(w, "END at 0x%lx with %u node(s) still open",
				(unsigned long)o, w->depth);
	return 0;
}

/* One tag at o: sets *next past it (always > o), or fails. */
static int dtb_step(struct dtb_walk *w, uint64_t o, uint32_t tag,
		    uint64_t *next)
{
	switch (tag) {
	case FDT_BEGIN_NODE:
		return dtb_begin_node(w, o, next);
	case FDT_END_NODE:
		return dtb_end_node(w, o, next);
	case FDT_PROP:
		return dtb_prop(w, o, next);
	case FDT_NOP:
		*next = o + FDT_TAGSIZE;
		return 0;
	default:
		return dtb_fail(w, "unknown tag 0x%x at 0x%lx", tag,
				(unsigned long)o);
	}
}

/* Forward only, at least one tag word per step: ends within
 * size_dt_struct / 4 + 1 steps whatever the lengths say. */
static int dtb_walk_struct(struct dtb_walk *w)
{
	uint64_t o = w->hdr[DTB_OFF_STRUCT];

	while (o + FDT_TAGSIZE <= w->struct_end) {
		uint32_t tag = dtb_be32(w->blob + o);
		uint64_t next = w->struct_end; /* every step sets it */

		if (tag == FDT_END)
			return dtb_end(w, o);
		if (dtb_step(w, o, tag, &next))
			return -1;
		o = next;
	}
	return dtb_fail(w, "the structure block (0x%x to 0x%lx) has no END tag",
			w->hdr[DTB_OFF_STRUCT], (unsigned long)w->struct_end);
}

int dtb_bounds_check(const void *blob, size_t size, char *why, size_t why_size)
{
	struct dtb_walk w = {.blob = blob, .why = why, .why_size = why_size};

	if (dtb_check_header(&w, size) || dtb_check_rsvmap(&w) ||
	    dtb_walk_struct(&w))
		return -1;
	if (why_size)
		why[0] = '\0';
	return 0;
}
