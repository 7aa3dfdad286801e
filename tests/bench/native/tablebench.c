/*
 * Native benchmark of exo's table code: the libos stage-1 engine
 * (pgtable_map/unmap) and the EL2 frame DB transitions (alloc and free,
 * check + commit), compiled for the host with -O2. The hardware hooks of
 * libos/arch.h are plain stores and no-ops here, so the figures are the
 * engine's own cost, not the TLB maintenance's.
 *
 * Prints "BENCH <name> <value>" lines for tools/bench. Measures only:
 * correctness is the host unit tests' job (a failed call still aborts).
 *
 * Usage: tablebench [--smoke]
 */
#define _GNU_SOURCE
#include <el2/frames.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <lib/panic.h>
#include <libos/arch.h>
#include <libos/mmu/pgtable.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_PAGES 4096u
#define REPS 3
#define SPAN_FRAMES (256u * 1024u)   /* 1 GiB of RAM, as `make run` has */
#define VM_A 1
#define VM_B 2

static unsigned scale = 8;

/* --- libos/arch.h on the host: no TLBs to maintain ---------------------- */

void libos_arch_write_pte(uint64_t *ptep, uint64_t desc)
{
	*(volatile uint64_t *)ptep = desc;
}

void libos_arch_dsb_ishst(void) {}
void libos_arch_dsb_ish(void) {}
void libos_arch_isb(void) {}
void libos_arch_tlbi_vae1is(uint64_t op) { (void)op; }
void libos_arch_tlbi_vale1is(uint64_t op) { (void)op; }
void libos_arch_tlbi_vaae1is(uint64_t op) { (void)op; }
void libos_arch_tlbi_vaale1is(uint64_t op) { (void)op; }
void libos_arch_tlbi_aside1is(uint64_t op) { (void)op; }

/* A CHECK in the frame DB: the benchmark misused it. */
_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* --- table pages: a pool with a free stack, identity "PAs" ------------- */

struct pool {
	void *mem;
	void *free[POOL_PAGES];
	unsigned nfree;
};

static void *pool_alloc(void *ctx)
{
	struct pool *p = ctx;

	return p->nfree ? p->free[--p->nfree] : NULL;
}

static void pool_free(void *ctx, void *page)
{
	struct pool *p = ctx;

	p->free[p->nfree++] = page;
}

static uint64_t pool_v2p(void *ctx, const void *v)
{
	(void)ctx;
	return (uint64_t)(uintptr_t)v;
}

static void *pool_p2v(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void emit(const char *name, double v)
{
	printf("BENCH %s %.3f\n", name, v);
}

static void must(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "tablebench: %s failed: %d\n", what, rc);
		exit(1);
	}
}

/* --- stage 1 ------------------------------------------------------------- */

static void pgtable_setup(struct pool *pool, struct pgtable *pt)
{
	struct pgtable_config cfg = {
		.granule = PGTABLE_GRANULE_4K,
		.va_bits = 48,
		.half = PGTABLE_TTBR0,
		.asid = 1,
	};
	struct pgtable_mm_ops mm = { pool_alloc, pool_free, pool_v2p,
				     pool_p2v, pool, false, 0 };

	pool->mem = aligned_alloc(4096, (size_t)POOL_PAGES * 4096);
	if (!pool->mem)
		exit(1);
	memset(pool->mem, 0, (size_t)POOL_PAGES * 4096);
	pool->nfree = 0;
	for (unsigned i = POOL_PAGES; i-- > 0;)
		pool->free[pool->nfree++] = (char *)pool->mem + (size_t)i * 4096;
	must(pgtable_init(pt, &cfg, &mm), "pgtable_init");
}

/*
 * Maps then unmaps `pages` 4 KiB pages one call each, at VAs `stride`
 * pages apart from 1 GiB up; returns ns per call of each kind (best of
 * REPS). The first pass also builds the intermediate tables; later passes
 * find them (unmap keeps empty tables? then map reuses them either way).
 */
static void bench_map(struct pgtable *pt, const char *name, unsigned pages,
		      unsigned stride, uint64_t size)
{
	const uint64_t va0 = UINT64_C(1) << 30, pa0 = UINT64_C(1) << 32;
	double best_map = 1e30, best_unmap = 1e30;
	char full[96];

	for (int rep = 0; rep < REPS; rep++) {
		uint64_t t = now_ns();

		for (unsigned i = 0; i < pages; i++) {
			uint64_t off = (uint64_t)i * stride * size;

			must(pgtable_map(pt, va0 + off, pa0 + off, size,
					 PGTABLE_KERNEL_RW), "map");
		}
		t = now_ns() - t;
		if ((double)t / pages < best_map)
			best_map = (double)t / pages;
		t = now_ns();
		for (unsigned i = 0; i < pages; i++) {
			uint64_t off = (uint64_t)i * stride * size;

			must(pgtable_unmap(pt, va0 + off, size), "unmap");
		}
		t = now_ns() - t;
		if ((double)t / pages < best_unmap)
			best_unmap = (double)t / pages;
	}
	snprintf(full, sizeof(full), "s1_map_%s_ns_per_op", name);
	emit(full, best_map);
	snprintf(full, sizeof(full), "s1_unmap_%s_ns_per_op", name);
	emit(full, best_unmap);
}

static void bench_pgtable(void)
{
	static struct pool pool;
	struct pgtable pt;

	pgtable_setup(&pool, &pt);
	/* One page at a time, consecutive: the common demand-paging case. */
	bench_map(&pt, "4k_seq", 512 * scale, 1, 4096);
	/* Pages 2 MiB apart: every map needs a new level-3 table. */
	bench_map(&pt, "4k_sparse", 256, 512, 4096);
	/* 2 MiB blocks. */
	bench_map(&pt, "2m_block", 64 * scale, 1, UINT64_C(2) << 20);
	pgtable_destroy(&pt);
	free(pool.mem);
}

/* --- frame DB ------------------------------------------------------------ */

static void frames_setup(struct frames_db *db, void **storage)
{
	size_t size = frames_storage_size(SPAN_FRAMES, 1024);

	*storage = aligned_alloc(8, (size + 7) & ~(size_t)7);
	if (!*storage)
		exit(1);
	must(frames_init(db, 0x40000000, SPAN_FRAMES, 1024, *storage, size),
	     "frames_init");
	must(frames_ram_add(db, 0x40000000, SPAN_FRAMES), "frames_ram_add");
	must(frames_vm_create(db, VM_A, SPAN_FRAMES), "vm_create");
	must(frames_vm_create(db, VM_B, SPAN_FRAMES), "vm_create");
}

/* Alloc (check + commit) then free (check + commit) of `count` frames,
 * `iters` times; ns per alloc+free pair. */
static double frames_pair(struct frames_db *db, uint64_t count,
			  unsigned iters)
{
	double best = 1e30;

	for (int rep = 0; rep < REPS; rep++) {
		uint64_t t = now_ns();

		for (unsigned i = 0; i < iters; i++) {
			struct frames_op op;

			must(frames_alloc_check(db, VM_A, count, 0, 0, &op),
			     "alloc_check");
			frames_alloc_commit(db, &op);
			must(frames_free_check(db, VM_A, op.pa, count, 0, &op),
			     "free_check");
			frames_free_commit(db, &op);
		}
		t = now_ns() - t;
		if ((double)t / iters < best)
			best = (double)t / iters;
	}
	return best;
}

static void bench_frames(void)
{
	struct frames_db db;
	struct frames_op op;
	void *storage;
	unsigned iters = 20000 * scale;

	frames_setup(&db, &storage);
	emit("frames_alloc_free_1_empty_ns_per_op", frames_pair(&db, 1, iters));
	emit("frames_alloc_free_8_empty_ns_per_op", frames_pair(&db, 8, iters));
	/* Another VM holds the lower half of RAM: the first-fit search
	 * crosses it on every allocation. */
	must(frames_alloc_check(&db, VM_B, SPAN_FRAMES / 2, 0, 0, &op),
	     "alloc_check half");
	frames_alloc_commit(&db, &op);
	emit("frames_alloc_free_1_halffull_ns_per_op",
	     frames_pair(&db, 1, iters / 100 + 1));
	free(storage);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--smoke"))
		scale = 1;
	bench_pgtable();
	bench_frames();
	/* EL2 memory per guest, besides its stage-2 tables: its struct vm
	 * (vCPU, stage-2 state, console line inside), its frame-DB account;
	 * the stage-2 root is listed apart (a table, charged to EL2). */
	emit("el2_mem_per_guest_bytes",
	     (double)(sizeof(struct vm) + sizeof(struct frames_account)));
	emit("el2_s2_root_bytes", (double)S2_ROOT_SIZE);
	return 0;
}
