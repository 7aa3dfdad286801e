/*
 * The guest's one frame pool (libos/pool) and its source, EL2: chunks
 * from FRAME_ALLOC are mapped in the direct map before the pool hands out
 * any of it, and unmapped before they go back with FRAME_FREE. Whole
 * frames from it for the other libos parts (libos/chan, libos/task, the
 * regions' pages).
 *
 * Owns: the pool. Never: calls EL2 except through libos/el2.h, or turns a
 * physical address into a pointer except through libos/addr.h.
 */
#include "libos/addr.h"
#include "libos/internal.h"
#include "libos/libos.h"

#include <string.h>

static struct pool pool;

/* Chunks are aligned to their size (16 frames or more): whole pages for
 * every granule. */
static int el2_alloc(void *ctx, unsigned order, uint64_t *pa)
{
	uint64_t frames = (uint64_t)1 << order;

	(void)ctx;
	if (libos_el2_frame_alloc(frames, order, pa))
		return -1;
	if (libos_addr_map(*pa, frames * POOL_FRAME_SIZE)) {
		libos_el2_frame_free(*pa, frames);
		return -1;
	}
	return 0;
}

static int el2_free(void *ctx, uint64_t pa, unsigned order)
{
	uint64_t frames = (uint64_t)1 << order;

	(void)ctx;
	if (libos_addr_unmap(pa, frames * POOL_FRAME_SIZE))
		return -1;
	return libos_el2_frame_free(pa, frames) ? -1 : 0;
}

/* Revocation: one unit (a direct-map page) leaves the direct map, then
 * its free frames go back. */
static int el2_unmap(void *ctx, uint64_t pa, uint64_t count)
{
	(void)ctx;
	return libos_addr_unmap(pa, count * POOL_FRAME_SIZE) ? -1 : 0;
}

static int el2_free_frames(void *ctx, uint64_t pa, uint64_t count)
{
	(void)ctx;
	return libos_el2_frame_free(pa, count) ? -1 : 0;
}

struct pool *libos_guest_pool(void)
{
	return &pool;
}

void libos_guest_pool_reset(void)
{
	pool_trim(&pool);
	memset(&pool, 0, sizeof(pool));
}

void libos_guest_pool_start(uint64_t high_water, unsigned unit)
{
	static const struct pool_source el2 = {
		.alloc = el2_alloc, .free = el2_free,
		.unmap = el2_unmap, .free_frames = el2_free_frames,
	};

	pool_init(&pool, &el2, POOL_DEFAULT_BATCH_ORDER, high_water);
	pool_set_unit(&pool, unit);
}

bool libos_frames_alloc(uint64_t count, uint64_t *pa)
{
	LIBOS_CRIT_ENTER();
	bool ok = pool_alloc(&pool, count, pa);

	LIBOS_CRIT_LEAVE();
	return ok;
}

void libos_frames_free(uint64_t pa, uint64_t count)
{
	LIBOS_CRIT_ENTER();
	pool_free(&pool, pa, count);
	LIBOS_CRIT_LEAVE();
}
