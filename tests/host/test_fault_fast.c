/*
 * The fault fast path (libos_fault_fast, libos/mm/vmfault.c) against the
 * slow path (libos_fault_handle): two identical address spaces in the
 * TTBR1 half run one random script of EL1 data accesses and region changes
 * (insert of every kind, remove, munmap and mprotect of ranges, COW pages,
 * a page source running dry, a fault while one is being handled); one
 * takes every fault through the slow path only, the other tries the fast
 * path first, as el1/vectors.S does. After every step both must hold the
 * same state: every table and data page byte for byte, the regions, the
 * reference counts, the page source's accounting, the space's and the
 * global fault counters, and the same answer for every fault. The script
 * must have taken the fast path often, and declined it too. The seed is
 * printed on failure.
 */
#include "console_capture.h"
#include "fake_libos_arch.h"
#include "page_store.h"

#include <arch/esr.h>
#include <criterion/criterion.h>
#include <lib/print.h>
#include <libos/mm/fault_state.h>
#include <libos/mm/mm.h>
#include <libos/mm/region.h>
#include <libos/pool/pool.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_PAGES 16
#define DATA_PAGES 128
#define TABLE_PA UINT64_C(0x0000008000000000)
#define DATA_PA UINT64_C(0x0000004000000000)
#define PAGE UINT64_C(4096)
#define BASE UINT64_C(0xffff000010000000) /* TTBR1 half, 48-bit VA */
#define SLOTS 4
#define SLOT_PAGES 16
#define WINDOW (SLOTS * SLOT_PAGES * PAGE)
#define STEPS 4000
#define ELR UINT64_C(0xffff800000001000) /* not a user copy */
/* The page source: a pool over the data pages, in the target's batches
 * for the scripts; chunks of two bitmap words (128 frames) for the
 * declines, so that the hinted chunk's first word runs dry while a later
 * one holds frames (pool_take_first declines, the slow path's scan goes
 * on). */
#define SCRIPT_BATCH_ORDER POOL_DEFAULT_BATCH_ORDER
#define TWO_WORD_BATCH_ORDER 7
#define POOL_HIGH_WATER 64

struct space {
	struct page_store tables, data;
	struct pgtable pt;
	struct pool pool;
	struct libos_vm_pages pages;
	struct libos_pagerefs refs;
	struct libos_aspace as;
	struct libos_fault_stats fs;	/* its share of the globals */
	struct libos_vm_stats vs;
	bool fast;
	unsigned fast_taken, fast_declined, fast_cow;
};

static struct space S[2];

static bool space_page_alloc(void *ctx, uint64_t *pa)
{
	return pool_alloc(&((struct space *)ctx)->pool, 1, pa);
}

static void space_page_free(void *ctx, uint64_t pa)
{
	cr_assert(pool_free(&((struct space *)ctx)->pool, pa, 1),
		  "free of 0x%llx", (unsigned long long)pa);
}

static void *space_page_virt(void *ctx, uint64_t pa)
{
	return page_store_p2v(&((struct space *)ctx)->data, pa);
}

static void space_init(struct space *sp, bool fast, unsigned batch_order)
{
	struct pgtable_mm_ops ops = {page_store_tab_alloc, page_store_tab_free,
				     page_store_v2p, page_store_p2v,
				     &sp->tables, false, 0};
	struct pgtable_config cfg = {PGTABLE_GRANULE_4K, 48, PGTABLE_TTBR1, 0};

	memset(sp, 0, sizeof(*sp));
	sp->fast = fast;
	page_store_init(&sp->tables, TABLE_PA, PAGE, TABLE_PAGES);
	page_store_init(&sp->data, DATA_PA, PAGE, DATA_PAGES);
	cr_assert_eq(pgtable_init(&sp->pt, &cfg, &ops), 0);
	pool_init(&sp->pool,
		  &(struct pool_source){page_store_src_alloc,
					page_store_src_free, &sp->data, NULL,
					NULL},
		  batch_order, POOL_HIGH_WATER);
	sp->pages = (struct libos_vm_pages){
		space_page_alloc, space_page_free, space_page_virt, sp,
		fast ? &sp->pool : NULL, page_store_virt_offset(&sp->data)};
	libos_pagerefs_init(&sp->refs);
	libos_aspace_init(&sp->as, &sp->pt, &sp->pages, &sp->refs);
}

static void space_fini(struct space *sp)
{
	libos_vm_attach(&sp->as);
	libos_aspace_fini(&sp->as);
	libos_vm_detach(PGTABLE_TTBR1);
	cr_assert_null(pool_check(&sp->pool));
	pool_trim(&sp->pool);
	cr_assert_eq(sp->data.in_use, 0, "data pages left in use");
	pgtable_destroy(&sp->pt);
	page_store_fini(&sp->tables);
	page_store_fini(&sp->data);
}

/* --- one step, on one space ---------------------------------------------- */

struct step {
	unsigned op;
	uint64_t va, size, pages;
	bool write;
	unsigned kind, slot;
	uint32_t attrs;
};

static void last_level(void *ctx, int level, unsigned index, uint64_t desc)
{
	(void)index;
	(void)desc;
	*(int *)ctx = level;
}

/* The syndrome the CPU would report for this access, 0: none. */
static uint64_t syndrome(struct space *sp, uint64_t va, bool write)
{
	struct pgtable_xlate x;
	uint64_t esr = ((uint64_t)ESR_EC_DABT_CUR << ESR_EC_SHIFT) |
		       (write ? ESR_DABT_WNR : 0);
	int level = 0;

	if (!pgtable_translate(&sp->pt, va, &x))
		return write && !(x.attrs & PGTABLE_WRITE)
			       ? esr | FSC_PERMISSION | (unsigned)x.level
			       : 0;
	pgtable_walk(&sp->pt, va, last_level, &level);
	return esr | FSC_TRANSLATION | (unsigned)level;
}

/* One access: the fault it takes (if any) and who resolved it; the
 * answer: 0 no fault, 1 resolved, 2 refused. */
static int access(struct space *sp, uint64_t va, bool write, bool busy)
{
	uint64_t esr = syndrome(sp, va, write);
	struct libos_fault f = {.esr = esr, .far = va, .elr = ELR};
	bool ok;

	if (!esr)
		return 0;
	libos_fault_busy[LIBOS_FAULT_FAST_CPU] = busy;
	if (sp->fast && libos_fault_fast(esr, va)) {
		sp->fast_taken++;
		sp->fast_cow += (esr & 0x3c) == FSC_PERMISSION;
		libos_fault_busy[LIBOS_FAULT_FAST_CPU] = false;
		return 1;
	}
	if (sp->fast)
		sp->fast_declined++;

	ok = libos_fault_handle(&f);
	libos_fault_busy[LIBOS_FAULT_FAST_CPU] = false;
	return ok ? 1 : 2;
}

static void insert(struct space *sp, const struct step *s)
{
	uint64_t start = BASE + s->slot * SLOT_PAGES * PAGE;
	uint64_t end = start + SLOT_PAGES * PAGE;
	struct libos_region r = {.start = start, .end = end,
				 .kind = (enum libos_region_kind)s->kind,
				 .attrs = s->attrs};

	if (r.kind == LIBOS_REGION_STACK)
		libos_region_insert_stack(&sp->as, end, 4 * PAGE,
					  (SLOT_PAGES - 2) * PAGE, s->attrs,
					  "stack");
	else
		cr_assert_eq(libos_region_insert(&sp->as, &r), 0);
}

/* A page mapped shared at va and, when it can be, at the same place of
 * the other half of the slot (its owners: the mappings). */
static void cow_page(struct space *sp, uint64_t va)
{
	uint64_t pa, twin = va ^ (SLOT_PAGES / 2 * PAGE);

	if (!pool_alloc(&sp->pool, 1, &pa))
		return;
	memset(page_store_p2v(&sp->data, pa), (int)(va >> 12), PAGE);
	if (libos_region_cow_map(&sp->as, va, pa, 1))
		space_page_free(sp, pa);
	else
		libos_region_cow_map(&sp->as, twin, pa, 1);
}

/* Whatever pieces the slot holds go (one by one, or as a range). */
static void clear_slot(struct space *sp, unsigned slot)
{
	uint64_t start = BASE + slot * SLOT_PAGES * PAGE;

	if (slot % 2) {
		libos_region_unmap(&sp->as, start, SLOT_PAGES * PAGE);
		return;
	}
	for (uint64_t va = start; va < start + SLOT_PAGES * PAGE; va += PAGE) {
		const struct libos_region *r = libos_region_find(&sp->as, va);

		if (r)
			cr_assert_eq(libos_region_remove(&sp->as, r->start), 0);
	}
}

static void sum_delta(unsigned *acc, const unsigned *a, const unsigned *b,
		      size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc[i] += b[i] - a[i];
}

static int run_step(struct space *sp, const struct step *s)
{
	struct libos_fault_stats f0, f1;
	struct libos_vm_stats v0, v1;
	int answer = 0;

	libos_vm_attach(&sp->as);
	libos_fault_stats(&f0);
	libos_vm_stats(&v0);
	switch (s->op) {
	case 0:
		answer = access(sp, s->va, s->write, false);
		break;
	case 1:
		clear_slot(sp, s->slot);
		insert(sp, s);
		break;
	case 2:
		answer = libos_region_protect(&sp->as, s->va, s->size,
					      s->attrs);
		break;
	case 3:
		answer = libos_region_unmap(&sp->as, s->va, s->size);
		break;
	case 4:
		sp->data.limit = (unsigned)s->pages;
		break;
	case 5:
		cow_page(sp, s->va);
		break;
	case 6:
		answer = access(sp, s->va, s->write, true);
		break;
	}
	libos_fault_stats(&f1);
	libos_vm_stats(&v1);
	sum_delta((unsigned *)&sp->fs, (const unsigned *)&f0,
		  (const unsigned *)&f1, sizeof(f0) / sizeof(unsigned));
	sum_delta((unsigned *)&sp->vs, (const unsigned *)&v0,
		  (const unsigned *)&v1, sizeof(v0) / sizeof(unsigned));
	libos_vm_detach(PGTABLE_TTBR1);
	return answer;
}

/* Accesses stay in one slot for a while (the fast path remembers one
 * region), as a program's do. */
static unsigned hot_slot;

static struct step random_step(void)
{
	static const uint32_t attrs[] = {PGTABLE_KERNEL_RW,
					 PGTABLE_KERNEL_RW & ~PGTABLE_WRITE};
	unsigned r = (unsigned)rand() % 100;
	struct step s = {
		.va = BASE + (uint64_t)(rand() % (int)(WINDOW / 8)) * 8,
		.write = rand() % 3 != 0,
		.slot = (unsigned)rand() % SLOTS,
		.kind = (unsigned)rand() % LIBOS_REGION_FIXED, /* not FIXED */
		.attrs = attrs[rand() % 2],
		.pages = 1 + (unsigned)rand() % 8,
	};

	if (rand() % 16 == 0)
		hot_slot = (unsigned)rand() % SLOTS;
	if (rand() % 8 != 0)
		s.va = BASE + hot_slot * SLOT_PAGES * PAGE +
		       (s.va - BASE) % (SLOT_PAGES * PAGE);
	s.size = s.pages * PAGE;
	if (r < 86)
		s.op = 0;
	else if (r < 90)
		s.op = 1;
	else if (r < 93)
		s.op = 2;
	else if (r < 94)
		s.op = 3;
	else if (r < 96) {
		s.op = 4;
		s.pages = r == 94 ? (unsigned)rand() % 40 : DATA_PAGES;
	} else if (r < 99)
		s.op = 5;
	else
		s.op = 6;
	if (s.op == 2 || s.op == 3 || s.op == 5)
		s.va &= ~(PAGE - 1);
	if (s.va + s.size > BASE + WINDOW)
		s.size = BASE + WINDOW - s.va;
	return s;
}

static void assert_same(unsigned seed, unsigned step)
{
	const struct space *a = &S[0], *b = &S[1];

	cr_assert(!memcmp(a->tables.mem, b->tables.mem, TABLE_PAGES * PAGE) &&
			  !memcmp(a->tables.used, b->tables.used,
				  sizeof(a->tables.used)),
		  "seed %u step %u: tables differ", seed, step);
	cr_assert(!memcmp(a->data.mem, b->data.mem, DATA_PAGES * PAGE) &&
			  !memcmp(a->data.used, b->data.used,
				  sizeof(a->data.used)) &&
			  a->data.allocs == b->data.allocs &&
			  a->data.frees == b->data.frees,
		  "seed %u step %u: pages or their accounting differ", seed,
		  step);
	cr_assert(!memcmp(a->pool.chunks, b->pool.chunks,
			  sizeof(a->pool.chunks)) &&
			  a->pool.hint == b->pool.hint &&
			  !memcmp(&a->pool.st, &b->pool.st, sizeof(a->pool.st)),
		  "seed %u step %u: the pools differ", seed, step);
	cr_assert_null(pool_check(&b->pool), "seed %u step %u", seed, step);
	cr_assert(a->as.nr == b->as.nr &&
			  !memcmp(a->as.r, b->as.r, sizeof(a->as.r)),
		  "seed %u step %u: regions differ", seed, step);
	cr_assert(!memcmp(&a->refs, &b->refs, sizeof(a->refs)),
		  "seed %u step %u: reference counts differ", seed, step);
	cr_assert(!memcmp(&a->as.stats, &b->as.stats, sizeof(a->as.stats)) &&
			  !memcmp(&a->vs, &b->vs, sizeof(a->vs)) &&
			  !memcmp(&a->fs, &b->fs, sizeof(a->fs)),
		  "seed %u step %u: counters differ", seed, step);
	cr_assert(a->pt.tables == b->pt.tables &&
			  a->pt.empty_tables == b->pt.empty_tables,
		  "seed %u step %u: table counts differ", seed, step);
}

static unsigned cow_fast, cow_all;	/* over every script */

static void run_script(unsigned seed)
{
	space_init(&S[0], false, SCRIPT_BATCH_ORDER);
	space_init(&S[1], true, SCRIPT_BATCH_ORDER);
	print_set_console(capture_console, "");
	for (unsigned i = 0; i < STEPS; i++) {
		struct step s;
		int ra, rb;

		srand(seed * 7919u + i);
		s = random_step();
		ra = run_step(&S[0], &s);
		rb = run_step(&S[1], &s);
		capture_len = 0;
		cr_assert_eq(ra, rb, "seed %u step %u (op %u): answers differ",
			     seed, i, s.op);
		assert_same(seed, i);
	}
	print_set_console(NULL, "");
	cr_assert(S[1].fast_taken > STEPS / 40,
		  "seed %u: the fast path took only %u faults", seed,
		  S[1].fast_taken);
	cr_assert(S[1].fast_declined > STEPS / 50,
		  "seed %u: the fast path declined only %u faults", seed,
		  S[1].fast_declined);
	cow_fast += S[1].fast_cow;
	cow_all += S[1].as.stats.cow_copies;
	space_fini(&S[0]);
	space_fini(&S[1]);
}

Test(fault_fast, same_state_as_the_slow_path_over_random_scripts)
{
	for (unsigned seed = 1; seed <= 8; seed++)
		run_script(seed);
	cr_assert(cow_fast > 0 && cow_all > cow_fast,
		  "copy-on-write copies: fast %u, in all %u", cow_fast,
		  cow_all);
}

/* Frames taken from the pool and kept, to give back in one go. */
static uint64_t held[DATA_PAGES];
static unsigned nheld;

static void hold_frames(struct space *sp, unsigned n)
{
	while (n-- && pool_alloc(&sp->pool, 1, &held[nheld]))
		nheld++;
}

static void release_frames(struct space *sp)
{
	while (nheld)
		space_page_free(sp, held[--nheld]);
}

/* The pool has no frame at once (pool_take_first): the fast path
 * declines with nothing changed, and the slow path decides. */
static void declines_without_a_frame_at_hand(struct space *sp, uint64_t esr)
{
	struct pool_stats st0, st1;
	struct pool_chunk *c;

	/* The hinted chunk's first word empty, a later word not: the slow
	 * path's scan takes the frame, then the fast path works again. */
	c = &sp->pool.chunks[sp->pool.hint];
	cr_assert(c->order > 6, "a chunk of two words");
	hold_frames(sp, (unsigned)__builtin_popcountll(c->free_map[0]));
	cr_assert(!c->free_map[0] && c->free_map[1] && !c->first_word);
	pool_stats(&sp->pool, &st0);
	cr_assert(!libos_fault_fast(esr, BASE + 2 * PAGE),
		  "the first word is empty");
	pool_stats(&sp->pool, &st1);
	cr_assert(!memcmp(&st0, &st1, sizeof(st0)) && !c->first_word);
	cr_assert_eq(access(sp, BASE + 2 * PAGE, true, false), 1);
	cr_assert_eq(c->first_word, 1, "the scan moved on");
	cr_assert(libos_fault_fast(esr, BASE + 3 * PAGE), "a frame at hand");
	/* No frame free at all, the source dry. */
	sp->data.limit = sp->data.in_use;
	hold_frames(sp, DATA_PAGES);
	cr_assert(!libos_fault_fast(esr, BASE + 4 * PAGE), "no page");
	cr_assert_eq(access(sp, BASE + 4 * PAGE, true, false), 2,
		     "the slow path finds none either");
	sp->data.limit = DATA_PAGES;
	release_frames(sp);
	cr_assert_eq(access(sp, BASE + 4 * PAGE, true, false), 1);
}

/* The hot table's count, inline (pgtable_hot_count_room/_inc): the
 * first entry of an empty table, and a full low field, which only 16K
 * and 64K tables reach (the fast path then declines). */
Test(fault_fast, hot_table_count)
{
	uint64_t parent = PTE_TABLE | PTE_VALID;
	struct pgtable pt = {.hot_parent = &parent, .empty_tables = 1};

	cr_assert(pgtable_hot_count_room(parent));
	pgtable_hot_count_inc(&pt, parent);
	cr_assert_eq(pgtable_table_count(parent), 1);
	cr_assert_eq(pt.empty_tables, 0, "no longer empty");
	pgtable_hot_count_inc(&pt, parent);
	cr_assert_eq(pgtable_table_count(parent), 2);
	cr_assert_eq(pt.empty_tables, 0);
	parent |= PGTABLE_TCOUNT_LO_FULL;
	cr_assert(!pgtable_hot_count_room(parent), "1023 would carry");
	parent = (parent & ~PGTABLE_TCOUNT_LO_FULL) |
		 (UINT64_C(1) << PGTABLE_TCOUNT_HI_SHIFT);
	cr_assert(pgtable_hot_count_room(parent));
	pgtable_hot_count_inc(&pt, parent);
	cr_assert_eq(pgtable_table_count(parent),
		     (1u << PGTABLE_TCOUNT_LO_BITS) + 1, "the high field kept");
	cr_assert_eq(pt.empty_tables, 0, "1024 entries: not empty");
}

/* Each way the fast path must decline, alone: nothing changes. */
Test(fault_fast, declines_without_changing_anything)
{
	struct space *sp = &S[1];
	uint64_t esr = ((uint64_t)ESR_EC_DABT_CUR << ESR_EC_SHIFT) |
		       ESR_DABT_WNR | FSC_TRANSLATION | 3;
	struct step anon = {.slot = 0, .kind = LIBOS_REGION_ANON,
			    .attrs = PGTABLE_KERNEL_RW};

	space_init(sp, true, TWO_WORD_BATCH_ORDER);
	libos_vm_attach(&sp->as);
	insert(sp, &anon);
	cr_assert(!libos_fault_fast(esr, BASE), "no region remembered yet");
	cr_assert_eq(access(sp, BASE, true, false), 1);
	cr_assert_eq(sp->fast_declined, 1);
	cr_assert(libos_fault_fast(esr, BASE + PAGE), "the common case");
	cr_assert(!libos_fault_fast(esr, BASE + PAGE), "mapped already");
	cr_assert(!libos_fault_fast(esr & ~(uint64_t)3, BASE + 2 * PAGE),
		  "level 0: no table to use");
	cr_assert(!libos_fault_fast(esr, BASE + SLOT_PAGES * PAGE),
		  "outside the region");
	libos_fault_busy[LIBOS_FAULT_FAST_CPU] = true;
	cr_assert(!libos_fault_fast(esr, BASE + 2 * PAGE), "in a fault");
	libos_fault_busy[LIBOS_FAULT_FAST_CPU] = false;
	cr_assert(!libos_fault_fast((esr & ~(uint64_t)0x3f) |
					    FSC_PERMISSION | 3,
				    BASE + 2 * PAGE),
		  "a permission fault");
	cr_assert(!libos_fault_fast(((uint64_t)ESR_EC_DABT_LOWER
				     << ESR_EC_SHIFT) | (esr & 0x7f),
				    BASE + 2 * PAGE),
		  "from EL0");
	declines_without_a_frame_at_hand(sp, esr);
	cr_assert_eq(libos_region_protect(&sp->as, BASE, SLOT_PAGES * PAGE,
					  PGTABLE_KERNEL_RW & ~PGTABLE_WRITE),
		     0);
	cr_assert(!libos_fault_fast(esr, BASE + 2 * PAGE),
		  "the region changed: forgotten");
	cr_assert(libos_fault_fast(esr & ~ESR_DABT_WNR, BASE + 2 * PAGE) ==
			  false,
		  "forgotten until the slow path fills again");
	cr_assert_eq(sp->as.stats.demand_zero, 5);
	libos_vm_detach(PGTABLE_TTBR1);
	space_fini(sp);
}
