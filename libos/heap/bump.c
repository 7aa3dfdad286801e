/*
 * Bump policy: allocation moves a pointer forward through the current
 * region; free only marks the block dead (stats see it, memory is not
 * reused). For boot-time or arena-style guests that never free much.
 *
 * Owns: its regions, each a run of [16-byte header | payload] blocks.
 * Never: reuses a freed block, or gives memory back before heap_destroy.
 */
#include "libos/heap/heap_impl.h"

#include <string.h>

#define BUMP_GROW_MIN ((size_t)64 * 1024)
/* Header tags, mixed with the payload address so stale or foreign data
 * rarely passes for a header. */
#define BUMP_LIVE ((uintptr_t)0xb0b0a11c0ffee000ull)
#define BUMP_DEAD ((uintptr_t)0xb0b0dead0ffee000ull)
#define BUMP_PAD  ((uintptr_t)0xb0b0bad00ffee000ull)
#define BUMP_END  ((uintptr_t)0xb0b0e4d00ffee000ull)

struct bump_hdr {
	size_t size; /* payload bytes (a multiple of 16) */
	uintptr_t tag;
};

struct bump {
	struct heap_region *regions; /* newest first; the last holds us */
	uintptr_t cur, end;	     /* free space of the newest region */
	size_t bytes_in_use;
	size_t live_blocks;
};

#define BUMP_HDR	sizeof(struct bump_hdr)
#define BUMP_STATE_SIZE heap_align_up(sizeof(struct bump), HEAP_MIN_ALIGN)

static struct bump *bump_of(struct heap *h)
{
	return h->priv;
}

static void bump_put(uintptr_t at, size_t size, uintptr_t tag)
{
	struct bump_hdr *hdr = (struct bump_hdr *)at;

	hdr->size = size;
	hdr->tag = tag ^ (at + BUMP_HDR);
}

static uintptr_t bump_first_block(struct heap_region *r)
{
	return (uintptr_t)r + sizeof(*r);
}

static void bump_use_region(struct bump *b, struct heap_region *r,
			    uintptr_t start)
{
	/* Seal the old region so check() knows where its blocks end. */
	if (b->cur + BUMP_HDR <= b->end)
		bump_put(b->cur, 0, BUMP_END);
	r->next = b->regions;
	b->regions = r;
	b->cur = start;
	b->end = (uintptr_t)r + r->bytes;
}

static bool bump_init(struct heap *h)
{
	size_t got;
	struct heap_region *r = heap_source_grow(&h->src, h->ops->first_grow, &got);
	struct bump *b;

	if (!r)
		return false;
	r->bytes = got;
	b = (struct bump *)bump_first_block(r);
	memset(b, 0, sizeof(*b));
	bump_use_region(b, r, bump_first_block(r) + BUMP_STATE_SIZE);
	h->priv = b;
	return true;
}

static bool bump_grow(struct heap *h, size_t need)
{
	struct bump *b = bump_of(h);
	size_t got;
	size_t want = need + sizeof(struct heap_region);
	struct heap_region *r;

	r = heap_source_grow(&h->src,
			     want > BUMP_GROW_MIN ? want : BUMP_GROW_MIN, &got);
	if (!r)
		return false;
	r->bytes = got;
	bump_use_region(b, r, bump_first_block(r));
	return true;
}

/* Payload address for size bytes at align in the current region, or 0. */
static uintptr_t bump_fit(struct bump *b, size_t align, size_t size)
{
	uintptr_t p = heap_align_up_ptr(b->cur + BUMP_HDR, align);

	return p <= b->end && b->end - p >= size ? p : 0;
}

static void *bump_memalign(struct heap *h, size_t align, size_t size)
{
	struct bump *b = bump_of(h);
	size_t usable = heap_align_up(size, HEAP_MIN_ALIGN);
	uintptr_t p = bump_fit(b, align, usable);

	if (!p) {
		if (!bump_grow(h, usable + align + BUMP_HDR))
			return NULL;
		p = bump_fit(b, align, usable);
	}
	/* The gap left by alignment becomes a pad block check() can skip. */
	if (p - BUMP_HDR > b->cur)
		bump_put(b->cur, p - BUMP_HDR - b->cur - BUMP_HDR, BUMP_PAD);
	bump_put(p - BUMP_HDR, usable, BUMP_LIVE);
	b->cur = p + usable;
	b->bytes_in_use += usable;
	b->live_blocks++;
	return (void *)p;
}

static void *bump_alloc(struct heap *h, size_t size)
{
	return bump_memalign(h, HEAP_MIN_ALIGN, size);
}

static struct bump_hdr *bump_hdr_of(const void *ptr, uintptr_t tag)
{
	struct bump_hdr *hdr = (struct bump_hdr *)((uintptr_t)ptr - BUMP_HDR);

	return hdr->tag == (tag ^ (uintptr_t)ptr) ? hdr : NULL;
}

static bool bump_free(struct heap *h, void *ptr)
{
	struct bump *b = bump_of(h);
	struct bump_hdr *hdr = bump_hdr_of(ptr, BUMP_LIVE);

	if (!hdr)
		return false;
	hdr->tag = BUMP_DEAD ^ (uintptr_t)ptr;
	b->bytes_in_use -= hdr->size;
	b->live_blocks--;
	return true;
}

static size_t bump_usable_size(struct heap *h, const void *ptr)
{
	struct bump_hdr *hdr = bump_hdr_of(ptr, BUMP_LIVE);

	(void)h;
	return hdr ? hdr->size : 0;
}

static void bump_stats(struct heap *h, struct heap_stats *st)
{
	struct bump *b = bump_of(h);
	size_t room = b->end - b->cur;

	st->bytes_in_use = b->bytes_in_use;
	st->live_blocks = b->live_blocks;
	st->bytes_free = room > BUMP_HDR ? room - BUMP_HDR : 0;
	st->largest_free = st->bytes_free;
}

/* Walks one region's blocks; adds live ones to *bytes and *count. */
static const char *bump_check_region(struct bump *b, struct heap_region *r,
				     uintptr_t at, size_t *bytes, size_t *count)
{
	uintptr_t end = r == b->regions ? b->cur : (uintptr_t)r + r->bytes;

	while (at + BUMP_HDR <= end) {
		struct bump_hdr *hdr = (struct bump_hdr *)at;
		uintptr_t p = at + BUMP_HDR;

		if (hdr->tag == (BUMP_END ^ p))
			return NULL;
		if (hdr->size % HEAP_MIN_ALIGN || hdr->size > end - p)
			return "bump: block runs past its region";
		if (hdr->tag == (BUMP_LIVE ^ p)) {
			*bytes += hdr->size;
			++*count;
		} else if (hdr->tag != (BUMP_DEAD ^ p) &&
			   hdr->tag != (BUMP_PAD ^ p)) {
			return "bump: corrupt block header";
		}
		at = p + hdr->size;
	}
	return at == end ? NULL : "bump: blocks do not end at the top";
}

static const char *bump_check(struct heap *h)
{
	struct bump *b = bump_of(h);
	size_t bytes = 0, count = 0;
	const char *why;

	for (struct heap_region *r = b->regions; r; r = r->next) {
		uintptr_t at = bump_first_block(r);

		if (!r->next) /* the first region starts with our state */
			at += BUMP_STATE_SIZE;
		why = bump_check_region(b, r, at, &bytes, &count);
		if (why)
			return why;
	}
	if (b->cur > b->end)
		return "bump: top beyond the region end";
	if (bytes != b->bytes_in_use || count != b->live_blocks)
		return "bump: live blocks disagree with stats";
	return NULL;
}

static void bump_destroy(struct heap *h)
{
	struct heap_region *r = bump_of(h)->regions;

	while (r) {
		struct heap_region *next = r->next;

		heap_source_shrink(&h->src, r, r->bytes);
		r = next;
	}
}

HEAP_COUNTED_ENTRIES(bump_alloc, bump_free)

const struct heap_ops heap_bump_ops = {
    .name = "bump",
    .init = bump_init,
    .alloc = bump_alloc,
    .free = bump_free,
    .alloc_entry = bump_alloc_entry,
    .free_entry = bump_free_entry,
    .memalign = bump_memalign,
    .usable_size = bump_usable_size,
    .stats = bump_stats,
    .check = bump_check,
    .destroy = bump_destroy,
    .natural_align = HEAP_MIN_ALIGN,
    .first_grow = BUMP_GROW_MIN,
};
