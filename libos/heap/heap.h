/*
 * libos heap: one allocator interface, several policies chosen by name at
 * run time (the manifest's /chosen says which), no rebuild.
 *
 * Owns: the public contract of every heap policy (alloc, free, realloc,
 * aligned_alloc, usable_size, stats, check) and of the page source a heap
 * grows from. Never: touches page tables or frames itself (the source does),
 * locks (one heap per CPU, or the caller serialises), or calls the C library.
 *
 * Semantics, identical for every policy:
 * - heap_alloc(h, 0) returns a unique, freeable pointer (a minimum block).
 * - heap_free(h, NULL) does nothing; a pointer the heap did not hand out is
 *   ignored where the policy can tell, and counted in stats.bad_frees.
 * - heap_realloc(h, NULL, n) is heap_alloc; heap_realloc(h, p, 0) frees p
 *   and returns NULL; on failure p is left untouched.
 * - Every pointer is aligned to at least HEAP_MIN_ALIGN (16) bytes.
 * - heap_aligned_alloc takes a power of two; anything else returns NULL.
 * - A size that cannot be represented (overflow, > HEAP_MAX_ALLOC) or that
 *   the source cannot supply returns NULL; the heap stays usable.
 */
#ifndef EXO_LIBOS_HEAP_H
#define EXO_LIBOS_HEAP_H

#include <exo/frame.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_MIN_ALIGN 16
#define HEAP_PAGE_SIZE EXO_FRAME_SIZE /* the least a source hands out */
/* Larger requests are refused up front: no size arithmetic can overflow. */
#define HEAP_MAX_ALLOC ((size_t)1 << 40)

/*
 * The page source. grow returns at least bytes_min bytes, page-aligned and a
 * whole number of pages, and says how many in *bytes_got; NULL when it has
 * none. shrink takes back exactly one whole region grow returned. shrink may
 * be NULL: the heap then keeps every region, even in heap_destroy.
 */
typedef void *(*heap_grow_fn)(void *ctx, size_t bytes_min, size_t *bytes_got);
typedef void (*heap_shrink_fn)(void *ctx, void *base, size_t bytes);

/* heap_create's results. */
enum heap_error {
	HEAP_OK = 0,
	HEAP_EPOLICY = -1, /* no policy of that name */
	HEAP_ENOMEM = -2,  /* the source refused the first region */
	HEAP_EINVAL = -3,  /* NULL name, grow or out */
};

struct heap_stats {
	size_t bytes_in_use; /* sum of usable_size over live blocks */
	size_t bytes_free;   /* could still be handed out without growing */
	size_t largest_free; /* largest single alloc possible without growing */
	size_t footprint;    /* bytes obtained from the source, held now */
	size_t peak_footprint; /* highest footprint so far */
	size_t live_blocks;    /* allocated and not yet freed */
	uint64_t allocs;    /* successful alloc/aligned_alloc/realloc(NULL) */
	uint64_t frees;	    /* frees of live blocks, realloc(p, 0) too */
	uint64_t reallocs;  /* realloc calls with p != NULL and n != 0 */
	uint64_t failures;  /* calls that returned NULL for want of memory */
	uint64_t bad_frees; /* frees of pointers the heap did not hand out */
	uint64_t grows;	    /* regions obtained from the source */
	uint64_t shrinks;   /* regions given back to the source */
	/* 0..100: 100 * (1 - largest_free / bytes_free); 0 when nothing free */
	unsigned fragmentation_pct;
};

/* A page source plus its accounting; inside struct heap. */
struct heap_source {
	heap_grow_fn grow;
	heap_shrink_fn shrink;
	void *ctx;
	size_t footprint;
	size_t peak_footprint;
	uint64_t grows;
	uint64_t shrinks;
};

struct heap_ops;

/* One heap. Fill it with heap_create; its fields are private. */
struct heap {
	const struct heap_ops *ops;
	void *priv; /* the policy's state, in the first region it grew */
	/* What the inline heap_alloc and heap_free below call, in one load:
	 * the policy's own entry points, which take every argument and keep
	 * the counters below (heap_impl.h, alloc_entry). */
	void *(*alloc_fn)(struct heap *h, size_t size);
	void (*free_fn)(struct heap *h, void *ptr);
	struct heap_source src;
	uint64_t allocs, frees, reallocs, failures, bad_frees;
};

/* NULL-terminated list of the policy names heap_create accepts, in the
 * registry's order (libos/heap/heap.c). */
const char *const *heap_policy_names(void);
/* Bytes the policy's heap takes from its source when it is created (its
 * first region); 0 for a name that is no policy. */
size_t heap_policy_first_grow(const char *policy);

/* Sets up *out with the named policy; takes its first region from grow. */
int heap_create(const char *policy, heap_grow_fn grow, heap_shrink_fn shrink,
		void *ctx, struct heap *out);

/* "heap: unknown policy 'x' (valid: bump, freelist, ...)" and friends;
 * returns what fmt_snprintf returns. */
int heap_strerror(int err, const char *policy, char *buf, size_t size);

/* Gives every region back to the source; *h must be created again. */
void heap_destroy(struct heap *h);

const char *heap_policy(const struct heap *h);

/* Inline: the common call is one indirect call, straight into the
 * policy's entry point, which takes the edges and counts (sizeclass's
 * fast paths are two dozen instructions, and a size check and counter
 * here with a second call layer were a third of that). */
static inline void *heap_alloc(struct heap *h, size_t size)
{
	return h->alloc_fn(h, size);
}

static inline void heap_free(struct heap *h, void *ptr)
{
	h->free_fn(h, ptr);
}
void *heap_realloc(struct heap *h, void *ptr, size_t size);
void *heap_aligned_alloc(struct heap *h, size_t align, size_t size);
/* Bytes the caller may use at ptr (>= what it asked); 0 for NULL. */
size_t heap_usable_size(struct heap *h, const void *ptr);
void heap_stats(struct heap *h, struct heap_stats *st);

/* Walks the policy's structures; NULL when consistent, else what is wrong.
 * O(heap size): for tests and debug builds. */
const char *heap_check(struct heap *h);

#endif
