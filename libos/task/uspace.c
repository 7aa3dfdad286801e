/*
 * EL0 address spaces (uspace.h): areas, demand-zero and copy-on-write
 * faults, fork-style clone, and the TTBR0/ASID switch. Every table change
 * goes through libos/mmu (break-before-make, TLBI by ASID); a frame leaves
 * a space only after the mapping and its TLB entries are gone.
 */
#include <arch/sysreg.h>
#include <libos/arch.h>
#include <libos/task/uspace.h>
#include <string.h>

struct uspace_sys {
	struct uspace_config cfg;
	uint64_t page;
	struct asid_allocator asids;
	struct uspace *current;  /* in TTBR0, walks on */
	bool walks;              /* TCR_EL1.EPD0 clear */
	struct {
		uint64_t pa;     /* 0: empty */
		uint32_t count;  /* mappings, >= 2 */
	} ref[USPACE_REFS_MAX];
	struct uspace_stats st;
};

/* From the caller's allocator at the first init: guests without tasks
 * carry none of it in their image. */
static struct uspace_sys *sys;

/* --- shared-frame reference counts (linear probing, backward shift) ------ */

static unsigned ref_slot(uint64_t pa)
{
	return (unsigned)((pa / sys->page) * 0x9e3779b1u) % USPACE_REFS_MAX;
}

static int ref_find(uint64_t pa)
{
	for (unsigned i = ref_slot(pa), n = 0; n < USPACE_REFS_MAX;
	     i = (i + 1) % USPACE_REFS_MAX, n++) {
		if (sys->ref[i].pa == pa)
			return (int)i;
		if (!sys->ref[i].pa)
			return -1;
	}
	return -1;
}

unsigned uspace_frame_refs(uint64_t pa)
{
	int i = ref_find(pa);

	return i < 0 ? 1 : sys->ref[i].count;
}

/* One more mapping of pa. The caller checked there is room. */
static void ref_share(uint64_t pa)
{
	int i = ref_find(pa);
	unsigned j;

	if (i >= 0) {
		sys->ref[i].count++;
		return;
	}
	for (j = ref_slot(pa); sys->ref[j].pa; j = (j + 1) % USPACE_REFS_MAX)
		;
	sys->ref[j].pa = pa;
	sys->ref[j].count = 2;
	sys->st.shared++;
}

static void ref_remove(unsigned i)
{
	unsigned j = i;

	sys->ref[i].pa = 0;
	sys->st.shared--;
	for (;;) {
		unsigned k;

		j = (j + 1) % USPACE_REFS_MAX;
		if (!sys->ref[j].pa)
			return;
		k = ref_slot(sys->ref[j].pa);
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		sys->ref[i] = sys->ref[j];
		sys->ref[j].pa = 0;
		i = j;
	}
}

/* One mapping of pa gone: returns the mappings left. */
static unsigned ref_drop(uint64_t pa)
{
	int i = ref_find(pa);

	if (i < 0)
		return 0;
	if (--sys->ref[i].count > 1)
		return sys->ref[i].count;
	ref_remove((unsigned)i);
	return 1;
}

/* --- frames --------------------------------------------------------------- */

static bool frame_alloc(uint64_t *pa)
{
	if (!sys->cfg.frames.alloc(sys->cfg.frames.ctx, pa))
		return false;
	sys->st.frames++;
	return true;
}

/* The mapping of pa is gone (and flushed): free it if it was the last. */
static void frame_release(uint64_t pa)
{
	if (ref_drop(pa))
		return;
	sys->cfg.frames.free(sys->cfg.frames.ctx, pa);
	sys->st.frames--;
}

static void *frame_virt(uint64_t pa)
{
	return sys->cfg.frames.virt(sys->cfg.frames.ctx, pa);
}

/* --- set-up --------------------------------------------------------------- */

int uspace_sys_init(const struct uspace_config *cfg)
{
	if (cfg->va_bits != 39 && cfg->va_bits != 48)
		return -LIBOS_EINVAL;
	if (!sys)
		sys = cfg->zalloc(sizeof(*sys));
	if (!sys)
		return -LIBOS_ENOMEM;
	memset(sys, 0, sizeof(*sys));
	sys->cfg = *cfg;
	sys->page = UINT64_C(1) << cfg->granule;
	asid_init(&sys->asids, cfg->asid_bits);
	return 0;
}

struct asid_allocator *uspace_asids(void)
{
	return &sys->asids;
}

void uspace_stats(struct uspace_stats *out)
{
	*out = sys->st;
}

uint64_t uspace_page_size(void)
{
	return sys->page;
}

bool uspace_range_ok(uint64_t va, uint64_t len)
{
	uint64_t top = UINT64_C(1) << sys->cfg.va_bits;

	return len && va + len > va && va + len <= top;
}

static bool aligned(uint64_t va, uint64_t size)
{
	return !(va & (sys->page - 1)) && !(size & (sys->page - 1));
}

/* --- attributes ----------------------------------------------------------- */

/* PROT_NONE: mapped for EL1 only (no USER), so EL0 touches fault. */
static uint32_t attrs_of(unsigned prot, bool writable)
{
	uint32_t a = PGTABLE_READ | PGTABLE_ACCESSED |
		     PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB);

	if (!prot)
		return a;
	a |= PGTABLE_USER;
	if (writable && (prot & USPACE_PROT_WRITE))
		a |= PGTABLE_WRITE;
	if (prot & USPACE_PROT_EXEC)
		a |= PGTABLE_EXEC_EL0;
	return a;
}

static bool prot_ok(unsigned prot)
{
	if (prot & ~USPACE_PROT_ALL)
		return false;
	return (prot & (USPACE_PROT_WRITE | USPACE_PROT_EXEC)) !=
	       (USPACE_PROT_WRITE | USPACE_PROT_EXEC);
}

/* --- areas ---------------------------------------------------------------- */

static struct uspace_area *area_of(struct uspace *us, uint64_t va)
{
	for (unsigned i = 0; i < us->nareas; i++)
		if (va >= us->area[i].start && va < us->area[i].end)
			return &us->area[i];
	return NULL;
}

static bool range_free(const struct uspace *us, uint64_t va, uint64_t size)
{
	for (unsigned i = 0; i < us->nareas; i++)
		if (va < us->area[i].end && us->area[i].start < va + size)
			return false;
	return true;
}

static int area_insert(struct uspace *us, const struct uspace_area *a)
{
	unsigned i = 0;

	if (us->nareas == USPACE_AREAS_MAX)
		return -LIBOS_ENOMEM;
	while (i < us->nareas && us->area[i].start < a->start)
		i++;
	memmove(&us->area[i + 1], &us->area[i],
		(us->nareas - i) * sizeof(*a));
	us->area[i] = *a;
	us->nareas++;
	return 0;
}

static void area_delete(struct uspace *us, unsigned i)
{
	memmove(&us->area[i], &us->area[i + 1],
		(us->nareas - i - 1) * sizeof(us->area[0]));
	us->nareas--;
}

/* Splits the area strictly containing va at va. Needs a free slot. */
static void area_split(struct uspace *us, uint64_t va)
{
	struct uspace_area *a = area_of(us, va), hi;

	if (!a || a->start == va)
		return;
	hi = *a;
	hi.start = va;
	if (hi.kind == USPACE_FIXED)
		hi.pa += va - a->start;
	a->end = va;
	area_insert(us, &hi);
}

/* Slots the two splits of [va, va + size) would take. */
static unsigned splits_needed(struct uspace *us, uint64_t va, uint64_t size)
{
	struct uspace_area *lo = area_of(us, va), *hi = area_of(us, va + size);
	unsigned n = 0;

	if (lo && lo->start != va)
		n++;
	if (hi && hi->start != va + size)
		n++;
	if (lo && lo == hi && lo->start != va)
		n = 2;
	return n;
}

/* --- pages of a range ----------------------------------------------------- */

#define BATCH 32

struct leaves {
	uint64_t va[BATCH];
	unsigned n;
};

static void collect(void *ctx, uint64_t va, uint64_t size, uint64_t desc,
		    int level)
{
	struct leaves *l = ctx;

	(void)level;
	if (!desc)
		return;
	for (uint64_t p = va; p < va + size && l->n < BATCH; p += sys->page)
		l->va[l->n++] = p;
}

/* Unmaps every page of [va, va + size) (inside one area of kind k),
 * releasing anonymous frames after their mappings are flushed. */
static void unmap_pages(struct uspace *us, uint64_t va, uint64_t size,
			enum uspace_kind k)
{
	struct leaves l;

	do {
		l.n = 0;
		pgtable_scan(&us->pt, va, size, collect, &l);
		for (unsigned i = 0; i < l.n; i++) {
			struct pgtable_xlate x;

			if (pgtable_translate(&us->pt, l.va[i], &x))
				continue;
			pgtable_unmap(&us->pt, l.va[i], sys->page);
			if (k == USPACE_ANON)
				frame_release(x.pa);
		}
	} while (l.n == BATCH);
	/* Fixed areas may hold blocks or runs: take them down whole. */
	if (k == USPACE_FIXED)
		pgtable_unmap(&us->pt, va, size);
}

/* --- address spaces ------------------------------------------------------- */

int uspace_create(struct uspace *us)
{
	struct pgtable_config cfg = { sys->cfg.granule, sys->cfg.va_bits,
				      PGTABLE_TTBR0, 0 };

	memset(us, 0, sizeof(*us));
	if (pgtable_init(&us->pt, &cfg, &sys->cfg.tables))
		return -LIBOS_ENOMEM;
	us->live = true;
	sys->st.live++;
	return 0;
}

static void walks(bool on)
{
	uint64_t tcr = libos_arch_read_tcr();

	if (on == sys->walks)
		return;
	sys->walks = on;
	libos_arch_write_tcr(on ? tcr & ~TCR_EL1_EPD0 : tcr | TCR_EL1_EPD0);
}

void uspace_destroy(struct uspace *us)
{
	if (!us->live)
		return;
	while (us->nareas) {
		struct uspace_area *a = &us->area[us->nareas - 1];

		unmap_pages(us, a->start, a->end - a->start, a->kind);
		us->nareas--;
	}
	if (sys->current == us) {
		/* Out of TTBR0 before the tables go: no walks, ASID 0. */
		walks(false);
		libos_arch_write_ttbr0(0);
		asid_deactivate(&sys->asids);
		sys->current = NULL;
	}
	pgtable_destroy(&us->pt);    /* TLBI ASIDE1IS for its ASID */
	us->live = false;
	sys->st.live--;
}

int uspace_map_anon(struct uspace *us, uint64_t *va, uint64_t size,
		    unsigned prot)
{
	struct uspace_area a = { .prot = prot, .kind = USPACE_ANON };

	if (!prot_ok(prot) || !aligned(*va, size) || !size)
		return -LIBOS_EINVAL;
	if (!*va) {
		uint64_t v = USPACE_MMAP_BASE;

		for (unsigned i = 0; i < us->nareas; i++)
			if (us->area[i].end > v &&
			    us->area[i].start < v + size)
				v = us->area[i].end;
		if (v + size > USPACE_MMAP_END || v + size < v)
			return -LIBOS_ENOMEM;
		*va = v;
	}
	if (!uspace_range_ok(*va, size))
		return -LIBOS_EINVAL;
	if (!range_free(us, *va, size))
		return -LIBOS_EEXIST;
	a.start = *va;
	a.end = *va + size;
	return area_insert(us, &a);
}

int uspace_map_fixed(struct uspace *us, uint64_t va, uint64_t pa,
		     uint64_t size, unsigned prot)
{
	struct uspace_area a = { va, va + size, prot, USPACE_FIXED, pa };
	int rc;

	if (!prot || !prot_ok(prot) || !aligned(va, size) || !size ||
	    (pa & (sys->page - 1)) || !uspace_range_ok(va, size))
		return -LIBOS_EINVAL;
	if (!range_free(us, va, size))
		return -LIBOS_EEXIST;
	if (us->nareas == USPACE_AREAS_MAX)
		return -LIBOS_ENOMEM;
	if (pgtable_map(&us->pt, va, pa, size, attrs_of(prot, true)))
		return -LIBOS_ENOMEM;
	rc = area_insert(us, &a);
	return rc;
}

int uspace_unmap(struct uspace *us, uint64_t va, uint64_t size)
{
	if (!aligned(va, size) || !uspace_range_ok(va, size))
		return -LIBOS_EINVAL;
	if (us->nareas + splits_needed(us, va, size) > USPACE_AREAS_MAX)
		return -LIBOS_ENOMEM;
	area_split(us, va);
	area_split(us, va + size);
	for (unsigned i = 0; i < us->nareas;) {
		struct uspace_area *a = &us->area[i];

		if (a->start >= va && a->end <= va + size) {
			unmap_pages(us, a->start, a->end - a->start, a->kind);
			area_delete(us, i);
		} else {
			i++;
		}
	}
	return 0;
}

static bool covered(struct uspace *us, uint64_t va, uint64_t size)
{
	for (uint64_t v = va; v < va + size;) {
		struct uspace_area *a = area_of(us, v);

		if (!a)
			return false;
		v = a->end;
	}
	return true;
}

/* New attributes for the mapped pages of one area: shared pages stay
 * read-only (copy-on-write). */
static void reprotect(struct uspace *us, const struct uspace_area *a)
{
	uint64_t size = a->end - a->start;

	if (a->kind == USPACE_FIXED) {
		pgtable_protect(&us->pt, a->start, size,
				attrs_of(a->prot, true));
		return;
	}
	for (uint64_t v = a->start; v < a->end;) {
		struct leaves l = { .n = 0 };

		pgtable_scan(&us->pt, v, a->end - v, collect, &l);
		if (!l.n)
			return;
		for (unsigned i = 0; i < l.n; i++) {
			struct pgtable_xlate x;

			if (pgtable_translate(&us->pt, l.va[i], &x))
				continue;
			pgtable_protect(&us->pt, l.va[i], sys->page,
					attrs_of(a->prot,
						 uspace_frame_refs(x.pa) <= 1));
		}
		v = l.va[l.n - 1] + sys->page;
	}
}

int uspace_protect(struct uspace *us, uint64_t va, uint64_t size,
		   unsigned prot)
{
	if (!prot_ok(prot))
		return -LIBOS_EINVAL;
	if (!aligned(va, size) || !uspace_range_ok(va, size))
		return -LIBOS_EINVAL;
	if (!covered(us, va, size))
		return -LIBOS_ENOMEM;
	if (us->nareas + splits_needed(us, va, size) > USPACE_AREAS_MAX)
		return -LIBOS_ENOMEM;
	/* Fixed frames (task code) never become writable. */
	for (unsigned i = 0; i < us->nareas; i++) {
		const struct uspace_area *a = &us->area[i];

		if (a->start < va + size && va < a->end &&
		    a->kind == USPACE_FIXED && (prot & USPACE_PROT_WRITE))
			return -LIBOS_EINVAL;
	}
	area_split(us, va);
	area_split(us, va + size);
	for (unsigned i = 0; i < us->nareas; i++) {
		struct uspace_area *a = &us->area[i];

		if (a->start >= va && a->end <= va + size) {
			a->prot = prot;
			reprotect(us, a);
		}
	}
	return 0;
}

/* --- clone ---------------------------------------------------------------- */

struct counter {
	unsigned n;
};

static void count_leaves(void *ctx, uint64_t va, uint64_t size,
			 uint64_t desc, int level)
{
	struct counter *c = ctx;

	(void)va;
	(void)level;
	if (desc)
		c->n += (unsigned)(size / sys->page);
}

/* Shares every mapped page of an anonymous area of parent with child. */
static int share_area(struct uspace *child, struct uspace *parent,
		      const struct uspace_area *a)
{
	for (uint64_t v = a->start; v < a->end;) {
		struct leaves l = { .n = 0 };

		pgtable_scan(&parent->pt, v, a->end - v, collect, &l);
		if (!l.n)
			return 0;
		for (unsigned i = 0; i < l.n; i++) {
			struct pgtable_xlate x;
			uint32_t ro = attrs_of(a->prot, false);

			if (pgtable_translate(&parent->pt, l.va[i], &x))
				continue;
			if (pgtable_map(&child->pt, l.va[i], x.pa, sys->page, ro))
				return -LIBOS_ENOMEM;
			ref_share(x.pa);
			if (x.attrs != ro &&
			    pgtable_protect(&parent->pt, l.va[i], sys->page, ro))
				return -LIBOS_ENOMEM;
		}
		v = l.va[l.n - 1] + sys->page;
	}
	return 0;
}

int uspace_clone(struct uspace *child, struct uspace *parent)
{
	struct counter c = { 0 };
	int rc;

	/* Room for every page in the reference table, checked up front. */
	for (unsigned i = 0; i < parent->nareas; i++)
		if (parent->area[i].kind == USPACE_ANON)
			pgtable_scan(&parent->pt, parent->area[i].start,
				     parent->area[i].end -
					     parent->area[i].start,
				     count_leaves, &c);
	if (sys->st.shared + c.n > USPACE_REFS_MAX * 3 / 4)
		return -LIBOS_ENOMEM;
	rc = uspace_create(child);
	if (rc)
		return rc;
	for (unsigned i = 0; i < parent->nareas && !rc; i++) {
		const struct uspace_area *a = &parent->area[i];

		if (a->kind == USPACE_FIXED)
			rc = uspace_map_fixed(child, a->start, a->pa,
					      a->end - a->start, a->prot);
		else
			rc = area_insert(child, a);
		if (!rc && a->kind == USPACE_ANON)
			rc = share_area(child, parent, a);
	}
	if (rc)
		uspace_destroy(child);   /* drops the references it took */
	return rc;
}

/* --- faults --------------------------------------------------------------- */

static bool allowed(const struct uspace_area *a, enum libos_access access)
{
	switch (access) {
	case LIBOS_READ:
		return a->prot != 0;
	case LIBOS_WRITE:
		return a->prot & USPACE_PROT_WRITE;
	case LIBOS_EXEC:
		return a->prot & USPACE_PROT_EXEC;
	}
	return false;
}

static bool demand_zero(struct uspace *us, const struct uspace_area *a,
			uint64_t page)
{
	uint64_t pa;

	if (!frame_alloc(&pa))
		return false;
	memset(frame_virt(pa), 0, sys->page);
	if (pgtable_map(&us->pt, page, pa, sys->page, attrs_of(a->prot, true))) {
		frame_release(pa);
		return false;
	}
	sys->st.demand_zero++;
	return true;
}

static bool cow(struct uspace *us, const struct uspace_area *a, uint64_t page,
		const struct pgtable_xlate *x)
{
	uint64_t pa;

	if (uspace_frame_refs(x->pa) <= 1) {
		/* The last mapping: take the frame over. */
		if (pgtable_protect(&us->pt, page, sys->page,
				    attrs_of(a->prot, true)))
			return false;
		sys->st.cow_reuses++;
		return true;
	}
	if (!frame_alloc(&pa))
		return false;
	memcpy(frame_virt(pa), frame_virt(x->pa), sys->page);
	/* Break before make: the old mapping and its TLB entry go first. */
	pgtable_unmap(&us->pt, page, sys->page);
	if (pgtable_map(&us->pt, page, pa, sys->page, attrs_of(a->prot, true))) {
		/* Put the shared page back; the access faults again. */
		pgtable_map(&us->pt, page, x->pa, sys->page, x->attrs);
		frame_release(pa);
		return false;
	}
	frame_release(x->pa);
	sys->st.cow_copies++;
	return true;
}

bool uspace_fault(struct uspace *us, uint64_t va, enum libos_access access,
		  enum libos_fault_kind kind)
{
	struct uspace_area *a = us ? area_of(us, va) : NULL;
	uint64_t page = va & ~(sys->page - 1);
	struct pgtable_xlate x;

	if (!a || a->kind != USPACE_ANON || !allowed(a, access)) {
		sys->st.refused++;
		return false;
	}
	if (pgtable_translate(&us->pt, page, &x))
		return kind == LIBOS_FAULT_TRANSLATION &&
		       demand_zero(us, a, page);
	if (kind == LIBOS_FAULT_PERMISSION && access == LIBOS_WRITE &&
	    !(x.attrs & PGTABLE_WRITE))
		return cow(us, a, page, &x);
	sys->st.refused++;
	return false;
}

/* --- switch --------------------------------------------------------------- */

void uspace_switch(struct uspace *us)
{
	uint16_t asid;

	if (!us)
		return;
	asid = asid_switch(&sys->asids, &us->asid_ctx);
	us->pt.asid = asid;
	libos_arch_write_ttbr0(pgtable_ttbr(&us->pt));
	sys->current = us;
	walks(true);
}

struct uspace *uspace_current(void)
{
	return sys->current;
}
