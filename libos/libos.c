/*
 * libos start-up and the guest's heap: one frame pool fed by EL2, one heap
 * of the manifest's policy growing from the pool, malloc-like entry points
 * and the stats report; EL2's events (revocation: giving frames back when
 * asked, repairing the pool when EL2 took frames by force).
 *
 * Critical sections: every entry point that touches the pool or the heap
 * runs with IRQs masked (libos_arch_irq_save), and the event handler runs
 * from the IRQ (or a safe point with IRQs masked): it always finds the
 * pool and heap consistent. It never prints (the console lock may be held
 * by the code it interrupted): it counts, and libos_events_print reports.
 *
 * Owns: the pool, the heap, the libos options. Never: calls EL2 except
 * through libos/hvc.h, turns a physical address into a pointer except
 * through libos/addr.h, or panics over a guest's choice (a bad policy or
 * option is reported and returned).
 */
#include "libos/libos.h"

#include "libos/addr.h"
#include "libos/memuse.h"
#include "libos/mm/boot_need.h"
#include "libos/mm/mm.h"
#include "libos/mm/pages.h"
#include "libos/startup.h"
#include "libos/options.h"

#include <exo/errors.h>
#include <exo/hvc.h>
#include <lib/print.h>
#include <libos/arch.h>
#include <stdlib.h>
#include <string.h>


/* Regions the heaps grew, so that a heap EL2 damaged can be retired and
 * frees of its blocks recognised. */
#define HEAP_REGIONS_MAX 256

struct heap_region {
	uint64_t pa, frames;
	unsigned gen; /* the heap generation that grew it; 0: slot free */
};

static struct {
	struct pool pool;
	struct heap heap;
	const char *policy;
	bool heap_created;
	bool stats_at_exit;
	bool ptdump_at_exit;
	bool memory_report_at_exit;
	struct libos_pagerefs refs;  /* shared pages, every address space */
	struct libos_vm_pages pages; /* region pages, from the pool */
	uint64_t page_frames;	     /* pool frames per page */
	struct libos_aspace kernel;  /* the TTBR1 half's regions */
	bool kernel_ready;
	unsigned heap_gen;		/* current heap: 1, 2, ... */
	bool regions_overflow;		/* some region is not tracked */
	struct heap_region regions[HEAP_REGIONS_MAX];
	struct libos_event_stats ev;
	uint64_t want_left;		/* asked back, not given yet */
} os;

#define CRIT_ENTER() uint64_t crit_flags_ = libos_arch_irq_save()
#define CRIT_LEAVE() libos_arch_irq_restore(crit_flags_)

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
	return libos_hvc_frame_free(pa, count) ? -1 : 0;
}

/* ---- the heap's source: the pool ---- */

static void region_add(uint64_t pa, uint64_t frames)
{
	for (unsigned i = 0; i < HEAP_REGIONS_MAX; i++) {
		if (!os.regions[i].gen) {
			os.regions[i] = (struct heap_region){ pa, frames,
							      os.heap_gen };
			return;
		}
	}
	os.regions_overflow = true;
}

static struct heap_region *region_of(uint64_t pa)
{
	for (unsigned i = 0; i < HEAP_REGIONS_MAX; i++) {
		struct heap_region *r = &os.regions[i];

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

/* ---- the regions' page source: the pool, one granule per page ---- */

static bool vm_page_alloc(void *ctx, uint64_t *pa)
{
	(void)ctx;
	return pool_alloc(&os.pool, os.page_frames, pa);
}

static void vm_page_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	pool_free(&os.pool, pa, os.page_frames);
}

static void *vm_page_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return libos_phys_to_virt(pa);
}

/* Regions of the library OS's own half, once its tables exist (the MMU is
 * on; never on the host, where no tables were built). */
static void kernel_aspace_init(void)
{
	struct pgtable *pt = libos_mm_kernel();

	os.pages = (struct libos_vm_pages){vm_page_alloc, vm_page_free,
					   vm_page_virt, NULL};
	libos_pagerefs_init(&os.refs);
	if (!pt || !pt->root || pt->geom.page_shift < POOL_FRAME_SHIFT)
		return;
	os.page_frames = (uint64_t)1
			 << (pt->geom.page_shift - POOL_FRAME_SHIFT);
	libos_aspace_init(&os.kernel, pt, &os.pages, &os.refs);
	libos_vm_attach(&os.kernel);
	os.kernel_ready = true;
}

struct libos_aspace *libos_kernel_aspace(void)
{
	return os.kernel_ready ? &os.kernel : NULL;
}

struct libos_pagerefs *libos_pagerefs(void)
{
	return &os.refs;
}

const struct libos_vm_pages *libos_vm_pages(void)
{
	return &os.pages;
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
	const char *unknown = libos_options_unknown(cfg->argc, cfg->argv,
						    cfg->guest_options);

	if (unknown) {
		libos_options_report_unknown(unknown, cfg->guest_options);
		return LIBOS_EUNKNOWN_OPTION;
	}
	for (int i = 1; i < cfg->argc && cfg->argv[i]; i++) {
		const char *a = cfg->argv[i];
		char *end;

		if (strcmp(a, LIBOS_OPT_STATS) == 0) {
			os.stats_at_exit = true;
		} else if (strcmp(a, LIBOS_OPT_PTDUMP) == 0) {
			os.ptdump_at_exit = true;
		} else if (strncmp(a, LIBOS_OPT_HIGH_WATER,
				   sizeof(LIBOS_OPT_HIGH_WATER) - 1) == 0) {
			a += sizeof(LIBOS_OPT_HIGH_WATER) - 1;
			*hwm = strtoul(a, &end, 0);
			if (end == a || *end) {
				kprintf("libos: %s: bad option '%s' (want "
					"%sN, N in frames)\n",
					cfg->name, cfg->argv[i],
					LIBOS_OPT_HIGH_WATER);
				return LIBOS_EOPTION;
			}
		}
	}
	return LIBOS_OK;
}

/* ---- what start-up needs, against the quota ---- */

static const char *policy_of(const struct libos_config *cfg)
{
	return cfg->heap_policy ? cfg->heap_policy : LIBOS_DEFAULT_POLICY;
}

/* The estimate and EL2's view; false when there is nothing to check. */
static bool startup_estimate(const struct libos_config *cfg,
			     struct libos_startup_need *need,
			     struct libos_vm_info *vm)
{
	struct libos_startup_params p = {
		.granule = cfg->granule, .argc = cfg->argc, .argv = cfg->argv,
		.heap_policy = policy_of(cfg), .image_bytes = cfg->image_bytes,
		.boot_run_frames = cfg->boot_run_frames,
	};

	return cfg->boot_run_frames && !libos_startup_need(&p, need) &&
	       libos_hvc_vm_info(vm) == 0;
}

static void startup_print(const struct libos_startup_need *need,
			  const struct libos_vm_info *vm)
{
	char line[160];

	libos_startup_format(need, vm->quota, line, sizeof(line));
	kprintf("libos: %s; %lu charged\n", line, (unsigned long)vm->charged);
}

bool libos_startup_report(const struct libos_config *cfg)
{
	struct libos_startup_need need;
	struct libos_vm_info vm;
	enum pgtable_granule granule;

	if (!startup_estimate(cfg, &need, &vm) ||
	    libos_mm_granule(cfg->granule, &granule))
		return false;
	/* Short of quota: the next table batch cannot come. Any other
	 * failure (a granule the CPU lacks, EL2 out of memory) keeps its
	 * own message. */
	if (vm.charged > vm.quota ||
	    vm.quota - vm.charged >= libos_mm_table_frames(granule, 1))
		return false;
	startup_print(&need, &vm);
	return true;
}

/* The heap is created at the first allocation; its first chunk must fit
 * now, or that malloc would fail with nothing said. */
static int startup_check(const struct libos_config *cfg)
{
	struct libos_startup_need need;
	struct libos_vm_info vm;

	if (!startup_estimate(cfg, &need, &vm) || vm.charged > vm.quota ||
	    vm.quota - vm.charged >= need.heap)
		return LIBOS_OK;
	startup_print(&need, &vm);
	return LIBOS_EQUOTA;
}

int libos_init(const struct libos_config *cfg)
{
	static const struct pool_source el2 = {
		.alloc = el2_alloc, .free = el2_free,
		.unmap = el2_unmap, .free_frames = el2_free_frames,
	};
	const char *policy = policy_of(cfg);
	uint64_t hwm = POOL_DEFAULT_HIGH_WATER;
	uint64_t page = libos_addr_page_size();
	unsigned unit = 0;
	int err;
	CRIT_ENTER();

	if (os.kernel_ready) {
		libos_aspace_fini(&os.kernel);
		libos_vm_detach(PGTABLE_TTBR1);
	}
	if (os.heap_created)
		heap_destroy(&os.heap);
	pool_trim(&os.pool);
	memset(&os, 0, sizeof(os));
	CRIT_LEAVE();
	while (((uint64_t)POOL_FRAME_SIZE << unit) < page)
		unit++;
	if (!policy_known(policy)) {
		char msg[160];

		heap_strerror(HEAP_EPOLICY, policy, msg, sizeof(msg));
		kprintf("libos: %s: %s\n", cfg->name, msg);
		return LIBOS_EPOLICY;
	}
	err = parse_options(cfg, &hwm);
	if (!err)
		err = startup_check(cfg);
	if (err)
		return err;
	os.policy = policy;
	os.memory_report_at_exit = cfg->memory_report;
	os.heap_gen = 1;
	pool_init(&os.pool, &el2, POOL_DEFAULT_BATCH_ORDER, hwm);
	kernel_aspace_init();
	pool_set_unit(&os.pool, unit);
	return LIBOS_OK;
}

static void ptdump_line(void *ctx, const char *line)
{
	size_t n = strlen(line);

	(void)ctx;
	kprintf(n && line[n - 1] == '\n' ? "ptdump: %s" : "ptdump: %s\n",
		line);
}

void libos_ptdump(void)
{
	const struct libos_mm_info *mi = libos_mm_info();
	struct pgtable *kernel = libos_mm_kernel();

	if (!mi || !kernel || !kernel->root) {
		kprintf("ptdump: no stage-1 tables (MMU off)\n");
		return;
	}
	kprintf("ptdump: TTBR1 half from 0x%lx, %u-bit VA, %lu-byte pages\n",
		(unsigned long)mi->half_base, mi->va_bits,
		(unsigned long)mi->page_size);
	pgtable_dump_range(kernel, mi->half_base,
			   UINT64_C(1) << mi->va_bits, ptdump_line, NULL);
}

/* ---- the memory report ---- */

static void memuse_line(void *ctx, const char *line)
{
	(void)ctx;
	kprintf("%s\n", line);
}

static void table_run(void *ctx, uint64_t pa, uint64_t frames)
{
	memuse_add(ctx, MEMUSE_S1_TABLES, pa, frames);
}

/* Start of the first heap region above pa, or UINT64_MAX. */
static uint64_t next_region(uint64_t pa)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < HEAP_REGIONS_MAX; i++) {
		const struct heap_region *r = &os.regions[i];

		if (r->gen && r->pa > pa && r->pa < next)
			next = r->pa;
	}
	return next;
}

/* Handed-out pool frames: the heap's regions, the rest region pages. */
static void pool_run(void *ctx, uint64_t pa, uint64_t count, bool free)
{
	uint64_t end = pa + count * POOL_FRAME_SIZE;

	if (free) {
		memuse_add(ctx, MEMUSE_POOL_FREE, pa, count);
		return;
	}
	while (pa < end) {
		const struct heap_region *r = region_of(pa);
		uint64_t to = r ? r->pa + r->frames * POOL_FRAME_SIZE
				: next_region(pa);

		to = to < end ? to : end;
		memuse_add(ctx, r ? MEMUSE_HEAP : MEMUSE_REGION_PAGES, pa,
			   (to - pa) / POOL_FRAME_SIZE);
		pa = to;
	}
}

void libos_memory_report(void)
{
	struct memuse m;
	unsigned untracked_pages;
	CRIT_ENTER();

	memuse_init(&m, memuse_line, NULL);
	untracked_pages = pages_held(table_run, &m);
	pool_runs(&os.pool, pool_run, &m);
	memuse_finish(&m, (uint64_t)untracked_pages *
				  (libos_addr_page_size() / POOL_FRAME_SIZE));
	CRIT_LEAVE();
}

void libos_fini(void)
{
	if (os.stats_at_exit) {
		libos_stats_print();
		libos_events_print();
	}
	if (os.ptdump_at_exit)
		libos_ptdump();
	if (os.memory_report_at_exit)
		libos_memory_report();
}

/* ---- allocation ---- */

static struct heap *heap(void)
{
	if (!os.heap_created && os.policy)
		os.heap_created = heap_create(os.policy, heap_grow, heap_shrink,
					      &os.pool, &os.heap) == HEAP_OK;
	return os.heap_created ? &os.heap : NULL;
}

/* A block of a heap retired after EL2 took frames it was using: never
 * given to the current heap (its memory may be gone). */
static bool retired_block(const void *ptr)
{
	struct heap_region *r = region_of(libos_virt_to_phys(ptr));

	return r && r->gen != os.heap_gen;
}

void *libos_malloc(size_t size)
{
	CRIT_ENTER();
	struct heap *h = heap();
	void *p = h ? heap_alloc(h, size) : NULL;

	CRIT_LEAVE();
	return p;
}

static void events_locked(void);

void libos_free(void *ptr)
{
	CRIT_ENTER();
	if (ptr && retired_block(ptr))
		os.ev.retired_frees++;
	else if (ptr && os.heap_created)
		heap_free(&os.heap, ptr);
	/* A request the pool could not meet when it came: frames may have
	 * come free since. */
	if (os.want_left)
		events_locked();
	CRIT_LEAVE();
}

void *libos_realloc(void *ptr, size_t size)
{
	CRIT_ENTER();
	struct heap *h = heap();
	void *p = NULL;

	if (ptr && retired_block(ptr))
		os.ev.retired_frees++;   /* its old contents may be gone */
	else if (h)
		p = heap_realloc(h, ptr, size);
	CRIT_LEAVE();
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
	CRIT_ENTER();
	struct heap *h = heap();
	void *p = h ? heap_aligned_alloc(h, align, size) : NULL;

	CRIT_LEAVE();
	return p;
}

size_t libos_usable_size(const void *ptr)
{
	CRIT_ENTER();
	size_t n = os.heap_created && ptr && !retired_block(ptr)
			   ? heap_usable_size(&os.heap, ptr) : 0;

	CRIT_LEAVE();
	return n;
}

const char *libos_check(void)
{
	CRIT_ENTER();
	const char *err = pool_check(&os.pool);

	if (!err && os.heap_created)
		err = heap_check(&os.heap);
	CRIT_LEAVE();
	return err;
}

/* ---- frames for other libos parts (libos/chan, libos/task) ---- */

bool libos_frames_alloc(uint64_t count, uint64_t *pa)
{
	CRIT_ENTER();
	bool ok = pool_alloc(&os.pool, count, pa);

	CRIT_LEAVE();
	return ok;
}

void libos_frames_free(uint64_t pa, uint64_t count)
{
	CRIT_ENTER();
	pool_free(&os.pool, pa, count);
	CRIT_LEAVE();
}

/* ---- events from EL2: revocation ---- */

/* EL2 asks frames back: the pool gives back free frames (the heaps hand
 * their empty regions to the pool as they empty, so its free frames are
 * also what the heap could release). */
static void give_back(uint64_t want)
{
	uint64_t given = pool_give_back(&os.pool, want);

	if (!os.want_left) {   /* a new request, not a retry */
		os.ev.requests++;
		os.ev.frames_asked += want;
	}
	os.ev.frames_given += given;
	os.want_left = want - given;
}

/* The heap used frames EL2 took: retire it. Its regions stay in the pool
 * as handed out (never reused); new allocations go to a fresh heap. */
static void retire_heap(void)
{
	if (!os.heap_created)
		return;
	os.heap_created = false;
	os.heap_gen++;
	os.ev.heaps_retired++;
}

static void repair(void)
{
	uint64_t pa, count;
	bool heap_hit = false;

	for (uint64_t i = 0; libos_hvc_revoked(i, &pa, &count) == EXO_OK;
	     i++) {
		struct pool_repair r;

		pool_revoked(&os.pool, pa, count, &r);
		os.ev.runs_revoked++;
		os.ev.frames_revoked += count;
		os.ev.dropped_free += r.dropped_free;
		os.ev.lost_in_use += r.lost_in_use;
		os.ev.foreign += r.foreign;
		if (r.lost_in_use) {
			struct heap_region *h = region_of(r.lost_pa);

			if (!os.ev.first_lost_pa)
				os.ev.first_lost_pa = r.lost_pa;
			if (os.regions_overflow ||
			    (h && h->gen == os.heap_gen))
				heap_hit = true;
		}
	}
	if (heap_hit)
		retire_heap();
	if (libos_hvc_revoked_ack() == EXO_OK)
		os.ev.acks++;
}

static void events_locked(void)
{
	struct libos_events e;

	os.ev.handled++;
	if (libos_hvc_events(&e) != EXO_OK)
		return;
	os.ev.pending_seen |= e.pending;
	if (e.pending & EXO_EVENT_REVOKED)
		repair();
	if (e.want)   /* 0 once met, or once EL2 has taken them by force */
		give_back(e.want);
	else
		os.want_left = 0;
}

void libos_events_handle(void)
{
	CRIT_ENTER();
	events_locked();
	CRIT_LEAVE();
}

void libos_event_stats(struct libos_event_stats *st)
{
	CRIT_ENTER();
	*st = os.ev;
	CRIT_LEAVE();
}

void libos_events_print(void)
{
	struct libos_event_stats e;

	libos_event_stats(&e);
	kprintf("libos: events: %lu handled; %lu request(s) for %lu frames, "
		"%lu given back\n",
		(unsigned long)e.handled, (unsigned long)e.requests,
		(unsigned long)e.frames_asked, (unsigned long)e.frames_given);
	if (!e.runs_revoked)
		return;
	kprintf("libos: events: EL2 took %lu frames in %lu run(s): %lu free "
		"in the pool dropped, %lu in use lost, %lu not the pool's; "
		"%lu ack(s)\n",
		(unsigned long)e.frames_revoked, (unsigned long)e.runs_revoked,
		(unsigned long)e.dropped_free, (unsigned long)e.lost_in_use,
		(unsigned long)e.foreign, (unsigned long)e.acks);
	if (e.lost_in_use)
		kprintf("libos: events: frames in use were lost (first at "
			"PA 0x%lx)%s\n",
			(unsigned long)e.first_lost_pa,
			e.heaps_retired ? ": the heap used them and is "
					  "retired; a fresh heap serves"
					: "");
}

/* ---- stats ---- */

void libos_stats(struct libos_stats *st)
{
	struct pages_stats tables;

	CRIT_ENTER();

	memset(st, 0, sizeof(*st));
	st->policy = os.policy;
	st->heap_created = os.heap_created;
	if (os.heap_created)
		heap_stats(&os.heap, &st->heap);
	pool_stats(&os.pool, &st->pool);
	pages_stats(&tables);
	st->table_pages = tables.in_use;
	CRIT_LEAVE();
	st->vm_valid = libos_hvc_vm_info(&st->vm) == 0;
	libos_vm_stats(&st->regions);
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

static void print_regions(const struct libos_vm_stats *v)
{
	kprintf("libos: region faults: %u demand-zero, %u cow copies, "
		"%u cow reuses, %u stack growths\n",
		v->demand_zero, v->cow_copies, v->cow_reuses, v->stack_growths);
	kprintf("libos: region refusals: %u stack overflows, %u guard hits, "
		"%u not allowed, %u outside regions, %u out of memory\n",
		v->stack_overflows, v->guard_hits, v->refused, v->no_region,
		v->no_memory);
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
	print_regions(&st.regions);
	if (st.heap_created)
		print_heap(st.policy, &st.heap);
	else
		kprintf("libos: heap %s: not created (no allocation yet)\n",
			st.policy ? st.policy : "-");
}
