/*
 * What the heap policies share, and only they: the operations table each
 * policy fills, the page-source helpers, size arithmetic, and the buddy
 * engine that the buddy and slab policies both build on.
 * Never included outside libos/heap/.
 */
#ifndef EXO_LIBOS_HEAP_IMPL_H
#define EXO_LIBOS_HEAP_IMPL_H

#include "libos/heap/heap.h"
#include "libos/heap/pagemap.h"

/*
 * One policy. alloc, free, usable_size, stats, check and destroy are
 * required; realloc and memalign are optional (heap.c derives them).
 * The adapters in heap.c have already handled NULL, size 0, overflow and
 * alignment validity: policies see 0 < size <= HEAP_MAX_ALLOC and
 * HEAP_MIN_ALIGN < align <= HEAP_MAX_ALLOC, a power of two.
 * free returns false for a pointer the policy recognises as not its own.
 * stats fills bytes_in_use, bytes_free, largest_free and live_blocks.
 */
struct heap_ops {
	const char *name;
	bool (*init)(struct heap *h);
	void *(*alloc)(struct heap *h, size_t size);
	bool (*free)(struct heap *h, void *ptr);
	void *(*realloc)(struct heap *h, void *ptr, size_t size);
	void *(*memalign)(struct heap *h, size_t align, size_t size);
	size_t (*usable_size)(struct heap *h, const void *ptr);
	void (*stats)(struct heap *h, struct heap_stats *st);
	const char *(*check)(struct heap *h);
	void (*destroy)(struct heap *h);
	/* heap_alloc's and heap_free's whole contract in the policy, so the
	 * common call is one indirect call. alloc_entry takes any size (0: a
	 * minimum block; above HEAP_MAX_ALLOC: NULL) and counts h->allocs or
	 * h->failures; free_entry takes any pointer (NULL: nothing; anything
	 * not a live block of the heap: refused, never followed,
	 * h->bad_frees) and counts h->frees. HEAP_COUNTED_ENTRIES makes
	 * them from alloc and free. */
	void *(*alloc_entry)(struct heap *h, size_t size);
	void (*free_entry)(struct heap *h, void *ptr);
	/* Without memalign: blocks of a power-of-two size s <= natural_align
	 * are aligned to s, so aligned_alloc(a, n) = alloc(max(n, a)). */
	size_t natural_align;
	/* Bytes init asks the source for (its first region): what a guest
	 * needs at start-up for this policy (libos/startup.c). */
	size_t first_grow;
};

extern const struct heap_ops heap_bump_ops;
extern const struct heap_ops heap_freelist_ops;
extern const struct heap_ops heap_buddy_ops;
extern const struct heap_ops heap_slab_ops;
extern const struct heap_ops heap_tlsf_ops;
extern const struct heap_ops heap_sizeclass_ops;

/* heap_alloc's rare cases (size 0, or above HEAP_MAX_ALLOC), counted. */
void *heap_alloc_edge(struct heap *h, size_t size);

/*
 * A policy's alloc_entry and free_entry (named after its alloc and free,
 * with _entry) from its alloc and free: the edges and the counters around
 * a direct call the compiler may inline, so the policy's fast path is
 * one indirect call away from heap_alloc, not two.
 */
#define HEAP_COUNTED_ENTRIES(alloc, free)                                      \
	static void *alloc##_entry(struct heap *h, size_t size)                \
	{                                                                      \
		void *p;                                                       \
                                                                               \
		if (size - 1 >= HEAP_MAX_ALLOC) /* 0, or too large */          \
			return heap_alloc_edge(h, size);                       \
		p = alloc(h, size);                                            \
		if (p)                                                         \
			h->allocs++;                                           \
		else                                                           \
			h->failures++;                                         \
		return p;                                                      \
	}                                                                      \
                                                                               \
	static void free##_entry(struct heap *h, void *ptr)                    \
	{                                                                      \
		if (!ptr)                                                      \
			return;                                                \
		if ((uintptr_t)ptr % HEAP_MIN_ALIGN || !free(h, ptr))          \
			h->bad_frees++;                                        \
		else                                                           \
			h->frees++;                                            \
	}

static inline size_t heap_align_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline uintptr_t heap_align_up_ptr(uintptr_t x, size_t a)
{
	return (x + a - 1) & ~(uintptr_t)(a - 1);
}

static inline bool heap_is_pow2(size_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* Index of the highest set bit; x != 0. */
static inline unsigned heap_fls(size_t x)
{
	return (unsigned)(sizeof(size_t) * 8 - 1) -
	       (unsigned)__builtin_clzll((unsigned long long)x);
}

/* Index of the lowest set bit; x != 0. */
static inline unsigned heap_ffs(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);
}

/* Smallest k with 2^k >= x; x != 0. */
static inline unsigned heap_log2_ceil(size_t x)
{
	return x <= 1 ? 0 : heap_fls(x - 1) + 1;
}

/* Page-source helpers: round to pages, keep footprint and counters. */
void *heap_source_grow(struct heap_source *src, size_t bytes_min,
		       size_t *bytes_got);
void heap_source_shrink(struct heap_source *src, void *base, size_t bytes);
bool heap_source_can_shrink(const struct heap_source *src);

/* A region of the source, as the policies chain them. */
struct heap_region {
	struct heap_region *next;
	size_t bytes;
};

/* ---- buddy engine (buddy.c): power-of-two blocks, no in-block header ---- */

#define BUDDY_MIN_ORDER 5  /* 32 bytes: the free-list links fit */
#define BUDDY_MAX_ORDER 40 /* matches HEAP_MAX_ALLOC */
#define BUDDY_ORDERS	(BUDDY_MAX_ORDER + 1)
/* Data areas start at this alignment, so any block of up to this size is
 * aligned to its size in absolute terms (slab relies on it). */
#define BUDDY_BASE_ALIGN ((size_t)16384)

struct buddy_arena;

struct buddy {
	struct heap_source *src;
	struct buddy_arena *arenas;
	/* The first arena (in the caller's state region, never given back)
	 * is checked by its range; every other one is in the page map. */
	struct buddy_arena *pinned;
	struct heap_pagemap map;
	struct buddy_free *lists[BUDDY_ORDERS];
	uint64_t nonempty; /* bit k: lists[k] has a block */
	size_t bytes_in_use;
	size_t bytes_free;
	size_t live_blocks;
};

/* Builds an engine whose first arena is [base, base + bytes): that arena
 * is never given back (it holds the caller's state). */
void buddy_init(struct buddy *b, struct heap_source *src, void *base,
		size_t bytes);
void *buddy_alloc_order(struct buddy *b, unsigned order);
/* Order of the allocated block starting at ptr; -1 if none starts there. */
int buddy_block_order(const struct buddy *b, const void *ptr);
void buddy_free_block(struct buddy *b, void *ptr, unsigned order);
size_t buddy_largest_free(const struct buddy *b);
const char *buddy_check(const struct buddy *b);
void buddy_release_all(struct buddy *b);

/* The order that holds size bytes (>= BUDDY_MIN_ORDER). */
static inline unsigned buddy_order_for(size_t size)
{
	unsigned k = heap_log2_ceil(size);

	return k < BUDDY_MIN_ORDER ? BUDDY_MIN_ORDER : k;
}

#endif
