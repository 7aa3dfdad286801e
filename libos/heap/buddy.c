/*
 * Buddy policy and the buddy engine slab builds on: blocks of 2^k bytes
 * (32 B and up), split in halves on alloc and merged with their buddy on
 * free. Blocks carry no header: one metadata byte per 32-byte unit of an
 * arena says where a block starts, its order and whether it is free, so a
 * block of up to 16 KiB is aligned to its own size.
 *
 * Owns: its arenas: [arena header | metadata | data aligned to 16 KiB], the
 * data carved into the largest aligned power-of-two blocks that fit. Gives
 * an arena back once all of it is free (not the first: it holds the state).
 * A block's arena is found in O(1): the first arena by its range, the
 * others through the page map (pagemap.h), whose windows each name at most
 * two of them because every arena after the first is a region of at least
 * BUDDY_GROW_MIN, the page map's window.
 * Never: writes a metadata byte inside a block (only at block starts), or
 * merges across arenas.
 */
#include "libos/heap/heap_impl.h"

#include <string.h>

#define BUDDY_GROW_MIN	 ((size_t)256 * 1024)
#define BUDDY_START	 0x80u
#define BUDDY_FREE	 0x40u
#define BUDDY_ORDER_MASK 0x3fu
#define BUDDY_UNIT	 ((size_t)1 << BUDDY_MIN_ORDER)

struct buddy_free {
	struct buddy_free *next, *prev;
	struct buddy_arena *arena;
};

struct buddy_arena {
	struct buddy_arena *next;
	void *region; /* what to give back to the source */
	size_t region_bytes;
	uintptr_t data;
	size_t data_len; /* a multiple of BUDDY_UNIT */
	size_t free_bytes;
	bool pinned;
	uint8_t meta[]; /* one byte per BUDDY_UNIT of data */
};

static size_t buddy_idx(const struct buddy_arena *a, uintptr_t p)
{
	return (p - a->data) >> BUDDY_MIN_ORDER;
}

static bool buddy_in_arena(const struct buddy_arena *a, uintptr_t p)
{
	return a && p >= a->data && p - a->data < a->data_len;
}

static struct buddy_arena *buddy_arena_of(const struct buddy *b, uintptr_t p)
{
	void *const *owners;

	if (buddy_in_arena(b->pinned, p))
		return b->pinned;
	owners = heap_pagemap_lookup(&b->map, p);
	if (!owners)
		return NULL;
	for (unsigned i = 0; i < HEAP_PAGEMAP_OWNERS; i++)
		if (buddy_in_arena(owners[i], p))
			return owners[i];
	return NULL;
}

_Static_assert(((size_t)1 << HEAP_PAGEMAP_WINDOW_SHIFT) <= BUDDY_GROW_MIN,
	       "arenas after the first are at least a page-map window");

static void buddy_push(struct buddy *b, struct buddy_arena *a, uintptr_t p,
		       unsigned k)
{
	struct buddy_free *f = (struct buddy_free *)p;

	f->arena = a;
	f->prev = NULL;
	f->next = b->lists[k];
	if (f->next)
		f->next->prev = f;
	b->lists[k] = f;
	b->nonempty |= (uint64_t)1 << k;
	a->meta[buddy_idx(a, p)] = (uint8_t)(BUDDY_START | BUDDY_FREE | k);
	b->bytes_free += (size_t)1 << k;
	a->free_bytes += (size_t)1 << k;
}

/* Takes a free block off its list; its metadata says allocated, order k. */
static void buddy_unlink(struct buddy *b, struct buddy_free *f, unsigned k)
{
	struct buddy_arena *a = f->arena;

	if (f->next)
		f->next->prev = f->prev;
	if (f->prev)
		f->prev->next = f->next;
	else
		b->lists[k] = f->next;
	if (!b->lists[k])
		b->nonempty &= ~((uint64_t)1 << k);
	a->meta[buddy_idx(a, (uintptr_t)f)] = (uint8_t)(BUDDY_START | k);
	b->bytes_free -= (size_t)1 << k;
	a->free_bytes -= (size_t)1 << k;
}

/* Largest order of a block at offset off that fits below len. */
static unsigned buddy_fit_order(size_t off, size_t len)
{
	unsigned k = off ? heap_ffs(off) : BUDDY_MAX_ORDER;

	if (k > BUDDY_MAX_ORDER)
		k = BUDDY_MAX_ORDER;
	while (((size_t)1 << k) > len - off)
		k--;
	return k;
}

static void buddy_carve(struct buddy *b, struct buddy_arena *a)
{
	for (size_t off = 0; off + BUDDY_UNIT <= a->data_len;) {
		unsigned k = buddy_fit_order(off, a->data_len);

		buddy_push(b, a, a->data + off, k);
		off += (size_t)1 << k;
	}
}

/* Lays an arena over [base, base + bytes); false if too small for one. */
static bool buddy_add_arena(struct buddy *b, void *base, size_t bytes,
			    void *region, size_t region_bytes)
{
	struct buddy_arena *a = base;
	uintptr_t end = (uintptr_t)base + bytes;
	uintptr_t data = heap_align_up_ptr(
	    (uintptr_t)a->meta + (bytes >> BUDDY_MIN_ORDER), BUDDY_BASE_ALIGN);

	if (data + BUDDY_UNIT > end)
		return false;
	memset(a, 0, sizeof(*a));
	a->region = region;
	a->region_bytes = region_bytes;
	a->pinned = region == NULL;
	a->data = data;
	a->data_len = (end - data) & ~(BUDDY_UNIT - 1);
	if (!a->pinned &&
	    !heap_pagemap_add(&b->map, a->data, a->data + a->data_len, a))
		return false;
	memset(a->meta, 0, a->data_len >> BUDDY_MIN_ORDER);
	a->next = b->arenas;
	b->arenas = a;
	buddy_carve(b, a);
	return true;
}

void buddy_init(struct buddy *b, struct heap_source *src, void *base,
		size_t bytes)
{
	memset(b, 0, sizeof(*b));
	b->src = src;
	heap_pagemap_init(&b->map, src);
	if (buddy_add_arena(b, base, bytes, NULL, 0))
		b->pinned = b->arenas;
}

static bool buddy_grow(struct buddy *b, unsigned order)
{
	size_t block = (size_t)1 << order;
	/* The block, its metadata, the header and the data alignment. */
	size_t want = block + (block >> (BUDDY_MIN_ORDER - 1)) +
		      sizeof(struct buddy_arena) + BUDDY_BASE_ALIGN;
	size_t got;
	void *r;

	if (want < BUDDY_GROW_MIN)
		want = BUDDY_GROW_MIN;
	r = heap_source_grow(b->src, want, &got);
	if (!r)
		return false;
	if (!buddy_add_arena(b, r, got, r, got)) {
		heap_source_shrink(b->src, r, got);
		return false;
	}
	return true;
}

void *buddy_alloc_order(struct buddy *b, unsigned order)
{
	uint64_t avail;
	struct buddy_free *f;
	struct buddy_arena *a;
	unsigned k;

	if (order > BUDDY_MAX_ORDER)
		return NULL;
	avail = b->nonempty & (~(uint64_t)0 << order);
	if (!avail && buddy_grow(b, order))
		avail = b->nonempty & (~(uint64_t)0 << order);
	if (!avail)
		return NULL;
	k = heap_ffs(avail);
	f = b->lists[k];
	a = f->arena;
	buddy_unlink(b, f, k);
	while (k > order) {
		k--;
		buddy_push(b, a, (uintptr_t)f + ((size_t)1 << k), k);
	}
	a->meta[buddy_idx(a, (uintptr_t)f)] = (uint8_t)(BUDDY_START | order);
	b->bytes_in_use += (size_t)1 << order;
	b->live_blocks++;
	return f;
}

int buddy_block_order(const struct buddy *b, const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	struct buddy_arena *a = buddy_arena_of(b, p);
	unsigned m;

	if (!a || (p - a->data) % BUDDY_UNIT)
		return -1;
	m = a->meta[buddy_idx(a, p)];
	if ((m & (BUDDY_START | BUDDY_FREE)) != BUDDY_START)
		return -1;
	return (int)(m & BUDDY_ORDER_MASK);
}

/* An arena that is all free again goes back to the source. */
static void buddy_maybe_release(struct buddy *b, struct buddy_arena *a)
{
	struct buddy_arena **link = &b->arenas;

	if (a->pinned || a->free_bytes != a->data_len ||
	    !heap_source_can_shrink(b->src))
		return;
	/* All free means all merged: exactly the blocks carving made. */
	for (size_t off = 0; off < a->data_len;) {
		unsigned k = buddy_fit_order(off, a->data_len);

		buddy_unlink(b, (struct buddy_free *)(a->data + off), k);
		off += (size_t)1 << k;
	}
	while (*link != a)
		link = &(*link)->next;
	*link = a->next;
	heap_pagemap_remove(&b->map, a->data, a->data + a->data_len, a);
	heap_source_shrink(b->src, a->region, a->region_bytes);
}

void buddy_free_block(struct buddy *b, void *ptr, unsigned order)
{
	struct buddy_arena *a = buddy_arena_of(b, (uintptr_t)ptr);
	size_t off = (uintptr_t)ptr - a->data;

	b->bytes_in_use -= (size_t)1 << order;
	b->live_blocks--;
	while (order < BUDDY_MAX_ORDER) {
		size_t size = (size_t)1 << order;
		size_t mate = off ^ size;

		if (mate + size > a->data_len ||
		    a->meta[mate >> BUDDY_MIN_ORDER] !=
			(BUDDY_START | BUDDY_FREE | order))
			break;
		buddy_unlink(b, (struct buddy_free *)(a->data + mate), order);
		/* The upper half is no block start any more. */
		a->meta[(off | size) >> BUDDY_MIN_ORDER] = 0;
		off &= ~size;
		order++;
	}
	buddy_push(b, a, a->data + off, order);
	buddy_maybe_release(b, a);
}

size_t buddy_largest_free(const struct buddy *b)
{
	return b->nonempty ? (size_t)1 << heap_fls(b->nonempty) : 0;
}

struct buddy_tally {
	size_t used, live, free_bytes;
	size_t nfree[BUDDY_ORDERS];
};

static const char *buddy_check_arena(const struct buddy_arena *a,
				     struct buddy_tally *n)
{
	size_t units = a->data_len >> BUDDY_MIN_ORDER, free_bytes = 0;

	for (size_t i = 0; i < units;) {
		unsigned m = a->meta[i], k = m & BUDDY_ORDER_MASK;
		size_t size = (size_t)1 << k, off = i << BUDDY_MIN_ORDER;
		size_t mate = off ^ size;

		if (!(m & BUDDY_START) || k < BUDDY_MIN_ORDER ||
		    k > BUDDY_MAX_ORDER || off % size ||
		    size > a->data_len - off)
			return "buddy: bad block start";
		for (size_t j = 1; j < size >> BUDDY_MIN_ORDER; j++)
			if (a->meta[i + j])
				return "buddy: metadata inside a block";
		if (!(m & BUDDY_FREE)) {
			n->used += size;
			n->live++;
		} else if (mate + size <= a->data_len &&
			   a->meta[mate >> BUDDY_MIN_ORDER] == m) {
			return "buddy: two free buddies not merged";
		} else {
			free_bytes += size;
			n->nfree[k]++;
		}
		i += size >> BUDDY_MIN_ORDER;
	}
	n->free_bytes += free_bytes;
	return free_bytes == a->free_bytes ? NULL
					   : "buddy: arena free bytes wrong";
}

static const char *buddy_check_lists(const struct buddy *b,
				     struct buddy_tally *n)
{
	for (unsigned k = 0; k < BUDDY_ORDERS; k++) {
		const struct buddy_free *prev = NULL;
		size_t count = 0;

		if (!!(b->nonempty & ((uint64_t)1 << k)) != !!b->lists[k])
			return "buddy: bitmap disagrees with a list";
		for (struct buddy_free *f = b->lists[k]; f; f = f->next) {
			struct buddy_arena *a = f->arena;

			if (buddy_arena_of(b, (uintptr_t)f) != a ||
			    f->prev != prev ||
			    a->meta[buddy_idx(a, (uintptr_t)f)] !=
				(BUDDY_START | BUDDY_FREE | k))
				return "buddy: bad free-list entry";
			if (++count > n->nfree[k])
				return "buddy: list longer than its blocks";
			prev = f;
		}
		if (count != n->nfree[k])
			return "buddy: free block missing from its list";
	}
	return NULL;
}

const char *buddy_check(const struct buddy *b)
{
	struct buddy_tally n;
	const char *why;

	memset(&n, 0, sizeof(n));
	for (struct buddy_arena *a = b->arenas; a; a = a->next) {
		why = buddy_check_arena(a, &n);
		if (why)
			return why;
	}
	why = buddy_check_lists(b, &n);
	if (why)
		return why;
	if (n.used != b->bytes_in_use || n.live != b->live_blocks ||
	    n.free_bytes != b->bytes_free)
		return "buddy: blocks disagree with stats";
	return NULL;
}

void buddy_release_all(struct buddy *b)
{
	struct buddy_arena *a = b->arenas;

	while (a) {
		struct buddy_arena *next = a->next;

		if (!a->pinned)
			heap_source_shrink(b->src, a->region, a->region_bytes);
		a = next;
	}
	b->arenas = NULL;
	b->pinned = NULL;
	heap_pagemap_release(&b->map);
}

/* ---- the buddy policy ---- */

struct buddy_heap {
	struct buddy engine;
	size_t region_bytes; /* of the first region, which holds us */
};

#define BUDDY_STATE_SIZE                                                       \
	heap_align_up(sizeof(struct buddy_heap), HEAP_MIN_ALIGN)

static struct buddy *buddy_of(struct heap *h)
{
	return &((struct buddy_heap *)h->priv)->engine;
}

static bool buddy_heap_init(struct heap *h)
{
	size_t got;
	struct buddy_heap *bh = heap_source_grow(&h->src, h->ops->first_grow, &got);

	if (!bh)
		return false;
	bh->region_bytes = got;
	buddy_init(&bh->engine, &h->src, (uint8_t *)bh + BUDDY_STATE_SIZE,
		   got - BUDDY_STATE_SIZE);
	h->priv = bh;
	return true;
}

static void *buddy_heap_alloc(struct heap *h, size_t size)
{
	return buddy_alloc_order(buddy_of(h), buddy_order_for(size));
}

static bool buddy_heap_free(struct heap *h, void *ptr)
{
	int order = buddy_block_order(buddy_of(h), ptr);

	if (order < 0)
		return false;
	buddy_free_block(buddy_of(h), ptr, (unsigned)order);
	return true;
}

static size_t buddy_heap_usable_size(struct heap *h, const void *ptr)
{
	int order = buddy_block_order(buddy_of(h), ptr);

	return order < 0 ? 0 : (size_t)1 << order;
}

static void buddy_heap_stats(struct heap *h, struct heap_stats *st)
{
	struct buddy *b = buddy_of(h);

	st->bytes_in_use = b->bytes_in_use;
	st->bytes_free = b->bytes_free;
	st->largest_free = buddy_largest_free(b);
	st->live_blocks = b->live_blocks;
}

static const char *buddy_heap_check(struct heap *h)
{
	return buddy_check(buddy_of(h));
}

static void buddy_heap_destroy(struct heap *h)
{
	struct buddy_heap *bh = h->priv;

	buddy_release_all(&bh->engine);
	heap_source_shrink(&h->src, bh, bh->region_bytes);
}

HEAP_COUNTED_ENTRIES(buddy_heap_alloc, buddy_heap_free)

const struct heap_ops heap_buddy_ops = {
    .name = "buddy",
    .init = buddy_heap_init,
    .alloc = buddy_heap_alloc,
    .free = buddy_heap_free,
    .alloc_entry = buddy_heap_alloc_entry,
    .free_entry = buddy_heap_free_entry,
    .usable_size = buddy_heap_usable_size,
    .stats = buddy_heap_stats,
    .check = buddy_heap_check,
    .destroy = buddy_heap_destroy,
    .natural_align = BUDDY_BASE_ALIGN,
    .first_grow = BUDDY_GROW_MIN,
};
