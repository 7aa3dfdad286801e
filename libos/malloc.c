/*
 * The guest's heap: one heap of the manifest's policy (libos/heap), grown
 * from the guest's pool, created at the first allocation, and the C
 * library's allocation functions over it. The regions each heap grew are
 * remembered with the heap's generation, so that a heap EL2 damaged can be
 * retired (revocation.c) and frees of its blocks recognised and ignored.
 *
 * Owns: the heap, its policy and generation, the regions it grew. Never:
 * knows how a policy lays out memory (libos/heap does), or turns a
 * physical address into a pointer except through libos/addr.h.
 */
#include "libos/addr.h"
#include "libos/internal.h"
#include "libos/libos.h"

#include <string.h>

/* Regions the heaps grew (a run of pool frames each). */
#define HEAP_REGIONS_MAX 256

struct heap_region {
	uint64_t pa, frames;
	unsigned gen; /* the heap generation that grew it; 0: slot free */
};

static struct {
	struct heap heap;
	const char *policy;
	bool created;
	unsigned gen;			/* current heap: 1, 2, ... */
	bool regions_overflow;		/* some region is not tracked */
	struct heap_region regions[HEAP_REGIONS_MAX];
	uint64_t retired_frees;
} hp;

/* ---- the heap's source: the pool ---- */

static void region_add(uint64_t pa, uint64_t frames)
{
	for (unsigned i = 0; i < HEAP_REGIONS_MAX; i++) {
		if (!hp.regions[i].gen) {
			hp.regions[i] = (struct heap_region){ pa, frames,
							      hp.gen };
			return;
		}
	}
	hp.regions_overflow = true;
}

static struct heap_region *region_of(uint64_t pa)
{
	for (unsigned i = 0; i < HEAP_REGIONS_MAX; i++) {
		struct heap_region *r = &hp.regions[i];

		if (r->gen && pa >= r->pa &&
		    pa - r->pa < r->frames * POOL_FRAME_SIZE)
			return r;
	}
	return NULL;
}

static void *heap_grow(void *ctx, size_t bytes_min, size_t *bytes_got)
{
	uint64_t frames = (bytes_min + POOL_FRAME_SIZE - 1) / POOL_FRAME_SIZE;
	uint64_t pa;

	if (frames == 0 || frames > POOL_MAX_RUN ||
	    !pool_alloc(ctx, frames, &pa))
		return NULL;
	*bytes_got = frames * POOL_FRAME_SIZE;
	region_add(pa, frames);
	return libos_phys_to_virt(pa);
}

static void heap_shrink(void *ctx, void *base, size_t bytes)
{
	uint64_t pa = libos_virt_to_phys(base);
	struct heap_region *r = region_of(pa);

	if (r)
		r->gen = 0;
	pool_free(ctx, pa, bytes / POOL_FRAME_SIZE);
}

/* ---- for the other rooms (internal.h) ---- */

void libos_heap_reset(void)
{
	if (hp.created)
		heap_destroy(&hp.heap);
	memset(&hp, 0, sizeof(hp));
}

void libos_heap_start(const char *policy)
{
	hp.policy = policy;
	hp.gen = 1;
}

const char *libos_heap_policy(void)
{
	return hp.policy;
}

bool libos_heap_stats(struct heap_stats *out)
{
	if (hp.created)
		heap_stats(&hp.heap, out);
	return hp.created;
}

bool libos_heap_lost(uint64_t pa)
{
	struct heap_region *r = region_of(pa);

	return hp.regions_overflow || (r && r->gen == hp.gen);
}

bool libos_heap_retire(void)
{
	if (!hp.created)
		return false;
	hp.created = false;
	hp.gen++;
	return true;
}

uint64_t libos_heap_retired_frees(void)
{
	return hp.retired_frees;
}

/* Start of the first heap region above pa, or UINT64_MAX. */
static uint64_t next_region(uint64_t pa)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < HEAP_REGIONS_MAX; i++) {
		const struct heap_region *r = &hp.regions[i];

		if (r->gen && r->pa > pa && r->pa < next)
			next = r->pa;
	}
	return next;
}

bool libos_heap_owns(uint64_t pa, uint64_t limit, uint64_t *end)
{
	const struct heap_region *r = region_of(pa);
	uint64_t to = r ? r->pa + r->frames * POOL_FRAME_SIZE
			: next_region(pa);

	*end = to < limit ? to : limit;
	return r != NULL;
}

/* ---- allocation ---- */

static struct heap *heap(void)
{
	if (!hp.created && hp.policy)
		hp.created = heap_create(hp.policy, heap_grow, heap_shrink,
					 libos_guest_pool(), &hp.heap) ==
			     HEAP_OK;
	return hp.created ? &hp.heap : NULL;
}

/* A block of a heap retired after EL2 took frames it was using: never
 * given to the current heap (its memory may be gone). */
static bool retired_block(const void *ptr)
{
	struct heap_region *r = region_of(libos_virt_to_phys(ptr));

	return r && r->gen != hp.gen;
}

void *libos_malloc(size_t size)
{
	LIBOS_CRIT_ENTER();
	struct heap *h = heap();
	void *p = h ? heap_alloc(h, size) : NULL;

	LIBOS_CRIT_LEAVE();
	return p;
}

void libos_free(void *ptr)
{
	LIBOS_CRIT_ENTER();
	if (ptr && retired_block(ptr))
		hp.retired_frees++;
	else if (ptr && hp.created)
		heap_free(&hp.heap, ptr);
	libos_events_retry_locked();
	LIBOS_CRIT_LEAVE();
}

void *libos_realloc(void *ptr, size_t size)
{
	LIBOS_CRIT_ENTER();
	struct heap *h = heap();
	void *p = NULL;

	if (ptr && retired_block(ptr))
		hp.retired_frees++;   /* its old contents may be gone */
	else if (h)
		p = heap_realloc(h, ptr, size);
	LIBOS_CRIT_LEAVE();
	return p;
}

void *libos_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > HEAP_MAX_ALLOC / size)
		return NULL;
	p = libos_malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *libos_aligned_alloc(size_t align, size_t size)
{
	LIBOS_CRIT_ENTER();
	struct heap *h = heap();
	void *p = h ? heap_aligned_alloc(h, align, size) : NULL;

	LIBOS_CRIT_LEAVE();
	return p;
}

size_t libos_usable_size(const void *ptr)
{
	LIBOS_CRIT_ENTER();
	size_t n = hp.created && ptr && !retired_block(ptr)
			   ? heap_usable_size(&hp.heap, ptr) : 0;

	LIBOS_CRIT_LEAVE();
	return n;
}

const char *libos_check(void)
{
	LIBOS_CRIT_ENTER();
	const char *err = pool_check(libos_guest_pool());

	if (!err && hp.created)
		err = heap_check(&hp.heap);
	LIBOS_CRIT_LEAVE();
	return err;
}
