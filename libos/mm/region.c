/*
 * Region sets of address spaces and the reference counts of shared pages
 * (see region.h): insert, remove, find, range unmap and protect (splitting
 * regions at the ends, as munmap and mprotect do), a free gap, COW mappings
 * and fork-style clone. The fault side (deciding and handling) is in vmfault.c.
 *
 * Owns: the sorted region array of each space, which pages a region owns
 * (every page mapped in an ANON, COW or STACK region: privately, or shared
 * and counted in the pagerefs table). Never: frees a FIXED region's frames,
 * or changes a table outside the region it was asked about.
 */
#include <libos/lock.h>
#include <libos/mm/region.h>
#include <string.h>

/* --- errors and names ------------------------------------------------------
 */

const char *libos_region_strerror(int err)
{
	static const char *const msg[] = {
	    [0] = "ok",
	    [1] = "address not page-aligned",
	    [2] = "range empty, wrapping or outside the half",
	    [3] = "overlaps a region",
	    [4] = "too many regions",
	    [5] = "no such region",
	    [6] = "bad kind or attributes",
	    [7] = "out of memory",
	    [8] = "stack sizes leave no room for the guard page",
	};
	unsigned i = err <= 0 ? (unsigned)-err : ~0u;

	return i < sizeof(msg) / sizeof(msg[0]) ? msg[i] : "?";
}

const char *libos_region_kind_name(enum libos_region_kind kind)
{
	static const char *const names[] = {
	    [LIBOS_REGION_ANON] = "anonymous",
	    [LIBOS_REGION_COW] = "copy-on-write",
	    [LIBOS_REGION_STACK] = "stack",
	    [LIBOS_REGION_GUARD] = "guard",
	    [LIBOS_REGION_FIXED] = "fixed",
	};

	return (unsigned)kind < LIBOS_REGION_KINDS ? names[kind] : "?";
}

/* --- page reference counts -------------------------------------------------
 */

#define REFS_MASK (LIBOS_PAGEREFS_MAX - 1)

void libos_pagerefs_init(struct libos_pagerefs *r)
{
	memset(r, 0, sizeof(*r));
}

static unsigned ref_hash(uint64_t pa)
{
	return (unsigned)((pa >> 12) * UINT64_C(0x9e3779b97f4a7c15) >> 40) &
	       REFS_MASK;
}

/* The slot holding pa, or the empty slot where it would go. */
static unsigned ref_slot(const struct libos_pagerefs *r, uint64_t pa)
{
	unsigned i = ref_hash(pa);

	while (r->slot[i].pa && r->slot[i].pa != pa)
		i = (i + 1) & REFS_MASK;
	return i;
}

uint32_t libos_pagerefs_get(const struct libos_pagerefs *r, uint64_t pa)
{
	unsigned i = ref_slot(r, pa);

	return r->slot[i].pa ? r->slot[i].count : 0;
}

bool libos_pagerefs_inc(struct libos_pagerefs *r, uint64_t pa)
{
	unsigned i = ref_slot(r, pa);

	if (!r->slot[i].pa) {
		/* Keep a quarter empty: probes stay short, and terminate. */
		if (r->used >= LIBOS_PAGEREFS_MAX * 3 / 4)
			return false;
		r->slot[i].pa = pa;
		r->slot[i].count = 0;
		r->used++;
	}
	r->slot[i].count++;
	return true;
}

/* Backward-shift deletion: no tombstones, probes never lengthen. */
static void ref_delete(struct libos_pagerefs *r, unsigned i)
{
	unsigned j = i;

	for (;;) {
		unsigned home;

		j = (j + 1) & REFS_MASK;
		if (!r->slot[j].pa)
			break;
		home = ref_hash(r->slot[j].pa);
		/* Move j into the hole i unless home lies cyclically in
		 * (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		r->slot[i] = r->slot[j];
		i = j;
	}
	r->slot[i].pa = 0;
	r->slot[i].count = 0;
	r->used--;
}

uint32_t libos_pagerefs_dec_slot(struct libos_pagerefs *r, unsigned slot)
{
	uint32_t left = --r->slot[slot].count;

	if (left <= 1)
		ref_delete(r, slot);
	return left;
}

uint32_t libos_pagerefs_dec(struct libos_pagerefs *r, uint64_t pa)
{
	unsigned i = ref_slot(r, pa);

	return r->slot[i].pa ? libos_pagerefs_dec_slot(r, i) : 0;
}

int libos_pagerefs_shared_slot(const struct libos_pagerefs *r, uint64_t pa)
{
	unsigned i = ref_slot(r, pa);

	return r->slot[i].pa && r->slot[i].count >= 2 ? (int)i : -1;
}

/* Room for n more distinct frames? */
static bool refs_room(const struct libos_pagerefs *r, uint64_t n)
{
	return r->used + n <= LIBOS_PAGEREFS_MAX * 3 / 4;
}

/* --- address spaces ----------------------------------------------------------
 */

void libos_aspace_init(struct libos_aspace *as, struct pgtable *pt,
		       const struct libos_vm_pages *pages,
		       struct libos_pagerefs *refs)
{
	memset(as, 0, sizeof(*as));
	as->pt = pt;
	as->pages = pages;
	as->refs = refs;
	as->page_size = UINT64_C(1) << pt->geom.page_shift;
}

void libos_aspace_fini(struct libos_aspace *as)
{
	while (as->nr)
		libos_region_remove(as, as->r[as->nr - 1].start);
}

static unsigned lower_bound(const struct libos_aspace *as, uint64_t va)
{
	return libos_region_lower_bound(as, va);
}

static bool aligned(const struct libos_aspace *as, uint64_t v)
{
	return (v & (as->page_size - 1)) == 0;
}

static bool in_half(const struct libos_aspace *as, uint64_t start, uint64_t end)
{
	const struct pgtable *pt = as->pt;

	if (start >= end)
		return false;
	if (pt->half == PGTABLE_TTBR1)
		return start >= pt->va_base;
	return end <= UINT64_C(1) << pt->geom.va_bits;
}

static int check_region(const struct libos_aspace *as,
			const struct libos_region *r)
{
	if (!aligned(as, r->start) || !aligned(as, r->end))
		return LIBOS_REGION_EALIGN;
	if (!in_half(as, r->start, r->end))
		return LIBOS_REGION_ERANGE;
	if ((unsigned)r->kind >= LIBOS_REGION_KINDS)
		return LIBOS_REGION_EKIND;
	if (r->kind != LIBOS_REGION_GUARD && !(r->attrs & PGTABLE_READ))
		return LIBOS_REGION_EKIND;
	if (r->kind == LIBOS_REGION_FIXED && !aligned(as, r->pa))
		return LIBOS_REGION_EALIGN;
	if (r->kind == LIBOS_REGION_STACK &&
	    (!aligned(as, r->bottom) || r->bottom > r->end ||
	     r->bottom < r->start + as->page_size))
		return LIBOS_REGION_ESTACK;
	return LIBOS_REGION_OK;
}

static int map_error(int pgtable_err)
{
	switch (pgtable_err) {
	case PGTABLE_OK:
		return LIBOS_REGION_OK;
	case PGTABLE_EOVERLAP:
		return LIBOS_REGION_EOVERLAP;
	case PGTABLE_ENOMEM:
		return LIBOS_REGION_ENOMEM;
	case PGTABLE_ERANGE:
	case PGTABLE_EPA_RANGE:
		return LIBOS_REGION_ERANGE;
	case PGTABLE_EATTR:
		return LIBOS_REGION_EKIND;
	default:
		return LIBOS_REGION_EALIGN;
	}
}

static int region_insert_locked(struct libos_aspace *as,
				const struct libos_region *r)
{
	unsigned i;
	int err = check_region(as, r);

	if (err)
		return err;
	i = lower_bound(as, r->start);
	if (i < as->nr && as->r[i].start < r->end)
		return LIBOS_REGION_EOVERLAP;
	if (as->nr == LIBOS_REGIONS_MAX)
		return LIBOS_REGION_EFULL;
	if (r->kind == LIBOS_REGION_FIXED) {
		err = map_error(pgtable_map(as->pt, r->start, r->pa,
					    r->end - r->start, r->attrs));
		if (err)
			return err;
	}
	memmove(&as->r[i + 1], &as->r[i], (as->nr - i) * sizeof(as->r[0]));
	as->r[i] = *r;
	as->r[i].name[LIBOS_REGION_NAME_MAX - 1] = '\0';
	as->nr++;
	return LIBOS_REGION_OK;
}

static int region_insert_stack_locked(struct libos_aspace *as, uint64_t top,
				      uint64_t initial, uint64_t max,
				      uint32_t attrs, const char *name)
{
	struct libos_region r = {
	    .kind = LIBOS_REGION_STACK,
	    .attrs = attrs,
	};

	if (!aligned(as, top) || !aligned(as, initial) || !aligned(as, max) ||
	    initial < as->page_size || max < initial || top < as->page_size ||
	    max > top - as->page_size)
		return LIBOS_REGION_ESTACK;
	r.start = top - max - as->page_size;
	r.end = top;
	r.bottom = top - initial;
	if (name)
		strncpy(r.name, name, LIBOS_REGION_NAME_MAX - 1);
	return libos_region_insert(as, &r);
}

/* --- pages of a range -------------------------------------------------------
 */

#define SCAN_BATCH 64

struct scan_batch {
	uint64_t page;
	uint64_t va[SCAN_BATCH];
	unsigned n;
	uint64_t resume; /* first leaf not taken, or the end */
	bool full;
};

static void scan_leaf(void *ctx, uint64_t va, uint64_t size, uint64_t desc,
		      int level)
{
	struct scan_batch *b = ctx;

	(void)level;
	if (!desc || b->full)
		return;
	for (uint64_t off = 0; off < size; off += b->page) {
		if (b->n == SCAN_BATCH) {
			b->full = true;
			b->resume = va + off;
			return;
		}
		b->va[b->n++] = va + off;
	}
}

/*
 * Calls fn for every mapped page of [start, end), in batches gathered by a
 * table scan and handed over after it (so fn may change the tables).
 */
typedef int (*page_fn)(struct libos_aspace *as, uint64_t va, void *ctx);

static int for_each_page(struct libos_aspace *as, uint64_t start, uint64_t end,
			 page_fn fn, void *ctx)
{
	struct scan_batch b = {.page = as->page_size};

	while (start < end) {
		int err;

		b.n = 0;
		b.full = false;
		b.resume = end;
		pgtable_scan(as->pt, start, end - start, scan_leaf, &b);
		for (unsigned i = 0; i < b.n; i++) {
			err = fn(as, b.va[i], ctx);
			if (err)
				return err;
		}
		start = b.resume;
	}
	return 0;
}

/* Drops one mapping's claim on the page at pa: the frame goes back when
 * no other mapping shares it. */
static void release(struct libos_aspace *as, uint64_t pa)
{
	if (libos_pagerefs_get(as->refs, pa) >= 2) {
		libos_pagerefs_dec(as->refs, pa);
		return;
	}
	libos_pagerefs_dec(as->refs, pa);
	as->pages->free(as->pages->ctx, pa);
}

static int unmap_page(struct libos_aspace *as, uint64_t va, void *ctx)
{
	struct pgtable_xlate x;

	(void)ctx;
	if (pgtable_translate(as->pt, va, &x))
		return 0;
	pgtable_unmap(as->pt, va, as->page_size);
	release(as, x.pa);
	return 0;
}

static int region_remove_locked(struct libos_aspace *as, uint64_t start)
{
	unsigned i = lower_bound(as, start);
	struct libos_region *r = &as->r[i];

	/* The fault fast path's region may be this one: forgotten. (An
	 * insert cannot overlap it, munmap removes what it cuts off, mprotect
	 * forgets it itself: region changes all come through here or
	 * there.) */
	libos_vm_fast_forget(as);
	if (i == as->nr || r->start != start)
		return LIBOS_REGION_ENOENT;
	if (r->kind == LIBOS_REGION_FIXED)
		pgtable_unmap(as->pt, r->start, r->end - r->start);
	else if (r->kind != LIBOS_REGION_GUARD)
		for_each_page(as, r->start, r->end, unmap_page, NULL);
	memmove(r, r + 1, (as->nr - i - 1) * sizeof(*r));
	as->nr--;
	return LIBOS_REGION_OK;
}

/* --- ranges: munmap and mprotect semantics ----------------------------------
 */

int libos_region_gap(const struct libos_aspace *as, uint64_t lo, uint64_t hi,
		     uint64_t size, uint64_t *va)
{
	uint64_t v = lo;

	if (!size || !aligned(as, lo) || !aligned(as, size))
		return LIBOS_REGION_EALIGN;
	/* Sorted: every region the candidate meets pushes it past its end. */
	for (unsigned i = lower_bound(as, lo); i < as->nr; i++)
		if (as->r[i].start < v + size && as->r[i].end > v)
			v = as->r[i].end;
	if (v + size < v || v + size > hi)
		return LIBOS_REGION_ENOMEM;
	*va = v;
	return LIBOS_REGION_OK;
}

/* A region that [va, va + size) cuts in two at one of its ends. */
static bool cut_at(const struct libos_aspace *as, uint64_t va)
{
	const struct libos_region *r = libos_region_find_const(as, va);

	return r && r->start != va;
}

/* Slots the cuts at both ends of [va, va + size) take; a stack cannot be
 * cut (its bottom and guard page belong to the whole). */
static int cuts_needed(const struct libos_aspace *as, uint64_t va,
		       uint64_t size, unsigned *n)
{
	const uint64_t at[2] = {va, va + size};

	*n = 0;
	for (unsigned i = 0; i < 2; i++) {
		if (!cut_at(as, at[i]))
			continue;
		if (libos_region_find_const(as, at[i])->kind ==
		    LIBOS_REGION_STACK)
			return LIBOS_REGION_EKIND;
		(*n)++;
	}
	return as->nr + *n > LIBOS_REGIONS_MAX ? LIBOS_REGION_EFULL
					       : LIBOS_REGION_OK;
}

/* Splits the region strictly containing va at va (a slot is free). */
static void split_at(struct libos_aspace *as, uint64_t va)
{
	unsigned i = lower_bound(as, va);
	struct libos_region *r = &as->r[i];

	if (i == as->nr || r->start >= va)
		return;
	memmove(r + 1, r, (as->nr - i) * sizeof(*r));
	as->nr++;
	r->end = va;
	r[1].start = va;
	if (r->kind == LIBOS_REGION_FIXED)
		r[1].pa += va - r->start;
}

/* Cuts the regions at both ends of [va, va + size), so whole regions
 * cover it; nothing changes when a cut is refused. */
static int cut_range(struct libos_aspace *as, uint64_t va, uint64_t size)
{
	unsigned n;
	int err = cuts_needed(as, va, size, &n);

	if (err)
		return err;
	split_at(as, va);
	split_at(as, va + size);
	return LIBOS_REGION_OK;
}

static int check_range(const struct libos_aspace *as, uint64_t va,
		       uint64_t size)
{
	if (!aligned(as, va) || !aligned(as, size))
		return LIBOS_REGION_EALIGN;
	return in_half(as, va, va + size) ? LIBOS_REGION_OK
					  : LIBOS_REGION_ERANGE;
}

static int region_unmap_locked(struct libos_aspace *as, uint64_t va,
			       uint64_t size)
{
	int err = check_range(as, va, size);

	if (!err)
		err = cut_range(as, va, size);
	if (err)
		return err;
	for (unsigned i = lower_bound(as, va);
	     i < as->nr && as->r[i].end <= va + size;)
		libos_region_remove(as, as->r[i].start);
	return LIBOS_REGION_OK;
}

/* Every page of [va, va + size) in a region, and each region there may
 * take attrs: FIXED frames never gain write, GUARD regions stay guards. */
static int check_protect(const struct libos_aspace *as, uint64_t va,
			 uint64_t size, uint32_t attrs)
{
	for (uint64_t v = va; v < va + size;) {
		const struct libos_region *r = libos_region_find_const(as, v);

		if (!r)
			return LIBOS_REGION_ENOENT;
		if (r->kind == LIBOS_REGION_GUARD ||
		    (r->kind == LIBOS_REGION_FIXED &&
		     (attrs & ~r->attrs & PGTABLE_WRITE)))
			return LIBOS_REGION_EKIND;
		v = r->end;
	}
	return LIBOS_REGION_OK;
}

/* Attributes of a shared (not yet copied) page of region r. */
static uint32_t shared_attrs(const struct libos_region *r)
{
	return r->attrs & ~(PGTABLE_WRITE | PGTABLE_DBM | PGTABLE_DIRTY);
}

/* A mapped page of a region whose attributes changed: shared pages stay
 * read-only (copy-on-write). */
static int reprotect_page(struct libos_aspace *as, uint64_t va, void *ctx)
{
	const struct libos_region *r = ctx;
	struct pgtable_xlate x;
	uint32_t attrs = r->attrs;

	if (pgtable_translate(as->pt, va, &x))
		return 0;
	if (libos_pagerefs_get(as->refs, x.pa) >= 2)
		attrs = shared_attrs(r);
	return map_error(pgtable_protect(as->pt, va, as->page_size, attrs));
}

static int reprotect(struct libos_aspace *as, struct libos_region *r)
{
	if (r->kind == LIBOS_REGION_FIXED)
		return map_error(pgtable_protect(as->pt, r->start,
						 r->end - r->start, r->attrs));
	return for_each_page(as, r->start, r->end, reprotect_page, r);
}

static int region_protect_locked(struct libos_aspace *as, uint64_t va,
				 uint64_t size, uint32_t attrs)
{
	int err = check_range(as, va, size);

	libos_vm_fast_forget(as);
	if (!err && !(attrs & PGTABLE_READ))
		err = LIBOS_REGION_EKIND;
	if (!err)
		err = check_protect(as, va, size, attrs);
	if (!err)
		err = cut_range(as, va, size);
	if (err)
		return err;
	for (unsigned i = lower_bound(as, va);
	     i < as->nr && as->r[i].end <= va + size && !err; i++) {
		as->r[i].attrs = attrs;
		err = reprotect(as, &as->r[i]);
	}
	return err;
}

/* --- copy-on-write
 * ------------------------------------------------------------ */

static int region_cow_map_locked(struct libos_aspace *as, uint64_t va,
				 uint64_t pa, uint64_t npages)
{
	const struct libos_region *r = libos_region_find_const(as, va);
	uint64_t size = npages * as->page_size;
	struct pgtable_xlate x;
	uint64_t done;
	int err = 0;

	if (!aligned(as, va) || !aligned(as, pa))
		return LIBOS_REGION_EALIGN;
	if (!npages || !r || va + size < va || va + size > r->end)
		return r ? LIBOS_REGION_ERANGE : LIBOS_REGION_ENOENT;
	if (r->kind != LIBOS_REGION_COW)
		return LIBOS_REGION_EKIND;
	for (done = 0; done < size; done += as->page_size)
		if (!pgtable_translate(as->pt, va + done, &x))
			return LIBOS_REGION_EOVERLAP;
	if (!refs_room(as->refs, npages))
		return LIBOS_REGION_ENOMEM;
	/* Page by page: no block or contiguous run a COW fault would have
	 * to split. */
	for (done = 0; done < size; done += as->page_size) {
		err = map_error(pgtable_map(as->pt, va + done, pa + done,
					    as->page_size, shared_attrs(r)));
		if (err)
			break;
	}
	if (err) {
		pgtable_unmap(as->pt, va, done ? done : as->page_size);
		return err;
	}
	for (done = 0; done < size; done += as->page_size)
		libos_pagerefs_inc(as->refs, pa + done);
	return LIBOS_REGION_OK;
}

/* --- clone
 * -------------------------------------------------------------------- */

struct clone_ctx {
	struct libos_aspace *dst;
	const struct libos_region *r;
};

/* One page of src becomes shared read-only by src and dst. */
static int share_page(struct libos_aspace *src, uint64_t va, void *ctx)
{
	struct clone_ctx *c = ctx;
	struct pgtable_xlate x;
	uint32_t attrs = shared_attrs(c->r);
	int err;

	if (pgtable_translate(src->pt, va, &x))
		return 0;
	if (!refs_room(src->refs, 1))
		return LIBOS_REGION_ENOMEM;
	attrs |= x.attrs & PGTABLE_ACCESSED;
	err =
	    map_error(pgtable_map(c->dst->pt, va, x.pa, src->page_size, attrs));
	if (err)
		return err;
	if (x.attrs & PGTABLE_WRITE) {
		err = map_error(
		    pgtable_protect(src->pt, va, src->page_size,
				    (x.attrs & ~(PGTABLE_WRITE | PGTABLE_DBM |
						 PGTABLE_DIRTY))));
		if (err) {
			pgtable_unmap(c->dst->pt, va, src->page_size);
			return err;
		}
	}
	if (!libos_pagerefs_get(src->refs, x.pa))
		libos_pagerefs_inc(src->refs, x.pa);
	libos_pagerefs_inc(src->refs, x.pa);
	return 0;
}

static int aspace_clone_locked(struct libos_aspace *dst,
			       struct libos_aspace *src)
{
	int err = 0;

	if (dst->nr || dst->refs != src->refs ||
	    dst->page_size != src->page_size || dst->pt == src->pt)
		return LIBOS_REGION_EKIND;
	for (unsigned i = 0; i < src->nr && !err; i++) {
		const struct libos_region *r = &src->r[i];
		struct clone_ctx c = {dst, r};

		err = libos_region_insert(dst, r);
		if (err || r->kind == LIBOS_REGION_FIXED ||
		    r->kind == LIBOS_REGION_GUARD)
			continue;
		err = for_each_page(src, r->start, r->end, share_page, &c);
	}
	/* Undo: dst's references go; src's pages stay read-only, and their
	 * next write takes the cheap reuse path. */
	if (err)
		libos_aspace_fini(dst);
	return err;
}

/* --- under libos's lock (libos/lock.h): another vCPU may fault in the
 * space, or change it, at the same time ------------------------------- */

int libos_region_insert(struct libos_aspace *as, const struct libos_region *r)
{
	uint64_t flags = libos_lock_take();
	int rc = region_insert_locked(as, r);

	libos_lock_give(flags);
	return rc;
}

int libos_region_insert_stack(struct libos_aspace *as, uint64_t top,
			      uint64_t initial, uint64_t max, uint32_t attrs,
			      const char *name)
{
	uint64_t flags = libos_lock_take();
	int rc = region_insert_stack_locked(as, top, initial, max, attrs,
					    name);

	libos_lock_give(flags);
	return rc;
}

int libos_region_remove(struct libos_aspace *as, uint64_t start)
{
	uint64_t flags = libos_lock_take();
	int rc = region_remove_locked(as, start);

	libos_lock_give(flags);
	return rc;
}

int libos_region_unmap(struct libos_aspace *as, uint64_t va, uint64_t size)
{
	uint64_t flags = libos_lock_take();
	int rc = region_unmap_locked(as, va, size);

	libos_lock_give(flags);
	return rc;
}

int libos_region_protect(struct libos_aspace *as, uint64_t va, uint64_t size,
			 uint32_t attrs)
{
	uint64_t flags = libos_lock_take();
	int rc = region_protect_locked(as, va, size, attrs);

	libos_lock_give(flags);
	return rc;
}

int libos_region_cow_map(struct libos_aspace *as, uint64_t va, uint64_t pa,
			 uint64_t npages)
{
	uint64_t flags = libos_lock_take();
	int rc = region_cow_map_locked(as, va, pa, npages);

	libos_lock_give(flags);
	return rc;
}

int libos_aspace_clone(struct libos_aspace *dst, struct libos_aspace *src)
{
	uint64_t flags = libos_lock_take();
	int rc = aspace_clone_locked(dst, src);

	libos_lock_give(flags);
	return rc;
}
