/*
 * libos/heap: how a policy finds a block's owner. The sizeclass policy's
 * own edges (its size classes, segments going back, foreign and stale
 * pointers refused without touching them), the page map buddy and slab
 * find arenas with, and their lookups across many arenas.
 */
#include <criterion/criterion.h>
#include <libos/heap/heap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libos/heap/pagemap.h"

/* ---- a page source over aligned_alloc that keeps a ledger ---- */

#define SRC_MAX 4096

struct src {
	size_t limit, outstanding;
	unsigned grows_left; /* refuse after this many grows (UINT_MAX: never) */
	void *base[SRC_MAX];
	size_t bytes[SRC_MAX];
};

static void *src_grow(void *ctx, size_t min, size_t *got)
{
	struct src *s = ctx;
	size_t n = (min + HEAP_PAGE_SIZE - 1) & ~(size_t)(HEAP_PAGE_SIZE - 1);

	if (!s->grows_left || n > s->limit - s->outstanding)
		return NULL;
	s->grows_left--;
	for (int i = 0; i < SRC_MAX; i++) {
		if (s->base[i])
			continue;
		s->base[i] = aligned_alloc(HEAP_PAGE_SIZE, n);
		cr_assert_not_null(s->base[i]);
		s->bytes[i] = n;
		s->outstanding += n;
		*got = n;
		return s->base[i];
	}
	return NULL;
}

static void src_shrink(void *ctx, void *base, size_t bytes)
{
	struct src *s = ctx;

	for (int i = 0; i < SRC_MAX; i++) {
		if (s->base[i] != base)
			continue;
		cr_assert_eq(s->bytes[i], bytes, "partial shrink");
		free(base);
		s->base[i] = NULL;
		s->outstanding -= bytes;
		return;
	}
	cr_assert_fail("shrink of %p, never grown", base);
}

static void src_init(struct src *s)
{
	memset(s, 0, sizeof(*s));
	s->limit = SIZE_MAX;
	s->grows_left = UINT32_MAX;
}

static void open_heap(struct heap *h, struct src *s, const char *policy)
{
	src_init(s);
	cr_assert_eq(heap_create(policy, src_grow, src_shrink, s, h), HEAP_OK);
}

static void close_heap(struct heap *h, struct src *s)
{
	const char *why = heap_check(h);

	cr_assert_null(why, "%s", why);
	heap_destroy(h);
	cr_assert_eq(s->outstanding, 0, "%zu bytes kept", s->outstanding);
}

static uint64_t bad_frees(struct heap *h)
{
	struct heap_stats st;

	heap_stats(h, &st);
	return st.bad_frees;
}

/* ---- sizeclass ---- */

/* Each request lands in the smallest class that holds it: 16 B steps to
 * 128 B, then four classes per power of two, so the slack is below a
 * quarter of the request; beyond 8 KiB a large block. */
Test(heap_owner, sizeclass_class_boundaries)
{
	static const struct {
		size_t ask, usable;
	} edge[] = {
	    {1, 16},	   {16, 16},	 {17, 32},	 {128, 128},
	    {129, 160},	   {160, 160},	 {161, 192},	 {256, 256},
	    {257, 320},	   {4096, 4096}, {4097, 5120},	 {6144, 6144},
	    {6145, 7168},  {8192, 8192},
	};
	struct src s;
	struct heap h;

	open_heap(&h, &s, "sizeclass");
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		void *p = heap_alloc(&h, edge[i].ask);

		cr_assert_eq(heap_usable_size(&h, p), edge[i].usable,
			     "alloc(%zu): usable %zu, want %zu", edge[i].ask,
			     heap_usable_size(&h, p), edge[i].usable);
		heap_free(&h, p);
	}
	for (size_t n = 129; n <= 8192; n += 7) {
		void *p = heap_alloc(&h, n);
		size_t u = heap_usable_size(&h, p);

		cr_assert(u >= n && u * 4 < n * 5 + 64, "alloc(%zu): usable %zu",
			  n, u);
		heap_free(&h, p);
	}
	{
		char *p = heap_alloc(&h, 8193);

		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % 64, 0);
		cr_assert_geq(heap_usable_size(&h, p), 8193);
		memset(p, 1, 8193);
		heap_free(&h, p);
	}
	cr_assert_eq(bad_frees(&h), 0);
	close_heap(&h, &s);
}

/* Segments whose pages all empty go back to the source with their region;
 * what stays is the state, and the one empty page kept per class. */
Test(heap_owner, sizeclass_segments_go_back)
{
	static void *p[6000];
	struct src s;
	struct heap h;
	struct heap_stats st;
	size_t first, peak;

	open_heap(&h, &s, "sizeclass");
	first = s.outstanding;
	for (int i = 0; i < 6000; i++)
		cr_assert_not_null(p[i] = heap_alloc(&h, 1000));
	peak = s.outstanding;
	cr_assert_gt(peak, first + 6000 * 1000);
	cr_assert_null(heap_check(&h));
	for (int i = 0; i < 6000; i++)
		heap_free(&h, p[i]);
	cr_assert_null(heap_check(&h));
	heap_stats(&h, &st);
	cr_assert_gt(st.shrinks, 0, "no region went back");
	/* At most one region holds the kept page: 4 segments and slack. */
	cr_assert_leq(s.outstanding, first + 5 * 256 * 1024,
		      "kept %zu of %zu bytes", s.outstanding - first,
		      peak - first);
	cr_assert_eq(st.live_blocks, 0);
	close_heap(&h, &s);
}

/* A new page goes where a page of its span has room (the room lists):
 * pages emptied and given back in a full segment make room there again,
 * and the next pages of that span take it before the source is asked.
 * 4 KiB blocks: pages of 16 slices, four slots a segment, the first
 * shared with the segment's header: 60 blocks a segment (the premise,
 * checked below). */
#define ROOM_SEG_SHIFT	18 /* segments: 256 KiB, aligned */
#define ROOM_SLOT_SHIFT 16 /* a 16-slice page's aligned slot: 64 KiB */
#define ROOM_BLOCK	4096
#define ROOM_PER_SEG	60
#define ROOM_SEGS	4
#define ROOM_BLOCKS	(ROOM_SEGS * ROOM_PER_SEG) /* every segment full */
#define ROOM_FREED	3 /* pages emptied: one may be kept, not given back */

Test(heap_owner, sizeclass_room_lists)
{
	static void *p[ROOM_BLOCKS];
	uintptr_t seg, slots[ROOM_FREED];
	unsigned nslots = 0, refilled = 0;
	struct src s;
	struct heap h;
	size_t peak;

	open_heap(&h, &s, "sizeclass");
	for (int i = 0; i < ROOM_BLOCKS; i++)
		cr_assert_not_null(p[i] = heap_alloc(&h, ROOM_BLOCK));
	cr_assert_null(heap_check(&h));
	peak = s.outstanding;
	/* Pages of a span fill a segment before an empty one is taken: the
	 * blocks fill ROOM_SEGS segments exactly (the premise). */
	for (int i = 0; i < ROOM_BLOCKS; i++)
		cr_assert_eq((uintptr_t)p[i] >> ROOM_SEG_SHIFT,
			     (uintptr_t)p[i / ROOM_PER_SEG * ROOM_PER_SEG] >>
				 ROOM_SEG_SHIFT,
			     "block %d is not in its segment", i);
	/* The first segment's first ROOM_FREED slots. */
	seg = (uintptr_t)p[0] >> ROOM_SEG_SHIFT;
	for (int i = 0; i < ROOM_BLOCKS && nslots < ROOM_FREED; i++) {
		uintptr_t slot = (uintptr_t)p[i] >> ROOM_SLOT_SHIFT;
		bool seen = false;

		for (unsigned k = 0; k < nslots; k++)
			seen |= slots[k] == slot;
		if (!seen && (uintptr_t)p[i] >> ROOM_SEG_SHIFT == seg)
			slots[nslots++] = slot;
	}
	cr_assert_eq(nslots, ROOM_FREED);
	for (int i = 0; i < ROOM_BLOCKS; i++) {
		for (unsigned k = 0; k < nslots; k++) {
			if ((uintptr_t)p[i] >> ROOM_SLOT_SHIFT == slots[k]) {
				heap_free(&h, p[i]);
				p[i] = NULL;
			}
		}
	}
	cr_assert_null(heap_check(&h));
	/* As many blocks again: into the freed slots, no grow. */
	for (int i = 0; i < ROOM_BLOCKS; i++) {
		if (p[i])
			continue;
		cr_assert_not_null(p[i] = heap_alloc(&h, ROOM_BLOCK));
		cr_assert_eq((uintptr_t)p[i] >> ROOM_SEG_SHIFT, seg,
			     "block %d went to another segment", i);
		refilled++;
	}
	cr_assert_gt(refilled, 0);
	cr_assert_eq(s.outstanding, peak, "the source was asked again");
	cr_assert_null(heap_check(&h));
	for (int i = 0; i < ROOM_BLOCKS; i++)
		heap_free(&h, p[i]);
	cr_assert_eq(bad_frees(&h), 0);
	close_heap(&h, &s);
}

/* Pointers the heap never handed out: refused and counted, never read. A
 * stack address, a C-library block, a segment's header, a free slice, a
 * block not yet carved, an interior pointer, a large block's interior and
 * a freed large block's address. */
Test(heap_owner, sizeclass_foreign_pointers)
{
	struct src s;
	struct heap h;
	char local[64];
	char *libc = malloc(4096);
	char *a, *big, *gone;
	uintptr_t seg;
	uint64_t before;

	open_heap(&h, &s, "sizeclass");
	a = heap_alloc(&h, 64);
	big = heap_alloc(&h, 200000);
	gone = heap_alloc(&h, 300000);
	heap_free(&h, gone);
	seg = (uintptr_t)a & ~(uintptr_t)(256 * 1024 - 1);
	cr_assert_not_null(libc);
	void *bad[] = {
	    local + 16 - ((uintptr_t)local & 15),
	    libc,
	    (void *)seg,			  /* the segment header */
	    (void *)(seg + 255 * 1024),		  /* a slice no page has */
	    a + 64 * 200,			  /* in the page, not carved */
	    a + 16,				  /* inside a block */
	    big + 4096,				  /* inside a large block */
	    big + 32,	/* inside, where the map's large-key bit lands */
	    big + 16,
	    gone,				  /* given back */
	    (void *)(uintptr_t)16,		  /* near NULL */
	    (void *)(UINTPTR_MAX & ~(uintptr_t)15), /* the top */
	};
	before = bad_frees(&h);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(heap_usable_size(&h, bad[i]), 0, "pointer %zu", i);
		heap_free(&h, bad[i]);
		cr_assert_eq(bad_frees(&h), before + i + 1, "pointer %zu", i);
	}
	cr_assert_null(heap_check(&h));
	{
		struct heap_stats st0, st1;

		heap_stats(&h, &st0);
		heap_free(&h, NULL); /* nothing, and not counted */
		heap_stats(&h, &st1);
		cr_assert_eq(st1.frees, st0.frees);
		cr_assert_eq(st1.bad_frees, st0.bad_frees);
	}
	heap_free(&h, a);
	heap_free(&h, a); /* double free: the cookie, then the lists */
	cr_assert_eq(bad_frees(&h), before + sizeof(bad) / sizeof(bad[0]) + 1);
	heap_free(&h, big);
	free(libc);
	close_heap(&h, &s);
}

/* Free's block test (bounds and stride by one multiply) against every
 * 16-byte step of a segment, in every class: only the one live block is
 * freed; the header, the other free blocks (on the free list and on the
 * local free list: double frees), blocks not carved, interiors and a
 * misaligned pointer are refused and counted, and nothing is corrupted. */
Test(heap_owner, sizeclass_every_offset_of_a_segment)
{
	size_t last = 0;

	for (size_t n = 16; n <= 8192; n += 16) {
		struct src s;
		struct heap h;
		struct heap_stats st;
		char *a, *b;
		uintptr_t seg;
		uint64_t before, refused = 0;
		size_t u;

		open_heap(&h, &s, "sizeclass");
		a = heap_alloc(&h, n);
		u = heap_usable_size(&h, a);
		if (u == last) {
			heap_free(&h, a);
			close_heap(&h, &s);
			continue; /* one run per class */
		}
		last = u;
		b = heap_alloc(&h, n);
		heap_free(&h, b); /* onto the local free list */
		seg = (uintptr_t)a & ~(uintptr_t)(256 * 1024 - 1);
		before = bad_frees(&h);
		for (uintptr_t p = seg; p < seg + 256 * 1024; p += 16) {
			if (p == (uintptr_t)a)
				continue;
			heap_free(&h, (void *)p);
			refused++;
			cr_assert_eq(bad_frees(&h), before + refused,
				     "class %zu: offset %zu freed", u,
				     (size_t)(p - seg));
		}
		heap_free(&h, a + 8);
		cr_assert_eq(bad_frees(&h), before + refused + 1);
		cr_assert_null(heap_check(&h), "class %zu: %s", u,
			       heap_check(&h));
		cr_assert_eq(heap_usable_size(&h, a), u);
		heap_free(&h, a);
		heap_stats(&h, &st);
		cr_assert_eq(st.frees, 2);
		cr_assert_eq(st.live_blocks, 0);
		close_heap(&h, &s);
	}
}

/* Stale pointers: blocks freed, their pages and regions given back or
 * kept empty; every second free of them is refused and counted. */
Test(heap_owner, sizeclass_stale_pointers)
{
	static void *p[8000];
	struct src s;
	struct heap h;
	struct heap_stats st;

	open_heap(&h, &s, "sizeclass");
	for (int i = 0; i < 8000; i++)
		cr_assert_not_null(p[i] = heap_alloc(&h, 16 + (i % 64) * 16 + (i & 1) * 1024));
	for (int i = 0; i < 8000; i++)
		heap_free(&h, p[i]);
	heap_stats(&h, &st);
	cr_assert_gt(st.shrinks, 0, "no region went back");
	for (int i = 0; i < 8000; i++)
		heap_free(&h, p[i]);
	heap_stats(&h, &st);
	cr_assert_eq(st.frees, 8000);
	cr_assert_eq(st.bad_frees, 8000);
	cr_assert_null(heap_check(&h));
	close_heap(&h, &s);
}

/* A live block whose bytes happen to spell a free block's cookie is still
 * freed once (the lists decide), and a second free of it is refused. */
Test(heap_owner, sizeclass_cookie_lookalike)
{
	struct src s;
	struct heap h;
	uintptr_t *a, *b;
	struct heap_stats st;

	open_heap(&h, &s, "sizeclass");
	a = heap_alloc(&h, 32);
	b = heap_alloc(&h, 32);
	heap_free(&h, b);
	/* Copy b's cookie onto a: both are of one page, whose cookie it
	 * is (were the cookie alone to decide, a's first free would be
	 * refused). */
	cr_assert_neq(b[1], 0);
	a[1] = b[1];
	a[0] = 0;
	heap_free(&h, a);
	heap_free(&h, a);
	heap_stats(&h, &st);
	cr_assert_eq(st.frees, 2);
	cr_assert_eq(st.bad_frees, 1);
	close_heap(&h, &s);
}

/* The source runs dry while a new region or a large block is wanted:
 * NULL, nothing half-made, and the heap still works. */
Test(heap_owner, sizeclass_source_refuses)
{
	struct src s;
	struct heap h;
	void *p;

	open_heap(&h, &s, "sizeclass");
	s.grows_left = 0;
	cr_assert_null(heap_alloc(&h, 64));
	cr_assert_null(heap_alloc(&h, 1 << 20));
	cr_assert_null(heap_check(&h));
	s.grows_left = UINT32_MAX;
	p = heap_alloc(&h, 64);
	cr_assert_not_null(p);
	heap_free(&h, p);
	close_heap(&h, &s);
}

/* ---- the page map ---- */

Test(heap_owner, pagemap_two_owners_a_window_and_all_or_nothing)
{
	struct src s;
	struct heap_source hs = {.grow = src_grow, .shrink = src_shrink};
	static struct heap_pagemap pm;
	const uintptr_t w = (uintptr_t)1 << HEAP_PAGEMAP_WINDOW_SHIFT;
	const uintptr_t at = (uintptr_t)0x40000000;
	int x, y, z;
	void *const *o;

	src_init(&s);
	hs.ctx = &s;
	heap_pagemap_init(&pm, &hs);
	cr_assert_null(heap_pagemap_lookup(&pm, at));
	cr_assert(heap_pagemap_add(&pm, at, at + w + w / 2, &x));
	cr_assert(heap_pagemap_add(&pm, at + w + w / 2, at + 3 * w, &y));
	o = heap_pagemap_lookup(&pm, at + w + 16);
	cr_assert(o && ((o[0] == &x && o[1] == &y) ||
			(o[0] == &y && o[1] == &x)));
	/* A third owner in the shared window: refused, nothing changed. */
	cr_assert_not(heap_pagemap_add(&pm, at - w, at + 2 * w, &z));
	o = heap_pagemap_lookup(&pm, at - w);
	cr_assert(!o || (!o[0] && !o[1]), "a refused add left an owner");
	o = heap_pagemap_lookup(&pm, at);
	cr_assert(o[0] == &x || o[1] == &x);
	cr_assert(o[0] != &z && o[1] != &z);
	heap_pagemap_remove(&pm, at, at + w + w / 2, &x);
	heap_pagemap_remove(&pm, at + w + w / 2, at + 3 * w, &y);
	cr_assert_eq(s.outstanding, 0, "empty nodes kept");
	/* A source with no page for a node: refused, nothing kept. */
	s.grows_left = 1;
	cr_assert_not(heap_pagemap_add(&pm, at, at + w, &x));
	cr_assert_eq(s.outstanding, 0);
	cr_assert_null(heap_pagemap_lookup(&pm, at));
	heap_pagemap_release(&pm);
}

/* ---- buddy and slab across many arenas ---- */

static void many_arenas(const char *policy)
{
	static char *p[48];
	struct src s;
	struct heap h;
	size_t first;

	open_heap(&h, &s, policy);
	first = s.outstanding;
	/* 200 KB blocks: a 256 KiB buddy block each, an arena each. */
	for (int i = 0; i < 48; i++) {
		p[i] = heap_alloc(&h, 200000);
		cr_assert_not_null(p[i]);
		memset(p[i], i, 200000);
	}
	for (int i = 0; i < 48; i++) {
		cr_assert_eq(heap_usable_size(&h, p[i]), 256 * 1024);
		cr_assert_eq(heap_usable_size(&h, p[i] + 4096), 0);
		heap_free(&h, p[i] + 4096);
	}
	cr_assert_eq(bad_frees(&h), 48);
	cr_assert_null(heap_check(&h));
	/* Out of order, so arenas go back between live ones. */
	for (int i = 0; i < 48; i += 2)
		heap_free(&h, p[i]);
	cr_assert_null(heap_check(&h));
	for (int i = 0; i < 48; i += 2) {
		heap_free(&h, p[i]); /* its arena is gone: refused */
		cr_assert_eq(heap_usable_size(&h, p[i]), 0);
	}
	cr_assert_eq(bad_frees(&h), 72);
	for (int i = 1; i < 48; i += 2) {
		cr_assert_eq((unsigned char)p[i][199999], (unsigned char)i);
		heap_free(&h, p[i]);
	}
	cr_assert_eq(s.outstanding, first, "%s kept %zu bytes", policy,
		     s.outstanding - first);
	close_heap(&h, &s);
}

Test(heap_owner, buddy_many_arenas) { many_arenas("buddy"); }
Test(heap_owner, slab_many_arenas) { many_arenas("slab"); }
