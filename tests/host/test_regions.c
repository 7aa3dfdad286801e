/*
 * libos/mm/region.c and vmfault.c on the host: region sets (insert, find,
 * remove, every error), ranges with munmap and mprotect semantics (splits
 * at the ends, shared pages kept read-only, every error), free gaps, the
 * shared-page reference table against a model,
 * the pure fault decision for every kind and case, and the handlers over a
 * real stage-1 table built on the host (break-before-make checker on) with
 * a fake page source whose fresh pages hold garbage: demand-zero, stack
 * growth and overflow, copy-on-write copy and reuse, clone, out of memory,
 * and routing through libos_fault_handle with its report.
 */
#include "fake_libos_arch.h"
#include "console_capture.h"
#include "page_store.h"
#include "walker.h"

#include <arch/esr.h>
#include <criterion/criterion.h>
#include <lib/print.h>
#include <libos/mm/mm.h>
#include <libos/mm/region.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_PAGES 64
#define TABLE_PA    UINT64_C(0x0000008000000000)
#define DATA_PAGES  64
#define DATA_PA	    UINT64_C(0x0000004000000000)
#define BASE	    UINT64_C(0x0000000010000000) /* regions go from here */

struct env {
	struct page_store tables, data;
	struct pgtable pt;
	struct walker_cfg wc;
	struct libos_vm_pages pages;
	struct libos_pagerefs refs;
	struct libos_aspace as;
	uint64_t page;
};

static struct env E;

static void env_init(enum pgtable_granule g)
{
	struct pgtable_mm_ops ops = {page_store_tab_alloc, page_store_tab_free, page_store_v2p, page_store_p2v,
				     &E.tables, false, 0};
	struct pgtable_config cfg = {g, 48, PGTABLE_TTBR0, 0x42};

	memset(&E, 0, sizeof(E));
	E.page = UINT64_C(1) << g;
	page_store_init(&E.tables, TABLE_PA, E.page, TABLE_PAGES);
	page_store_init(&E.data, DATA_PA, E.page, DATA_PAGES);
	cr_assert_eq(pgtable_init(&E.pt, &cfg, &ops), 0);
	E.wc = (struct walker_cfg){.tg_shift = g,
				   .t0sz = 16,
				   .t1sz = 16,
				   .pa_to_ptr = page_store_p2v,
				   .ctx = &E.tables,
				   .ttbr0 = pgtable_ttbr(&E.pt)};
	fake_libos_reset(&E.wc, 0x42);
	E.pages =
	    (struct libos_vm_pages){page_store_data_alloc, page_store_data_free, page_store_p2v, &E.data,
				    NULL, 0};
	libos_pagerefs_init(&E.refs);
	libos_aspace_init(&E.as, &E.pt, &E.pages, &E.refs);
}

static void env_fini(void)
{
	libos_aspace_fini(&E.as);
	cr_assert_eq(E.data.in_use, 0, "%u data pages leaked", E.data.in_use);
	cr_assert_eq(E.refs.used, 0, "%u refs left", E.refs.used);
	cr_assert_eq(fake_libos_quiescent(), 0, "BBM: %s",
		     fake_libos.first_violation);
	pgtable_destroy(&E.pt);
	cr_assert_eq(E.tables.in_use, 0);
	page_store_fini(&E.tables);
	page_store_fini(&E.data);
}

static const enum pgtable_granule granules[] = {
    PGTABLE_GRANULE_4K, PGTABLE_GRANULE_16K, PGTABLE_GRANULE_64K};

#define RW PGTABLE_USER_RW
#define RO (PGTABLE_USER_RW & ~PGTABLE_WRITE)

static struct libos_region reg(enum libos_region_kind k, uint64_t start,
			       uint64_t end, uint32_t attrs)
{
	struct libos_region r = {
	    .start = start, .end = end, .kind = k, .attrs = attrs};

	strcpy(r.name, libos_region_kind_name(k));
	return r;
}

static int ins(enum libos_region_kind k, uint64_t start, uint64_t end,
	       uint32_t attrs)
{
	struct libos_region r = reg(k, start, end, attrs);

	return libos_region_insert(&E.as, &r);
}

/* A decoded fault, as libos_fault_handle hands it over. */
static struct libos_fault fault(uint64_t va, enum libos_fault_kind kind,
				enum libos_access access)
{
	return (struct libos_fault){
	    .far = va, .kind = kind, .access = access, .from_el0 = true};
}

static enum libos_vm_action fault_at(uint64_t va, enum libos_fault_kind kind,
				     enum libos_access access, bool *ok)
{
	struct libos_fault f = fault(va, kind, access);
	const struct libos_region *r;
	enum libos_vm_action a;

	*ok = libos_vm_fault(&E.as, &f, &a, &r);
	cr_assert_eq(fake_libos_quiescent(), 0, "BBM: %s",
		     fake_libos.first_violation);
	return a;
}

/* A touch by the task: faults until it works, like the CPU retrying. */
static void touch(uint64_t va, bool write)
{
	struct pgtable_xlate x;
	bool ok = true;

	for (int tries = 0; tries < 3; tries++) {
		bool mapped = pgtable_translate(&E.pt, va, &x) == 0;

		if (mapped && (!write || (x.attrs & PGTABLE_WRITE)))
			return;
		fault_at(va,
			 mapped ? LIBOS_FAULT_PERMISSION
				: LIBOS_FAULT_TRANSLATION,
			 write ? LIBOS_WRITE : LIBOS_READ, &ok);
		cr_assert(ok, "fault at 0x%llx refused",
			  (unsigned long long)va);
	}
	cr_assert_fail("fault at 0x%llx never resolved",
		       (unsigned long long)va);
}

static uint8_t *at(uint64_t va)
{
	struct pgtable_xlate x;

	cr_assert_eq(pgtable_translate(&E.pt, va, &x), 0);
	return page_store_p2v(&E.data, x.pa);
}

static uint64_t pa_of(uint64_t va)
{
	struct pgtable_xlate x;

	cr_assert_eq(pgtable_translate(&E.pt, va, &x), 0);
	return x.pa;
}

/* --- region sets ------------------------------------------------------------
 */

Test(regions, insert_keeps_order_and_find_uses_half_open_ranges)
{
	uint64_t p;

	env_init(PGTABLE_GRANULE_4K);
	p = E.page;
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 10 * p, BASE + 12 * p, RW),
		     0);
	cr_assert_eq(ins(LIBOS_REGION_GUARD, BASE, BASE + p, 0), 0);
	cr_assert_eq(ins(LIBOS_REGION_COW, BASE + 4 * p, BASE + 10 * p, RW), 0);
	cr_assert_eq(E.as.nr, 3);
	for (unsigned i = 1; i < E.as.nr; i++)
		cr_assert_lt(E.as.r[i - 1].start, E.as.r[i].start);
	cr_assert_eq(libos_region_find(&E.as, BASE)->kind, LIBOS_REGION_GUARD);
	cr_assert_null(libos_region_find(&E.as, BASE + p));
	cr_assert_null(libos_region_find(&E.as, BASE - 1));
	cr_assert_eq(libos_region_find(&E.as, BASE + 4 * p)->kind,
		     LIBOS_REGION_COW);
	cr_assert_eq(libos_region_find(&E.as, BASE + 10 * p - 1)->kind,
		     LIBOS_REGION_COW);
	cr_assert_eq(libos_region_find(&E.as, BASE + 10 * p)->kind,
		     LIBOS_REGION_ANON);
	cr_assert_null(libos_region_find(&E.as, BASE + 12 * p));
	cr_assert_eq(libos_region_remove(&E.as, BASE + 4 * p), 0);
	cr_assert_null(libos_region_find(&E.as, BASE + 5 * p));
	cr_assert_eq(E.as.nr, 2);
	env_fini();
}

Test(regions, overlap_is_refused_with_its_own_error)
{
	uint64_t p;

	env_init(PGTABLE_GRANULE_4K);
	p = E.page;
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 4 * p, BASE + 8 * p, RW), 0);
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 4 * p, BASE + 8 * p, RW),
		     LIBOS_REGION_EOVERLAP, "same range");
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 2 * p, BASE + 5 * p, RW),
		     LIBOS_REGION_EOVERLAP, "left");
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 7 * p, BASE + 9 * p, RW),
		     LIBOS_REGION_EOVERLAP, "right");
	cr_assert_eq(ins(LIBOS_REGION_GUARD, BASE, BASE + 20 * p, 0),
		     LIBOS_REGION_EOVERLAP, "containing");
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 5 * p, BASE + 6 * p, RW),
		     LIBOS_REGION_EOVERLAP, "contained");
	cr_assert_eq(E.as.nr, 1, "a refused insert changed the set");
	cr_assert_eq(ins(LIBOS_REGION_GUARD, BASE + 3 * p, BASE + 4 * p, 0), 0,
		     "adjacent below");
	cr_assert_eq(ins(LIBOS_REGION_GUARD, BASE + 8 * p, BASE + 9 * p, 0), 0,
		     "adjacent above");
	env_fini();
}

Test(regions, every_error)
{
	struct libos_region r;
	uint64_t p;
	const char *seen[9];

	env_init(PGTABLE_GRANULE_16K);
	p = E.page;
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 1, BASE + p, RW),
		     LIBOS_REGION_EALIGN);
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 4096, RW),
		     LIBOS_REGION_EALIGN, "4K end with a 16K granule");
	r = reg(LIBOS_REGION_FIXED, BASE, BASE + p, RW);
	r.pa = DATA_PA + 4096;
	cr_assert_eq(libos_region_insert(&E.as, &r), LIBOS_REGION_EALIGN);
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE, RW),
		     LIBOS_REGION_ERANGE, "empty");
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + p, BASE, RW),
		     LIBOS_REGION_ERANGE, "backwards");
	cr_assert_eq(ins(LIBOS_REGION_ANON, (UINT64_C(1) << 48) - p,
			 (UINT64_C(1) << 48) + p, RW),
		     LIBOS_REGION_ERANGE, "past the TTBR0 half");
	cr_assert_eq(ins(LIBOS_REGION_KINDS, BASE, BASE + p, RW),
		     LIBOS_REGION_EKIND);
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + p, PGTABLE_WRITE),
		     LIBOS_REGION_EKIND, "no read permission");
	cr_assert_eq(
	    libos_region_insert_stack(&E.as, BASE + 8 * p, 0, 4 * p, RW, "s"),
	    LIBOS_REGION_ESTACK, "no initial page");
	cr_assert_eq(
	    libos_region_insert_stack(&E.as, BASE + 8 * p, 4 * p, p, RW, "s"),
	    LIBOS_REGION_ESTACK, "max below initial");
	cr_assert_eq(libos_region_insert_stack(&E.as, p, p, p, RW, "s"),
		     LIBOS_REGION_ESTACK, "no room below for the guard");
	r = reg(LIBOS_REGION_STACK, BASE, BASE + 4 * p, RW);
	r.bottom = BASE;
	cr_assert_eq(libos_region_insert(&E.as, &r), LIBOS_REGION_ESTACK,
		     "bottom at the start leaves no guard");
	cr_assert_eq(libos_region_remove(&E.as, BASE), LIBOS_REGION_ENOENT);
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 2 * p, RW), 0);
	cr_assert_eq(libos_region_remove(&E.as, BASE + p), LIBOS_REGION_ENOENT,
		     "remove needs the start");
	cr_assert_eq(libos_region_cow_map(&E.as, BASE, DATA_PA, 1),
		     LIBOS_REGION_EKIND, "cow_map outside a COW region");
	cr_assert_eq(libos_region_cow_map(&E.as, BASE + 8 * p, DATA_PA, 1),
		     LIBOS_REGION_ENOENT);
	for (unsigned i = 1; E.as.nr < LIBOS_REGIONS_MAX; i++)
		cr_assert_eq(ins(LIBOS_REGION_GUARD, BASE + (2 + i) * p,
				 BASE + (3 + i) * p, 0),
			     0);
	cr_assert_eq(
	    ins(LIBOS_REGION_GUARD, BASE + 1000 * p, BASE + 1001 * p, 0),
	    LIBOS_REGION_EFULL);
	for (int e = 0; e >= -8; e--) {
		seen[-e] = libos_region_strerror(e);
		for (int o = 0; o > e; o--)
			cr_assert_str_neq(seen[-e], seen[-o]);
	}
	cr_assert_str_eq(libos_region_strerror(LIBOS_REGION_EOVERLAP),
			 "overlaps a region");
	cr_assert_str_eq(libos_region_strerror(-99), "?");
	env_fini();
}

Test(regions, fixed_is_mapped_at_once_and_its_frames_never_freed)
{
	struct libos_region r;
	uint64_t p, pa;

	env_init(PGTABLE_GRANULE_4K);
	p = E.page;
	cr_assert(page_store_data_alloc(&E.data, &pa));
	r = reg(LIBOS_REGION_FIXED, BASE, BASE + p, RO);
	r.pa = pa;
	cr_assert_eq(libos_region_insert(&E.as, &r), 0);
	cr_assert_eq(pa_of(BASE), pa);
	r.start = BASE + p;
	r.end = BASE + 2 * p;
	r.kind = LIBOS_REGION_FIXED;
	pgtable_map(&E.pt, BASE + p, pa, p, RO);
	cr_assert_eq(libos_region_insert(&E.as, &r), LIBOS_REGION_EOVERLAP,
		     "something already mapped there");
	pgtable_unmap(&E.pt, BASE + p, p);
	cr_assert_eq(libos_region_remove(&E.as, BASE), 0);
	cr_assert_eq(E.data.in_use, 1, "a FIXED frame went back");
	cr_assert_neq(
	    pgtable_translate(&E.pt, BASE, &(struct pgtable_xlate){0}), 0);
	page_store_data_free(&E.data, pa);
	env_fini();
}

/* --- ranges: munmap and mprotect semantics --------------------------------
 */

Test(regions, unmap_splits_at_the_ends_and_frees_only_the_range)
{
	struct libos_region r;
	uint64_t p, pa;

	env_init(PGTABLE_GRANULE_4K);
	p = E.page;
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 8 * p, RW), 0);
	for (unsigned i = 0; i < 8; i++)
		touch(BASE + i * p, true);
	cr_assert_eq(E.data.in_use, 8);
	cr_assert_eq(libos_region_unmap(&E.as, BASE + 2 * p, 3 * p), 0);
	cr_assert_eq(E.as.nr, 2);
	cr_assert_eq(libos_region_find(&E.as, BASE)->end, BASE + 2 * p);
	cr_assert_eq(libos_region_find(&E.as, BASE + 5 * p)->start,
		     BASE + 5 * p);
	cr_assert_null(libos_region_find(&E.as, BASE + 3 * p));
	cr_assert_eq(E.data.in_use, 5, "the three pages in the hole went");
	cr_assert_neq(pgtable_translate(&E.pt, BASE + 2 * p,
					&(struct pgtable_xlate){0}),
		      0);
	cr_assert_eq(libos_region_unmap(&E.as, BASE + 2 * p, 3 * p), 0,
		     "a hole is fine");
	cr_assert_eq(libos_region_unmap(&E.as, BASE + p, 5 * p), 0,
		     "across a hole: both pieces trimmed");
	cr_assert_eq(E.as.nr, 2);
	cr_assert_eq(E.data.in_use, 3);
	/* A FIXED region cut in the middle keeps its frames at their PAs. */
	cr_assert(page_store_data_alloc(&E.data, &pa));
	cr_assert(page_store_data_alloc(&E.data, &pa));
	cr_assert(page_store_data_alloc(&E.data, &pa));
	pa -= 2 * p;
	r = reg(LIBOS_REGION_FIXED, BASE + 16 * p, BASE + 19 * p, RO);
	r.pa = pa;
	cr_assert_eq(libos_region_insert(&E.as, &r), 0);
	cr_assert_eq(libos_region_unmap(&E.as, BASE + 17 * p, p), 0);
	cr_assert_eq(libos_region_find(&E.as, BASE + 18 * p)->pa, pa + 2 * p);
	cr_assert_eq(pa_of(BASE + 18 * p), pa + 2 * p);
	cr_assert_eq(E.data.in_use, 6, "FIXED frames are never freed");
	cr_assert_eq(libos_region_remove(&E.as, BASE + 16 * p), 0);
	cr_assert_eq(libos_region_remove(&E.as, BASE + 18 * p), 0);
	for (unsigned i = 0; i < 3; i++)
		page_store_data_free(&E.data, pa + i * p);
	env_fini();
}

Test(regions, range_errors_change_nothing)
{
	uint64_t p, top;

	env_init(PGTABLE_GRANULE_16K);
	p = E.page;
	top = BASE + 64 * p;
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 4 * p, RW), 0);
	cr_assert_eq(libos_region_insert_stack(&E.as, top, p, 4 * p, RW, "s"),
		     0);
	cr_assert_eq(ins(LIBOS_REGION_GUARD, BASE + 8 * p, BASE + 9 * p, 0), 0);
	cr_assert_eq(libos_region_unmap(&E.as, BASE + 4096, p),
		     LIBOS_REGION_EALIGN);
	cr_assert_eq(libos_region_unmap(&E.as, BASE, 0), LIBOS_REGION_ERANGE);
	cr_assert_eq(libos_region_unmap(&E.as, (UINT64_C(1) << 48) - p,
					2 * p),
		     LIBOS_REGION_ERANGE, "past the half");
	cr_assert_eq(libos_region_unmap(&E.as, top - 2 * p, p),
		     LIBOS_REGION_EKIND, "a stack is not cut");
	cr_assert_eq(libos_region_protect(&E.as, BASE + p, p, RO), 0);
	cr_assert_eq(libos_region_protect(&E.as, BASE + 4 * p, p, RO),
		     LIBOS_REGION_ENOENT, "not in a region");
	cr_assert_eq(libos_region_protect(&E.as, BASE, 5 * p, RO),
		     LIBOS_REGION_ENOENT, "runs past the region");
	cr_assert_eq(libos_region_protect(&E.as, BASE + 8 * p, p, RO),
		     LIBOS_REGION_EKIND, "a guard stays a guard");
	cr_assert_eq(libos_region_protect(&E.as, BASE, p, PGTABLE_WRITE),
		     LIBOS_REGION_EKIND, "no read permission");
	cr_assert_eq(libos_region_protect(&E.as, top - 2 * p, p, RO),
		     LIBOS_REGION_EKIND, "a stack is not cut");
	cr_assert_eq(E.as.nr, 5, "only the good protect split (3 + 2)");
	while (E.as.nr < LIBOS_REGIONS_MAX - 1)
		cr_assert_eq(ins(LIBOS_REGION_GUARD,
				 BASE + (E.as.nr + 100) * p,
				 BASE + (E.as.nr + 101) * p, 0),
			     0);
	cr_assert_eq(libos_region_protect(&E.as, BASE + p, p, RW), 0,
		     "no cut needed: no slot needed");
	cr_assert_eq(libos_region_unmap(&E.as, BASE + 3 * p, p),
		     LIBOS_REGION_OK, "the last page of a piece");
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 12 * p, BASE + 15 * p, RW),
		     0);
	cr_assert_eq(E.as.nr, LIBOS_REGIONS_MAX);
	cr_assert_eq(libos_region_unmap(&E.as, BASE + 13 * p, p),
		     LIBOS_REGION_EFULL, "two pieces, one slot short");
	cr_assert_eq(libos_region_protect(&E.as, BASE + 13 * p, p, RO),
		     LIBOS_REGION_EFULL);
	cr_assert_eq(libos_region_find(&E.as, BASE + 13 * p)->start,
		     BASE + 12 * p, "nothing was split");
	env_fini();
}

Test(regions, protect_keeps_shared_pages_read_only)
{
	uint64_t p, pa;
	bool ok;

	env_init(PGTABLE_GRANULE_4K);
	p = E.page;
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 4 * p, RW), 0);
	cr_assert_eq(ins(LIBOS_REGION_COW, BASE + 8 * p, BASE + 10 * p, RW),
		     0);
	cr_assert(page_store_data_alloc(&E.data, &pa));
	cr_assert_eq(libos_region_cow_map(&E.as, BASE + 8 * p, pa, 1), 0);
	cr_assert_eq(libos_region_cow_map(&E.as, BASE + 9 * p, pa, 1), 0);
	touch(BASE, true);
	touch(BASE + p, true);
	cr_assert_eq(libos_region_protect(&E.as, BASE, 2 * p, RO), 0);
	cr_assert(!(pgtable_translate(&E.pt, BASE + p,
				      &(struct pgtable_xlate){0})));
	cr_assert_eq(fault_at(BASE + p, LIBOS_FAULT_PERMISSION, LIBOS_WRITE,
			      &ok),
		     LIBOS_VM_REFUSE, "read-only now");
	cr_assert(!ok);
	cr_assert_eq(E.as.nr, 3, "[0, 2) read-only, [2, 4) as it was");
	cr_assert_eq(libos_region_protect(&E.as, BASE, 2 * p, RW), 0);
	touch(BASE + p, true);
	cr_assert_eq(libos_region_protect(&E.as, BASE + 8 * p, 2 * p,
					  RW | PGTABLE_EXEC_EL0),
		     0);
	{
		struct pgtable_xlate x;

		cr_assert_eq(pgtable_translate(&E.pt, BASE + 8 * p, &x), 0);
		cr_assert(!(x.attrs & PGTABLE_WRITE),
			  "shared: still read-only until a write copies it");
		cr_assert(x.attrs & PGTABLE_EXEC_EL0);
	}
	cr_assert_eq(fault_at(BASE + 8 * p, LIBOS_FAULT_PERMISSION,
			      LIBOS_WRITE, &ok),
		     LIBOS_VM_COW_COPY);
	cr_assert(ok);
	env_fini();
}

Test(regions, gap_is_the_lowest_free_range)
{
	uint64_t p, va = 0;

	env_init(PGTABLE_GRANULE_4K);
	p = E.page;
	cr_assert_eq(libos_region_gap(&E.as, BASE, BASE + 8 * p, p, &va), 0);
	cr_assert_eq(va, BASE);
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 2 * p, RW), 0);
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 3 * p, BASE + 4 * p, RW), 0);
	cr_assert_eq(libos_region_gap(&E.as, BASE, BASE + 8 * p, p, &va), 0);
	cr_assert_eq(va, BASE + 2 * p, "the one-page hole");
	cr_assert_eq(libos_region_gap(&E.as, BASE, BASE + 8 * p, 2 * p, &va),
		     0);
	cr_assert_eq(va, BASE + 4 * p, "too big for the hole");
	cr_assert_eq(libos_region_gap(&E.as, BASE, BASE + 8 * p, 5 * p, &va),
		     LIBOS_REGION_ENOMEM);
	cr_assert_eq(libos_region_gap(&E.as, BASE, BASE + 8 * p, 0, &va),
		     LIBOS_REGION_EALIGN);
	cr_assert_eq(libos_region_gap(&E.as, BASE + 1, BASE + 8 * p, p, &va),
		     LIBOS_REGION_EALIGN);
	cr_assert_eq(libos_region_gap(&E.as, ~UINT64_C(0) - p + 1,
				      ~UINT64_C(0), p, &va),
		     LIBOS_REGION_ENOMEM, "wraps");
	env_fini();
}

/* --- reference counts
 * --------------------------------------------------------- */

Test(regions, pagerefs_match_a_model_through_collisions_and_deletes)
{
	static struct libos_pagerefs r;
	static uint32_t model[600];
	unsigned seed = 12345;

	libos_pagerefs_init(&r);
	cr_assert_eq(libos_pagerefs_get(&r, 0x1000), 0);
	cr_assert(libos_pagerefs_inc(&r, 0x1000));
	cr_assert_eq(libos_pagerefs_get(&r, 0x1000), 1);
	cr_assert(libos_pagerefs_inc(&r, 0x1000));
	cr_assert_eq(libos_pagerefs_dec(&r, 0x1000), 1);
	cr_assert_eq(libos_pagerefs_get(&r, 0x1000), 0,
		     "one mapping left: owned outright, entry dropped");
	cr_assert_eq(libos_pagerefs_dec(&r, 0x1000), 0);
	cr_assert_eq(libos_pagerefs_shared_slot(&r, 0x1000), -1, "absent");
	cr_assert(libos_pagerefs_inc(&r, 0x1000));
	cr_assert_eq(libos_pagerefs_shared_slot(&r, 0x1000), -1,
		     "one mapping: not shared");
	cr_assert(libos_pagerefs_inc(&r, 0x1000));
	cr_assert_eq(libos_pagerefs_dec_slot(
			     &r, (unsigned)libos_pagerefs_shared_slot(&r, 0x1000)),
		     1);
	cr_assert_eq(libos_pagerefs_get(&r, 0x1000), 0, "dropped at 1");
	for (int step = 0; step < 20000; step++) {
		unsigned k;
		uint64_t pa;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % 600;
		pa = (uint64_t)(k + 1) << 16; /* collide in the low bits */
		if ((seed >> 20) & 1) {
			if (libos_pagerefs_inc(&r, pa))
				model[k] = model[k] ? model[k] + 1 : 1;
			else
				cr_assert_eq(model[k], 0, "refused a known pa");
		} else if (model[k]) {
			/* Half the drops through the slot, as the COW fault
			 * does: the same count left, the same deletions. */
			int slot = libos_pagerefs_shared_slot(&r, pa);
			uint32_t left = slot >= 0 && (seed >> 21) & 1
						? libos_pagerefs_dec_slot(
							  &r, (unsigned)slot)
						: libos_pagerefs_dec(&r, pa);

			model[k]--;
			cr_assert_eq(left, model[k]);
			if (model[k] <= 1)
				model[k] = 0;
		}
		if (step % 997 == 0)
			for (unsigned i = 0; i < 600; i++) {
				uint64_t at = (uint64_t)(i + 1) << 16;

				cr_assert_eq(libos_pagerefs_get(&r, at),
					     model[i], "pa %u", i);
				cr_assert_eq(libos_pagerefs_shared_slot(&r, at)
						     >= 0,
					     model[i] >= 2, "pa %u shared", i);
			}
	}
}

Test(regions, pagerefs_full_table_refuses)
{
	static struct libos_pagerefs r;
	unsigned n = 0;

	libos_pagerefs_init(&r);
	while (libos_pagerefs_inc(&r, (uint64_t)(n + 1) << 12))
		n++;
	cr_assert_eq(n, LIBOS_PAGEREFS_MAX * 3 / 4);
	cr_assert(libos_pagerefs_inc(&r, 1 << 12), "a known pa still counts");
	cr_assert_eq(libos_pagerefs_get(&r, 1 << 12), 2);
}

/* --- the decision
 * ---------------------------------------------------------------- */

Test(regions, decide_every_case)
{
	const uint64_t P = 4096;
	struct libos_region anon =
	    reg(LIBOS_REGION_ANON, BASE, BASE + 8 * P, RW);
	struct libos_region ro = reg(LIBOS_REGION_ANON, BASE, BASE + 8 * P, RO);
	struct libos_region kern =
	    reg(LIBOS_REGION_ANON, BASE, BASE + 8 * P, PGTABLE_KERNEL_RW);
	struct libos_region guard = reg(LIBOS_REGION_GUARD, BASE, BASE + P, 0);
	struct libos_region fixed = reg(LIBOS_REGION_FIXED, BASE, BASE + P, RW);
	struct libos_region stack =
	    reg(LIBOS_REGION_STACK, BASE, BASE + 8 * P, RW);
	struct libos_vm_state none = {0}, rw = {true, RW, 0},
			      shared = {true, RO, 2}, last = {true, RO, 1},
			      priv = {true, RO, 0};
	struct libos_fault f;

#define D(r, va, k, a, s)                                                      \
	(f = fault((va), LIBOS_FAULT_##k, LIBOS_##a),                          \
	 libos_vm_decide((r), &f, (s), P))
	cr_assert_eq(D(NULL, BASE, TRANSLATION, READ, &none), LIBOS_VM_NONE);
	cr_assert_eq(D(&guard, BASE, TRANSLATION, READ, &none),
		     LIBOS_VM_GUARD_HIT);
	cr_assert_eq(D(&anon, BASE + 5, TRANSLATION, WRITE, &none),
		     LIBOS_VM_ZERO_FILL);
	cr_assert_eq(D(&anon, BASE, TRANSLATION, READ, &rw), LIBOS_VM_RETRY);
	cr_assert_eq(D(&ro, BASE, TRANSLATION, WRITE, &none), LIBOS_VM_REFUSE,
		     "write to a read-only region");
	cr_assert_eq(D(&anon, BASE, TRANSLATION, EXEC, &none), LIBOS_VM_REFUSE,
		     "execute a non-executable region");
	cr_assert_eq(D(&kern, BASE, TRANSLATION, READ, &none), LIBOS_VM_REFUSE,
		     "EL0 in a kernel region");
	f = fault(BASE, LIBOS_FAULT_TRANSLATION, LIBOS_READ);
	f.from_el0 = false;
	cr_assert_eq(libos_vm_decide(&kern, &f, &none, P), LIBOS_VM_ZERO_FILL,
		     "EL1 in a kernel region");
	cr_assert_eq(D(&anon, BASE, PERMISSION, WRITE, &shared),
		     LIBOS_VM_COW_COPY);
	cr_assert_eq(D(&anon, BASE, PERMISSION, WRITE, &last),
		     LIBOS_VM_COW_REUSE);
	cr_assert_eq(D(&anon, BASE, PERMISSION, WRITE, &priv),
		     LIBOS_VM_COW_REUSE);
	cr_assert_eq(D(&ro, BASE, PERMISSION, WRITE, &shared), LIBOS_VM_REFUSE);
	cr_assert_eq(D(&anon, BASE, PERMISSION, READ, &rw), LIBOS_VM_REFUSE,
		     "a permission fault on a read (PAN-like)");
	cr_assert_eq(D(&anon, BASE, PERMISSION, WRITE, &rw), LIBOS_VM_REFUSE,
		     "already writable: not ours to fix");
	cr_assert_eq(D(&anon, BASE, ACCESS_FLAG, READ, &rw), LIBOS_VM_REFUSE);
	cr_assert_eq(D(&anon, BASE, OTHER, READ, &rw), LIBOS_VM_REFUSE);
	cr_assert_eq(D(&fixed, BASE, TRANSLATION, READ, &none), LIBOS_VM_REFUSE,
		     "fixed regions are mapped eagerly");
	/* stack [BASE, BASE + 8P), bottom at 5P: guard page at 4P */
	stack.bottom = BASE + 5 * P;
	cr_assert_eq(D(&stack, BASE + 6 * P, TRANSLATION, WRITE, &none),
		     LIBOS_VM_ZERO_FILL);
	cr_assert_eq(D(&stack, BASE + 4 * P + 8, TRANSLATION, WRITE, &none),
		     LIBOS_VM_STACK_GROW);
	cr_assert_eq(D(&stack, BASE + 4 * P, TRANSLATION, EXEC, &none),
		     LIBOS_VM_REFUSE);
	cr_assert_eq(D(&stack, BASE + 3 * P, TRANSLATION, WRITE, &none),
		     LIBOS_VM_GUARD_HIT, "jumped over the guard");
	stack.bottom = BASE + 2 * P;
	cr_assert_eq(D(&stack, BASE + P, TRANSLATION, READ, &none),
		     LIBOS_VM_STACK_GROW, "the last growth");
	cr_assert_eq(D(&stack, BASE, TRANSLATION, READ, &none),
		     LIBOS_VM_GUARD_HIT);
	stack.bottom = BASE + P;
	cr_assert_eq(D(&stack, BASE, TRANSLATION, WRITE, &none),
		     LIBOS_VM_STACK_OVERFLOW, "the guard is the lowest page");
#undef D
}

/* --- the handlers
 * ------------------------------------------------------------------ */

Test(regions, demand_zero_maps_only_touched_pages_zeroed)
{
	for (unsigned g = 0; g < 3; g++) {
		struct libos_vm_stats st;
		uint64_t p, end;
		bool ok;

		env_init(granules[g]);
		p = E.page;
		end = BASE + 1024 * p;
		cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, end, RW), 0);
		for (uint64_t i = 0; i < 1024; i += 100) {
			touch(BASE + i * p + 24, i % 200 == 0);
			for (uint64_t b = 0; b < p; b += 512)
				cr_assert_eq(at(BASE + i * p)[b], 0);
		}
		cr_assert_eq(E.data.in_use, 11, "only touched pages: %u",
			     E.data.in_use);
		cr_assert_eq(E.as.stats.demand_zero, 11);
		cr_assert_eq(fault_at(BASE + 24, LIBOS_FAULT_TRANSLATION,
				      LIBOS_READ, &ok),
			     LIBOS_VM_RETRY);
		cr_assert(ok);
		cr_assert_eq(
		    fault_at(end, LIBOS_FAULT_TRANSLATION, LIBOS_READ, &ok),
		    LIBOS_VM_NONE);
		cr_assert(!ok);
		cr_assert_eq(E.as.stats.no_region, 1);
		libos_vm_stats(&st);
		cr_assert_geq(st.demand_zero, 11, "global totals");
		cr_assert_eq(libos_region_remove(&E.as, BASE), 0);
		cr_assert_eq(E.data.in_use, 0, "remove gives the pages back");
		env_fini();
	}
}

Test(regions, stats_add_sums_every_counter)
{
	struct libos_vm_stats a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	struct libos_vm_stats b = {10, 20, 30, 40, 50, 60, 70, 80, 90};

	libos_vm_stats_add(&a, &b);
	cr_assert_eq(a.demand_zero, 11);
	cr_assert_eq(a.cow_copies, 22);
	cr_assert_eq(a.cow_reuses, 33);
	cr_assert_eq(a.stack_growths, 44);
	cr_assert_eq(a.stack_overflows, 55);
	cr_assert_eq(a.guard_hits, 66);
	cr_assert_eq(a.refused, 77);
	cr_assert_eq(a.no_region, 88);
	cr_assert_eq(a.no_memory, 99);
}

Test(regions, stack_grows_through_its_guard_up_to_the_limit)
{
	for (unsigned g = 0; g < 3; g++) {
		uint64_t p, top;
		struct libos_region *r;
		bool ok;

		env_init(granules[g]);
		p = E.page;
		top = BASE + 16 * p;
		cr_assert_eq(libos_region_insert_stack(&E.as, top, p, 4 * p, RW,
						       "stack"),
			     0);
		r = libos_region_find(&E.as, top - 1);
		cr_assert_eq(r->start, top - 5 * p);
		cr_assert_eq(r->bottom, top - p);
		touch(top - 8, true);
		cr_assert_eq(E.as.stats.demand_zero, 1);
		cr_assert_eq(fault_at(top - 3 * p, LIBOS_FAULT_TRANSLATION,
				      LIBOS_WRITE, &ok),
			     LIBOS_VM_GUARD_HIT, "below the guard page");
		cr_assert(!ok);
		for (unsigned i = 2; i <= 4; i++) {
			cr_assert_eq(fault_at(top - i * p + 16,
					      LIBOS_FAULT_TRANSLATION,
					      LIBOS_WRITE, &ok),
				     LIBOS_VM_STACK_GROW);
			cr_assert(ok);
			cr_assert_eq(r->bottom, top - i * p);
			cr_assert_eq(at(top - i * p)[16], 0);
		}
		cr_assert_eq(E.as.stats.stack_growths, 3);
		cr_assert_eq(fault_at(top - 5 * p + 8, LIBOS_FAULT_TRANSLATION,
				      LIBOS_WRITE, &ok),
			     LIBOS_VM_STACK_OVERFLOW);
		cr_assert(!ok);
		cr_assert_eq(r->bottom, top - 4 * p,
			     "no growth past the limit");
		cr_assert_eq(E.as.stats.stack_overflows, 1);
		cr_assert_eq(E.as.stats.guard_hits, 1);
		cr_assert_eq(E.data.in_use, 4, "max = 4 pages");
		env_fini();
	}
}

Test(regions, guard_region_is_never_mapped)
{
	bool ok;

	env_init(PGTABLE_GRANULE_4K);
	cr_assert_eq(ins(LIBOS_REGION_GUARD, BASE, BASE + E.page, 0), 0);
	cr_assert_eq(fault_at(BASE, LIBOS_FAULT_TRANSLATION, LIBOS_READ, &ok),
		     LIBOS_VM_GUARD_HIT);
	cr_assert(!ok);
	cr_assert_eq(E.data.in_use, 0);
	cr_assert_eq(E.as.stats.guard_hits, 1);
	env_fini();
}

Test(regions, cow_in_one_space_copies_then_reuses)
{
	for (unsigned g = 0; g < 3; g++) {
		uint64_t p, pa, a, b;
		bool ok;

		env_init(granules[g]);
		p = E.page;
		a = BASE;
		b = BASE + 8 * p;
		cr_assert_eq(ins(LIBOS_REGION_COW, a, a + p, RW), 0);
		cr_assert_eq(ins(LIBOS_REGION_COW, b, b + p, RW), 0);
		cr_assert(page_store_data_alloc(&E.data, &pa));
		memset(page_store_p2v(&E.data, pa), 'S', p);
		cr_assert_eq(libos_region_cow_map(&E.as, a, pa, 1), 0);
		cr_assert_eq(libos_region_cow_map(&E.as, b, pa, 1), 0);
		cr_assert_eq(libos_region_cow_map(&E.as, b, pa, 1),
			     LIBOS_REGION_EOVERLAP, "already mapped there");
		cr_assert_eq(libos_region_cow_map(&E.as, a, pa, 2),
			     LIBOS_REGION_ERANGE, "past the region");
		cr_assert_eq(libos_pagerefs_get(&E.refs, pa), 2);
		cr_assert_eq(pa_of(a), pa);
		cr_assert_eq(pa_of(b), pa);
		touch(a, false);
		cr_assert_eq(E.data.in_use, 1, "reads share");
		cr_assert_eq(
		    fault_at(a + 8, LIBOS_FAULT_PERMISSION, LIBOS_WRITE, &ok),
		    LIBOS_VM_COW_COPY);
		cr_assert(ok);
		cr_assert_neq(pa_of(a), pa);
		cr_assert_eq(at(a)[p - 1], 'S', "the copy has the data");
		at(a)[0] = 'A';
		cr_assert_eq(at(b)[0], 'S', "b still sees the original");
		cr_assert_eq(libos_pagerefs_get(&E.refs, pa), 0,
			     "b owns the original outright");
		cr_assert_eq(
		    fault_at(b, LIBOS_FAULT_PERMISSION, LIBOS_WRITE, &ok),
		    LIBOS_VM_COW_REUSE);
		cr_assert(ok);
		cr_assert_eq(pa_of(b), pa, "reused in place");
		at(b)[0] = 'B';
		cr_assert_eq(at(a)[0], 'A');
		cr_assert_eq(E.as.stats.cow_copies, 1);
		cr_assert_eq(E.as.stats.cow_reuses, 1);
		cr_assert_eq(E.data.in_use, 2);
		env_fini();
	}
}

Test(regions, removing_one_sharer_keeps_the_page_for_the_other)
{
	uint64_t p, pa;

	env_init(PGTABLE_GRANULE_64K);
	p = E.page;
	cr_assert_eq(ins(LIBOS_REGION_COW, BASE, BASE + p, RW), 0);
	cr_assert_eq(ins(LIBOS_REGION_COW, BASE + 2 * p, BASE + 3 * p, RW), 0);
	cr_assert(page_store_data_alloc(&E.data, &pa));
	cr_assert_eq(libos_region_cow_map(&E.as, BASE, pa, 1), 0);
	cr_assert_eq(libos_region_cow_map(&E.as, BASE + 2 * p, pa, 1), 0);
	cr_assert_eq(libos_region_remove(&E.as, BASE), 0);
	cr_assert_eq(E.data.in_use, 1);
	cr_assert_eq(libos_region_remove(&E.as, BASE + 2 * p), 0);
	cr_assert_eq(E.data.in_use, 0, "the last sharer frees it");
	env_fini();
}

Test(regions, clone_shares_every_page_copy_on_write)
{
	struct pgtable pt2;
	struct libos_aspace child;
	struct pgtable_mm_ops ops = {page_store_tab_alloc, page_store_tab_free, page_store_v2p, page_store_p2v,
				     &E.tables, false, 0};
	struct pgtable_config cfg = {PGTABLE_GRANULE_4K, 48, PGTABLE_TTBR0,
				     0x43};
	struct pgtable_xlate x;
	uint64_t p, top;
	bool ok;

	env_init(PGTABLE_GRANULE_4K);
	p = E.page;
	top = BASE + 64 * p;
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 8 * p, RW), 0);
	cr_assert_eq(ins(LIBOS_REGION_GUARD, BASE + 8 * p, BASE + 9 * p, 0), 0);
	cr_assert_eq(libos_region_insert_stack(&E.as, top, p, 8 * p, RW, "st"),
		     0);
	touch(BASE, true);
	at(BASE)[0] = 'p';
	touch(BASE + 3 * p, true);
	touch(top - 8, true);
	touch(top - 2 * p, true); /* grows */
	cr_assert_eq(E.data.in_use, 4);
	cr_assert_eq(pgtable_init(&pt2, &cfg, &ops), 0);
	libos_aspace_init(&child, &pt2, &E.pages, &E.refs);
	cr_assert_eq(libos_aspace_clone(&child, &E.as), 0);
	cr_assert_eq(libos_aspace_clone(&child, &E.as), LIBOS_REGION_EKIND,
		     "into a non-empty space");
	cr_assert_eq(child.nr, 3);
	cr_assert_eq(libos_region_find(&child, top - 1)->bottom, top - 2 * p,
		     "the stack's growth is inherited");
	cr_assert_eq(E.data.in_use, 4, "nothing copied yet");
	cr_assert_eq(pgtable_translate(&pt2, BASE, &x), 0);
	cr_assert_eq(x.pa, pa_of(BASE));
	cr_assert(!(x.attrs & PGTABLE_WRITE));
	cr_assert_eq(pgtable_translate(&E.pt, BASE, &x), 0);
	cr_assert(!(x.attrs & PGTABLE_WRITE), "the parent is read-only too");
	cr_assert_eq(libos_pagerefs_get(&E.refs, x.pa), 2);
	{
		struct libos_fault f =
		    fault(BASE, LIBOS_FAULT_PERMISSION, LIBOS_WRITE);
		const struct libos_region *r;
		enum libos_vm_action a;

		ok = libos_vm_fault(&child, &f, &a, &r);
		cr_assert(ok);
		cr_assert_eq(a, LIBOS_VM_COW_COPY);
	}
	cr_assert_eq(pgtable_translate(&pt2, BASE, &x), 0);
	cr_assert_neq(x.pa, pa_of(BASE));
	((uint8_t *)page_store_p2v(&E.data, x.pa))[0] = 'c';
	cr_assert_eq(fault_at(BASE, LIBOS_FAULT_PERMISSION, LIBOS_WRITE, &ok),
		     LIBOS_VM_COW_REUSE);
	cr_assert_eq(at(BASE)[0], 'p', "the parent keeps its data");
	cr_assert_eq(E.data.in_use, 5);
	libos_aspace_fini(&child);
	cr_assert_eq(E.data.in_use, 4, "the child's copy went back");
	touch(BASE + 3 * p, true); /* the last reference: reuse */
	cr_assert_eq(E.data.in_use, 4);
	pgtable_destroy(&pt2);
	env_fini();
}

Test(regions, out_of_pages_is_refused_and_counted)
{
	bool ok;

	env_init(PGTABLE_GRANULE_4K);
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 8 * E.page, RW), 0);
	E.data.limit = 0;
	cr_assert_eq(fault_at(BASE, LIBOS_FAULT_TRANSLATION, LIBOS_READ, &ok),
		     LIBOS_VM_ZERO_FILL);
	cr_assert(!ok);
	cr_assert_eq(E.as.stats.no_memory, 1);
	cr_assert_eq(E.as.stats.demand_zero, 0);
	cr_assert_neq(
	    pgtable_translate(&E.pt, BASE, &(struct pgtable_xlate){0}), 0);
	E.data.limit = DATA_PAGES;
	E.tables.limit = E.tables.in_use; /* no table page for the map */
	cr_assert_eq(fault_at(BASE, LIBOS_FAULT_TRANSLATION, LIBOS_READ, &ok),
		     LIBOS_VM_ZERO_FILL);
	cr_assert(!ok);
	cr_assert_eq(E.data.in_use, 0, "the page went back");
	E.tables.limit = TABLE_PAGES;
	env_fini();
}

/* The counter an action that maps nothing counts (vmfault.c's act). */
static unsigned refusal_count(const struct libos_vm_stats *st,
			      enum libos_vm_action a)
{
	switch (a) {
	case LIBOS_VM_NONE: return st->no_region;
	case LIBOS_VM_GUARD_HIT: return st->guard_hits;
	case LIBOS_VM_STACK_OVERFLOW: return st->stack_overflows;
	default: return st->refused;
	}
}

/* An Access-flag fault or one of kind other (an external abort, an
 * alignment fault) takes libos_vm_fault's refusal route: no walk. It must
 * answer what the decision says with what is really mapped, change no
 * table and no page, and count that refusal and nothing else, in the
 * space and in the totals, for every region kind, mapped or not, every
 * access, from EL0 and EL1. */
Test(regions, refusal_route_matches_the_decision_on_what_is_mapped)
{
	static const enum libos_fault_kind kinds[] = {
	    LIBOS_FAULT_ACCESS_FLAG, LIBOS_FAULT_OTHER};
	unsigned checked = 0, seen[LIBOS_VM_ACTIONS] = {0};

	for (unsigned g = 0; g < 3; g++) {
		uint64_t p, top;

		env_init(granules[g]);
		p = E.page;
		top = BASE + 32 * p;
		cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 4 * p, RW), 0);
		cr_assert_eq(ins(LIBOS_REGION_ANON, BASE + 4 * p, BASE + 6 * p,
				 RO), 0);
		cr_assert_eq(ins(LIBOS_REGION_GUARD, BASE + 6 * p, BASE + 7 * p,
				 0), 0);
		cr_assert_eq(libos_region_insert_stack(&E.as, top, p, 4 * p, RW,
						       "stack"), 0);
		touch(BASE, true);
		touch(BASE + 2 * p, false);
		touch(top - 8, true);
		for (uint64_t va = BASE; va < top + 2 * p; va += p / 2) {
			for (unsigned k = 0; k < 2; k++) {
				for (unsigned a = 0; a < 3; a++) {
					for (unsigned el0 = 0; el0 < 2; el0++) {
						struct libos_fault f =
						    fault(va + 8, kinds[k],
							  (enum libos_access)a);
						struct libos_region *want_r;
						struct libos_vm_state st = {0};
						struct pgtable_xlate x, x2;
						struct libos_vm_stats before = E.as.stats, tb, ta;
						const struct libos_region *r;
						enum libos_vm_action want, got;
						unsigned tabs = E.tables.in_use,
							 data = E.data.in_use;
						bool mapped, ok;

						f.from_el0 = el0;
						want_r = libos_region_find(&E.as, f.far);
						mapped = !pgtable_translate(
						    &E.pt, va & ~(p - 1), &x);
						if (mapped)
							st = (struct libos_vm_state){
							    true, x.attrs,
							    libos_pagerefs_get(
								&E.refs, x.pa)};
						want = libos_vm_decide(want_r, &f, &st, p);
						libos_vm_stats(&tb);
						ok = libos_vm_fault(&E.as, &f, &got, &r);
						libos_vm_stats(&ta);
						cr_assert(!ok);
						cr_assert_eq(got, want, "va 0x%llx kind %u",
							     (unsigned long long)va, k);
						cr_assert_eq(r, want_r);
						cr_assert_eq(refusal_count(&E.as.stats, want),
							     refusal_count(&before, want) + 1);
						cr_assert_eq(refusal_count(&ta, want),
							     refusal_count(&tb, want) + 1);
						before.no_region += want == LIBOS_VM_NONE;
						before.guard_hits += want == LIBOS_VM_GUARD_HIT;
						before.stack_overflows +=
						    want == LIBOS_VM_STACK_OVERFLOW;
						before.refused += want != LIBOS_VM_NONE &&
								  want != LIBOS_VM_GUARD_HIT &&
								  want != LIBOS_VM_STACK_OVERFLOW;
						cr_assert_arr_eq(&before, &E.as.stats,
								 sizeof(before),
								 "one counter only");
						cr_assert_eq(E.tables.in_use, tabs);
						cr_assert_eq(E.data.in_use, data);
						cr_assert_eq(!pgtable_translate(
								 &E.pt, va & ~(p - 1), &x2),
							     mapped);
						seen[want]++;
						checked++;
					}
				}
			}
		}
		env_fini();
	}
	cr_assert_gt(checked, 1000);
	cr_assert(seen[LIBOS_VM_NONE] && seen[LIBOS_VM_GUARD_HIT] &&
		      seen[LIBOS_VM_REFUSE],
		  "every refusal taken");
}

/* --- through libos_fault_handle
 * ------------------------------------------------- */


static uint64_t dabt(bool write, unsigned fsc)
{
	return ((uint64_t)ESR_EC_DABT_LOWER << ESR_EC_SHIFT) |
	       (write ? ESR_DABT_WNR : 0) | fsc;
}

static struct libos_fault hooked_fault;

static bool keep_fault(struct libos_fault *f)
{
	hooked_fault = *f;
	return true;
}

/* The architecture's fault status codes by kind (ESR_ELx.ISS, DFSC): the
 * reference libos_fault_handle's decoding must agree with. */
static enum libos_fault_kind kind_model(unsigned fsc)
{
	if (fsc == FSC_ALIGNMENT)
		return LIBOS_FAULT_OTHER;
	switch (FSC_KIND(fsc)) {
	case FSC_TRANSLATION: return LIBOS_FAULT_TRANSLATION;
	case FSC_ACCESS_FLAG: return LIBOS_FAULT_ACCESS_FLAG;
	case FSC_PERMISSION: return LIBOS_FAULT_PERMISSION;
	default: return LIBOS_FAULT_OTHER;
	}
}

/* Every FSC, read and write, data and instruction: the kind, the level,
 * the access, and the kind's counter, as the hook sees them (no space
 * attached: nothing resolves the fault before the hook). */
Test(regions, fault_handle_decodes_every_fsc)
{
	libos_fault_hook old = libos_fault_set_hook(keep_fault);

	libos_vm_detach(PGTABLE_TTBR0);
	libos_vm_detach(PGTABLE_TTBR1);
	for (unsigned fsc = 0; fsc < 1u << ESR_ABT_FSC_WIDTH; fsc++) {
		for (unsigned w = 0; w < 3; w++) {
			uint64_t esr = w == 2 ? ((uint64_t)ESR_EC_IABT_CUR
						 << ESR_EC_SHIFT) | fsc
					      : dabt(w, fsc);
			struct libos_fault f = {.esr = esr, .far = BASE};
			struct libos_fault_stats before, after;
			enum libos_fault_kind want = kind_model(fsc);

			libos_fault_stats(&before);
			cr_assert(libos_fault_handle(&f));
			libos_fault_stats(&after);
			cr_assert_eq(hooked_fault.kind, want, "fsc 0x%x", fsc);
			cr_assert_eq(hooked_fault.level, fsc & 3);
			cr_assert_eq(hooked_fault.access,
				     w == 2 ? LIBOS_EXEC
					    : w ? LIBOS_WRITE : LIBOS_READ);
			cr_assert_eq(after.taken[want], before.taken[want] + 1);
			cr_assert_eq(after.hooked, before.hooked + 1);
		}
	}
	libos_fault_set_hook(old);
}

Test(regions, fault_handle_routes_to_the_attached_space_and_reports)
{
	struct libos_fault f;
	uint64_t p, top;

	env_init(PGTABLE_GRANULE_4K);
	p = E.page;
	top = BASE + 16 * p;
	print_set_console(capture_console, "");
	cr_assert_eq(ins(LIBOS_REGION_ANON, BASE, BASE + 4 * p, RW), 0);
	cr_assert_eq(libos_region_insert_stack(&E.as, top, p, p, RW, "ustack"),
		     0);
	libos_vm_attach(&E.as);
	cr_assert_eq(libos_vm_active(BASE), &E.as);
	f = (struct libos_fault){.esr = dabt(true, FSC_TRANSLATION | 3),
				 .far = BASE + 8,
				 .from_el0 = true};
	cr_assert(libos_fault_handle(&f));
	cr_assert_eq(f.vm_action, LIBOS_VM_ZERO_FILL);
	cr_assert_eq(f.region->start, BASE);
	cr_assert_eq(capture_len, 0, "nothing reported: %s", capture_out);
	f = (struct libos_fault){.esr = dabt(true, FSC_TRANSLATION | 3),
				 .far = top - p - 8,
				 .from_el0 = true};
	cr_assert(!libos_fault_handle(&f));
	cr_assert_eq(f.vm_action, LIBOS_VM_STACK_OVERFLOW);
	cr_assert(strstr(capture_out, "libos: stack overflow: \"ustack\" at its limit "
			      "(4 KiB"),
		  "%s", capture_out);
	cr_assert(strstr(capture_out, "region: \"ustack\" stack [0x0000000010"), "%s",
		  capture_out);
	cr_assert(strstr(capture_out, "): stack overflow\n"), "%s", capture_out);
	cr_assert(strstr(capture_out, "walk 0x"), "%s", capture_out);
	capture_len = 0;
	f = (struct libos_fault){.esr = dabt(false, FSC_TRANSLATION | 3),
				 .far = BASE + 8 * p,
				 .from_el0 = true};
	cr_assert(!libos_fault_handle(&f));
	cr_assert(strstr(capture_out, "region: none"), "%s", capture_out);
	libos_vm_detach(PGTABLE_TTBR0);
	cr_assert_null(libos_vm_active(BASE));
	print_set_console(NULL, "");
	env_fini();
}
