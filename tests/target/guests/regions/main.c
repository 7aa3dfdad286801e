/*
 * regions: libos regions and their fault handlers on target, MMU on, in the
 * library OS's own address space (regions in the vmap window of the TTBR1
 * half). TAP lines for tests/target/test_regions.py: demand-zero (a large
 * anonymous region touched sparsely: only touched pages take frames, they
 * read zero, the pool grows by exactly that), a stack region growing
 * through its guard page to its limit, a guard region, a write the region
 * forbids, copy-on-write inside one address space (two VAs on one frame:
 * a write copies, the last sharer reuses), and the counters. "--overflow"
 * instead grows a stack to its limit and touches its guard page with nobody
 * expecting it: libos reports a stack overflow and the guest exits with 165.
 */
#include "../tap.h"

#include <el1/el1.h>
#include <exo/frame.h>
#include <lib/print.h>
#include <libos/addr.h>
#include <libos/libos.h>
#include <libos/mm/mm.h>
#include <libos/mm/region.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FRAME_SHIFT  EXO_FRAME_SHIFT
#define SPARSE_PAGES 1024 /* region size, in pages */
#define SPARSE_STEP  64	  /* touch one page in this many */
#define STACK_PAGES  4	  /* growth limit */

static const struct libos_mm_info *mi;
static struct libos_aspace *as;
static uint64_t page, frames_per_page, next_va;

/* --- expected refusals: the hook skips the one faulting access ----------- */

static struct {
	bool armed;
	unsigned hits;
	int action;
	uint64_t far;
} expect;

static bool hook(struct libos_fault *f)
{
	if (!expect.armed)
		return false;
	expect.armed = false;
	expect.hits++;
	expect.action = f->vm_action;
	expect.far = f->far;
	f->elr += 4;
	return true;
}

static void arm(void)
{
	expect.armed = true;
	expect.hits = 0;
	expect.action = -1;
}

static bool refused(enum libos_vm_action a, uint64_t far)
{
	bool ok = !expect.armed && expect.hits == 1 &&
		  expect.action == (int)a && expect.far == far;

	expect.armed = false;
	return ok;
}

static uint64_t load(uint64_t va)
{
	uint64_t v = 0xdeadbeef;

	__asm__ volatile("ldr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
	return v;
}

static void store(uint64_t va, uint64_t v)
{
	__asm__ volatile("str %0, [%1]" : : "r"(v), "r"(va) : "memory");
}

/* --- helpers ----------------------------------------------------------------
 */

static uint64_t take_va(uint64_t pages)
{
	uint64_t va = next_va;

	next_va += (pages + 1) * page; /* a hole after each region */
	return va;
}

static bool mapped(uint64_t va, uint64_t *pa)
{
	struct pgtable_xlate x;

	if (pgtable_translate(as->pt, va, &x))
		return false;
	if (pa)
		*pa = x.pa;
	return true;
}

static uint64_t frames_in_use(void)
{
	struct libos_stats st;

	libos_stats(&st);
	return st.pool.frames_in_use;
}

static struct libos_vm_stats vm_stats(void)
{
	struct libos_vm_stats v;

	libos_vm_stats(&v);
	return v;
}

static int add(enum libos_region_kind kind, uint64_t va, uint64_t pages,
	       uint32_t attrs, const char *name)
{
	struct libos_region r = {.start = va,
				 .end = va + pages * page,
				 .kind = kind,
				 .attrs = attrs};

	strncpy(r.name, name, LIBOS_REGION_NAME_MAX - 1);
	return libos_region_insert(as, &r);
}

/* --- the tests
 * ---------------------------------------------------------------- */

static void test_demand_zero(void)
{
	uint64_t va = take_va(SPARSE_PAGES), before = frames_in_use();
	struct libos_vm_stats v0 = vm_stats(), v1;
	unsigned touched = 0, untouched_mapped = 0;
	bool zero = true, kept = true;

	TAP_CHECK(add(LIBOS_REGION_ANON, va, SPARSE_PAGES, PGTABLE_KERNEL_RW,
		      "sparse") == 0,
		  "anonymous region of %u pages (%lu KiB) inserted",
		  SPARSE_PAGES, (unsigned long)(SPARSE_PAGES * page >> 10));
	TAP_CHECK(frames_in_use() == before && !mapped(va, NULL),
		  "no frame taken and nothing mapped at insert");
	for (uint64_t i = 0; i < SPARSE_PAGES; i += SPARSE_STEP) {
		uint64_t p = va + i * page;

		/* odd touches read first, even ones write first */
		if ((i / SPARSE_STEP) & 1) {
			zero = zero && load(p + page - 8) == 0 && load(p) == 0;
		} else {
			store(p + 16, i);
			zero = zero && load(p + page - 8) == 0;
		}
		touched++;
	}
	for (uint64_t i = 0; i < SPARSE_PAGES; i += SPARSE_STEP)
		kept = kept &&
		       ((i / SPARSE_STEP) & 1 || load(va + i * page + 16) == i);
	for (uint64_t i = 1; i < SPARSE_PAGES; i += 7)
		if (i % SPARSE_STEP && mapped(va + i * page, NULL))
			untouched_mapped++;
	v1 = vm_stats();
	TAP_CHECK(zero && kept, "touched pages read zero, and keep what was "
				"written");
	TAP_CHECK(v1.demand_zero - v0.demand_zero == touched,
		  "one demand-zero fault per touched page (%u)", touched);
	TAP_CHECK(frames_in_use() - before == touched * frames_per_page,
		  "frames in use grew by exactly %u x %lu", touched,
		  (unsigned long)frames_per_page);
	TAP_CHECK(untouched_mapped == 0, "untouched pages stay unmapped");
	TAP_CHECK(libos_region_remove(as, va) == 0 &&
		      frames_in_use() == before && !mapped(va, NULL),
		  "remove: unmapped, every frame back in the pool");
}

static void test_stack(void)
{
	uint64_t va = take_va(STACK_PAGES + 1),
		 top = va + (STACK_PAGES + 1) * page;
	struct libos_vm_stats v0 = vm_stats(), v1;
	struct libos_region *r;
	bool grew = true;

	TAP_CHECK(libos_region_insert_stack(as, top, page, STACK_PAGES * page,
					    PGTABLE_KERNEL_RW, "tstack") == 0,
		  "stack region: %u pages at most, one at first, guard below",
		  STACK_PAGES);
	r = libos_region_find(as, top - 8);
	store(top - 8, 1);
	TAP_CHECK(load(top - 8) == 1 && r && r->bottom == top - page,
		  "the first page is demand-zero, no growth");
	arm();
	store(top - 3 * page, 2);
	TAP_CHECK(refused(LIBOS_VM_GUARD_HIT, top - 3 * page) &&
		      !mapped(top - 3 * page, NULL),
		  "a touch below the guard page (jumping over it) is refused");
	for (unsigned i = 2; i <= STACK_PAGES; i++) {
		store(top - i * page + 8, i);
		grew = grew && load(top - i * page + 8) == i &&
		       load(top - i * page + 16) == 0 &&
		       r->bottom == top - i * page;
	}
	v1 = vm_stats();
	TAP_CHECK(grew &&
		      v1.stack_growths - v0.stack_growths == STACK_PAGES - 1,
		  "touching the guard page grows the stack one page (%u times)",
		  STACK_PAGES - 1);
	arm();
	store(r->bottom - 8, 3);
	v1 = vm_stats();
	TAP_CHECK(refused(LIBOS_VM_STACK_OVERFLOW, r->bottom - 8) &&
		      v1.stack_overflows == v0.stack_overflows + 1 &&
		      r->bottom == top - STACK_PAGES * page,
		  "at the limit the guard page stays: stack overflow, "
		  "refused");
	libos_region_remove(as, r->start);
}

static void test_guard_and_refused(void)
{
	uint64_t g = take_va(1), ro = take_va(1);
	struct libos_vm_stats v0 = vm_stats(), v1;

	add(LIBOS_REGION_GUARD, g, 1, 0, "guard");
	add(LIBOS_REGION_ANON, ro, 1, PGTABLE_KERNEL_RW & ~PGTABLE_WRITE, "ro");
	arm();
	(void)load(g + 8);
	TAP_CHECK(refused(LIBOS_VM_GUARD_HIT, g + 8) && !mapped(g, NULL),
		  "guard region: a load is refused, nothing mapped");
	arm();
	store(ro, 5);
	v1 = vm_stats();
	TAP_CHECK(refused(LIBOS_VM_REFUSE, ro) && !mapped(ro, NULL) &&
		      v1.refused == v0.refused + 1 &&
		      v1.guard_hits == v0.guard_hits + 1,
		  "a write to a read-only anonymous region is refused");
	TAP_CHECK(load(ro + 8) == 0, "a read there is demand-zero");
	libos_region_remove(as, g);
	libos_region_remove(as, ro);
}

static void test_cow(void)
{
	const struct libos_vm_pages *src = libos_vm_pages();
	uint64_t a = take_va(1), b = take_va(1), pa, pa_a, pa_b;
	uint64_t before = frames_in_use();
	struct libos_vm_stats v0 = vm_stats(), v1;
	uint64_t *orig;

	if (!src->alloc(src->ctx, &pa)) {
		TAP_CHECK(false, "COW: a frame from the pool");
		return;
	}
	orig = libos_phys_to_virt(pa);
	for (uint64_t i = 0; i < page / 8; i++)
		orig[i] = 0xc0de0000 + i;
	add(LIBOS_REGION_COW, a, 1, PGTABLE_KERNEL_RW, "cow-a");
	add(LIBOS_REGION_COW, b, 1, PGTABLE_KERNEL_RW, "cow-b");
	TAP_CHECK(libos_region_cow_map(as, a, pa, 1) == 0 &&
		      libos_region_cow_map(as, b, pa, 1) == 0 &&
		      libos_pagerefs_get(libos_pagerefs(), pa) == 2,
		  "one frame mapped read-only at two VAs, 2 references");
	TAP_CHECK(mapped(a, &pa_a) && mapped(b, &pa_b) && pa_a == pa &&
		      pa_b == pa && load(a + 8) == 0xc0de0001 &&
		      load(b + page - 8) == 0xc0de0000 + page / 8 - 1,
		  "both read the shared data");
	store(a + 8, 0xaaaa);
	v1 = vm_stats();
	TAP_CHECK(mapped(a, &pa_a) && pa_a != pa &&
		      v1.cow_copies == v0.cow_copies + 1,
		  "a write to one copies: a new frame for it");
	TAP_CHECK(load(a + 8) == 0xaaaa && load(a + 16) == 0xc0de0002 &&
		      load(a + page - 8) == 0xc0de0000 + page / 8 - 1 &&
		      load(b + 8) == 0xc0de0001 && orig[1] == 0xc0de0001,
		  "each sees its own data: the copy kept the rest");
	store(b + 8, 0xbbbb);
	v1 = vm_stats();
	TAP_CHECK(mapped(b, &pa_b) && pa_b == pa &&
		      v1.cow_reuses == v0.cow_reuses + 1 &&
		      load(b + 8) == 0xbbbb && load(a + 8) == 0xaaaa,
		  "the last sharer's write reuses the frame in place");
	TAP_CHECK(frames_in_use() == before + 2 * frames_per_page,
		  "two frames in use: the original and one copy");
	libos_region_remove(as, a);
	libos_region_remove(as, b);
	TAP_CHECK(frames_in_use() == before && libos_pagerefs()->used == 0,
		  "removing both regions gives both frames back");
}

static int overflow(void)
{
	uint64_t va = take_va(3), top = va + 3 * page;

	libos_region_insert_stack(as, top, page, 2 * page, PGTABLE_KERNEL_RW,
				  "ostack");
	store(top - 8, 1);
	store(top - page - 8, 2); /* grows to the limit */
	kprintf("stack at its limit, touching 0x%lx, its guard page\n",
		(unsigned long)(top - 2 * page - 8));
	store(top - 2 * page - 8, 3);
	kprintf("still running after a stack overflow\n");
	return 1;
}

EL1_GUEST_OPTIONS("--overflow");

int main(int argc, char **argv)
{
	bool over = false;

	for (int i = 1; i < argc; i++)
		over = over || strcmp(argv[i], "--overflow") == 0;
	mi = libos_mm_info();
	as = libos_kernel_aspace();
	page = mi->page_size;
	frames_per_page = page >> FRAME_SHIFT;
	next_va = mi->vmap_base + 16 * page;
	kprintf("regions: granule %luK\n", (unsigned long)(page >> 10));
	if (!as) {
		TAP_CHECK(false, "the library OS's address space exists");
		return tap_done();
	}
	if (over)
		return overflow();
	libos_fault_set_hook(hook);
	TAP_CHECK(as->pt == libos_mm_kernel() &&
		      libos_vm_active(mi->vmap_base) == as,
		  "the library OS's address space is attached for faults");
	test_demand_zero();
	test_stack();
	test_guard_and_refused();
	test_cow();
	libos_fault_set_hook(NULL);
	return tap_done();
}
