/*
 * libos's refusal route for a synchronous external abort (libos/mm/fault.c,
 * libos_fault_external; vmfault.c, libos_vm_refuse), the one el1's light
 * abort path takes for what EL2 reflects: over a space of the library OS's
 * half with every region kind, for every external FSC (and faults that
 * are not its own, which it hands on), read and write, it must answer
 * exactly what libos_fault_handle answers (the result, the decoded fault,
 * its region and action as the hook or the report see them, every counter
 * of libos and of the space, the report) and change no table. And a fault
 * taken while one is being handled (the hook's own) is refused as nested:
 * no region, no action, whatever the caller had, counted unhandled and
 * said, through either entry; the next fault is handled again.
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
#include <string.h>

#define TABLE_PAGES 16
#define TABLE_PA UINT64_C(0x0000008000000000)
#define DATA_PAGES 16
#define DATA_PA UINT64_C(0x0000004000000000)
#define KBASE UINT64_C(0xffff000010000000) /* the library OS's half */
#define UBASE UINT64_C(0x0000000010000000) /* a task's half */
#define PAGE UINT64_C(4096)
#define RW PGTABLE_KERNEL_RW
#define RO (PGTABLE_KERNEL_RW & ~PGTABLE_WRITE)
#define STACK_TOP (KBASE + 32 * PAGE)
#define FSC_SYNC_PARITY 0x18

static struct {
	struct page_store tables, data;
	struct pgtable pt;
	struct walker_cfg wc;
	struct libos_vm_pages pages;
	struct libos_pagerefs refs;
	struct libos_aspace as;
} E;

static void ins(enum libos_region_kind k, uint64_t start, uint64_t end,
		uint32_t attrs)
{
	struct libos_region r = {
		.start = start, .end = end, .kind = k, .attrs = attrs};

	strcpy(r.name, libos_region_kind_name(k));
	cr_assert_eq(libos_region_insert(&E.as, &r), 0);
}

/* The library OS's space: anonymous RW and RO, a guard, a stack grown
 * by two pages, a fixed region; attached, a console captured. */
static void kernel_space(void)
{
	struct pgtable_mm_ops ops = {page_store_tab_alloc, page_store_tab_free,
				     page_store_v2p, page_store_p2v,
				     &E.tables, false, 0};
	struct pgtable_config cfg = {PGTABLE_GRANULE_4K, 48, PGTABLE_TTBR1, 0};

	memset(&E, 0, sizeof(E));
	page_store_init(&E.tables, TABLE_PA, PAGE, TABLE_PAGES);
	page_store_init(&E.data, DATA_PA, PAGE, DATA_PAGES);
	cr_assert_eq(pgtable_init(&E.pt, &cfg, &ops), 0);
	E.wc = (struct walker_cfg){.tg_shift = PGTABLE_GRANULE_4K,
				   .t0sz = 16, .t1sz = 16,
				   .pa_to_ptr = page_store_p2v,
				   .ctx = &E.tables,
				   .ttbr1 = pgtable_ttbr(&E.pt)};
	fake_libos_reset(&E.wc, 0);
	E.pages = (struct libos_vm_pages){page_store_data_alloc,
					  page_store_data_free, page_store_p2v,
					  &E.data, NULL, 0};
	libos_pagerefs_init(&E.refs);
	libos_aspace_init(&E.as, &E.pt, &E.pages, &E.refs);
	ins(LIBOS_REGION_ANON, KBASE, KBASE + 4 * PAGE, RW);
	ins(LIBOS_REGION_ANON, KBASE + 4 * PAGE, KBASE + 6 * PAGE, RO);
	ins(LIBOS_REGION_GUARD, KBASE + 6 * PAGE, KBASE + 7 * PAGE, 0);
	cr_assert_eq(libos_region_insert_stack(&E.as, STACK_TOP, 2 * PAGE,
					       8 * PAGE, RW, "kstack"), 0);
	libos_vm_detach(PGTABLE_TTBR0);
	libos_vm_attach(&E.as);
	print_set_console(capture_console, "");
}

static void kernel_space_fini(void)
{
	libos_vm_detach(PGTABLE_TTBR1);
	libos_aspace_fini(&E.as);
	pgtable_destroy(&E.pt);
	page_store_fini(&E.tables);
	page_store_fini(&E.data);
	libos_fault_set_hook(NULL);
}

static uint64_t dabt_cur(bool write, unsigned fsc)
{
	return ((uint64_t)ESR_EC_DABT_CUR << ESR_EC_SHIFT) | ESR_IL |
	       (write ? ESR_DABT_WNR : 0) | fsc;
}

static struct libos_fault hooked;
static unsigned hook_calls;
static bool hook_answer;

static bool record_hook(struct libos_fault *f)
{
	hooked = *f;
	hook_calls++;
	if (hook_answer)
		f->elr += 4;
	return hook_answer;
}

/* What one entry did: its answer, the fault as it left it and as the
 * hook saw it, the counters' changes and what it printed. */
struct outcome {
	bool done;
	struct libos_fault f, hooked;
	unsigned hook_calls;
	struct libos_fault_stats fault_delta;
	struct libos_vm_stats vm_delta;
	char printed[512];
};

static void stats_delta(struct libos_fault_stats *d,
			const struct libos_fault_stats *a,
			const struct libos_fault_stats *b)
{
	for (unsigned k = 0; k < LIBOS_FAULT_KINDS; k++)
		d->taken[k] = b->taken[k] - a->taken[k];
	d->af_fixed = b->af_fixed - a->af_fixed;
	d->dirty_fixed = b->dirty_fixed - a->dirty_fixed;
	d->hooked = b->hooked - a->hooked;
	d->user_resolved = b->user_resolved - a->user_resolved;
	d->uaccess_fixups = b->uaccess_fixups - a->uaccess_fixups;
	d->unhandled = b->unhandled - a->unhandled;
}

static void vm_delta(struct libos_vm_stats *d, const struct libos_vm_stats *a,
		     const struct libos_vm_stats *b)
{
	d->demand_zero = b->demand_zero - a->demand_zero;
	d->cow_copies = b->cow_copies - a->cow_copies;
	d->cow_reuses = b->cow_reuses - a->cow_reuses;
	d->stack_growths = b->stack_growths - a->stack_growths;
	d->stack_overflows = b->stack_overflows - a->stack_overflows;
	d->guard_hits = b->guard_hits - a->guard_hits;
	d->refused = b->refused - a->refused;
	d->no_region = b->no_region - a->no_region;
	d->no_memory = b->no_memory - a->no_memory;
}

static struct outcome run(bool (*entry)(struct libos_fault *), uint64_t esr,
			  uint64_t far)
{
	struct outcome o;
	struct libos_fault_stats fa, fb;
	struct libos_vm_stats va = E.as.stats;
	unsigned tables = E.tables.in_use, data = E.data.in_use;

	memset(&o, 0, sizeof(o));
	memset(&hooked, 0, sizeof(hooked));
	hook_calls = 0;
	capture_len = 0;
	capture_out[0] = '\0';
	o.f = (struct libos_fault){.esr = esr, .far = far, .elr = 0x1000,
				   .x30 = 0x2000};
	libos_fault_stats(&fa);
	o.done = entry(&o.f);
	libos_fault_stats(&fb);
	stats_delta(&o.fault_delta, &fa, &fb);
	vm_delta(&o.vm_delta, &va, &E.as.stats);
	o.hooked = hooked;
	o.hook_calls = hook_calls;
	strncpy(o.printed, capture_out, sizeof(o.printed) - 1);
	cr_assert_eq(E.tables.in_use, tables, "a table changed");
	cr_assert_eq(E.data.in_use, data, "a page was taken");
	return o;
}

static void assert_same_fault(const struct libos_fault *a,
			      const struct libos_fault *b, const char *what)
{
	cr_assert_eq(a->kind, b->kind, "%s: kind", what);
	cr_assert_eq(a->level, b->level, "%s: level", what);
	cr_assert_eq(a->access, b->access, "%s: access", what);
	cr_assert_eq(a->region, b->region, "%s: region", what);
	cr_assert_eq(a->vm_action, b->vm_action, "%s: action", what);
	cr_assert_eq(a->elr, b->elr, "%s: ELR", what);
	cr_assert_eq(a->nested, b->nested, "%s: nested", what);
}

static void assert_same(const struct outcome *a, const struct outcome *b,
			uint64_t esr, uint64_t far)
{
	cr_assert_eq(a->done, b->done, "ESR 0x%lx FAR 0x%lx: answer",
		     (unsigned long)esr, (unsigned long)far);
	assert_same_fault(&a->f, &b->f, "the fault");
	cr_assert_eq(a->hook_calls, b->hook_calls);
	assert_same_fault(&a->hooked, &b->hooked, "as hooked");
	cr_assert_eq(memcmp(&a->fault_delta, &b->fault_delta,
			    sizeof(a->fault_delta)), 0,
		     "ESR 0x%lx FAR 0x%lx: libos's counters",
		     (unsigned long)esr, (unsigned long)far);
	cr_assert_eq(memcmp(&a->vm_delta, &b->vm_delta, sizeof(a->vm_delta)),
		     0, "ESR 0x%lx FAR 0x%lx: the space's counters",
		     (unsigned long)esr, (unsigned long)far);
	cr_assert_str_eq(a->printed, b->printed);
}

Test(fault_route, external_route_answers_what_fault_handle_answers)
{
	static const unsigned fscs[] = {
		FSC_SYNC_EXTERNAL, FSC_SYNC_EXTERNAL | 1,
		FSC_SYNC_EXTERNAL | 3, FSC_SYNC_PARITY, FSC_ALIGNMENT,
		FSC_ACCESS_FLAG | 3,
	};
	static const uint64_t fars[] = {
		KBASE + 8, KBASE + 4 * PAGE + 8, KBASE + 6 * PAGE,
		STACK_TOP - 8 * PAGE - 8, STACK_TOP - 3 * PAGE,
		STACK_TOP - PAGE, STACK_TOP + PAGE, KBASE - 8, UBASE + 8,
	};
	unsigned checked = 0, actions = 0;

	kernel_space();
	libos_fault_set_hook(record_hook);
	for (unsigned h = 0; h < 2; h++) {
		hook_answer = h;
		for (unsigned i = 0; i < sizeof(fscs) / sizeof(fscs[0]); i++) {
			for (unsigned j = 0; j < sizeof(fars) / sizeof(fars[0]);
			     j++) {
				for (unsigned w = 0; w < 2; w++) {
					uint64_t esr = dabt_cur(w, fscs[i]);
					struct outcome slow = run(
						libos_fault_handle, esr, fars[j]);
					struct outcome fast = run(
						libos_fault_external, esr,
						fars[j]);

					assert_same(&fast, &slow, esr, fars[j]);
					actions |= 1u << slow.f.vm_action;
					checked++;
				}
			}
		}
	}
	cr_assert_eq(checked, 2 * 6 * 9 * 2);
	cr_assert_eq(actions, (1u << LIBOS_VM_NONE) |
				      (1u << LIBOS_VM_GUARD_HIT) |
				      (1u << LIBOS_VM_REFUSE),
		     "every refusal seen: 0x%x", actions);
	kernel_space_fini();
}

/* The external route counts the refusal in the space and hands the hook
 * the region: a touch of the guard is a guard hit, one outside every
 * region is no region. */
Test(fault_route, external_route_counts_the_refusal_and_offers_the_region)
{
	struct outcome o;

	kernel_space();
	libos_fault_set_hook(record_hook);
	hook_answer = true;
	o = run(libos_fault_external, dabt_cur(false, FSC_SYNC_EXTERNAL),
		KBASE + 6 * PAGE + 16);
	cr_assert(o.done);
	cr_assert_eq(o.f.elr, 0x1004, "the hook's answer");
	cr_assert_eq(o.hooked.kind, LIBOS_FAULT_OTHER);
	cr_assert_eq(o.hooked.vm_action, LIBOS_VM_GUARD_HIT);
	cr_assert_eq(o.hooked.region, &E.as.r[2]);
	cr_assert_eq(o.vm_delta.guard_hits, 1);
	cr_assert_eq(o.fault_delta.taken[LIBOS_FAULT_OTHER], 1);
	cr_assert_eq(o.fault_delta.hooked, 1);
	o = run(libos_fault_external, dabt_cur(true, FSC_SYNC_EXTERNAL),
		KBASE - 8);
	cr_assert_eq(o.hooked.access, LIBOS_WRITE);
	cr_assert_null(o.hooked.region);
	cr_assert_eq(o.hooked.vm_action, LIBOS_VM_NONE);
	cr_assert_eq(o.vm_delta.no_region, 1);
	kernel_space_fini();
}

/* --- a fault while one is handled ---------------------------------------- */

static bool (*nested_entry)(struct libos_fault *);
static unsigned nested_fsc;
static struct libos_fault nested_seen;
static bool nested_done;

/* The hook takes a fault of its own; the caller's fault holds stale
 * region and action values. */
static bool faulting_hook(struct libos_fault *f)
{
	static const struct libos_region stale;

	nested_seen = (struct libos_fault){
		.esr = dabt_cur(false, nested_fsc),
		.far = KBASE + 8 * PAGE, .region = &stale,
		.vm_action = LIBOS_VM_ZERO_FILL,
	};
	nested_done = nested_entry(&nested_seen);
	f->elr += 4;
	return true;
}

/* The nested fault of FSC fsc, of kind kind, through entry. */
static void check_nested(bool (*entry)(struct libos_fault *), unsigned fsc,
			 enum libos_fault_kind kind)
{
	struct outcome o, next;

	kernel_space();
	nested_entry = entry;
	nested_fsc = fsc;
	libos_fault_set_hook(faulting_hook);
	o = run(libos_fault_external, dabt_cur(false, FSC_SYNC_EXTERNAL),
		KBASE + 8);
	cr_assert(o.done, "the outer fault is the hook's");
	cr_assert_not(nested_done, "the nested one is not handled");
	cr_assert(nested_seen.nested);
	cr_assert_null(nested_seen.region, "no stale region");
	cr_assert_eq(nested_seen.vm_action, LIBOS_VM_NONE, "no stale action");
	cr_assert_eq(o.fault_delta.unhandled, 1);
	cr_assert_eq(o.fault_delta.taken[kind],
		     1 + (kind == LIBOS_FAULT_OTHER),
		     "the nested fault counted by its kind");
	cr_assert(strstr(o.printed, "while handling another"), "%s",
		  o.printed);

	libos_fault_set_hook(record_hook);
	hook_answer = true;
	next = run(entry, dabt_cur(false, FSC_SYNC_EXTERNAL), KBASE + 8);
	cr_assert(next.done, "no longer busy");
	cr_assert_not(next.f.nested);
	cr_assert_eq(next.hooked.vm_action, LIBOS_VM_REFUSE);
	kernel_space_fini();
}

Test(fault_route, a_fault_inside_the_handling_is_nested_through_handle)
{
	check_nested(libos_fault_handle, FSC_TRANSLATION | 3,
		     LIBOS_FAULT_TRANSLATION);
}

Test(fault_route, a_fault_inside_the_handling_is_nested_through_external)
{
	check_nested(libos_fault_external, FSC_SYNC_EXTERNAL,
		     LIBOS_FAULT_OTHER);
}
