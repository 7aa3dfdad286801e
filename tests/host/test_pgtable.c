/*
 * libos/mmu: the stage-1 table engine, for every granule, both VA sizes
 * and both halves: geometry, blocks, contiguous runs, splits, protect,
 * errors (all-or-nothing), ptdump, and a seeded random sequence checked
 * against a reference model and the independent walker (walker.c), with
 * the break-before-make checker (fake_libos_arch.c) on throughout.
 */
#include "fake_libos_arch.h"
#include "walker.h"

#include <criterion/criterion.h>
#include <libos/arch.h>
#include <libos/mmu/pgtable.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Criterion's timeout here is a hang guard, not a deadline: the test takes
 * seconds, and a starved CI machine (docs/testing.md, "Time in tests")
 * must never reach it. */
#define HANG_GUARD_S 1800

#define POOL_PAGES 192
#define POOL_PA UINT64_C(0x0000008000000000)   /* fake PAs of table pages */

struct pool {
	uint8_t *mem;
	uint64_t gsize;
	bool used[POOL_PAGES];
	unsigned in_use, limit;
};

static void *pool_alloc(void *ctx)
{
	struct pool *p = ctx;

	if (p->in_use >= p->limit)
		return NULL;
	for (unsigned i = 0; i < POOL_PAGES; i++) {
		if (p->used[i])
			continue;
		p->used[i] = true;
		p->in_use++;
		memset(p->mem + i * p->gsize, 0xa5, p->gsize); /* not zeroed */
		return p->mem + i * p->gsize;
	}
	return NULL;
}

static void pool_free(void *ctx, void *page)
{
	struct pool *p = ctx;
	size_t i = (size_t)((uint8_t *)page - p->mem) / p->gsize;

	cr_assert(i < POOL_PAGES && p->used[i], "free of a page not ours");
	p->used[i] = false;
	p->in_use--;
}

static uint64_t pool_v2p(void *ctx, const void *v)
{
	struct pool *p = ctx;

	return POOL_PA + (uint64_t)((const uint8_t *)v - p->mem);
}

static void *pool_p2v(void *ctx, uint64_t pa)
{
	struct pool *p = ctx;

	cr_assert(pa >= POOL_PA && pa < POOL_PA + POOL_PAGES * p->gsize,
		  "PA 0x%llx is not a table page", (unsigned long long)pa);
	return p->mem + (pa - POOL_PA);
}

struct env {
	struct pool pool;
	struct pgtable pt;
	struct walker_cfg wc;
	struct pgtable_config cfg;
};

static void expect_counts(struct env *e);

static const enum pgtable_granule granules[] = {
	PGTABLE_GRANULE_4K, PGTABLE_GRANULE_16K, PGTABLE_GRANULE_64K
};
static const unsigned va_sizes[] = { 39, 48 };

static void env_init(struct env *e, enum pgtable_granule g, unsigned va_bits,
		     enum pgtable_half half)
{
	struct pgtable_mm_ops ops = { pool_alloc, pool_free, pool_v2p,
				      pool_p2v, &e->pool, false, 0 };

	memset(e, 0, sizeof(*e));
	e->pool.gsize = UINT64_C(1) << g;
	e->pool.limit = POOL_PAGES;
	e->pool.mem = aligned_alloc(e->pool.gsize, POOL_PAGES * e->pool.gsize);
	cr_assert_not_null(e->pool.mem);
	e->cfg = (struct pgtable_config){ g, va_bits, half, 0x42 };
	cr_assert_eq(pgtable_init(&e->pt, &e->cfg, &ops), 0);
	e->wc = (struct walker_cfg){ .tg_shift = g, .t0sz = 64 - va_bits,
				     .t1sz = 64 - va_bits,
				     .pa_to_ptr = pool_p2v, .ctx = &e->pool };
	if (half == PGTABLE_TTBR0)
		e->wc.ttbr0 = pgtable_ttbr(&e->pt);
	else
		e->wc.ttbr1 = pgtable_ttbr(&e->pt);
	fake_libos_reset(&e->wc, 0x42);
}

static void env_fini(struct env *e)
{
	cr_assert_eq(fake_libos_quiescent(), 0, "BBM: %s",
		     fake_libos.first_violation);
	pgtable_destroy(&e->pt);
	cr_assert_eq(e->pool.in_use, 0, "table pages leaked");
	free(e->pool.mem);
}

static uint64_t gsz(const struct env *e)
{
	return UINT64_C(1) << e->pt.geom.page_shift;
}

static uint64_t lsz(const struct env *e, int level)
{
	return pgtable_level_size(&e->pt.geom, level);
}

/* A VA of the half, offset from its base so high indices get used. */
static uint64_t va_at(const struct env *e, uint64_t off)
{
	uint64_t span = UINT64_C(1) << e->pt.geom.va_bits;

	return e->pt.va_base + span / 2 + span / 8 + off;
}

static void no_violation(void)
{
	cr_assert_eq(fake_libos_quiescent(), 0, "BBM: %s",
		     fake_libos.first_violation);
}

/* Engine and walker both say va -> pa with attrs at level. */
static void expect_mapped(struct env *e, uint64_t va, uint64_t pa,
			  uint32_t attrs, int level)
{
	struct pgtable_xlate x;
	struct walker_result w;

	cr_assert_eq(pgtable_translate(&e->pt, va, &x), 0, "va 0x%llx",
		     (unsigned long long)va);
	cr_assert_eq(x.pa, pa, "va 0x%llx: pa 0x%llx, want 0x%llx",
		     (unsigned long long)va, (unsigned long long)x.pa,
		     (unsigned long long)pa);
	cr_assert_eq(x.attrs, attrs, "attrs 0x%x want 0x%x", x.attrs, attrs);
	if (level >= 0)
		cr_assert_eq(x.level, level, "level %d want %d", x.level,
			     level);
	walker_translate(&e->wc, va, &w);
	cr_assert_eq(w.fault, attrs & PGTABLE_ACCESSED ? WALK_OK :
							   WALK_ACCESS_FLAG,
		     "walker fault %d at va 0x%llx", w.fault,
		     (unsigned long long)va);
	cr_assert_eq(w.pa, pa, "walker pa");
	cr_assert_eq(w.level, x.level);
	/* writable-clean (DBM) pages are writable once HD is on */
	cr_assert_eq(w.el1_w || w.dbm, !!(attrs & PGTABLE_WRITE));
	cr_assert_eq(w.dbm, !!(attrs & PGTABLE_DBM));
	cr_assert_eq(w.el0_r, !!(attrs & PGTABLE_USER));
	cr_assert_eq(w.el1_x, !!(attrs & PGTABLE_EXEC_EL1));
	cr_assert_eq(w.el0_x, !!(attrs & PGTABLE_EXEC_EL0));
	cr_assert_eq(w.attrindx, PGTABLE_MEM_OF(attrs));
	cr_assert_eq(w.ng, !(attrs & PGTABLE_GLOBAL));
}

static void expect_unmapped(struct env *e, uint64_t va)
{
	struct pgtable_xlate x;
	struct walker_result w;

	cr_assert_eq(pgtable_translate(&e->pt, va, &x), PGTABLE_ENOENT,
		     "va 0x%llx still mapped", (unsigned long long)va);
	walker_translate(&e->wc, va, &w);
	cr_assert_eq(w.fault, WALK_TRANSLATION);
}

#define FOR_EACH_CONFIG(g, v)                                                \
	for (unsigned gi_ = 0; gi_ < 3; gi_++)                               \
		for (unsigned vi_ = 0, g = granules[gi_], v = va_sizes[0];   \
		     vi_ < 2 && (v = va_sizes[vi_], 1); vi_++)

#define KRW PGTABLE_KERNEL_RW
#define URW PGTABLE_USER_RW

/* --- geometry ------------------------------------------------------------- */

Test(pgtable, geometry_matches_the_arm_arm)
{
	static const struct {
		enum pgtable_granule g;
		unsigned va;
		int start;
		unsigned root;
	} t[] = {
		{ PGTABLE_GRANULE_4K, 39, 1, 512 },
		{ PGTABLE_GRANULE_4K, 48, 0, 512 },
		{ PGTABLE_GRANULE_16K, 39, 1, 8 },
		{ PGTABLE_GRANULE_16K, 48, 0, 2 },
		{ PGTABLE_GRANULE_64K, 39, 2, 1024 },
		{ PGTABLE_GRANULE_64K, 48, 1, 64 },
	};
	struct pgtable_geom g;

	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(pgtable_geom_init(&g, t[i].g, t[i].va), 0);
		cr_assert_eq(g.start_level, t[i].start, "case %u", i);
		cr_assert_eq(g.root_entries, t[i].root, "case %u", i);
		cr_assert_eq(pgtable_txsz(&g), 64 - t[i].va);
	}
	pgtable_geom_init(&g, PGTABLE_GRANULE_4K, 48);
	cr_assert_eq(pgtable_level_size(&g, 1), UINT64_C(1) << 30);
	cr_assert_eq(pgtable_level_size(&g, 2), UINT64_C(1) << 21);
	cr_assert(!pgtable_leaf_allowed(&g, 0));
	cr_assert(pgtable_leaf_allowed(&g, 1));
	cr_assert_eq(pgtable_cont_entries(&g, 3), 16);
	cr_assert_eq(pgtable_cont_entries(&g, 2), 16);
	pgtable_geom_init(&g, PGTABLE_GRANULE_16K, 48);
	cr_assert_eq(pgtable_level_size(&g, 2), UINT64_C(32) << 20);
	cr_assert(!pgtable_leaf_allowed(&g, 1));
	cr_assert_eq(pgtable_cont_entries(&g, 3), 128);
	cr_assert_eq(pgtable_cont_entries(&g, 2), 32);
	pgtable_geom_init(&g, PGTABLE_GRANULE_64K, 48);
	cr_assert_eq(pgtable_level_size(&g, 2), UINT64_C(512) << 20);
	cr_assert(!pgtable_leaf_allowed(&g, 1), "4 TiB blocks need LPA");
	cr_assert_eq(pgtable_cont_entries(&g, 3), 32);
	cr_assert_eq(pgtable_cont_entries(&g, 2), 32);
	cr_assert_eq(pgtable_geom_init(&g, PGTABLE_GRANULE_4K, 42),
		     PGTABLE_ECONFIG);
	cr_assert_eq(pgtable_geom_init(&g, 13, 48), PGTABLE_ECONFIG);
}

Test(pgtable, attributes_encode_by_name_and_round_trip)
{
	static const uint32_t ok[] = {
		KRW, URW, PGTABLE_READ | PGTABLE_EXEC_EL1 | PGTABLE_GLOBAL,
		PGTABLE_READ | PGTABLE_USER | PGTABLE_EXEC_EL0,
		KRW | PGTABLE_DBM, KRW | PGTABLE_DBM | PGTABLE_DIRTY,
		PGTABLE_READ | PGTABLE_WRITE |
			PGTABLE_MEM(PGTABLE_MEM_DEVICE_nGnRE),
	};
	uint64_t b;

	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(pgtable_encode_attrs(ok[i], &b), 0, "case %u", i);
		cr_assert_eq(pgtable_decode_attrs(b), ok[i], "case %u", i);
	}
	pgtable_encode_attrs(KRW, &b);
	cr_assert_eq(b & (PTE_PXN | PTE_UXN | PTE_AF | PTE_SH_MASK),
		     PTE_PXN | PTE_UXN | PTE_AF | PTE_SH_INNER);
	cr_assert_eq(b & (PTE_AP_RO | PTE_AP_RW_EL0 | PTE_NG), 0);
	cr_assert_eq((b & PTE_ATTRINDX_MASK) >> PTE_ATTRINDX_SHIFT,
		     PGTABLE_MEM_NORMAL_WB);
	pgtable_encode_attrs(KRW | PGTABLE_DBM, &b);
	cr_assert(b & PTE_AP_RO, "DBM: writable-clean starts read-only");
	cr_assert(b & PTE_DBM);
	/* Unrepresentable combinations are refused. */
	cr_assert_eq(pgtable_encode_attrs(PGTABLE_WRITE, &b), PGTABLE_EATTR);
	cr_assert_eq(pgtable_encode_attrs(PGTABLE_READ | PGTABLE_EXEC_EL0, &b),
		     PGTABLE_EATTR);
	cr_assert_eq(pgtable_encode_attrs(URW | PGTABLE_EXEC_EL1, &b),
		     PGTABLE_EATTR);
	cr_assert_eq(pgtable_encode_attrs(PGTABLE_READ | PGTABLE_DBM, &b),
		     PGTABLE_EATTR);
	cr_assert_eq(pgtable_encode_attrs(PGTABLE_READ | PGTABLE_MEM(5), &b),
		     PGTABLE_EATTR);
	cr_assert_eq(pgtable_encode_attrs(KRW | (1u << 30), &b),
		     PGTABLE_EATTR);
}

/* --- pages and blocks ----------------------------------------------------- */

Test(pgtable, page_map_translate_unmap_frees_tables)
{
	FOR_EACH_CONFIG(g, v)
	for (int h = 0; h < 2; h++) {
		struct env e;
		uint64_t va, pa = UINT64_C(0x40000000);
		unsigned levels;

		env_init(&e, g, v, h);
		pgtable_set_keep_empty(&e.pt, 0);
		va = va_at(&e, 3 * gsz(&e));
		levels = 4 - (unsigned)e.pt.geom.start_level;
		cr_assert_eq(pgtable_map(&e.pt, va, pa, gsz(&e), KRW), 0);
		cr_assert_eq(e.pt.tables, levels, "one table per level");
		expect_mapped(&e, va, pa, KRW, 3);
		expect_mapped(&e, va + 8, pa + 8, KRW, 3);
		expect_unmapped(&e, va + gsz(&e));
		expect_unmapped(&e, va - gsz(&e));
		no_violation();
		cr_assert_eq(pgtable_unmap(&e.pt, va, gsz(&e)), 0);
		expect_unmapped(&e, va);
		cr_assert_eq(e.pt.tables, 1, "empty tables freed");
		cr_assert_eq(e.pool.in_use, 1);
		/* Table freeing used non-last-level TLBIs. */
		cr_assert_eq(fake_libos.tlbi[h ? FAKE_TLBI_VAAE1IS :
						 FAKE_TLBI_VAE1IS],
			     levels - 1);
		env_fini(&e);
	}
}

/* The page paths: an unmap keeps the emptied table linked, the next map
 * there needs no table and no TLBI of a table; trim gives them back. */
Test(pgtable, page_unmap_keeps_tables_trim_frees_them)
{
	FOR_EACH_CONFIG(g, v)
	for (int h = 0; h < 2; h++) {
		struct env e;
		uint64_t va, pa = UINT64_C(0x40000000);
		unsigned levels, tlbi_table = h ? FAKE_TLBI_VAAE1IS :
						  FAKE_TLBI_VAE1IS;

		env_init(&e, g, v, h);
		va = va_at(&e, 3 * gsz(&e));
		levels = 4 - (unsigned)e.pt.geom.start_level;
		for (int round = 0; round < 3; round++) {
			cr_assert_eq(pgtable_map(&e.pt, va, pa, gsz(&e), KRW),
				     0);
			expect_mapped(&e, va, pa, KRW, 3);
			cr_assert_eq(pgtable_map(&e.pt, va, pa, gsz(&e), KRW),
				     PGTABLE_EOVERLAP);
			cr_assert_eq(pgtable_unmap(&e.pt, va, gsz(&e)), 0);
			expect_unmapped(&e, va);
			no_violation();
			cr_assert_eq(e.pt.tables, levels, "tables kept");
			cr_assert_eq(e.pool.in_use, levels);
			cr_assert_eq(e.pt.empty_tables, 1, "the last level");
			expect_counts(&e);
		}
		cr_assert_eq(fake_libos.tlbi[tlbi_table], 0);
		cr_assert_eq(pgtable_unmap(&e.pt, va, gsz(&e)), 0, "a hole");
		cr_assert_eq(pgtable_trim(&e.pt), levels - 1);
		no_violation();
		cr_assert_eq(e.pt.tables, 1);
		cr_assert_eq(e.pool.in_use, 1);
		cr_assert_eq(e.pt.empty_tables, 0);
		cr_assert_eq(fake_libos.tlbi[tlbi_table], levels - 1);
		cr_assert_eq(pgtable_trim(&e.pt), 0);
		env_fini(&e);
	}
}

/* At most keep_empty empty tables stay; a map short of table pages
 * changes nothing. */
Test(pgtable, page_paths_bound_kept_tables_and_fail_whole)
{
	FOR_EACH_CONFIG(g, v)
	{
		struct env e;
		uint64_t pa = UINT64_C(0x40000000), va;
		unsigned levels, writes;

		env_init(&e, g, v, PGTABLE_TTBR0);
		levels = 4 - (unsigned)e.pt.geom.start_level;
		pgtable_set_keep_empty(&e.pt, 2);
		for (unsigned i = 0; i < 5; i++) {
			va = va_at(&e, 0) + i * lsz(&e, 2);
			cr_assert_eq(pgtable_map(&e.pt, va, pa, gsz(&e), URW),
				     0);
			cr_assert_eq(pgtable_unmap(&e.pt, va, gsz(&e)), 0);
			no_violation();
			expect_counts(&e);
			cr_assert_leq(e.pt.empty_tables, 2);
		}
		cr_assert_eq(e.pool.in_use, e.pt.tables);
		pgtable_set_keep_empty(&e.pt, 0);
		cr_assert_eq(e.pt.tables, 1);
		/* One table page short: no table is linked, none leaks. */
		e.pool.limit = e.pool.in_use + levels - 2;
		writes = fake_libos.writes;
		cr_assert_eq(pgtable_map(&e.pt, va_at(&e, 0), pa, gsz(&e), URW),
			     PGTABLE_ENOMEM);
		cr_assert_eq(fake_libos.writes, writes, "nothing written");
		cr_assert_eq(e.pool.in_use, 1);
		cr_assert_eq(e.pt.tables, 1);
		e.pool.limit = POOL_PAGES;
		env_fini(&e);
	}
}

Test(pgtable, largest_blocks_and_split_on_partial_unmap)
{
	FOR_EACH_CONFIG(g, v)
	{
		struct env e;
		uint64_t b = 0, va, pa = UINT64_C(0x80000000);
		unsigned tables;

		env_init(&e, g, v, PGTABLE_TTBR0);
		pgtable_set_keep_empty(&e.pt, 0);
		b = lsz(&e, 2);
		va = va_at(&e, 0) & ~(b - 1);
		/* One block plus one page: a block, then a page table. */
		cr_assert_eq(pgtable_map(&e.pt, va, pa, b + gsz(&e), URW), 0);
		expect_mapped(&e, va, pa, URW, 2);
		expect_mapped(&e, va + b - 8, pa + b - 8, URW, 2);
		expect_mapped(&e, va + b, pa + b, URW, 3);
		tables = e.pt.tables;
		/* Unmapping one page inside the block splits it. */
		cr_assert_eq(pgtable_unmap(&e.pt, va + 2 * gsz(&e), gsz(&e)),
			     0);
		no_violation();
		cr_assert_eq(e.pt.tables, tables + 1);
		expect_unmapped(&e, va + 2 * gsz(&e));
		expect_mapped(&e, va + gsz(&e), pa + gsz(&e), URW, 3);
		expect_mapped(&e, va + b - gsz(&e), pa + b - gsz(&e), URW, 3);
		/* Only the block was live: one TLBI; the page unmapped in
		 * the new table before it was reachable needs none. */
		cr_assert_eq(fake_libos.tlbi[FAKE_TLBI_VALE1IS], 1);
		cr_assert_eq(pgtable_unmap(&e.pt, va, b + gsz(&e)), 0);
		cr_assert_eq(e.pt.tables, 1);
		/* Misaligned PA: pages only, never a block. */
		cr_assert_eq(pgtable_map(&e.pt, va, pa + gsz(&e), b, URW), 0);
		expect_mapped(&e, va, pa + gsz(&e), URW, 3);
		cr_assert_eq(pgtable_unmap(&e.pt, va, b), 0);
		env_fini(&e);
	}
}

Test(pgtable, one_gib_blocks_with_4k)
{
	struct env e;
	uint64_t g1 = UINT64_C(1) << 30, va;

	env_init(&e, PGTABLE_GRANULE_4K, 48, PGTABLE_TTBR1);
	va = va_at(&e, 0) & ~(g1 - 1);
	cr_assert_eq(pgtable_map(&e.pt, va, 3 * g1, g1, KRW), 0);
	expect_mapped(&e, va + 12345 * 8, 3 * g1 + 12345 * 8, KRW, 1);
	cr_assert_eq(e.pt.tables, 2);
	/* protect of half the block splits it into 2 MiB blocks */
	cr_assert_eq(pgtable_protect(&e.pt, va, g1 / 2,
				     KRW & ~PGTABLE_WRITE), 0);
	expect_mapped(&e, va, 3 * g1, KRW & ~PGTABLE_WRITE, 2);
	expect_mapped(&e, va + g1 / 2, 3 * g1 + g1 / 2, KRW, 2);
	cr_assert_eq(pgtable_unmap(&e.pt, va, g1), 0);
	env_fini(&e);
}

/* --- contiguous runs ------------------------------------------------------ */

Test(pgtable, contiguous_runs_formed_and_broken)
{
	FOR_EACH_CONFIG(g, v)
	{
		struct env e;
		struct pgtable_xlate x;
		uint64_t run, va, pa = UINT64_C(0x40000000);
		unsigned n;

		env_init(&e, g, v, PGTABLE_TTBR0);
		pgtable_set_keep_empty(&e.pt, 0);
		n = pgtable_cont_entries(&e.pt.geom, 3);
		run = n * gsz(&e);
		va = va_at(&e, 0) & ~(lsz(&e, 2) - 1);
		/* Two runs plus a page: the runs get the hint, the page not. */
		cr_assert_eq(pgtable_map(&e.pt, va, pa, 2 * run + gsz(&e), URW),
			     0);
		pgtable_translate(&e.pt, va, &x);
		cr_assert(x.cont, "aligned run gets the contiguous bit");
		pgtable_translate(&e.pt, va + 2 * run, &x);
		cr_assert(!x.cont);
		/* A run not starting at an aligned PA gets no hint. */
		cr_assert_eq(pgtable_map(&e.pt, va + 4 * run, pa + gsz(&e),
					 run, URW), 0);
		pgtable_translate(&e.pt, va + 4 * run, &x);
		cr_assert(!x.cont);
		/* Protect of a whole run keeps the hint, BBM'd as a unit. */
		cr_assert_eq(pgtable_protect(&e.pt, va, run,
					     URW & ~PGTABLE_WRITE), 0);
		no_violation();
		pgtable_translate(&e.pt, va + run - 8, &x);
		cr_assert(x.cont);
		expect_mapped(&e, va + run - 8, pa + run - 8,
			      URW & ~PGTABLE_WRITE, 3);
		/* Unmap one page of the second run: the run is broken. */
		cr_assert_eq(pgtable_unmap(&e.pt, va + run + gsz(&e), gsz(&e)),
			     0);
		no_violation();
		for (unsigned i = 0; i < n; i++) {
			uint64_t a = va + run + i * gsz(&e);

			if (i == 1) {
				expect_unmapped(&e, a);
				continue;
			}
			pgtable_translate(&e.pt, a, &x);
			cr_assert(!x.cont, "broken run keeps no hint");
			expect_mapped(&e, a, pa + run + i * gsz(&e), URW, 3);
		}
		/* Protect part of the first run: broken too. */
		cr_assert_eq(pgtable_protect(&e.pt, va, gsz(&e), URW), 0);
		no_violation();
		pgtable_translate(&e.pt, va + gsz(&e), &x);
		cr_assert(!x.cont);
		expect_mapped(&e, va, pa, URW, 3);
		expect_mapped(&e, va + gsz(&e), pa + gsz(&e),
			      URW & ~PGTABLE_WRITE, 3);
		cr_assert_eq(pgtable_unmap(&e.pt, va, 6 * run), 0);
		cr_assert_eq(e.pt.tables, 1);
		env_fini(&e);
	}
}

Test(pgtable, contiguous_blocks_at_level_2)
{
	struct env e;
	struct pgtable_xlate x;
	uint64_t b = UINT64_C(2) << 20, run = 16 * b, va;

	env_init(&e, PGTABLE_GRANULE_4K, 39, PGTABLE_TTBR0);
	va = va_at(&e, 0) & ~(run - 1);
	cr_assert_eq(pgtable_map(&e.pt, va, 0x40000000, run, URW), 0);
	pgtable_translate(&e.pt, va + b, &x);
	cr_assert(x.cont && x.level == 2);
	/* Unmap a page in one block: run broken and that block split. */
	cr_assert_eq(pgtable_unmap(&e.pt, va + b, 0x1000), 0);
	no_violation();
	pgtable_translate(&e.pt, va, &x);
	cr_assert(!x.cont && x.level == 2);
	expect_mapped(&e, va + b + 0x1000, 0x40000000 + b + 0x1000, URW, 3);
	cr_assert_eq(pgtable_unmap(&e.pt, va, run), 0);
	env_fini(&e);
}

/* --- protect and TLBI encoding -------------------------------------------- */

Test(pgtable, protect_tlbi_by_va_and_asid)
{
	FOR_EACH_CONFIG(g, v)
	for (int h = 0; h < 2; h++) {
		struct env e;
		uint64_t va, want;
		uint32_t a = h ? KRW : URW;

		env_init(&e, g, v, h);
		va = va_at(&e, 5 * gsz(&e));
		cr_assert_eq(pgtable_map(&e.pt, va, 0x40000000, gsz(&e), a), 0);
		fake_libos.nr_tlbi_log = 0;
		cr_assert_eq(pgtable_protect(&e.pt, va, gsz(&e),
					     a & ~PGTABLE_WRITE), 0);
		no_violation();
		cr_assert_eq(fake_libos.nr_tlbi_log, 1);
		/* Global kernel pages: all ASIDs; user pages: this ASID. */
		cr_assert_eq(fake_libos.tlbi_log[0].kind,
			     h ? FAKE_TLBI_VAALE1IS : FAKE_TLBI_VALE1IS);
		want = ((va >> 12) & ((UINT64_C(1) << 44) - 1)) |
		       (UINT64_C(0x42) << 48);
		cr_assert_eq(fake_libos.tlbi_log[0].op, want,
			     "operand 0x%llx want 0x%llx",
			     (unsigned long long)fake_libos.tlbi_log[0].op,
			     (unsigned long long)want);
		expect_mapped(&e, va, 0x40000000, a & ~PGTABLE_WRITE, 3);
		/* Memory type change: break-before-make, still one TLBI. */
		cr_assert_eq(pgtable_protect(&e.pt, va, gsz(&e),
				(a & ~PGTABLE_MEM_MASK) |
				PGTABLE_MEM(PGTABLE_MEM_NORMAL_NC)), 0);
		no_violation();
		cr_assert_eq(pgtable_unmap(&e.pt, va, gsz(&e)), 0);
		env_fini(&e);
	}
}

/* --- errors --------------------------------------------------------------- */

Test(pgtable, every_error_path)
{
	FOR_EACH_CONFIG(g, v)
	for (int h = 0; h < 2; h++) {
		struct env e;
		uint64_t gs, va, span;

		env_init(&e, g, v, h);
		gs = gsz(&e);
		span = UINT64_C(1) << v;
		va = va_at(&e, 0);
		cr_assert_eq(pgtable_map(&e.pt, va + 8, 0, gs, KRW),
			     PGTABLE_EVA_ALIGN);
		cr_assert_eq(pgtable_map(&e.pt, va, 0x1000 + gs, gs, KRW),
			     g == 12 ? 0 : PGTABLE_EPA_ALIGN);
		pgtable_unmap(&e.pt, va, gs);
		cr_assert_eq(pgtable_map(&e.pt, va, 0, 0, KRW), PGTABLE_ESIZE);
		cr_assert_eq(pgtable_map(&e.pt, va, 0, gs / 2, KRW),
			     PGTABLE_ESIZE);
		cr_assert_eq(pgtable_map(&e.pt, va, UINT64_C(1) << 48, gs, KRW),
			     PGTABLE_EPA_RANGE);
		cr_assert_eq(pgtable_map(&e.pt, va, (UINT64_C(1) << 48) - gs,
					 2 * gs, KRW), PGTABLE_EPA_RANGE);
		cr_assert_eq(pgtable_map(&e.pt, va, 0, gs, PGTABLE_WRITE),
			     PGTABLE_EATTR);
		/* Outside the half: the other half, the hole, wrapping. */
		if (h == 0) {
			cr_assert_eq(pgtable_map(&e.pt, span, 0, gs, KRW),
				     PGTABLE_ERANGE);
			cr_assert_eq(pgtable_map(&e.pt, span - gs, 0, 2 * gs,
						 KRW), PGTABLE_ERANGE);
			cr_assert_eq(pgtable_map(&e.pt, ~UINT64_C(0) - gs + 1,
						 0, gs, KRW), PGTABLE_ERANGE);
		} else {
			cr_assert_eq(pgtable_map(&e.pt, 0, 0, gs, KRW),
				     PGTABLE_ERANGE);
			cr_assert_eq(pgtable_map(&e.pt, -span - gs, 0, gs, KRW),
				     PGTABLE_ERANGE);
			cr_assert_eq(pgtable_map(&e.pt, -gs, 0, 2 * gs, KRW),
				     PGTABLE_ERANGE);
			/* The very top page is fine. */
			cr_assert_eq(pgtable_map(&e.pt, -gs, 0, gs, KRW), 0);
			expect_mapped(&e, -gs, 0, KRW, 3);
			cr_assert_eq(pgtable_unmap(&e.pt, -gs, gs), 0);
		}
		cr_assert_eq(pgtable_unmap(&e.pt, va + 8, gs),
			     PGTABLE_EVA_ALIGN);
		cr_assert_eq(pgtable_protect(&e.pt, va, gs, KRW),
			     PGTABLE_ENOENT);
		/* Overlap: refused, nothing changed. */
		cr_assert_eq(pgtable_map(&e.pt, va + gs, 0x40000000, gs, KRW),
			     0);
		cr_assert_eq(pgtable_map(&e.pt, va, 0x50000000, 4 * gs, KRW),
			     PGTABLE_EOVERLAP);
		expect_unmapped(&e, va);
		expect_mapped(&e, va + gs, 0x40000000, KRW, 3);
		/* protect over a hole: refused, nothing changed */
		cr_assert_eq(pgtable_protect(&e.pt, va, 2 * gs, URW),
			     PGTABLE_ENOENT);
		expect_mapped(&e, va + gs, 0x40000000, KRW, 3);
		cr_assert_eq(pgtable_unmap(&e.pt, va, 4 * gs), 0, "holes ok");
		{
			struct pgtable_xlate x;

			cr_assert_eq(pgtable_translate(&e.pt, h ? 0 : -gs, &x),
				     PGTABLE_ERANGE);
		}
		no_violation();
		env_fini(&e);
	}
}

Test(pgtable, out_of_table_pages_is_all_or_nothing)
{
	FOR_EACH_CONFIG(g, v)
	{
		struct env e;
		uint64_t va, b;
		unsigned in_use, writes;

		env_init(&e, g, v, PGTABLE_TTBR0);
		b = lsz(&e, 2);
		va = va_at(&e, 0) & ~(b - 1);
		/* Map a block, then a range needing 2 new page tables. */
		cr_assert_eq(pgtable_map(&e.pt, va, 0, b, KRW), 0);
		in_use = e.pool.in_use;
		e.pool.limit = in_use + 1;
		writes = fake_libos.writes;
		cr_assert_eq(pgtable_map(&e.pt, va + b + b - gsz(&e),
					 0x10000000, 2 * gsz(&e) + b, KRW),
			     PGTABLE_ENOMEM);
		cr_assert_eq(fake_libos.writes, writes, "nothing written");
		cr_assert_eq(e.pool.in_use, in_use, "reserve returned");
		expect_unmapped(&e, va + 2 * b);
		/* Splitting the block needs one page: none left. */
		e.pool.limit = in_use;
		cr_assert_eq(pgtable_unmap(&e.pt, va + gsz(&e), gsz(&e)),
			     PGTABLE_ENOMEM);
		cr_assert_eq(pgtable_protect(&e.pt, va, gsz(&e), URW),
			     PGTABLE_ENOMEM);
		expect_mapped(&e, va + gsz(&e), gsz(&e), KRW, 2);
		e.pool.limit = in_use + 1;
		cr_assert_eq(pgtable_unmap(&e.pt, va + gsz(&e), gsz(&e)), 0);
		cr_assert_eq(e.pool.in_use, in_use + 1);
		no_violation();
		e.pool.limit = POOL_PAGES;
		cr_assert_eq(pgtable_unmap(&e.pt, va, b), 0);
		env_fini(&e);
	}
}

/* --- the checker itself --------------------------------------------------- */

Test(pgtable, bbm_checker_catches_a_live_change)
{
	struct env e;
	uint64_t va;
	struct pgtable_xlate x;
	uint64_t *slot = NULL;

	env_init(&e, PGTABLE_GRANULE_4K, 39, PGTABLE_TTBR0);
	va = va_at(&e, 0);
	cr_assert_eq(pgtable_map(&e.pt, va, 0x40000000, 0x1000, URW), 0);
	pgtable_translate(&e.pt, va, &x);
	/* find the live L3 slot through the tables */
	slot = e.pt.root;
	for (int l = e.pt.geom.start_level; l < 3; l++)
		slot = pool_p2v(&e.pool,
				slot[(va >> (12 + 9 * (3 - l))) & 511] &
					PTE_OA_MASK(12));
	slot += (va >> 12) & 511;
	cr_assert_eq(*slot, x.desc);
	libos_arch_write_pte(slot, x.desc + 0x1000);   /* new OA, no BBM */
	cr_assert_eq(fake_libos.violations, 1);
	libos_arch_write_pte(slot, 0);
	libos_arch_write_pte(slot, x.desc);             /* no TLBI between */
	cr_assert_eq(fake_libos.violations, 2);
	fake_libos.violations = 0;
	fake_libos.nr_pending = 0;
	cr_assert_eq(pgtable_unmap(&e.pt, va, 0x1000), 0);
	env_fini(&e);
}

/* --- ptdump --------------------------------------------------------------- */

static char dump_buf[8192];

static void dump_print(void *ctx, const char *line)
{
	(void)ctx;
	strncat(dump_buf, line, sizeof(dump_buf) - strlen(dump_buf) - 1);
}

Test(pgtable, ptdump_merges_runs_and_decodes_walks)
{
	struct env e;
	uint64_t va;

	env_init(&e, PGTABLE_GRANULE_4K, 48, PGTABLE_TTBR1);
	va = 0xffff800000000000;
	cr_assert_eq(pgtable_map(&e.pt, va, 0x40000000, 0x400000, KRW), 0);
	cr_assert_eq(pgtable_map(&e.pt, va + 0x400000, 0x40400000, 0x3000,
				 PGTABLE_READ | PGTABLE_EXEC_EL1 |
				 PGTABLE_GLOBAL | PGTABLE_ACCESSED |
				 PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB)), 0);
	cr_assert_eq(pgtable_map(&e.pt, va + 0x600000, 0x09000000, 0x1000,
				 PGTABLE_READ | PGTABLE_WRITE |
				 PGTABLE_GLOBAL | PGTABLE_ACCESSED |
				 PGTABLE_MEM(PGTABLE_MEM_DEVICE_nGnRE)), 0);
	dump_buf[0] = 0;
	cr_assert_eq(pgtable_dump_range(&e.pt, va, 0x800000, dump_print,
					NULL), 0);
	cr_assert_str_eq(dump_buf,
		"0xffff800000000000-0xffff800000400000     4M RW NX  kernel MEM/WB     G  block L2\n"
		"0xffff800000400000-0xffff800000403000    12K RO x1  kernel MEM/WB     G  page L3\n"
		"0xffff800000600000-0xffff800000601000     4K RW NX  kernel DEV/nGnRE  G  page L3\n");
	dump_buf[0] = 0;
	cr_assert_eq(pgtable_dump_walk(&e.pt, va + 0x401000, dump_print, NULL),
		     3);
	cr_assert(strstr(dump_buf, "walk 0xffff800000401000 (TTBR1, ASID 66)"),
		  "%s", dump_buf);
	cr_assert(strstr(dump_buf, "  L0[ 256] 0x"), "%s", dump_buf);
	cr_assert(strstr(dump_buf, "table\n  L2[   2] 0x"), "%s", dump_buf);
	cr_assert(strstr(dump_buf, " page RO x1 kernel MEM/WB\n"), "%s",
		  dump_buf);
	dump_buf[0] = 0;
	cr_assert_eq(pgtable_dump_walk(&e.pt, va + 0x800000, dump_print, NULL),
		     PGTABLE_ENOENT);
	cr_assert(strstr(dump_buf, "invalid"), "%s", dump_buf);
	pgtable_unmap(&e.pt, va, 0x800000);
	env_fini(&e);
}

/* --- random sequences against a reference model and the walker ----------- */

/* Reference model: one slot per granule page of a window. */
struct model {
	uint64_t base;              /* VA of page 0 */
	unsigned pages;
	uint64_t *pa;               /* UINT64_MAX: unmapped */
	uint32_t *attrs;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the printed seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const uint32_t rnd_attrs[] = {
	KRW,
	URW,
	PGTABLE_READ | PGTABLE_USER | PGTABLE_EXEC_EL0 | PGTABLE_ACCESSED |
		PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB),
	PGTABLE_READ | PGTABLE_EXEC_EL1 | PGTABLE_GLOBAL | PGTABLE_ACCESSED |
		PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB),
	URW | PGTABLE_DBM,
	URW & ~PGTABLE_ACCESSED,
	PGTABLE_READ | PGTABLE_WRITE | PGTABLE_ACCESSED |
		PGTABLE_MEM(PGTABLE_MEM_DEVICE_nGnRE),
	PGTABLE_READ | PGTABLE_WRITE | PGTABLE_ACCESSED |
		PGTABLE_MEM(PGTABLE_MEM_NORMAL_NC),
};
#define NR_RND_ATTRS (sizeof(rnd_attrs) / sizeof(rnd_attrs[0]))

static void model_check_page(struct env *e, const struct model *m,
			     unsigned i, uint64_t seed, unsigned step)
{
	uint64_t va = m->base + i * gsz(e);
	struct pgtable_xlate x;
	struct walker_result w;
	int rc = pgtable_translate(&e->pt, va, &x);

	walker_translate(&e->wc, va, &w);
	if (m->pa[i] == UINT64_MAX) {
		cr_assert_eq(rc, PGTABLE_ENOENT,
			     "seed %llu step %u: page %u should be unmapped",
			     (unsigned long long)seed, step, i);
		cr_assert_eq(w.fault, WALK_TRANSLATION, "seed %llu step %u",
			     (unsigned long long)seed, step);
		return;
	}
	cr_assert_eq(rc, 0, "seed %llu step %u: page %u unmapped",
		     (unsigned long long)seed, step, i);
	cr_assert_eq(x.pa, m->pa[i], "seed %llu step %u: page %u pa",
		     (unsigned long long)seed, step, i);
	cr_assert_eq(x.attrs, m->attrs[i], "seed %llu step %u: page %u attrs",
		     (unsigned long long)seed, step, i);
	cr_assert_eq(w.fault, m->attrs[i] & PGTABLE_ACCESSED ?
				      WALK_OK : WALK_ACCESS_FLAG,
		     "seed %llu step %u: walker fault %d page %u",
		     (unsigned long long)seed, step, w.fault, i);
	cr_assert_eq(w.pa, m->pa[i], "seed %llu step %u: walker pa",
		     (unsigned long long)seed, step);
	cr_assert_eq(w.el1_w || w.dbm, !!(m->attrs[i] & PGTABLE_WRITE),
		     "seed %llu step %u: page %u write",
		     (unsigned long long)seed, step, i);
	cr_assert_eq(w.el0_r, !!(m->attrs[i] & PGTABLE_USER));
	cr_assert_eq(w.el0_x, !!(m->attrs[i] & PGTABLE_EXEC_EL0));
	cr_assert_eq(w.attrindx, PGTABLE_MEM_OF(m->attrs[i]));
}

static void count_table(void *ctx, const uint64_t *t, unsigned n, int level,
			uint64_t base)
{
	(void)t, (void)n, (void)level, (void)base;
	++*(unsigned *)ctx;
}

/* Valid entries of t; checks every count below it against the entries
 * and counts the empty tables. */
static unsigned check_counts(struct env *e, const uint64_t *t, int level,
			     unsigned *empty)
{
	unsigned n = pgtable_level_entries(&e->pt.geom, level), valid = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t d = t[i];
		unsigned below;

		if (!(d & PTE_VALID))
			continue;
		valid++;
		if (level == PGTABLE_LAST_LEVEL || !(d & PTE_TABLE))
			continue;
		below = check_counts(e, pool_p2v(&e->pool, d & PTE_OA_MASK(
							e->pt.geom.page_shift)),
				     level + 1, empty);
		cr_assert_eq(pgtable_table_count(d), below,
			     "level %d entry %u: count %u, %u valid", level, i,
			     pgtable_table_count(d), below);
		*empty += !below;
	}
	return valid;
}

static void expect_counts(struct env *e)
{
	unsigned empty = 0;

	check_counts(e, e->pt.root, e->pt.geom.start_level, &empty);
	cr_assert_eq(empty, e->pt.empty_tables, "empty tables");
	cr_assert_leq(empty, e->pt.keep_empty, "more empty tables than kept");
}

static void model_check_all(struct env *e, const struct model *m,
			    uint64_t seed, unsigned step)
{
	unsigned reachable = 0;

	for (unsigned i = 0; i < m->pages; i++)
		model_check_page(e, m, i, seed, step);
	expect_counts(e);
	walker_for_each_table(&e->wc, count_table, &reachable);
	cr_assert_eq(reachable, e->pt.tables, "seed %llu step %u: tables",
		     (unsigned long long)seed, step);
	cr_assert_eq(e->pool.in_use, e->pt.tables, "seed %llu: leak",
		     (unsigned long long)seed);
}

/* A range: mostly small, sometimes block- or run-aligned. */
static void rnd_range(const struct env *e, const struct model *m,
		      unsigned *first, unsigned *n)
{
	unsigned per_block = (unsigned)(lsz(e, 2) / gsz(e));
	unsigned run = pgtable_cont_entries(&e->pt.geom, 3);
	unsigned kind = rnd_below(8);
	unsigned align = kind == 0 ? per_block : kind <= 2 ? run : 1;
	unsigned max = kind == 0 ? 2 * per_block : kind <= 2 ? 3 * run : 40;

	/* A quarter single pages: the page paths and their last-table hint. */
	if (!rnd_below(4)) {
		*n = 1;
		*first = rnd_below(m->pages);
		return;
	}

	*n = 1 + rnd_below(max);
	if (align > 1)
		*n = (*n + align - 1) / align * align +
		     (rnd_below(3) ? 0 : rnd_below(3));
	if (*n > m->pages)
		*n = m->pages;
	*first = rnd_below(m->pages - *n + 1) / align * align;
}

static bool any_mapped(const struct model *m, unsigned f, unsigned n)
{
	for (unsigned i = f; i < f + n; i++)
		if (m->pa[i] != UINT64_MAX)
			return true;
	return false;
}

static bool all_mapped(const struct model *m, unsigned f, unsigned n)
{
	for (unsigned i = f; i < f + n; i++)
		if (m->pa[i] == UINT64_MAX)
			return false;
	return true;
}

static void random_step(struct env *e, struct model *m, uint64_t seed,
			unsigned step)
{
	unsigned f, n, op = rnd_below(10);
	uint64_t gs = gsz(e), va;
	uint32_t a = rnd_attrs[rnd_below(NR_RND_ATTRS)];
	int rc, want;

	rnd_range(e, m, &f, &n);
	va = m->base + f * gs;
	if (op < 5) {
		/* PA congruent with the VA modulo a block, or not at all */
		uint64_t pa = (m->base & (lsz(e, 2) - 1)) + f * gs +
			      (uint64_t)rnd_below(64) * lsz(e, 2);

		if (!rnd_below(4))
			pa += gs * (1 + rnd_below(7));
		want = any_mapped(m, f, n) ? PGTABLE_EOVERLAP : 0;
		rc = pgtable_map(&e->pt, va, pa, n * gs, a);
		for (unsigned i = 0; !rc && i < n; i++) {
			m->pa[f + i] = pa + i * gs;
			m->attrs[f + i] = a;
		}
	} else if (op < 8) {
		want = 0;
		rc = pgtable_unmap(&e->pt, va, n * gs);
		for (unsigned i = 0; !rc && i < n; i++)
			m->pa[f + i] = UINT64_MAX;
	} else {
		want = all_mapped(m, f, n) ? 0 : PGTABLE_ENOENT;
		rc = pgtable_protect(&e->pt, va, n * gs, a);
		for (unsigned i = 0; !rc && i < n; i++)
			m->attrs[f + i] = a;
	}
	cr_assert_eq(rc, want, "seed %llu step %u: op %u pages %u+%u: %d",
		     (unsigned long long)seed, step, op, f, n, rc);
	cr_assert_eq(fake_libos_quiescent(), 0, "seed %llu step %u: BBM: %s",
		     (unsigned long long)seed, step,
		     fake_libos.first_violation);
	/* the touched range and its neighbours */
	for (unsigned i = f ? f - 1 : 0; i < f + n + 1 && i < m->pages; i++)
		model_check_page(e, m, i, seed, step);
}

static void random_run(enum pgtable_granule g, unsigned v,
		       enum pgtable_half h, uint64_t seed, unsigned steps,
		       unsigned keep)
{
	struct env e;
	struct model m;

	env_init(&e, g, v, h);
	rng_state = seed;
	/* Freeing at once, keeping a few, keeping the default number. */
	pgtable_set_keep_empty(&e.pt, keep);
	if (keep == 2) {
		/* The walks' own address arithmetic, no callback. */
		struct pgtable_mm_ops ops = e.pt.mm;

		ops.phys_to_virt = NULL;
		ops.linear = true;
		ops.linear_offset = (uint64_t)(uintptr_t)e.pool.mem - POOL_PA;
		pgtable_set_mm(&e.pt, &ops);
	}
	/* four blocks' worth of pages, block-aligned but off-centre */
	m.pages = 4 * (unsigned)(lsz(&e, 2) / gsz(&e));
	if (m.pages > 16384)
		m.pages = 16384;
	m.base = (va_at(&e, 0) & ~(lsz(&e, 2) - 1)) - lsz(&e, 2);
	m.pa = malloc(m.pages * sizeof(*m.pa));
	m.attrs = malloc(m.pages * sizeof(*m.attrs));
	cr_assert(m.pa && m.attrs);
	for (unsigned i = 0; i < m.pages; i++)
		m.pa[i] = UINT64_MAX;
	for (unsigned step = 0; step < steps; step++) {
		random_step(&e, &m, seed, step);
		if (step % 256 == 255)
			model_check_all(&e, &m, seed, step);
	}
	model_check_all(&e, &m, seed, steps);
	cr_assert_eq(pgtable_unmap(&e.pt, m.base, m.pages * gsz(&e)), 0);
	expect_counts(&e);
	cr_assert_geq(e.pt.tables, 1 + e.pt.empty_tables);
	pgtable_trim(&e.pt);
	cr_assert_eq(fake_libos_quiescent(), 0, "BBM: %s",
		     fake_libos.first_violation);
	cr_assert_eq(e.pt.tables, 1, "seed %llu: tables left after trim",
		     (unsigned long long)seed);
	cr_assert_eq(e.pt.empty_tables, 0);
	free(m.pa);
	free(m.attrs);
	env_fini(&e);
}

static uint64_t test_seed(void)
{
	const char *s = getenv("EXO_PGTABLE_SEED");

	return s ? strtoull(s, NULL, 0) : UINT64_C(0x5eed0001);
}

Test(pgtable, random_sequences_match_model_and_walker,
     .timeout = HANG_GUARD_S)
{
	uint64_t seed = test_seed();

	FOR_EACH_CONFIG(g, v)
	for (int h = 0; h < 2; h++) {
		uint64_t s = seed + g * 1000 + v * 10 + (uint64_t)h;

		/* Empty tables freed at once (the first, general path),
		 * a few kept, the default number kept (the page paths). */
		random_run(g, v, h, s, 1500, 0);
		random_run(g, v, h, s, 1500, 2);
		random_run(g, v, h, s, 1500, PGTABLE_KEEP_EMPTY_DEFAULT);
	}
}
