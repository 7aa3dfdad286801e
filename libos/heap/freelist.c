/*
 * Free-list policy: one address-ordered list of free blocks, first fit,
 * and a freed block coalesces at once with free neighbours in the same
 * region. Address order plus first fit keeps fragmentation low (Johnstone
 * and Wilson, ISMM'98) at the price of O(free blocks) alloc and free.
 *
 * Owns: its regions: [region header | blocks ... | end sentinel], each block
 * a 16-byte header and a payload. Gives a region back once it is all free
 * (except the first, which holds this state).
 * Never: merges across regions, or lets two free blocks touch.
 */
#include "libos/heap/heap_impl.h"

#include <string.h>

#define FL_GROW_MIN ((size_t)64 * 1024)
#define FL_FREE	    ((size_t)1)
#define FL_LIVE	    ((uintptr_t)0xf1ee1157a110c000ull)

struct fl_block {
	size_t size; /* whole block with header, multiple of 16; FL_FREE bit */
	union {
		struct fl_block *next; /* free: next free block, by address */
		uintptr_t tag;	       /* in use: FL_LIVE ^ payload */
	};
};

#define FL_HDR	     sizeof(struct fl_block)
#define FL_MIN_BLOCK (2 * FL_HDR)

struct freelist {
	struct fl_block *head;
	struct heap_region *regions; /* newest first; the last holds us */
	size_t bytes_in_use;
	size_t bytes_free;
	size_t live_blocks;
};

#define FL_STATE_SIZE heap_align_up(sizeof(struct freelist), HEAP_MIN_ALIGN)

static struct freelist *fl_of(struct heap *h)
{
	return h->priv;
}

static size_t fl_size(const struct fl_block *b)
{
	return b->size & ~FL_FREE;
}

static struct fl_block *fl_after(struct fl_block *b)
{
	return (struct fl_block *)((uintptr_t)b + fl_size(b));
}

static uintptr_t fl_payload(const struct fl_block *b)
{
	return (uintptr_t)b + FL_HDR;
}

static void fl_mark_used(struct fl_block *b, size_t size)
{
	b->size = size;
	b->tag = FL_LIVE ^ fl_payload(b);
}

static uintptr_t fl_first_block(struct heap_region *r)
{
	uintptr_t at = (uintptr_t)r + sizeof(*r);

	return r->next ? at : at + FL_STATE_SIZE;
}

static struct fl_block *fl_sentinel(struct heap_region *r)
{
	return (struct fl_block *)((uintptr_t)r + r->bytes - FL_HDR);
}

/* Puts a free block in the list, merged with free neighbours. */
static struct fl_block *fl_insert(struct freelist *fl, struct fl_block *b)
{
	struct fl_block **link = &fl->head;
	struct fl_block *prev = NULL;

	while (*link && *link < b) {
		prev = *link;
		link = &prev->next;
	}
	fl->bytes_free += fl_size(b) - FL_HDR;
	b->next = *link;
	if (b->next && fl_after(b) == b->next) {
		b->size += fl_size(b->next);
		b->next = b->next->next;
		fl->bytes_free += FL_HDR;
	}
	if (prev && fl_after(prev) == b) {
		prev->size += fl_size(b);
		prev->next = b->next;
		fl->bytes_free += FL_HDR;
		return prev;
	}
	*link = b;
	return b;
}

static void fl_add_region(struct freelist *fl, struct heap_region *r)
{
	struct fl_block *b;

	r->next = fl->regions;
	fl->regions = r;
	b = (struct fl_block *)fl_first_block(r);
	fl_mark_used(fl_sentinel(r), 0);
	b->size = ((uintptr_t)fl_sentinel(r) - (uintptr_t)b) | FL_FREE;
	fl_insert(fl, b);
}

static bool fl_init(struct heap *h)
{
	size_t got;
	struct heap_region *r = heap_source_grow(&h->src, h->ops->first_grow, &got);
	struct freelist *fl;

	if (!r)
		return false;
	r->bytes = got;
	r->next = NULL;
	fl = (struct freelist *)((uintptr_t)r + sizeof(*r));
	memset(fl, 0, sizeof(*fl));
	h->priv = fl;
	fl_add_region(fl, r);
	return true;
}

static bool fl_grow(struct heap *h, size_t need)
{
	size_t got, want = need + sizeof(struct heap_region) + FL_HDR;
	struct heap_region *r;

	r = heap_source_grow(&h->src, want > FL_GROW_MIN ? want : FL_GROW_MIN,
			     &got);
	if (!r)
		return false;
	r->bytes = got;
	fl_add_region(fl_of(h), r);
	return true;
}

/* Bytes of b before a payload aligned to align: 0, or room for a free
 * block in front. */
static size_t fl_gap(struct fl_block *b, size_t align)
{
	uintptr_t p = heap_align_up_ptr(fl_payload(b), align);

	if (p != fl_payload(b) && p - fl_payload(b) < FL_MIN_BLOCK)
		p = heap_align_up_ptr(fl_payload(b) + FL_MIN_BLOCK, align);
	return p - fl_payload(b);
}

/* Cuts [b + gap, + size) out of free block b, now at *link; the pieces
 * in front and behind stay free. */
static struct fl_block *fl_take(struct freelist *fl, struct fl_block **link,
				size_t gap, size_t size)
{
	struct fl_block *b = *link;
	size_t total = fl_size(b);
	struct fl_block *blk = (struct fl_block *)((uintptr_t)b + gap);
	size_t rest = total - gap - size;

	fl->bytes_free -= total - FL_HDR;
	if (gap) {
		b->size = gap | FL_FREE;
		fl->bytes_free += gap - FL_HDR;
		link = &b->next;
	} else {
		*link = b->next;
	}
	if (rest >= FL_MIN_BLOCK) {
		struct fl_block *tail =
		    (struct fl_block *)((uintptr_t)blk + size);

		tail->size = rest | FL_FREE;
		tail->next = *link;
		*link = tail;
		fl->bytes_free += rest - FL_HDR;
	} else {
		size += rest;
	}
	fl_mark_used(blk, size);
	fl->bytes_in_use += size - FL_HDR;
	fl->live_blocks++;
	return blk;
}

static void *fl_search(struct freelist *fl, size_t align, size_t size)
{
	for (struct fl_block **link = &fl->head; *link; link = &(*link)->next) {
		size_t gap = fl_gap(*link, align);

		if (gap + size <= fl_size(*link))
			return (void *)fl_payload(fl_take(fl, link, gap, size));
	}
	return NULL;
}

static void *fl_memalign(struct heap *h, size_t align, size_t size)
{
	size_t need = heap_align_up(size, HEAP_MIN_ALIGN) + FL_HDR;
	void *p;

	if (need < FL_MIN_BLOCK)
		need = FL_MIN_BLOCK;
	p = fl_search(fl_of(h), align, need);
	if (p || !fl_grow(h, need + align + FL_MIN_BLOCK))
		return p;
	return fl_search(fl_of(h), align, need);
}

static void *fl_alloc(struct heap *h, size_t size)
{
	return fl_memalign(h, HEAP_MIN_ALIGN, size);
}

static struct fl_block *fl_block_of(const void *ptr)
{
	struct fl_block *b = (struct fl_block *)((uintptr_t)ptr - FL_HDR);

	return !(b->size & FL_FREE) && b->tag == (FL_LIVE ^ (uintptr_t)ptr)
		   ? b
		   : NULL;
}

/* A region other than the first that is one free block goes back. */
static void fl_maybe_release(struct heap *h, struct fl_block *b)
{
	struct freelist *fl = fl_of(h);
	struct heap_region **link = &fl->regions;
	struct heap_region *r;

	if (!heap_source_can_shrink(&h->src))
		return;
	for (; (r = *link) && r->next; link = &r->next) {
		if (fl_first_block(r) != (uintptr_t)b ||
		    fl_after(b) != fl_sentinel(r))
			continue;
		*link = r->next;
		for (struct fl_block **l = &fl->head;; l = &(*l)->next) {
			if (*l == b) {
				*l = b->next;
				break;
			}
		}
		fl->bytes_free -= fl_size(b) - FL_HDR;
		heap_source_shrink(&h->src, r, r->bytes);
		return;
	}
}

static bool fl_free(struct heap *h, void *ptr)
{
	struct freelist *fl = fl_of(h);
	struct fl_block *b = fl_block_of(ptr);

	if (!b)
		return false;
	fl->bytes_in_use -= fl_size(b) - FL_HDR;
	fl->live_blocks--;
	b->size |= FL_FREE;
	b = fl_insert(fl, b);
	if (fl_size(b) >= FL_GROW_MIN / 2)
		fl_maybe_release(h, b);
	return true;
}

static size_t fl_usable_size(struct heap *h, const void *ptr)
{
	struct fl_block *b = fl_block_of(ptr);

	(void)h;
	return b ? fl_size(b) - FL_HDR : 0;
}

static void fl_stats(struct heap *h, struct heap_stats *st)
{
	struct freelist *fl = fl_of(h);

	st->bytes_in_use = fl->bytes_in_use;
	st->bytes_free = fl->bytes_free;
	st->live_blocks = fl->live_blocks;
	for (struct fl_block *b = fl->head; b; b = b->next)
		if (fl_size(b) - FL_HDR > st->largest_free)
			st->largest_free = fl_size(b) - FL_HDR;
}

/* Walks a region's blocks; returns the number of free ones, or -1. */
static long fl_check_region(struct heap_region *r, size_t *used, size_t *live)
{
	struct fl_block *b = (struct fl_block *)fl_first_block(r);
	struct fl_block *end = fl_sentinel(r);
	long nfree = 0;
	bool prev_free = false;

	while (b < end) {
		size_t size = fl_size(b);

		if (size < FL_MIN_BLOCK || size % HEAP_MIN_ALIGN ||
		    size > (uintptr_t)end - (uintptr_t)b)
			return -1;
		if (b->size & FL_FREE) {
			if (prev_free)
				return -1; /* missed coalescing */
			nfree++;
		} else if (b->tag != (FL_LIVE ^ fl_payload(b))) {
			return -1;
		} else {
			*used += size - FL_HDR;
			++*live;
		}
		prev_free = b->size & FL_FREE;
		b = fl_after(b);
	}
	return b == end && end->size == 0 ? nfree : -1;
}

static const char *fl_check(struct heap *h)
{
	struct freelist *fl = fl_of(h);
	size_t used = 0, live = 0, free_bytes = 0;
	long nfree = 0, listed = 0;

	for (struct heap_region *r = fl->regions; r; r = r->next) {
		long n = fl_check_region(r, &used, &live);

		if (n < 0)
			return "freelist: region blocks corrupt or uncoalesced";
		nfree += n;
	}
	for (struct fl_block *b = fl->head; b; b = b->next, listed++) {
		if (!(b->size & FL_FREE))
			return "freelist: listed block not free";
		if (b->next && b->next <= b)
			return "freelist: list not in address order";
		if (listed > nfree)
			return "freelist: list longer than free blocks";
		free_bytes += fl_size(b) - FL_HDR;
	}
	if (listed != nfree)
		return "freelist: free block missing from the list";
	if (used != fl->bytes_in_use || live != fl->live_blocks ||
	    free_bytes != fl->bytes_free)
		return "freelist: blocks disagree with stats";
	return NULL;
}

static void fl_destroy(struct heap *h)
{
	struct heap_region *r = fl_of(h)->regions;

	while (r) {
		struct heap_region *next = r->next;

		heap_source_shrink(&h->src, r, r->bytes);
		r = next;
	}
}

HEAP_COUNTED_ENTRIES(fl_alloc, fl_free)

const struct heap_ops heap_freelist_ops = {
    .name = "freelist",
    .init = fl_init,
    .alloc = fl_alloc,
    .free = fl_free,
    .alloc_entry = fl_alloc_entry,
    .free_entry = fl_free_entry,
    .memalign = fl_memalign,
    .usable_size = fl_usable_size,
    .stats = fl_stats,
    .check = fl_check,
    .destroy = fl_destroy,
    .natural_align = HEAP_MIN_ALIGN,
    .first_grow = FL_GROW_MIN,
};
