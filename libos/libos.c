/*
 * libos start-up and the guest's heap: one frame pool fed by EL2, one heap
 * of the manifest's policy growing from the pool, malloc-like entry points
 * and the stats report.
 *
 * Owns: the pool, the heap, the libos options. Never: calls EL2 except
 * through libos/hvc.h, turns a physical address into a pointer except
 * through libos/addr.h, or panics over a guest's choice (a bad policy or
 * option is reported and returned).
 */
#include "libos/libos.h"

#include "libos/addr.h"

#include <lib/print.h>
#include <stdlib.h>
#include <string.h>

#define OPT_STATS      "--stats"
#define OPT_HIGH_WATER "--pool-high-water="

static struct {
	struct pool pool;
	struct heap heap;
	const char *policy;
	bool heap_created;
	bool stats_at_exit;
} os;

/* ---- the pool's source: EL2 ---- */

/* A chunk from EL2 is mapped in the direct map before the pool hands out
 * any of it, and unmapped before it goes back. Chunks are aligned to their
 * size (16 frames or more): whole pages for every granule. */
static int el2_alloc(void *ctx, unsigned order, uint64_t *pa)
{
	uint64_t frames = (uint64_t)1 << order;

	(void)ctx;
	if (libos_hvc_frame_alloc(frames, order, pa))
		return -1;
	if (libos_addr_map(*pa, frames * POOL_FRAME_SIZE)) {
		libos_hvc_frame_free(*pa, frames);
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
	return libos_hvc_frame_free(pa, frames) ? -1 : 0;
}

/* ---- the heap's source: the pool ---- */

static void *heap_grow(void *ctx, size_t bytes_min, size_t *bytes_got)
{
	uint64_t frames = (bytes_min + POOL_FRAME_SIZE - 1) / POOL_FRAME_SIZE;
	uint64_t pa;

	if (frames == 0 || frames > POOL_MAX_RUN ||
	    !pool_alloc(ctx, frames, &pa))
		return NULL;
	*bytes_got = frames * POOL_FRAME_SIZE;
	return libos_phys_to_virt(pa);
}

static void heap_shrink(void *ctx, void *base, size_t bytes)
{
	pool_free(ctx, libos_virt_to_phys(base), bytes / POOL_FRAME_SIZE);
}

/* ---- start-up ---- */

static bool policy_known(const char *policy)
{
	for (const char *const *n = heap_policy_names(); *n; n++)
		if (strcmp(*n, policy) == 0)
			return true;
	return false;
}

static int parse_options(const struct libos_config *cfg, uint64_t *hwm)
{
	for (int i = 1; i < cfg->argc && cfg->argv[i]; i++) {
		const char *a = cfg->argv[i];
		char *end;

		if (strcmp(a, OPT_STATS) == 0) {
			os.stats_at_exit = true;
		} else if (strncmp(a, OPT_HIGH_WATER,
				   sizeof(OPT_HIGH_WATER) - 1) == 0) {
			a += sizeof(OPT_HIGH_WATER) - 1;
			*hwm = strtoul(a, &end, 0);
			if (end == a || *end) {
				kprintf("libos: %s: bad option '%s' (want "
					"%sN, N in frames)\n",
					cfg->name, cfg->argv[i],
					OPT_HIGH_WATER);
				return LIBOS_EOPTION;
			}
		}
	}
	return LIBOS_OK;
}

int libos_init(const struct libos_config *cfg)
{
	static const struct pool_source el2 = {el2_alloc, el2_free, NULL};
	const char *policy =
	    cfg->heap_policy ? cfg->heap_policy : LIBOS_DEFAULT_POLICY;
	uint64_t hwm = POOL_DEFAULT_HIGH_WATER;
	int err;

	if (os.heap_created)
		heap_destroy(&os.heap);
	pool_trim(&os.pool);
	memset(&os, 0, sizeof(os));
	if (!policy_known(policy)) {
		char msg[160];

		heap_strerror(HEAP_EPOLICY, policy, msg, sizeof(msg));
		kprintf("libos: %s: %s\n", cfg->name, msg);
		return LIBOS_EPOLICY;
	}
	err = parse_options(cfg, &hwm);
	if (err)
		return err;
	os.policy = policy;
	pool_init(&os.pool, &el2, POOL_DEFAULT_BATCH_ORDER, hwm);
	return LIBOS_OK;
}

void libos_fini(void)
{
	if (os.stats_at_exit)
		libos_stats_print();
}

/* ---- allocation ---- */

static struct heap *heap(void)
{
	if (!os.heap_created && os.policy)
		os.heap_created = heap_create(os.policy, heap_grow, heap_shrink,
					      &os.pool, &os.heap) == HEAP_OK;
	return os.heap_created ? &os.heap : NULL;
}

void *libos_malloc(size_t size)
{
	struct heap *h = heap();

	return h ? heap_alloc(h, size) : NULL;
}

void libos_free(void *ptr)
{
	if (ptr && os.heap_created)
		heap_free(&os.heap, ptr);
}

void *libos_realloc(void *ptr, size_t size)
{
	struct heap *h = heap();

	return h ? heap_realloc(h, ptr, size) : NULL;
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
	struct heap *h = heap();

	return h ? heap_aligned_alloc(h, align, size) : NULL;
}

size_t libos_usable_size(const void *ptr)
{
	return os.heap_created ? heap_usable_size(&os.heap, ptr) : 0;
}

bool libos_frames_alloc(uint64_t count, uint64_t *pa)
{
	return pool_alloc(&os.pool, count, pa);
}

void libos_frames_free(uint64_t pa, uint64_t count)
{
	pool_free(&os.pool, pa, count);
}

const char *libos_check(void)
{
	const char *err = pool_check(&os.pool);

	if (!err && os.heap_created)
		err = heap_check(&os.heap);
	return err;
}

/* ---- stats ---- */

void libos_stats(struct libos_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->policy = os.policy;
	st->heap_created = os.heap_created;
	if (os.heap_created)
		heap_stats(&os.heap, &st->heap);
	pool_stats(&os.pool, &st->pool);
	st->table_pages = 0;
	st->vm_valid = libos_hvc_vm_info(&st->vm) == 0;
}

static void print_heap(const char *policy, const struct heap_stats *h)
{
	kprintf("libos: heap %s: %lu B in use, %lu B free, largest free "
		"%lu B, fragmentation %u%%\n",
		policy, (unsigned long)h->bytes_in_use,
		(unsigned long)h->bytes_free, (unsigned long)h->largest_free,
		h->fragmentation_pct);
	kprintf("libos: heap %s: footprint %lu B (peak %lu B), %lu live "
		"blocks\n",
		policy, (unsigned long)h->footprint,
		(unsigned long)h->peak_footprint,
		(unsigned long)h->live_blocks);
	kprintf("libos: heap %s: %lu allocs, %lu frees, %lu reallocs, "
		"%lu failures, %lu bad frees, %lu grows, %lu shrinks\n",
		policy, (unsigned long)h->allocs, (unsigned long)h->frees,
		(unsigned long)h->reallocs, (unsigned long)h->failures,
		(unsigned long)h->bad_frees, (unsigned long)h->grows,
		(unsigned long)h->shrinks);
}

void libos_stats_print(void)
{
	struct libos_stats st;
	const struct pool_stats *p = &st.pool;

	libos_stats(&st);
	kprintf("libos: frames: %lu held (%lu in use, %lu free), %lu from "
		"EL2, %lu returned, peak %lu, high water %lu\n",
		(unsigned long)p->frames_held, (unsigned long)p->frames_in_use,
		(unsigned long)p->frames_free,
		(unsigned long)p->frames_from_src,
		(unsigned long)p->frames_returned, (unsigned long)p->peak_held,
		(unsigned long)p->high_water);
	kprintf("libos: table pages: %lu\n", (unsigned long)st.table_pages);
	if (st.vm_valid)
		kprintf("libos: vm info: quota %lu frames, %lu charged\n",
			(unsigned long)st.vm.quota,
			(unsigned long)st.vm.charged);
	if (st.heap_created)
		print_heap(st.policy, &st.heap);
	else
		kprintf("libos: heap %s: not created (no allocation yet)\n",
			st.policy ? st.policy : "-");
}
