/*
 * Region fault handling (see region.h): what a stage-1 translation or
 * permission fault means in the region holding its address, and doing it:
 * a zeroed page for demand-zero and stack growth, a copy or the last
 * reference made writable for copy-on-write. Refusals (stack overflow,
 * guard, an access the region forbids, no region) are counted and left to
 * libos_fault_handle's hook and report.
 *
 * Owns: the decision (a pure function: libos_vm_decide), the per-kind
 * counters, and the spaces faults are routed to. Never: maps outside the
 * faulting page, or resumes an access it did not make possible.
 */
#include <arch/esr.h>
#include <libos/arch.h>
#include <libos/lock.h>
#include <libos/mm/fault_state.h>
#include <libos/mm/mm.h>
#include <libos/mm/region.h>
#include <libos/pool/pool.h>
#include <stddef.h>

static struct libos_vm_stats total;
/* The spaces faults are routed to: the TTBR1 half's, one for the guest,
 * and the TTBR0 half's, each vCPU's own (the task it runs). */
static struct libos_aspace *active_kernel;
static struct libos_aspace *active_user[LIBOS_CPUS_MAX];

#define COUNT(as, field)                                                       \
	do {                                                                   \
		(as)->stats.field++;                                           \
		total.field++;                                                 \
	} while (0)

const char *libos_vm_action_name(enum libos_vm_action a)
{
	static const char *const names[] = {
	    [LIBOS_VM_NONE] = "no region",
	    [LIBOS_VM_RETRY] = "retry",
	    [LIBOS_VM_ZERO_FILL] = "demand-zero",
	    [LIBOS_VM_STACK_GROW] = "stack growth",
	    [LIBOS_VM_COW_COPY] = "copy-on-write copy",
	    [LIBOS_VM_COW_REUSE] = "copy-on-write reuse",
	    [LIBOS_VM_STACK_OVERFLOW] = "stack overflow",
	    [LIBOS_VM_GUARD_HIT] = "guard page hit",
	    [LIBOS_VM_REFUSE] = "access not allowed by the region",
	};

	return (unsigned)a < LIBOS_VM_ACTIONS ? names[a] : "?";
}

/* Does the region allow this access at all (whatever is mapped now)? */
static bool allowed(const struct libos_region *r, const struct libos_fault *f)
{
	uint32_t a = r->attrs;

	if (f->from_el0 && !(a & PGTABLE_USER))
		return false;
	switch (f->access) {
	case LIBOS_WRITE:
		return a & PGTABLE_WRITE;
	case LIBOS_EXEC:
		return a & (f->from_el0 ? PGTABLE_EXEC_EL0 : PGTABLE_EXEC_EL1);
	default:
		return true;
	}
}

/* Below a stack's usable part: its guard page or further down. */
static enum libos_vm_action stack_below(const struct libos_region *r,
					const struct libos_fault *f,
					uint64_t page)
{
	uint64_t guard = r->bottom - page;

	if (f->far < guard)
		return LIBOS_VM_GUARD_HIT; /* jumped over the guard */
	if (!allowed(r, f) || f->kind != LIBOS_FAULT_TRANSLATION)
		return LIBOS_VM_REFUSE;
	/* The new guard must still lie inside the region. */
	return guard >= r->start + page ? LIBOS_VM_STACK_GROW
					: LIBOS_VM_STACK_OVERFLOW;
}

enum libos_vm_action libos_vm_decide(const struct libos_region *r,
				     const struct libos_fault *f,
				     const struct libos_vm_state *s,
				     uint64_t page_size)
{
	if (!r)
		return LIBOS_VM_NONE;
	if (r->kind == LIBOS_REGION_GUARD)
		return LIBOS_VM_GUARD_HIT;
	if (r->kind == LIBOS_REGION_STACK && f->far < r->bottom)
		return stack_below(r, f, page_size);
	if (!allowed(r, f) || r->kind == LIBOS_REGION_FIXED)
		return LIBOS_VM_REFUSE;
	if (f->kind == LIBOS_FAULT_TRANSLATION)
		return s->mapped ? LIBOS_VM_RETRY : LIBOS_VM_ZERO_FILL;
	/* A write to a page mapped read-only in a writable region: shared. */
	if (f->kind == LIBOS_FAULT_PERMISSION && f->access == LIBOS_WRITE &&
	    s->mapped && !(s->attrs & PGTABLE_WRITE))
		return s->refs >= 2 ? LIBOS_VM_COW_COPY : LIBOS_VM_COW_REUSE;
	return LIBOS_VM_REFUSE;
}

/* libos_vm_decide for a fault that is neither a translation nor a
 * permission fault (what is mapped cannot matter): no region, a guard
 * (a GUARD region, or below a stack's guard page), else refused. Inline:
 * the refusal route's whole decision, with no call (host
 * regions::refusal_route_matches_the_decision_on_what_is_mapped holds it
 * to libos_vm_decide). */
static inline enum libos_vm_action
refusal_decide(const struct libos_region *r, const struct libos_fault *f,
	       uint64_t page_size)
{
	if (!r)
		return LIBOS_VM_NONE;
	if (r->kind == LIBOS_REGION_GUARD ||
	    (r->kind == LIBOS_REGION_STACK && f->far < r->bottom &&
	     f->far < r->bottom - page_size))
		return LIBOS_VM_GUARD_HIT;
	return LIBOS_VM_REFUSE;
}

/* libos_vm_decide says, in r's [lo, end) (a stack's usable part: from its
 * bottom, which only moves down), for any data access r's attributes
 * allow: ZERO_FILL for a translation fault where nothing is mapped,
 * COW_COPY for a write's permission fault on a page mapped read-only that
 * others share: the fast path's region until the regions change. */
static void remember_region(struct libos_aspace *as,
			    const struct libos_region *r)
{
	as->fast.lo = r->kind == LIBOS_REGION_STACK ? r->bottom : r->start;
	as->fast.hi = r->end;
	as->fast.attrs = r->attrs;
}

/* --- carrying it out
 * ---------------------------------------------------------- */

static bool zero_fill(struct libos_aspace *as, const struct libos_region *r,
		      uint64_t va)
{
	const struct libos_vm_pages *p = as->pages;
	uint64_t pa;

	if (!p->alloc(p->ctx, &pa))
		return false;
	libos_arch_zero_page(p->virt(p->ctx, pa), as->page_size);
	if (pgtable_map(as->pt, va, pa, as->page_size, r->attrs)) {
		p->free(p->ctx, pa);
		return false;
	}
	return true;
}

/* The shared page at va (old, attrs) gets a private copy. */
static bool cow_copy(struct libos_aspace *as, const struct libos_region *r,
		     uint64_t va, uint64_t old, uint32_t attrs)
{
	const struct libos_vm_pages *p = as->pages;
	uint64_t pa;

	if (!p->alloc(p->ctx, &pa))
		return false;
	libos_arch_copy_page(p->virt(p->ctx, pa), p->virt(p->ctx, old),
			     as->page_size);
	/* One walk, the entry replaced in place; a block or a contiguous run
	 * there (not made by libos_region_cow_map or a fault) takes the
	 * general unmap and map. */
	if (!pgtable_replace_page(as->pt, va, pa, r->attrs)) {
		libos_pagerefs_dec(as->refs, old);
		return true;
	}
	pgtable_unmap(as->pt, va, as->page_size);
	if (pgtable_map(as->pt, va, pa, as->page_size, r->attrs)) {
		/* The unmap freed a table page nobody gives back: put the
		 * shared page back if we can; either way refuse. */
		p->free(p->ctx, pa);
		if (pgtable_map(as->pt, va, old, as->page_size, attrs))
			libos_pagerefs_dec(as->refs, old);
		return false;
	}
	libos_pagerefs_dec(as->refs, old);
	return true;
}

static bool cow_reuse(struct libos_aspace *as, const struct libos_region *r,
		      uint64_t va, uint64_t pa)
{
	if (pgtable_protect(as->pt, va, as->page_size, r->attrs))
		return false;
	libos_pagerefs_dec(as->refs, pa); /* drops a count of 1 */
	return true;
}

/* The refusals' counters (an action that maps nothing and fails). */
static void count_refusal(struct libos_aspace *as, enum libos_vm_action a)
{
	switch (a) {
	case LIBOS_VM_NONE:
		COUNT(as, no_region);
		break;
	case LIBOS_VM_STACK_OVERFLOW:
		COUNT(as, stack_overflows);
		break;
	case LIBOS_VM_GUARD_HIT:
		COUNT(as, guard_hits);
		break;
	default:
		COUNT(as, refused);
		break;
	}
}

static bool act(struct libos_aspace *as, struct libos_region *r,
		enum libos_vm_action a, uint64_t va,
		const struct pgtable_xlate *x)
{
	bool ok;

	switch (a) {
	case LIBOS_VM_RETRY:
		return true;
	case LIBOS_VM_ZERO_FILL:
		ok = zero_fill(as, r, va);
		if (ok)
			COUNT(as, demand_zero);
		break;
	case LIBOS_VM_STACK_GROW:
		ok = zero_fill(as, r, va);
		if (ok) {
			r->bottom = va;
			COUNT(as, stack_growths);
		}
		break;
	case LIBOS_VM_COW_COPY:
		ok = cow_copy(as, r, va, x->pa, x->attrs);
		if (ok)
			COUNT(as, cow_copies);
		break;
	case LIBOS_VM_COW_REUSE:
		ok = cow_reuse(as, r, va, x->pa);
		if (ok)
			COUNT(as, cow_reuses);
		break;
	default:
		count_refusal(as, a);
		return false;
	}
	if (!ok)
		COUNT(as, no_memory);
	return ok;
}

/* A fault whose outcome does not depend on what is mapped (an external
 * abort, an alignment fault: libos_vm_decide never acts on one): the
 * region and the refusal counted, no walk, no translation record. */
static inline __attribute__((always_inline)) enum libos_vm_action
refusal(struct libos_aspace *as, const struct libos_fault *f,
	const struct libos_region **region)
{
	struct libos_region *r = libos_region_find(as, f->far);
	enum libos_vm_action a;

	*region = r;
	a = refusal_decide(r, f, as->page_size);
	count_refusal(as, a);
	return a;
}

static __attribute__((noinline)) bool
vm_refusal(struct libos_aspace *as, const struct libos_fault *f,
	   enum libos_vm_action *action, const struct libos_region **region)
{
	*action = refusal(as, f, region);
	return false;
}

void __attribute__((no_stack_protector)) libos_vm_refuse(struct libos_fault *f)
{
	struct libos_aspace *as = libos_vm_active(f->far);

	if (!as) {
		f->region = NULL;
		f->vm_action = LIBOS_VM_NONE;
		return;
	}
	f->vm_action = (int)refusal(as, f, &f->region);
}

/* Only translation and permission faults depend on what is mapped
 * (libos_vm_decide). Both out of line: libos_vm_fault only chooses,
 * with no frame of its own. */
static __attribute__((noinline)) bool
vm_fault_mapped(struct libos_aspace *as, const struct libos_fault *f,
		enum libos_vm_action *action,
		const struct libos_region **region)
{
	uint64_t va = f->far & ~(as->page_size - 1);
	struct libos_region *r = libos_region_find(as, f->far);
	struct libos_vm_state s = {0};
	struct pgtable_xlate x = {0};

	if (!pgtable_translate(as->pt, va, &x)) {
		s.mapped = true;
		s.attrs = x.attrs;
		s.refs = libos_pagerefs_get(as->refs, x.pa);
	}
	*action = libos_vm_decide(r, f, &s, as->page_size);
	*region = r;
	if (!act(as, r, *action, va, &x))
		return false;
	if (*action == LIBOS_VM_ZERO_FILL || *action == LIBOS_VM_COW_COPY)
		remember_region(as, r);
	return true;
}

bool libos_vm_fault(struct libos_aspace *as, const struct libos_fault *f,
		    enum libos_vm_action *action,
		    const struct libos_region **region)
{
	if (f->kind == LIBOS_FAULT_TRANSLATION ||
	    f->kind == LIBOS_FAULT_PERMISSION)
		return vm_fault_mapped(as, f, action, region);
	return vm_refusal(as, f, action, region);
}

/* --- the fast path
 * ------------------------------------------------------------ */

/* Level-3 faults: a translation fault (the table exists, the page does
 * not) or a permission fault on a page. */
#define FAST_FSC_ZERO (FSC_TRANSLATION | PGTABLE_LAST_LEVEL)
#define FAST_FSC_COW (FSC_PERMISSION | PGTABLE_LAST_LEVEL)

/* The page source's page for the fast path: a frame the pool hands out
 * at once (pool_take_first, inline: no call), at pa + virt_offset. */
static inline __attribute__((always_inline)) bool
page_fast(const struct libos_vm_pages *p, uint64_t *pa, void **page)
{
	if (!p->pool || !pool_take_first(p->pool, pa))
		return false;
	*page = (void *)(uintptr_t)(*pa + p->virt_offset);
	return true;
}

/* Every test before the first change; the zeroing and the entry's store
 * last, in one tail call (no frame, nothing saved: the common path calls
 * nothing else). */
static inline __attribute__((always_inline)) bool
zero_fast(struct libos_aspace *as, uint64_t va)
{
	struct pgtable *pt = as->pt;
	uint64_t *ptep, pa, parent;
	void *page;

	if (!pgtable_hot_covers(pt, va, as->fast.attrs))
		return false;
	ptep = pgtable_hot_ptep(pt, va);
	parent = *pt->hot_parent;
	if ((*ptep & PTE_VALID) || !pgtable_hot_count_room(parent) ||
	    !page_fast(as->pages, &pa, &page))
		return false;
	pgtable_hot_count_inc(pt, parent);
	COUNT(as, demand_zero);
	libos_fault_counters.taken[LIBOS_FAULT_TRANSLATION]++;
	return libos_arch_zero_page_map(page, as->page_size, ptep,
					pgtable_hot_desc(pt, pa));
}

/* A write to a page mapped read-only (no DBM: fix_dirty's case) that
 * others share: libos_vm_decide's COW_COPY. The last reference
 * (COW_REUSE) is the slow path's. Out of line: its calls need a frame,
 * the demand-zero path none. */
static __attribute__((noinline)) bool cow_fast(struct libos_aspace *as,
					       uint64_t va)
{
	uint64_t *ptep = pgtable_hot_leaf(as->pt, va, as->fast.attrs), old, pa;
	const struct libos_vm_pages *p = as->pages;
	void *page;
	int ref;

	if (!ptep || (*ptep & (PTE_AP_RO | PTE_DBM)) != PTE_AP_RO)
		return false;
	old = *ptep & PTE_OA_MASK(as->pt->geom.page_shift);
	ref = libos_pagerefs_shared_slot(as->refs, old);
	if (ref < 0 || !page_fast(p, &pa, &page))
		return false;
	libos_arch_copy_page(page, (void *)(uintptr_t)(old + p->virt_offset),
			     as->page_size);
	pgtable_hot_replace(as->pt, ptep, va, pa);
	libos_pagerefs_dec_slot(as->refs, (unsigned)ref);
	COUNT(as, cow_copies);
	libos_fault_counters.taken[LIBOS_FAULT_PERMISSION]++;
	return true;
}

/* Every test may fail; none changes anything. The TTBR0 half's faults
 * from EL1 are user copies (task_fault), not taken here. */
bool __attribute__((no_stack_protector))
libos_fault_fast(uint64_t esr, uint64_t far)
{
	struct libos_aspace *as = active_kernel;
	unsigned fsc = (unsigned)FIELD_GET(esr, ESR_ABT_FSC_SHIFT,
					   ESR_ABT_FSC_WIDTH);
	uint64_t va;

	/* The remembered region lies in the TTBR1 half: far in it is too. */
	if (!as || libos_fault_busy[LIBOS_FAULT_FAST_CPU] ||
	    ESR_EC(esr) != ESR_EC_DABT_CUR ||
	    far - as->fast.lo >= as->fast.hi - as->fast.lo ||
	    ((esr & ESR_DABT_WNR) && !(as->fast.attrs & PGTABLE_WRITE)))
		return false;
	va = far & ~(as->page_size - 1);
	if (fsc == FAST_FSC_ZERO)
		return zero_fast(as, va);
	if (fsc != FAST_FSC_COW || !(esr & ESR_DABT_WNR))
		return false;
	return cow_fast(as, va);
}

void libos_vm_fast_forget(struct libos_aspace *as)
{
	as->fast.lo = as->fast.hi = 0;
}

/* --- routing and totals
 * ------------------------------------------------------- */

void libos_vm_attach(struct libos_aspace *as)
{
	if (as->pt->half == PGTABLE_TTBR1)
		active_kernel = as;
	else
		active_user[libos_cpu_self()] = as;
}

void libos_vm_detach(enum pgtable_half half)
{
	if (half == PGTABLE_TTBR1)
		active_kernel = NULL;
	else
		active_user[libos_cpu_self()] = NULL;
}

struct libos_aspace *libos_vm_active(uint64_t va)
{
	if (va >> 63)
		return active_kernel;
	return active_user[libos_cpu_self()];
}

void libos_vm_stats(struct libos_vm_stats *out)
{
	*out = total;
}

void libos_vm_stats_add(struct libos_vm_stats *sum,
			const struct libos_vm_stats *s)
{
	sum->demand_zero += s->demand_zero;
	sum->cow_copies += s->cow_copies;
	sum->cow_reuses += s->cow_reuses;
	sum->stack_growths += s->stack_growths;
	sum->stack_overflows += s->stack_overflows;
	sum->guard_hits += s->guard_hits;
	sum->refused += s->refused;
	sum->no_region += s->no_region;
	sum->no_memory += s->no_memory;
}
