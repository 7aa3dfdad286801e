/*
 * Size-class policy, in the manner of mimalloc: 32 size classes from 16 B
 * to 8 KiB (eight steps of 16 B, then four per power of two, so at most a
 * fifth of a block is slack), each served from pages that hold blocks of
 * one class only. Pages are runs of 4 KiB slices inside 256 KiB segments
 * aligned to 256 KiB, so a block's segment is its address with the low
 * bits cleared and its page descriptor is the address masked and shifted:
 * no block carries a header. Larger requests get a region of their own.
 *
 * Free lists are sharded per page: alloc pops a page's `free` list, free
 * pushes its `local_free` list, and the two swap when `free` runs dry
 * (mimalloc's split, which keeps the alloc path's list from being written
 * by frees; a list for frees from other CPUs would be a third of the same
 * shape). Blocks are carved lazily from a page's span, a few at a time.
 * heap_alloc and heap_free come straight here (alloc_entry, free_entry):
 * the edges and the heap's counters are this file's.
 *
 * Owns: its regions ([region header | segments aligned to 256 KiB]), the
 * segment map (an open-addressed table of the segments and large blocks it
 * owns, so a foreign or stale pointer is recognised without touching the
 * memory it points into), the per-class page queues. A free block holds its
 * list link and a cookie (its page descriptor's address): a double free
 * is recognised exactly (the cookie, then the page's lists), a live block's
 * cookie is cleared when it is handed out.
 * Keeps at most one empty page per class (and one barely used heap-wide,
 * sc_page_emptied); a segment whose pages are all
 * gone counts as empty, and a region whose segments are all empty goes back
 * to the source. Never: writes inside a live block, or hands out memory
 * outside the segments and large regions in its map.
 */
#include "libos/heap/heap_impl.h"

#include <string.h>

#define SC_SEG_SHIFT	 18
#define SC_SEG_BYTES	 ((size_t)1 << SC_SEG_SHIFT)
#define SC_SEG_MASK	 (SC_SEG_BYTES - 1)
#define SC_SLICE_SHIFT	 12
#define SC_SLICE_BYTES	 ((size_t)1 << SC_SLICE_SHIFT)
#define SC_SLICES	 (SC_SEG_BYTES / SC_SLICE_BYTES)
#define SC_NO_PAGE	 0xffu
#define SC_NR_CLASSES	 32
#define SC_SMALL_CLASSES 8 /* 16 B steps up to 128 B */
#define SC_MEDIUM_MAX	 ((size_t)8 * 1024)
/* A page holds at least this many blocks where its span allows. */
#define SC_PAGE_MIN_BLOCKS 64
#define SC_SPAN_MIN	   1
#define SC_SPAN_MAX	   16 /* slices: 64 KiB (8 blocks of 8 KiB) */
/* Blocks carved into the free list per extension: four slices' worth
 * (fewer trips to the slow path while a page fills). */
#define SC_EXTEND_BYTES (4 * SC_SLICE_BYTES)
/* Segments per region at most: larger regions spread the alignment slack. */
#define SC_REGION_SEGS_MAX 4
#define SC_MAP_SLOTS	   2048 /* a power of two */
#define SC_MAP_MAX_USED	   (SC_MAP_SLOTS * 3 / 4)
#define SC_SEG_MAGIC	   ((uintptr_t)0x5e6c1a55e6c1a550ull)
#define SC_LARGE_MAGIC	   ((uintptr_t)0x1a56e1a56e1a56e0ull)
#define SC_LARGE_ALIGN	   64 /* a large block's least alignment */
/* Requests up to this size find their class in a table (one load). */
#define SC_TABLE_MAX	   ((size_t)4096)
#define SC_TABLE_LEN	   (SC_TABLE_MAX / HEAP_MIN_ALIGN + 1)

struct sc_block {
	struct sc_block *next;
	uintptr_t cookie; /* sc_cookie(its page) while free, 0 while live */
};

/* A page: a run of slices holding blocks of one class. */
struct sc_page {
	struct sc_block *free;	     /* alloc pops here */
	struct sc_block *local_free; /* free pushes here */
	uintptr_t start;	     /* block 0 */
	struct sc_page *next, *prev; /* in its class's queue */
	/* sc_block_test: off = p - start is a carved block's start exactly
	 * when off * divisor (mod 2^64) < limit. One multiply, one compare:
	 * no division, and the bounds and the stride in one test. */
	uint64_t divisor;
	uint32_t limit;
	/* Frees until something is to be done: while queued, the live
	 * blocks (0: the page emptied); while out of its queue (prev points
	 * to itself: no batch to hand out), the live blocks less
	 * sc_batch_used (0: a batch again). Free decrements it and tests
	 * for 0, nothing else; sc_used says the live blocks. */
	uint32_t countdown;
	uint16_t block_size;
	uint16_t capacity; /* blocks carved so far: used + on the lists */
	uint16_t reserved; /* blocks the span holds (its slices: g->span) */
	uint8_t cls, first_slice; /* first_slice: of its aligned slot */
};

_Static_assert(SC_SPAN_MAX * SC_SLICE_BYTES / HEAP_MIN_ALIGN <= UINT16_MAX &&
		   SC_MEDIUM_MAX <= UINT16_MAX,
	       "a page's block counts and sizes fit its 16-bit fields");
_Static_assert(SC_SPAN_MAX * SC_SLICE_BYTES <= UINT32_MAX,
	       "sc_free's divisibility test needs offsets below 2^32");

/*
 * The block test. divisor m = floor((2^64 - 1) / b) + 2 for block size b,
 * so b * m = 2^64 + e with b <= e < 2b; limit = capacity * e. Write
 * off = q * b + r (0 <= r < b, |off| < 2^18: p and start are in one
 * segment). Then off * m = q * e + r * m (mod 2^64):
 * - r = 0, 0 <= q < capacity: q * e < capacity * e = limit: a block;
 * - r = 0, q >= capacity: q * e >= limit (and below 2^64): refused;
 * - r = 0, q < 0: 2^64 - |q| * e, far above limit: refused;
 * - r > 0: r * m lies in [m, 2^64 + e - m] and |q * e| < 2^28, so the
 *   sum does not wrap and stays >= m - 2^28 >= 2^50, above any limit
 *   (capacity * e < 2 * the span's bytes <= 2^17): refused.
 * In the spirit of Lemire, Kaser and Kurz, "Faster remainder by direct
 * computation" (2019); tests/host/test_heap_owner.c checks it
 * exhaustively for every class.
 */
_Static_assert(SC_MEDIUM_MAX <= (1u << 13) && SC_SEG_BYTES <= (1u << 18) &&
		   SC_SEG_BYTES / HEAP_MIN_ALIGN * (2 * SC_MEDIUM_MAX) <=
		       (1u << 28) &&
		   2 * SC_SPAN_MAX * SC_SLICE_BYTES <= (1u << 17),
	       "the block test's bounds");

static uint64_t sc_divisor(uint32_t block_size)
{
	return UINT64_MAX / block_size + 2;
}

static uint32_t sc_limit(uint32_t block_size, uint32_t capacity)
{
	return (uint32_t)(capacity * (block_size * sc_divisor(block_size)));
}

/* Whether p is a carved block of pg (free or live); any p in pg's
 * segment, below its start too. */
static bool sc_block_test(const struct sc_page *pg, uintptr_t p)
{
	return (p - pg->start) * pg->divisor < pg->limit;
}

/* A free block's cookie: its page descriptor's address (in our segment
 * header, which no live block holds unless the program copied it, and
 * then the lists decide: sc_is_free). */
static uintptr_t sc_cookie(const struct sc_page *pg)
{
	return (uintptr_t)pg;
}

static bool sc_queued(const struct sc_page *pg)
{
	return pg->prev != pg;
}

/* The most live blocks with which pg can still hand out a batch: a
 * quarter of its blocks (on its local free list or not carved yet). */
static uint32_t sc_batch_used(const struct sc_page *pg)
{
	return pg->reserved - (pg->reserved + 3u) / 4;
}

static uint32_t sc_used(const struct sc_page *pg)
{
	return pg->countdown + (sc_queued(pg) ? 0 : sc_batch_used(pg));
}

struct sc_region;

/* The slice map and each page descriptor fill one cache line each: a
 * free reads one of each. */
struct sc_segment {
	uintptr_t magic; /* SC_SEG_MAGIC ^ own address */
	struct sc_region *region;
	struct sc_segment *next, *prev; /* in the list of all segments */
	/* In sh->room[span] while it has a free slot for its span (all
	 * empty segments, span 0, do): a new page takes the first, no walk
	 * over full segments or those of other spans (cold headers, a TLB
	 * miss each). room_prev points to itself while in no list. */
	struct sc_segment *room_next, *room_prev;
	uint64_t used_slices; /* bit i: slice i is the header's or a page's */
	unsigned npages;
	/* Every page of a segment has the same span (0: no page yet), at a
	 * multiple of it; the first starts after the header. The map's key
	 * says the span too, so a free finds the page by a shift. */
	unsigned span;
	unsigned room_span; /* the room list it is in, while listed */
	_Alignas(64) uint8_t slice_page[SC_SLICES]; /* page of slice i */
	_Alignas(64) struct sc_page pages[SC_SLICES]; /* by aligned slot */
};

_Static_assert(sizeof(struct sc_page) == 64, "a page descriptor is a line");
/* A page's descriptor is at (p & page_mask) >> SC_PAGE_DESC_SHIFT in the
 * segment's pages[] (its aligned slot's first slice, times 64). */
#define SC_PAGE_DESC_SHIFT (SC_SLICE_SHIFT - 6)
_Static_assert(sizeof(struct sc_page) == (size_t)1 << (SC_SLICE_SHIFT -
							 SC_PAGE_DESC_SHIFT),
	       "descriptors are indexed by a shift");

#define SC_HDR_SLICES                                                          \
	((sizeof(struct sc_segment) + SC_SLICE_BYTES - 1) / SC_SLICE_BYTES)
#define SC_HDR_MASK (((uint64_t)1 << SC_HDR_SLICES) - 1)

/* At the base of every region of segments. */
struct sc_region {
	struct sc_region *next;
	void *base;
	size_t bytes;
	unsigned nsegs, busy; /* busy: segments with a page */
};

/* At the base of a large block's region. */
struct sc_large {
	uintptr_t magic; /* SC_LARGE_MAGIC ^ own address */
	struct sc_large *next, *prev;
	uintptr_t block;
	size_t usable;
	size_t region_bytes;
};

/* key: a segment's base (then page_mask: the offset bits that select
 * its pages' aligned slots, those of bit log2(span bytes) to bit 17), or
 * a large block plus SC_MAP_LARGE (then large: its header); SC_MAP_EMPTY
 * in a free slot (no key: segments and large blocks are 64-aligned, and a
 * lookup of address 0's segment must find nothing). */
#define SC_MAP_EMPTY ((uintptr_t)-1)
#define SC_MAP_LARGE ((uintptr_t)32)
struct sc_map_slot {
	uintptr_t key;
	union {
		uintptr_t page_mask;
		struct sc_large *large;
	};
};

struct sc_heap {
	/* Pages with something free; `none` (never anything free) when the
	 * class has none, so alloc's fast path tests one pointer. */
	struct sc_page *queue[SC_NR_CLASSES];
	struct sc_page none;
	struct heap_source *src;
	struct sc_segment *segs;
	struct sc_segment *room[SC_SPAN_MAX + 1]; /* by span: segments with a slot */
	struct sc_region *regions;
	struct sc_page *kept; /* the barely used empty page kept, if any */
	/* Per class, the empty page kept in a segment in use, if any. */
	struct sc_page *empty[SC_NR_CLASSES];
	struct sc_large *large;
	unsigned nregions;
	size_t map_used;
	size_t state_bytes; /* the first region: this state, never given back */
	uint8_t class_of[SC_TABLE_LEN]; /* by (size + 15) / 16 */
	struct sc_map_slot map[SC_MAP_SLOTS];
};

static struct sc_heap *sc_of(struct heap *h)
{
	return h->priv;
}

/* ---- size classes ---- */

static unsigned sc_class_of(size_t size)
{
	size_t w = (size + HEAP_MIN_ALIGN - 1) / HEAP_MIN_ALIGN - 1;
	unsigned b;

	if (w < SC_SMALL_CLASSES)
		return (unsigned)w;
	b = heap_fls(w);
	return SC_SMALL_CLASSES + ((b - 3) << 2) + (unsigned)((w >> (b - 2)) & 3);
}

static size_t sc_class_size(unsigned cls)
{
	unsigned j, b;

	if (cls < SC_SMALL_CLASSES)
		return (size_t)(cls + 1) * HEAP_MIN_ALIGN;
	j = cls - SC_SMALL_CLASSES;
	b = 3 + j / 4;
	return (size_t)HEAP_MIN_ALIGN * ((size_t)(4 + j % 4 + 1) << (b - 2));
}

/* Slices of a page of class cls: a power of two with room for
 * SC_PAGE_MIN_BLOCKS blocks, within [SC_SPAN_MIN, SC_SPAN_MAX]. */
static unsigned sc_class_span(unsigned cls)
{
	size_t want = sc_class_size(cls) * SC_PAGE_MIN_BLOCKS;
	unsigned n = (unsigned)((want + SC_SLICE_BYTES - 1) / SC_SLICE_BYTES);

	if (n <= SC_SPAN_MIN)
		return SC_SPAN_MIN;
	n = 1u << heap_log2_ceil(n);
	return n > SC_SPAN_MAX ? SC_SPAN_MAX : n;
}

/* ---- the segment map ---- */

/* Segments (256 KiB apart) land in neighbouring slots, four to a cache
 * line: the map lines the free path reads stay few and hot, and any
 * SC_MAP_SLOTS segments in a row take distinct slots. A segment's home
 * is its window number alone (its bits 12-17 are zero), so free finds it
 * with a shift and a mask. Large blocks in one window differ in bits
 * 12-17 and spread over 64 slots by them. */
static size_t sc_map_hash(uintptr_t key)
{
	return (size_t)((key >> SC_SEG_SHIFT) ^
			((key >> SC_SLICE_SHIFT) & (SC_SLICES - 1))) &
	       (SC_MAP_SLOTS - 1);
}

static size_t sc_map_home_of_segment(uintptr_t p)
{
	return (size_t)(p >> SC_SEG_SHIFT) & (SC_MAP_SLOTS - 1);
}

static struct sc_map_slot *sc_map_find(struct sc_heap *sh, uintptr_t key)
{
	for (size_t i = sc_map_hash(key);; i = (i + 1) & (SC_MAP_SLOTS - 1)) {
		struct sc_map_slot *s = &sh->map[i];

		if (s->key == key)
			return s;
		if (s->key == SC_MAP_EMPTY)
			return NULL;
	}
}

static struct sc_map_slot *sc_map_insert(struct sc_heap *sh, uintptr_t key)
{
	size_t i = sc_map_hash(key);

	while (sh->map[i].key != SC_MAP_EMPTY)
		i = (i + 1) & (SC_MAP_SLOTS - 1);
	sh->map[i].key = key;
	sh->map_used++;
	return &sh->map[i];
}

/* Linear probing's deletion: later entries of the run move up. */
static void sc_map_remove(struct sc_heap *sh, uintptr_t key)
{
	size_t i = (size_t)(sc_map_find(sh, key) - sh->map);
	size_t j = i;

	for (;;) {
		size_t home;

		sh->map[i].key = SC_MAP_EMPTY;
		sh->map[i].page_mask = 0;
		for (;;) {
			j = (j + 1) & (SC_MAP_SLOTS - 1);
			if (sh->map[j].key == SC_MAP_EMPTY) {
				sh->map_used--;
				return;
			}
			home = sc_map_hash(sh->map[j].key);
			/* Stays unless its home lies cyclically in (i, j]. */
			if (i <= j ? (home <= i || home > j)
				   : (home <= i && home > j))
				break;
		}
		sh->map[i] = sh->map[j];
		i = j;
	}
}

static struct sc_segment *sc_segment_of(struct sc_heap *sh, uintptr_t p)
{
	uintptr_t base = p & ~(uintptr_t)SC_SEG_MASK;

	return sc_map_find(sh, base) ? (struct sc_segment *)base : NULL;
}

/* The large block that starts at p (an interior pointer is none). */
static struct sc_large *sc_large_of(struct sc_heap *sh, uintptr_t p)
{
	struct sc_map_slot *s = sc_map_find(sh, p | SC_MAP_LARGE);

	return s && s->large->block == p ? s->large : NULL;
}

/* The offset bits that pick a page's aligned slot when pages span `span`
 * slices; a segment with no page reads as the widest span (its
 * descriptors are all unused). */
static uintptr_t sc_page_mask(unsigned span)
{
	size_t bytes = (size_t)(span ? span : SC_SPAN_MAX) << SC_SLICE_SHIFT;

	return SC_SEG_MASK & ~(uintptr_t)(bytes - 1);
}

/* The span of g's pages changes (to 0 when its last page goes). */
static void sc_segment_set_span(struct sc_heap *sh, struct sc_segment *g,
				unsigned span)
{
	sc_map_find(sh, (uintptr_t)g)->page_mask = sc_page_mask(span);
	g->span = span;
}

/* ---- regions and segments ---- */

static void sc_seg_link(struct sc_heap *sh, struct sc_segment *g)
{
	g->prev = NULL;
	g->next = sh->segs;
	if (g->next)
		g->next->prev = g;
	sh->segs = g;
}

static void sc_seg_unlink(struct sc_heap *sh, struct sc_segment *g)
{
	if (g->next)
		g->next->prev = g->prev;
	if (g->prev)
		g->prev->next = g->next;
	else
		sh->segs = g->next;
}

static int sc_find_slot(const struct sc_segment *g, unsigned n);

static bool sc_room_listed(const struct sc_segment *g)
{
	return g->room_prev != g;
}

static void sc_room_unlink(struct sc_heap *sh, struct sc_segment *g)
{
	if (!sc_room_listed(g))
		return;
	if (g->room_next)
		g->room_next->room_prev = g->room_prev;
	if (g->room_prev)
		g->room_prev->room_next = g->room_next;
	else
		sh->room[g->room_span] = g->room_next;
	g->room_prev = g;
	g->room_next = NULL;
}

/* g's slots or span changed: it goes in the room list of its span if it
 * has a free slot for a page of that span, and in none otherwise. */
static void sc_room_update(struct sc_heap *sh, struct sc_segment *g)
{
	sc_room_unlink(sh, g);
	if (sc_find_slot(g, g->span ? g->span : SC_SPAN_MIN) < 0)
		return;
	g->room_span = g->span;
	g->room_prev = NULL;
	g->room_next = sh->room[g->span];
	if (g->room_next)
		g->room_next->room_prev = g;
	sh->room[g->span] = g;
}

static void sc_segment_init(struct sc_heap *sh, struct sc_segment *g,
			    struct sc_region *r)
{
	g->magic = SC_SEG_MAGIC ^ (uintptr_t)g;
	g->region = r;
	g->used_slices = SC_HDR_MASK;
	g->npages = 0;
	g->span = 0;
	memset(g->slice_page, SC_NO_PAGE, sizeof(g->slice_page));
	/* A free's fast path may read any descriptor: unused ones say so
	 * (limit 0: no block passes the block test; block_size 0: unused,
	 * for stats and check). Only those fields: a descriptor is cleared
	 * whole when a page takes it. */
	for (unsigned i = 0; i < SC_SLICES; i++) {
		g->pages[i].limit = 0;
		g->pages[i].block_size = 0;
	}
	sc_map_insert(sh, (uintptr_t)g)->page_mask = sc_page_mask(0);
	sc_seg_link(sh, g);
	g->room_prev = g;
	sc_room_update(sh, g);
}

static struct sc_segment *sc_region_seg(const struct sc_region *r,
					unsigned i)
{
	uintptr_t first = heap_align_up_ptr((uintptr_t)(r + 1), SC_SEG_BYTES);

	return (struct sc_segment *)(first + i * SC_SEG_BYTES);
}

/* A region of up to `want` segments (fewer if the source is short). */
static bool sc_region_new(struct sc_heap *sh, unsigned want)
{
	size_t got;
	struct sc_region *r = NULL;

	for (; want && !r; want /= 2) {
		if (sh->map_used + want > SC_MAP_MAX_USED)
			continue;
		/* Any page-aligned base leaves room for `want` windows. */
		r = heap_source_grow(sh->src, (want + 1) * SC_SEG_BYTES,
				     &got);
	}
	if (!r)
		return false;
	r->base = r;
	r->bytes = got;
	r->busy = 0;
	r->nsegs = (unsigned)(((uintptr_t)r + got -
			       (uintptr_t)sc_region_seg(r, 0)) /
			      SC_SEG_BYTES);
	if (r->nsegs > SC_MAP_MAX_USED - sh->map_used)
		r->nsegs = (unsigned)(SC_MAP_MAX_USED - sh->map_used);
	for (unsigned i = 0; i < r->nsegs; i++)
		sc_segment_init(sh, sc_region_seg(r, i), r);
	r->next = sh->regions;
	sh->regions = r;
	sh->nregions++;
	return true;
}

static void sc_region_release(struct sc_heap *sh, struct sc_region *r)
{
	struct sc_region **link = &sh->regions;

	for (unsigned i = 0; i < r->nsegs; i++) {
		struct sc_segment *g = sc_region_seg(r, i);

		sc_map_remove(sh, (uintptr_t)g);
		sc_seg_unlink(sh, g);
		sc_room_unlink(sh, g);
		g->magic = 0;
	}
	while (*link != r)
		link = &(*link)->next;
	*link = r->next;
	sh->nregions--;
	heap_source_shrink(sh->src, r->base, r->bytes);
}

/* ---- pages ---- */

static struct sc_page *sc_queue_first(struct sc_heap *sh, unsigned cls)
{
	struct sc_page *pg = sh->queue[cls];

	return pg == &sh->none ? NULL : pg;
}

/* pg goes in after `prev` (NULL: first) of its class's queue. */
static void sc_queue_insert(struct sc_heap *sh, struct sc_page *pg,
			    struct sc_page *prev)
{
	struct sc_page *next = prev ? prev->next : sc_queue_first(sh, pg->cls);

	if (!sc_queued(pg))
		pg->countdown += sc_batch_used(pg);
	pg->prev = prev;
	pg->next = next;
	if (next)
		next->prev = pg;
	if (prev)
		prev->next = pg;
	else
		sh->queue[pg->cls] = pg;
}

static void sc_queue_push(struct sc_heap *sh, struct sc_page *pg)
{
	sc_queue_insert(sh, pg, NULL);
}

/* pg leaves its queue for a moment (moved, or released). */
static void sc_queue_unlink(struct sc_heap *sh, struct sc_page *pg)
{
	if (pg->next)
		pg->next->prev = pg->prev;
	if (pg->prev)
		pg->prev->next = pg->next;
	else
		sh->queue[pg->cls] = pg->next ? pg->next : &sh->none;
}

/* pg, queued without a batch, leaves its queue until frees give it one
 * (sc_free_fixup when its countdown runs out). */
static void sc_queue_leave(struct sc_heap *sh, struct sc_page *pg)
{
	sc_queue_unlink(sh, pg);
	pg->prev = pg;
	pg->next = NULL;
	pg->countdown -= sc_batch_used(pg);
}

/* The slices of the page in the aligned slot at first (span n): the
 * header's are not. */
static uint64_t sc_slot_mask(unsigned first, unsigned n)
{
	uint64_t all = n == SC_SLICES ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;

	return (all << first) & ~SC_HDR_MASK;
}

/* First free aligned slot for a page of n slices in g; -1 if none (g
 * holds pages of another span, or is full). */
static int sc_find_slot(const struct sc_segment *g, unsigned n)
{
	if (g->span && g->span != n)
		return -1;
	for (unsigned first = 0; first < SC_SLICES; first += n) {
		uint64_t m = sc_slot_mask(first, n);

		if (m && !(g->used_slices & m))
			return (int)first;
	}
	return -1;
}

static struct sc_page *sc_page_new(struct sc_heap *sh, unsigned cls)
{
	unsigned n = sc_class_span(cls);
	struct sc_segment *g;
	struct sc_page *pg;
	unsigned first;
	int at = -1;

	/* A segment of this span with a slot, else an empty one. */
	g = sh->room[n] ? sh->room[n] : sh->room[0];
	if (!g) {
		unsigned want = sh->nregions + 1;

		if (!sc_region_new(sh, want < SC_REGION_SEGS_MAX
					   ? want
					   : SC_REGION_SEGS_MAX))
			return NULL;
		g = sh->room[0];
	}
	at = sc_find_slot(g, n);
	if (g->npages++ == 0) {
		g->region->busy++;
		sc_segment_set_span(sh, g, n);
	}
	first = at < (int)SC_HDR_SLICES ? SC_HDR_SLICES : (unsigned)at;
	g->used_slices |= sc_slot_mask((unsigned)at, n);
	sc_room_update(sh, g);
	memset(g->slice_page + first, at, (unsigned)at + n - first);
	pg = &g->pages[at];
	memset(pg, 0, sizeof(*pg));
	pg->cls = (uint8_t)cls;
	pg->first_slice = (uint8_t)at;
	pg->block_size = (uint16_t)sc_class_size(cls);
	pg->divisor = sc_divisor(pg->block_size);
	pg->start = (uintptr_t)g + ((size_t)first << SC_SLICE_SHIFT);
	pg->reserved = (uint16_t)((((size_t)at + n - first) << SC_SLICE_SHIFT) /
				  pg->block_size);
	sc_queue_push(sh, pg);
	return pg;
}

static struct sc_segment *sc_page_segment(const struct sc_page *pg)
{
	return (struct sc_segment *)((uintptr_t)pg & ~(uintptr_t)SC_SEG_MASK);
}

/* Gives an empty page's slices back to its segment; the region goes back
 * to the source once all its segments are empty. */
static void sc_page_release(struct sc_heap *sh, struct sc_page *pg)
{
	struct sc_segment *g = sc_page_segment(pg);
	struct sc_region *r = g->region;

	if (sc_queued(pg))
		sc_queue_unlink(sh, pg);
	if (sh->kept == pg)
		sh->kept = NULL;
	if (sh->empty[pg->cls] == pg)
		sh->empty[pg->cls] = NULL;
	g->used_slices &= ~sc_slot_mask(pg->first_slice, g->span);
	for (unsigned i = pg->first_slice; i < pg->first_slice + g->span; i++)
		g->slice_page[i] = SC_NO_PAGE;
	/* What the fast path reads: no block here any more. */
	pg->block_size = 0;
	pg->divisor = 0;
	pg->capacity = 0;
	pg->limit = 0;
	pg->countdown = 0;
	pg->prev = pg->next = NULL;
	if (--g->npages == 0)
		sc_segment_set_span(sh, g, 0);
	sc_room_update(sh, g);
	if (!g->npages && --r->busy == 0 && heap_source_can_shrink(sh->src))
		sc_region_release(sh, r);
}

/* Carves up to SC_EXTEND_BYTES of never-used blocks into the free list. */
static void sc_page_extend(struct sc_page *pg)
{
	uint32_t n = (uint32_t)(SC_EXTEND_BYTES / pg->block_size);
	uint32_t room = (uint32_t)(pg->reserved - pg->capacity);
	uintptr_t p;

	if (n == 0)
		n = 1;
	if (n > room)
		n = room;
	p = pg->start + (size_t)(pg->capacity + n) * pg->block_size;
	for (uint32_t i = 0; i < n; i++) {
		struct sc_block *b;

		p -= pg->block_size;
		b = (struct sc_block *)p;
		b->next = pg->free;
		b->cookie = sc_cookie(pg);
		pg->free = b;
	}
	pg->capacity = (uint16_t)(pg->capacity + n);
	pg->limit = sc_limit(pg->block_size, pg->capacity);
}

/* Refills pg's free list; false when the page is full. */
/* Refills pg's free list; false when the page is full. The local free
 * list comes over whole; only when it is empty are blocks never used
 * carved (carving writes to memory no one may need yet). */
static bool sc_page_refill(struct sc_page *pg)
{
	if (pg->local_free) {
		pg->free = pg->local_free;
		pg->local_free = NULL;
		return true;
	}
	if (pg->capacity < pg->reserved) {
		sc_page_extend(pg);
		return true;
	}
	return false;
}

static void *sc_pop(struct sc_page *pg)
{
	struct sc_block *b = pg->free;

	pg->free = b->next;
	pg->countdown++; /* pg is queued: its live blocks */
	b->cookie = 0;
	return b;
}

/* Pages a dry free list looks at for the next batch, at most. */
#define SC_SEARCH_PAGES 4

/* Whether pg can hand out a batch (its free list is empty). */
static bool sc_page_has_batch(const struct sc_page *pg)
{
	return sc_used(pg) <= sc_batch_used(pg);
}

/* The page the next blocks of cls come from when the first page's free
 * list is dry: the first that can hand out a batch. A page that cannot
 * leaves the queue until frees give it one (sc_free_fixup): a
 * producer/consumer frees its oldest blocks first, from the page filled
 * longest ago, and taking the first page with anything at all would
 * refill a handful of blocks at a time and come back here every few
 * allocations; with random lifetimes most pages have a block or two free
 * and would each be looked at again and again. After SC_SEARCH_PAGES
 * pages without a batch, the last one looked at serves anyway (bounded
 * work; NULL only when the queue is empty). */
static struct sc_page *sc_page_choose(struct sc_heap *sh, unsigned cls)
{
	struct sc_page *pg = sc_queue_first(sh, cls);

	for (unsigned seen = 1; pg; seen++) {
		struct sc_page *next = pg->next;

		/* Its free list is empty unless it is the first page: free
		 * never fills it and the page that served is moved first. */
		if (pg->free || sc_page_has_batch(pg))
			return pg;
		if (seen == SC_SEARCH_PAGES && pg->reserved != sc_used(pg))
			return pg;
		sc_queue_leave(sh, pg); /* back when frees give it a batch */
		pg = next;
	}
	return NULL;
}

__attribute__((noinline)) static void *sc_alloc_slow(struct sc_heap *sh,
						    unsigned cls)
{
	struct sc_page *pg = sc_page_choose(sh, cls);

	if (!pg) {
		pg = sc_page_new(sh, cls);
		if (!pg)
			return NULL;
		sc_page_extend(pg);
	} else {
		if (!pg->free)
			sc_page_refill(pg); /* has room: sc_page_choose saw it */
		if (pg != sh->queue[cls]) {
			/* The page that served goes first next time. */
			sc_queue_unlink(sh, pg);
			sc_queue_push(sh, pg);
		}
	}
	return sc_pop(pg);
}

/* The fast path: the class's first page (`none` when it has none reads
 * as an empty free list), a pop. */
static inline void *sc_alloc_class(struct sc_heap *sh, unsigned cls)
{
	struct sc_page *pg = sh->queue[cls];

	if (pg->free)
		return sc_pop(pg);
	return sc_alloc_slow(sh, cls);
}

/* ---- large blocks ---- */

static void *sc_large_alloc(struct sc_heap *sh, size_t size, size_t align)
{
	size_t got, room = heap_align_up(sizeof(struct sc_large), align);
	struct sc_large *l;

	if (sh->map_used >= SC_MAP_MAX_USED)
		return NULL;
	/* The header, the alignment beyond a page, the block. */
	l = heap_source_grow(sh->src,
			     room + (align > HEAP_PAGE_SIZE ? align : 0) + size,
			     &got);
	if (!l)
		return NULL;
	l->magic = SC_LARGE_MAGIC ^ (uintptr_t)l;
	l->block = heap_align_up_ptr((uintptr_t)l + sizeof(*l), align);
	l->usable = (uintptr_t)l + got - l->block;
	l->region_bytes = got;
	l->prev = NULL;
	l->next = sh->large;
	if (l->next)
		l->next->prev = l;
	sh->large = l;
	sc_map_insert(sh, l->block | SC_MAP_LARGE)->large = l;
	return (void *)l->block;
}

static void sc_large_free(struct sc_heap *sh, struct sc_large *l)
{
	if (l->next)
		l->next->prev = l->prev;
	if (l->prev)
		l->prev->next = l->next;
	else
		sh->large = l->next;
	sc_map_remove(sh, l->block | SC_MAP_LARGE);
	l->magic = 0;
	heap_source_shrink(sh->src, l, l->region_bytes);
}

/* ---- the policy ---- */

__attribute__((noinline)) static void *sc_alloc_big(struct sc_heap *sh,
						   size_t size)
{
	if (size > SC_MEDIUM_MAX)
		return sc_large_alloc(sh, size, SC_LARGE_ALIGN);
	return sc_alloc_class(sh, sc_class_of(size));
}

static unsigned sc_table_class(const struct sc_heap *sh, size_t size)
{
	return sh->class_of[(size + HEAP_MIN_ALIGN - 1) / HEAP_MIN_ALIGN];
}

/* ops->alloc (aligned_alloc and the derived realloc): 0 < size <=
 * HEAP_MAX_ALLOC, uncounted. */
static void *sc_alloc(struct heap *h, size_t size)
{
	struct sc_heap *sh = sc_of(h);

	if (size > SC_TABLE_MAX)
		return sc_alloc_big(sh, size);
	return sc_alloc_class(sh, sc_table_class(sh, size));
}

static void *sc_counted(struct heap *h, void *p)
{
	if (p)
		h->allocs++;
	else
		h->failures++;
	return p;
}

__attribute__((noinline)) static void *sc_alloc_entry_big(struct heap *h,
							 size_t size)
{
	return sc_counted(h, size > HEAP_MAX_ALLOC
				 ? NULL
				 : sc_alloc_big(sc_of(h), size));
}

__attribute__((noinline)) static void *
sc_alloc_entry_slow(struct heap *h, unsigned cls)
{
	return sc_counted(h, sc_alloc_slow(sc_of(h), cls));
}

/* heap_alloc itself, the fast path: a table load (size 0 reads class 0,
 * a minimum block), the class's first page, a pop, the counter. */
static void *sc_alloc_entry(struct heap *h, size_t size)
{
	struct sc_heap *sh = sc_of(h);
	struct sc_page *pg;
	unsigned cls;

	if (size > SC_TABLE_MAX)
		return sc_alloc_entry_big(h, size);
	cls = sc_table_class(sh, size);
	pg = sh->queue[cls];
	if (!pg->free)
		return sc_alloc_entry_slow(h, cls);
	h->allocs++;
	return sc_pop(pg);
}

/* Blocks of a class whose size is a multiple of align are aligned to it
 * when align <= a slice (pages start on slices); every power of two up to
 * 8 KiB is a class. */
static void *sc_memalign(struct heap *h, size_t align, size_t size)
{
	struct sc_heap *sh = sc_of(h);
	size_t want = size > align ? size : align;

	if (align <= SC_SLICE_BYTES && want <= SC_MEDIUM_MAX) {
		unsigned cls = sc_class_of(want);

		while (sc_class_size(cls) % align)
			cls++;
		return sc_alloc_class(sh, cls);
	}
	return sc_large_alloc(sh, size,
			      align > SC_LARGE_ALIGN ? align : SC_LARGE_ALIGN);
}

/* The page whose span holds p; NULL if no page of ours does. */
static struct sc_page *sc_page_of(struct sc_heap *sh, uintptr_t p)
{
	struct sc_segment *g = sc_segment_of(sh, p);
	unsigned first;

	if (!g)
		return NULL;
	first = g->slice_page[(p & SC_SEG_MASK) >> SC_SLICE_SHIFT];
	return first == SC_NO_PAGE ? NULL : &g->pages[first];
}

/* Whether p is a block of pg that was carved (free or live). */
static bool sc_is_block(const struct sc_page *pg, uintptr_t p)
{
	size_t off = p - pg->start;

	return p >= pg->start && off % pg->block_size == 0 &&
	       off / pg->block_size < pg->capacity;
}

static bool sc_on_list(const struct sc_block *list, const struct sc_block *b)
{
	for (; list; list = list->next)
		if (list == b)
			return true;
	return false;
}

/* Exact: a free block has its cookie, and it is on one of the lists. */
__attribute__((noinline)) static bool sc_is_free(const struct sc_page *pg,
						const struct sc_block *b)
{
	return b->cookie == sc_cookie(pg) &&
	       (sc_on_list(pg->free, b) || sc_on_list(pg->local_free, b));
}

/* Whether pg never carved more than its first extension: it served a
 * few blocks at a time (an alloc/free ping-pong), not a burst. */
static bool sc_page_barely_used(const struct sc_page *pg)
{
	uint32_t first = (uint32_t)(SC_EXTEND_BYTES / pg->block_size);

	return pg->capacity <= (first ? first : 1);
}

/* An empty page stays if its segment is in use anyway (keeping it costs
 * no segment) and its class keeps no other empty page (sh->empty: a
 * producer/consumer empties its oldest page while the others serve, and
 * would otherwise carve a new page soon after). Otherwise it goes unless
 * it is the only one its class has queued and it only ever served a few
 * blocks and is the newest such page (one is kept, heap-wide): an
 * alloc/free ping-pong of one block then costs no page set-up, nor a
 * region taken from the source and given back each time. After a burst
 * (pages carved further) it goes. */
static void sc_page_emptied(struct sc_heap *sh, struct sc_page *pg)
{
	struct sc_page *old = sh->kept, *e = sh->empty[pg->cls];
	bool lone = sh->queue[pg->cls] == pg && !pg->next;

	if (sc_page_segment(pg)->npages > 1 &&
	    (lone || !e || e == pg || sc_used(e))) {
		sh->empty[pg->cls] = pg;
		return;
	}
	if (!lone || !sc_page_barely_used(pg)) {
		sc_page_release(sh, pg);
		return;
	}
	sh->kept = pg;
	if (old && old != pg && !sc_used(old))
		sc_page_release(sh, old);
}

/* pg's countdown ran out: a page out of its queue has a batch again (it
 * goes in second: the first page is serving and keeps its place); a
 * queued one emptied and may go. */
__attribute__((noinline)) static void sc_free_fixup(struct sc_heap *sh,
						   struct sc_page *pg)
{
	if (!sc_queued(pg))
		sc_queue_insert(sh, pg, sc_queue_first(sh, pg->cls));
	if (sc_used(pg) == 0)
		sc_page_emptied(sh, pg);
}

/* b is a carved block of pg and not free: onto the local free list; one
 * decrement and a test for 0 catch both a page emptied and one that has
 * a batch again. */
__attribute__((always_inline)) static inline void
sc_push(struct sc_heap *sh, struct sc_page *pg, struct sc_block *b)
{
	b->next = pg->local_free;
	b->cookie = sc_cookie(pg);
	pg->local_free = b;
	if (--pg->countdown == 0)
		sc_free_fixup(sh, pg);
}

/* Any pointer: the whole lookup, large blocks too; whether it was a live
 * block (then it is free now). Uncounted. */
static bool sc_free_any(struct sc_heap *sh, uintptr_t p)
{
	struct sc_page *pg = sc_page_of(sh, p);
	struct sc_block *b = (struct sc_block *)p;
	struct sc_large *l;

	if (!pg) {
		l = sc_large_of(sh, p);
		if (!l)
			return false;
		sc_large_free(sh, l);
		return true;
	}
	if (!sc_is_block(pg, p) || sc_is_free(pg, b))
		return false;
	sc_push(sh, pg, b);
	return true;
}

/* ops->free (the derived realloc): uncounted. */
static bool sc_free(struct heap *h, void *ptr)
{
	return sc_free_any(sc_of(h), (uintptr_t)ptr);
}

static void sc_count_free(struct heap *h, bool freed)
{
	if (freed)
		h->frees++;
	else
		h->bad_frees++;
}

/* free_entry off its fast path: NULL (nothing, uncounted), another probe
 * of the map, a large block, or a pointer not ours. */
__attribute__((noinline)) static void sc_free_entry_any(struct heap *h,
						       uintptr_t p)
{
	if (p)
		sc_count_free(h, sc_free_any(sc_of(h), p));
}

/* b carries a free block's cookie: free only if on neither list (a live
 * block whose bytes look like one). */
__attribute__((noinline)) static void
sc_free_entry_lookalike(struct heap *h, struct sc_page *pg,
			struct sc_block *b)
{
	bool freed = !sc_is_free(pg, b);

	if (freed)
		sc_push(sc_of(h), pg, b);
	sc_count_free(h, freed);
}

/* heap_free itself, the fast path: the segment in the map's first probe
 * (its home is the window number), its page descriptor by a mask, the
 * block's bounds and stride (a multiply, no division), the cookie, a
 * push, the counter. Nothing of p is read before the map says p is in a
 * segment of ours, in a page's carved blocks, at a block's start. */
static void sc_free_entry(struct heap *h, void *ptr)
{
	struct sc_heap *sh = sc_of(h);
	uintptr_t p = (uintptr_t)ptr, base = p & ~(uintptr_t)SC_SEG_MASK;
	const struct sc_map_slot *s = &sh->map[sc_map_home_of_segment(p)];
	struct sc_block *b = ptr;
	struct sc_page *pg;

	if (s->key != base)
		return sc_free_entry_any(h, p);
	/* The descriptor of p's aligned slot; an unused one has carved 0. */
	pg = (struct sc_page *)((uintptr_t)((struct sc_segment *)base)->pages +
				((p & s->page_mask) >> SC_PAGE_DESC_SHIFT));
	if (!sc_block_test(pg, p)) {
		h->bad_frees++;
		return;
	}
	if (b->cookie == sc_cookie(pg))
		return sc_free_entry_lookalike(h, pg, b);
	h->frees++;
	sc_push(sh, pg, b);
}

static size_t sc_usable_size(struct heap *h, const void *ptr)
{
	struct sc_heap *sh = sc_of(h);
	uintptr_t p = (uintptr_t)ptr;
	struct sc_page *pg = sc_page_of(sh, p);
	struct sc_large *l;

	if (pg)
		return sc_is_block(pg, p) ? pg->block_size : 0;
	l = sc_large_of(sh, p);
	return l ? l->usable : 0;
}

static bool sc_init(struct heap *h)
{
	size_t got;
	struct sc_heap *sh =
	    heap_source_grow(&h->src, h->ops->first_grow, &got);

	if (!sh)
		return false;
	memset(sh, 0, sizeof(*sh));
	sh->state_bytes = got;
	sh->src = &h->src;
	for (size_t i = 0; i < SC_MAP_SLOTS; i++)
		sh->map[i].key = SC_MAP_EMPTY;
	for (unsigned cls = 0; cls < SC_NR_CLASSES; cls++)
		sh->queue[cls] = &sh->none;
	for (size_t i = 0; i < SC_TABLE_LEN; i++)
		sh->class_of[i] = (uint8_t)sc_class_of(i ? i * HEAP_MIN_ALIGN : 1);
	h->priv = sh;
	return true;
}

static void sc_destroy(struct heap *h)
{
	struct sc_heap *sh = sc_of(h);

	while (sh->large)
		sc_large_free(sh, sh->large);
	while (sh->regions)
		sc_region_release(sh, sh->regions);
	heap_source_shrink(&h->src, sh, sh->state_bytes);
}

/* ---- stats and check ---- */

/* Whether some segment has room for a new page of n slices. */
static bool sc_room_for_page(struct sc_heap *sh, unsigned n)
{
	for (struct sc_segment *g = sh->segs; g; g = g->next)
		if (sc_find_slot(g, n) >= 0)
			return true;
	return false;
}

static void sc_stats(struct heap *h, struct heap_stats *st)
{
	struct sc_heap *sh = sc_of(h);

	for (struct sc_segment *g = sh->segs; g; g = g->next) {
		st->bytes_free += (SC_SLICES - (unsigned)__builtin_popcountll(
						   g->used_slices)) *
				  SC_SLICE_BYTES;
		for (unsigned i = 0; i < SC_SLICES; i++) {
			const struct sc_page *pg = &g->pages[i];

			if (!pg->block_size)
				continue;
			st->bytes_in_use += (size_t)sc_used(pg) * pg->block_size;
			st->live_blocks += sc_used(pg);
			st->bytes_free += (size_t)(pg->reserved - sc_used(pg)) *
					  pg->block_size;
			if (sc_used(pg) < pg->reserved &&
			    pg->block_size > st->largest_free)
				st->largest_free = pg->block_size;
		}
	}
	/* The largest class a new page could serve without growing. */
	for (unsigned cls = SC_NR_CLASSES; cls-- > 0;) {
		if (sc_room_for_page(sh, sc_class_span(cls))) {
			if (sc_class_size(cls) > st->largest_free)
				st->largest_free = sc_class_size(cls);
			break;
		}
	}
	for (struct sc_large *l = sh->large; l; l = l->next) {
		st->bytes_in_use += l->usable;
		st->live_blocks++;
	}
}

static const char *sc_check_list(const struct sc_page *pg,
				 const struct sc_block *b, size_t *n)
{
	for (; b; b = b->next) {
		if (!sc_is_block(pg, (uintptr_t)b) ||
		    b->cookie != sc_cookie(pg))
			return "sizeclass: bad free-list entry";
		if (++*n > pg->capacity)
			return "sizeclass: free list longer than its page";
	}
	return NULL;
}

static const char *sc_check_page(const struct sc_segment *g,
				 const struct sc_page *pg, unsigned i)
{
	size_t n = 0;
	const char *why;

	unsigned first = i < SC_HDR_SLICES ? SC_HDR_SLICES : i;

	if (pg->first_slice != i || pg->cls >= SC_NR_CLASSES ||
	    pg->block_size != sc_class_size(pg->cls) ||
	    g->span != sc_class_span(pg->cls) || i % g->span ||
	    pg->start != (uintptr_t)g + ((size_t)first << SC_SLICE_SHIFT) ||
	    pg->capacity > pg->reserved ||
	    pg->limit != sc_limit(pg->block_size, pg->capacity) ||
	    pg->divisor != sc_divisor(pg->block_size) ||
	    (size_t)pg->reserved * pg->block_size >
		(size_t)(i + g->span - first) << SC_SLICE_SHIFT)
		return "sizeclass: bad page descriptor";
	for (unsigned s = first; s < i + g->span; s++)
		if (s >= SC_SLICES || g->slice_page[s] != i ||
		    !((g->used_slices >> s) & 1))
			return "sizeclass: slice map disagrees with a page";
	why = sc_check_list(pg, pg->free, &n);
	if (!why)
		why = sc_check_list(pg, pg->local_free, &n);
	if (why)
		return why;
	if (n + sc_used(pg) != pg->capacity)
		return "sizeclass: free and used blocks disagree";
	if (!sc_queued(pg) && (pg->free || sc_page_has_batch(pg)))
		return "sizeclass: a page with a batch left its queue";
	return NULL;
}

static const char *sc_check_segment(struct sc_heap *sh,
				    const struct sc_segment *g,
				    size_t *queued)
{
	unsigned npages = 0;
	uint64_t seen = SC_HDR_MASK;

	if (g->magic != (SC_SEG_MAGIC ^ (uintptr_t)g) ||
	    sc_segment_of(sh, (uintptr_t)g) != g ||
	    (g->used_slices & SC_HDR_MASK) != SC_HDR_MASK)
		return "sizeclass: bad segment header";
	if (!!g->span != !!g->npages ||
	    sc_map_find(sh, (uintptr_t)g)->page_mask != sc_page_mask(g->span))
		return "sizeclass: segment span disagrees with its map key";
	for (unsigned i = 0; i < SC_SLICES; i++) {
		const char *why;

		if (!g->pages[i].block_size)
			continue;
		why = sc_check_page(g, &g->pages[i], i);
		if (why)
			return why;
		seen |= sc_slot_mask(i, g->span);
		*queued += sc_queued(&g->pages[i]);
		npages++;
	}
	if (seen != g->used_slices || npages != g->npages)
		return "sizeclass: slices in use disagree with pages";
	if (sc_room_listed(g) !=
		(sc_find_slot(g, g->span ? g->span : SC_SPAN_MIN) >= 0) ||
	    (sc_room_listed(g) && g->room_span != g->span))
		return "sizeclass: segment's room list disagrees with its slots";
	return NULL;
}

/* The room lists hold listed segments of their span, linked both ways;
 * *n counts them. */
static const char *sc_check_room(struct sc_heap *sh, size_t segs, size_t *n)
{
	for (unsigned span = 0; span <= SC_SPAN_MAX; span++) {
		const struct sc_segment *prev = NULL;

		for (const struct sc_segment *g = sh->room[span]; g;
		     prev = g, g = g->room_next) {
			if (g->room_prev != prev || g->span != span ||
			    g->room_span != span)
				return "sizeclass: bad room list";
			if (++*n > segs)
				return "sizeclass: room list loops";
		}
	}
	return NULL;
}

/* Every queued page is a live page of its class, once. */
static const char *sc_check_queues(struct sc_heap *sh, size_t *queued)
{
	for (unsigned cls = 0; cls < SC_NR_CLASSES; cls++) {
		const struct sc_page *prev = NULL;

		if (!sh->queue[cls] || sh->none.free)
			return "sizeclass: bad page queue";
		for (const struct sc_page *pg = sc_queue_first(sh, cls); pg;
		     prev = pg, pg = pg->next) {
			if (pg->prev != prev || pg->cls != cls ||
			    !sc_queued(pg) || sc_page_of(sh, pg->start) != pg)
				return "sizeclass: bad page queue";
			if (++*queued > SC_MAP_SLOTS * SC_SLICES)
				return "sizeclass: page queue loops";
		}
	}
	return NULL;
}

static const char *sc_check_regions(struct sc_heap *sh, size_t *segs)
{
	for (struct sc_region *r = sh->regions; r; r = r->next) {
		unsigned busy = 0;

		for (unsigned i = 0; i < r->nsegs; i++) {
			const struct sc_segment *g = sc_region_seg(r, i);

			if (g->region != r)
				return "sizeclass: segment of another region";
			busy += g->npages != 0;
		}
		if (busy != r->busy)
			return "sizeclass: region busy count wrong";
		*segs += r->nsegs;
	}
	return NULL;
}

static const char *sc_check(struct heap *h)
{
	struct sc_heap *sh = sc_of(h);
	size_t segs = 0, listed = 0, larges = 0, queued = 0, marked = 0;
	size_t roomy = 0, in_room = 0;
	const char *why = sc_check_queues(sh, &queued);

	if (!why)
		why = sc_check_regions(sh, &segs);
	if (!why)
		why = sc_check_room(sh, segs, &in_room);
	for (struct sc_segment *g = sh->segs; !why && g; g = g->next) {
		why = sc_check_segment(sh, g, &marked);
		roomy += sc_room_listed(g);
		if (++listed > segs)
			why = "sizeclass: more segments listed than regions hold";
	}
	if (!why && roomy != in_room)
		why = "sizeclass: a segment marked listed is in no room list";
	for (struct sc_large *l = sh->large; !why && l; l = l->next) {
		if (l->magic != (SC_LARGE_MAGIC ^ (uintptr_t)l) ||
		    sc_large_of(sh, l->block) != l)
			why = "sizeclass: bad large block";
		larges++;
	}
	if (why)
		return why;
	if (listed != segs)
		return "sizeclass: segments disagree with regions";
	if (queued != marked)
		return "sizeclass: queued pages disagree with their marks";
	return segs + larges == sh->map_used
		   ? NULL
		   : "sizeclass: map disagrees with owners";
}

const struct heap_ops heap_sizeclass_ops = {
    .name = "sizeclass",
    .init = sc_init,
    .alloc = sc_alloc,
    .free = sc_free,
    .alloc_entry = sc_alloc_entry,
    .free_entry = sc_free_entry,
    .memalign = sc_memalign,
    .usable_size = sc_usable_size,
    .stats = sc_stats,
    .check = sc_check,
    .destroy = sc_destroy,
    .natural_align = SC_SLICE_BYTES,
    .first_grow = sizeof(struct sc_heap),
};
