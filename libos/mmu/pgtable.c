/*
 * The stage-1 table engine: map, unmap, protect, translate, walk and scan
 * one half of an EL1 address space. Every update is prepared first (checks
 * and a count of the table pages it needs, all taken before anything
 * changes), then committed, which cannot fail. A live descriptor is never
 * replaced by one with another output address, size, contiguous bit, memory
 * type or nG without break-before-make (docs/stage1.md). Never touches
 * hardware except through libos/arch.h.
 */
#include <libos/arch.h>
#include <libos/mmu/pgtable.h>
#include <stddef.h>

/* Descriptor bits pgtable_encode_attrs owns. */
#define ATTR_BITS                                                            \
	(PTE_ATTRINDX_MASK | PTE_SH_MASK | PTE_AP_RW_EL0 | PTE_AP_RO |       \
	 PTE_AF | PTE_NG | PTE_DBM | PTE_PXN | PTE_UXN)
/* Permission-only changes the Arm ARM lets us make on a live entry. */
#define BBM_FREE_BITS (PTE_AP_RO | PTE_PXN | PTE_UXN | PTE_AF | PTE_DBM)
#define ATTRS_KNOWN                                                          \
	(PGTABLE_READ | PGTABLE_WRITE | PGTABLE_EXEC_EL1 | PGTABLE_EXEC_EL0 | \
	 PGTABLE_USER | PGTABLE_GLOBAL | PGTABLE_ACCESSED | PGTABLE_DBM |     \
	 PGTABLE_DIRTY | PGTABLE_MEM_MASK)

/* Longest contiguous run of any granule (16K, level 3). */
#define CONT_MAX 128

/* TLB invalidations queued before a flush. */
#define FLUSH_BATCH 32

enum tlbi_kind { TLBI_LEAF, TLBI_LEAF_GLOBAL, TLBI_TABLE };

struct flush {
	uint64_t va[FLUSH_BATCH];
	unsigned char kind[FLUSH_BATCH];
	unsigned n;
	void *freed[FLUSH_BATCH];   /* table pages to free once flushed */
	unsigned nfreed;
};

enum op_kind { OP_MAP, OP_UNMAP, OP_PROTECT };

struct op {
	enum op_kind kind;
	uint64_t start, end;        /* offsets in the half */
	uint64_t pa;                /* PA at start (map) */
	uint64_t attrs;             /* descriptor attribute bits (map, protect) */
	unsigned need;              /* prepare: table pages to take */
	int err;
	void *reserve;              /* commit: pages taken, linked by word 0 */
	struct flush flush;
};

/* A table during prepare: real, or one that a commit would create. */
struct vtable {
	uint64_t *t;
	uint64_t fill;              /* t == NULL: leaf split into it, or 0 */
};

/* --- attributes ----------------------------------------------------------- */

static bool attrs_valid(uint32_t a)
{
	if (a & ~ATTRS_KNOWN || !(a & PGTABLE_READ))
		return false;
	if (PGTABLE_MEM_OF(a) >= PGTABLE_MEM_TYPES)
		return false;
	if ((a & PGTABLE_EXEC_EL0) && !(a & PGTABLE_USER))
		return false;
	/* EL0-writable memory is never EL1-executable (PXN is implied). */
	if ((a & PGTABLE_USER) && (a & PGTABLE_WRITE) &&
	    (a & PGTABLE_EXEC_EL1))
		return false;
	if ((a & PGTABLE_DBM) && !(a & PGTABLE_WRITE))
		return false;
	return !(a & PGTABLE_DIRTY) || (a & PGTABLE_DBM);
}

int pgtable_encode_attrs(uint32_t a, uint64_t *bits)
{
	uint64_t d = PTE_ATTRINDX(PGTABLE_MEM_OF(a)) | PTE_SH_INNER;
	bool clean = (a & PGTABLE_DBM) && !(a & PGTABLE_DIRTY);

	if (!attrs_valid(a))
		return PGTABLE_EATTR;
	if (a & PGTABLE_USER)
		d |= PTE_AP_RW_EL0;
	/* With DBM, AP[2] set means writable-clean: hardware clears it. */
	if (!(a & PGTABLE_WRITE) || clean)
		d |= PTE_AP_RO;
	if (a & PGTABLE_DBM)
		d |= PTE_DBM;
	if (!(a & PGTABLE_EXEC_EL1))
		d |= PTE_PXN;
	if (!(a & PGTABLE_EXEC_EL0))
		d |= PTE_UXN;
	if (!(a & PGTABLE_GLOBAL))
		d |= PTE_NG;
	if (a & PGTABLE_ACCESSED)
		d |= PTE_AF;
	*bits = d;
	return PGTABLE_OK;
}

uint32_t pgtable_decode_attrs(uint64_t d)
{
	uint32_t a = PGTABLE_READ |
		     PGTABLE_MEM((d & PTE_ATTRINDX_MASK) >> PTE_ATTRINDX_SHIFT);

	if (d & PTE_DBM)
		a |= PGTABLE_DBM | PGTABLE_WRITE |
		     (d & PTE_AP_RO ? 0 : PGTABLE_DIRTY);
	else if (!(d & PTE_AP_RO))
		a |= PGTABLE_WRITE;
	if (d & PTE_AP_RW_EL0)
		a |= PGTABLE_USER;
	if (!(d & PTE_PXN))
		a |= PGTABLE_EXEC_EL1;
	if (!(d & PTE_UXN))
		a |= PGTABLE_EXEC_EL0;
	if (!(d & PTE_NG))
		a |= PGTABLE_GLOBAL;
	if (d & PTE_AF)
		a |= PGTABLE_ACCESSED;
	return a;
}

/* --- geometry, from the table geom keeps ---------------------------------- */

static unsigned lvl_shift(const struct pgtable *pt, int level)
{
	return pt->geom.shift[level];
}

static uint64_t lvl_size(const struct pgtable *pt, int level)
{
	return UINT64_C(1) << pt->geom.shift[level];
}

static unsigned lvl_entries(const struct pgtable *pt, int level)
{
	return pt->geom.index_mask[level] + 1;
}

/* --- descriptors ---------------------------------------------------------- */

static bool desc_valid(uint64_t d)
{
	return d & PTE_VALID;
}

static bool desc_is_table(uint64_t d, int level)
{
	return level < PGTABLE_LAST_LEVEL && (d & PTE_TYPE_MASK) ==
						     (PTE_VALID | PTE_TABLE);
}

static bool desc_is_leaf(uint64_t d, int level)
{
	return desc_valid(d) && !desc_is_table(d, level);
}

static uint64_t leaf_oa(const struct pgtable *pt, uint64_t d, int level)
{
	return d & PTE_OA_MASK(lvl_shift(pt, level));
}

static uint64_t make_leaf(uint64_t pa, uint64_t attrs, int level)
{
	return pa | attrs | PTE_VALID |
	       (level == PGTABLE_LAST_LEVEL ? PTE_PAGE : PTE_BLOCK);
}

static uint64_t *table_of(const struct pgtable *pt, uint64_t d)
{
	uint64_t pa = d & PTE_OA_MASK(pt->geom.page_shift);

	if (pt->mm.linear)
		return (uint64_t *)(uintptr_t)(pa + pt->mm.linear_offset);
	return pt->mm.phys_to_virt(pt->mm.ctx, pa);
}

#define TCOUNT_LO_MASK                                                       \
	(((UINT64_C(1) << PGTABLE_TCOUNT_LO_BITS) - 1)                       \
	 << PGTABLE_TCOUNT_LO_SHIFT)

unsigned pgtable_table_count(uint64_t d)
{
	uint64_t hi = (d & PGTABLE_TCOUNT_MASK & ~TCOUNT_LO_MASK) >>
		      PGTABLE_TCOUNT_HI_SHIFT;

	return (unsigned)((d & TCOUNT_LO_MASK) >> PGTABLE_TCOUNT_LO_SHIFT) |
	       (unsigned)(hi << PGTABLE_TCOUNT_LO_BITS);
}

static uint64_t with_count(uint64_t d, unsigned n)
{
	uint64_t lo = ((uint64_t)n << PGTABLE_TCOUNT_LO_SHIFT) & TCOUNT_LO_MASK;
	uint64_t hi = ((uint64_t)n >> PGTABLE_TCOUNT_LO_BITS)
		      << PGTABLE_TCOUNT_HI_SHIFT;

	return (d & ~PGTABLE_TCOUNT_MASK) | lo | (hi & PGTABLE_TCOUNT_MASK);
}

static uint64_t make_table(const struct pgtable *pt, uint64_t *t,
			   unsigned count)
{
	return with_count(pt->mm.virt_to_phys(pt->mm.ctx, t) | PTE_TABLE |
				  PTE_VALID,
			  count);
}

/*
 * The table *ptep points to now holds n valid entries: only ignored bits
 * of a live descriptor change, which needs no break-before-make.
 */
static void set_count(struct pgtable *pt, uint64_t *ptep, unsigned n)
{
	unsigned old = pgtable_table_count(*ptep);

	if (!old && n)
		pt->empty_tables--;
	else if (old && !n)
		pt->empty_tables++;
	libos_arch_write_pte(ptep, with_count(*ptep, n));
}

/* Entry idx of the table a level-(level - 1) leaf d splits into. */
static uint64_t split_child(const struct pgtable *pt, uint64_t d, int level,
			    unsigned idx)
{
	uint64_t attrs = d & ATTR_BITS;
	uint64_t oa = leaf_oa(pt, d, level - 1) +
		      (uint64_t)idx * lvl_size(pt, level);

	return make_leaf(oa, attrs, level);
}

static unsigned index_of(const struct pgtable *pt, int level, uint64_t off)
{
	return (unsigned)(off >> pt->geom.shift[level]) &
	       pt->geom.index_mask[level];
}

static uint64_t entry_end(const struct pgtable *pt, int level, uint64_t off,
			  uint64_t end)
{
	uint64_t size = lvl_size(pt, level);
	uint64_t next = (off & ~(size - 1)) + size;

	return next < end ? next : end;
}

static bool covers_entry(const struct pgtable *pt, int level, uint64_t off,
			 uint64_t next)
{
	uint64_t size = lvl_size(pt, level);

	return !(off & (size - 1)) && next - off == size;
}

static uint64_t run_size(const struct pgtable *pt, int level)
{
	return (uint64_t)pgtable_cont_entries(&pt->geom, level)
	       << lvl_shift(pt, level);
}

/* Is the whole contiguous run holding off inside the operation? */
static bool op_covers_run(const struct pgtable *pt, const struct op *op,
			  int level, uint64_t off)
{
	uint64_t rs = run_size(pt, level);
	uint64_t first = off & ~(rs - 1);

	return rs && first >= op->start && first + rs <= op->end;
}

static uint64_t op_pa(const struct op *op, uint64_t off)
{
	return op->pa + (off - op->start);
}

/* Can map place a leaf for [off, next) at this level? */
static bool map_leaf_fits(const struct pgtable *pt, const struct op *op,
			  int level, uint64_t off, uint64_t next)
{
	uint64_t size = lvl_size(pt, level);

	return covers_entry(pt, level, off, next) &&
	       pgtable_leaf_allowed(&pt->geom, level) &&
	       !(op_pa(op, off) & (size - 1));
}

/* --- prepare: checks and table-page count, no writes --------------------- */

static void prep_table(const struct pgtable *pt, struct op *op, int level,
		       struct vtable vt, uint64_t off, uint64_t end);

static uint64_t vt_get(const struct pgtable *pt, struct vtable vt, int level,
		       unsigned idx)
{
	if (vt.t)
		return vt.t[idx];
	return vt.fill ? split_child(pt, vt.fill, level, idx) : 0;
}

static void prep_entry(const struct pgtable *pt, struct op *op, int level,
		       uint64_t d, uint64_t off, uint64_t next)
{
	struct vtable child = { NULL, 0 };

	if (desc_is_table(d, level)) {
		child.t = table_of(pt, d);
	} else if (!desc_valid(d)) {
		if (op->kind == OP_UNMAP)
			return;
		if (op->kind == OP_PROTECT) {
			op->err = PGTABLE_ENOENT;
			return;
		}
		if (map_leaf_fits(pt, op, level, off, next))
			return;
		op->need++;
	} else {
		if (op->kind == OP_MAP) {
			op->err = PGTABLE_EOVERLAP;
			return;
		}
		if (covers_entry(pt, level, off, next))
			return;
		child.fill = d;        /* a partly covered leaf is split */
		op->need++;
	}
	prep_table(pt, op, level + 1, child, off, next);
}

static void prep_table(const struct pgtable *pt, struct op *op, int level,
		       struct vtable vt, uint64_t off, uint64_t end)
{
	while (off < end && !op->err) {
		uint64_t next = entry_end(pt, level, off, end);
		uint64_t d = vt_get(pt, vt, level, index_of(pt, level, off));

		prep_entry(pt, op, level, d, off, next);
		off = next;
	}
}

/* --- table pages ---------------------------------------------------------- */

static void zero_page(const struct pgtable *pt, uint64_t *t)
{
	size_t n = (size_t)1 << pt->geom.index_bits;

	for (size_t i = 0; i < n; i++)
		t[i] = 0;
}

static void release_reserve(struct pgtable *pt, struct op *op)
{
	while (op->reserve) {
		void *page = op->reserve;

		op->reserve = *(void **)page;
		pt->mm.free(pt->mm.ctx, page);
	}
}

/* Takes every page the commit will need, or none. */
static int take_reserve(struct pgtable *pt, struct op *op)
{
	for (unsigned i = 0; i < op->need; i++) {
		void *page = pt->mm.alloc(pt->mm.ctx);

		if (!page) {
			release_reserve(pt, op);
			return PGTABLE_ENOMEM;
		}
		*(void **)page = op->reserve;
		op->reserve = page;
	}
	return PGTABLE_OK;
}

static uint64_t *new_table(struct pgtable *pt, struct op *op)
{
	uint64_t *t = op->reserve;

	/* prepare counted exactly: running dry here is a bug, not an error */
	op->reserve = *(void **)t;
	zero_page(pt, t);
	pt->tables++;
	return t;
}

/* --- TLB maintenance ------------------------------------------------------ */

static uint64_t va_of(const struct pgtable *pt, uint64_t off)
{
	return pt->va_base + off;
}

static void tlbi_one(const struct pgtable *pt, uint64_t va,
		     enum tlbi_kind kind)
{
	uint64_t op = libos_tlbi_operand(va, pt->asid);

	switch (kind) {
	case TLBI_LEAF:
		libos_arch_tlbi_vale1is(op);
		break;
	case TLBI_LEAF_GLOBAL:
		libos_arch_tlbi_vaale1is(op);
		break;
	case TLBI_TABLE:
		/* Walk caches of the shared upper half hold every ASID. */
		if (pt->half == PGTABLE_TTBR1)
			libos_arch_tlbi_vaae1is(op);
		else
			libos_arch_tlbi_vae1is(op);
		break;
	}
}

/* Completes every queued invalidation, then frees the queued pages. */
static void flush_run(struct pgtable *pt, struct flush *f)
{
	if (!f->n && !f->nfreed)
		return;
	libos_arch_dsb_ishst();
	for (unsigned i = 0; i < f->n; i++)
		tlbi_one(pt, f->va[i], (enum tlbi_kind)f->kind[i]);
	libos_arch_dsb_ish();
	for (unsigned i = 0; i < f->nfreed; i++)
		pt->mm.free(pt->mm.ctx, f->freed[i]);
	f->n = 0;
	f->nfreed = 0;
}

static void flush_queue(struct pgtable *pt, struct flush *f, uint64_t off,
			enum tlbi_kind kind)
{
	if (f->n == FLUSH_BATCH)
		flush_run(pt, f);
	f->va[f->n] = va_of(pt, off);
	f->kind[f->n++] = (unsigned char)kind;
}

static enum tlbi_kind leaf_tlbi(uint64_t d)
{
	return d & PTE_NG ? TLBI_LEAF : TLBI_LEAF_GLOBAL;
}

/* The "break" of break-before-make: invalid now, TLBI queued. */
static void entry_break(struct pgtable *pt, struct op *op, uint64_t *ptep,
			int level, uint64_t off, bool live)
{
	uint64_t d = *ptep;

	libos_arch_write_pte(ptep, 0);
	if (live && desc_valid(d))
		flush_queue(pt, &op->flush, off,
			    desc_is_table(d, level) ? TLBI_TABLE :
						      leaf_tlbi(d));
}

/* --- commit: cannot fail -------------------------------------------------- */

static int commit_table(struct pgtable *pt, struct op *op, int level,
			uint64_t *t, uint64_t off, uint64_t end, bool live);

/* Installs a table built off-line (not yet reachable), holding count valid
 * entries, in place of *ptep. */
static void install_table(struct pgtable *pt, struct op *op, uint64_t *ptep,
			  int level, uint64_t off, uint64_t *t, unsigned count,
			  bool live)
{
	if (live) {
		entry_break(pt, op, ptep, level, off, live);
		/* Orders the new table's contents before it is reachable. */
		flush_run(pt, &op->flush);
		libos_arch_dsb_ishst();
	}
	libos_arch_write_pte(ptep, make_table(pt, t, count));
}

static void commit_split(struct pgtable *pt, struct op *op, uint64_t *ptep,
			 int level, uint64_t off, uint64_t next, bool live)
{
	uint64_t *t = new_table(pt, op);
	uint64_t d = *ptep;
	unsigned n = lvl_entries(pt, level + 1);
	uint64_t base = off & ~(lvl_size(pt, level) - 1);

	int delta;

	for (unsigned i = 0; i < n; i++)
		t[i] = split_child(pt, d, level + 1, i);
	delta = commit_table(pt, op, level + 1, t, off, next, false);
	install_table(pt, op, ptep, level, base, t, (unsigned)((int)n + delta),
		      live);
}

static void commit_new_table(struct pgtable *pt, struct op *op,
			     uint64_t *ptep, int level, uint64_t off,
			     uint64_t next, bool live)
{
	uint64_t *t = new_table(pt, op);
	int count = commit_table(pt, op, level + 1, t, off, next, false);

	install_table(pt, op, ptep, level, off, t, (unsigned)count, live);
}

/* No hot table (pgtable_hot_covers: the index no offset matches). */
static void forget_hot(struct pgtable *pt)
{
	pt->hot_parent = NULL;
	pt->hot_index = PGTABLE_HOT_NONE;
}

/* Unlinks an emptied table; the page is freed once the TLBs forget it. */
static void free_table(struct pgtable *pt, struct op *op, uint64_t *ptep,
		       int level, uint64_t off, bool live)
{
	uint64_t *t = table_of(pt, *ptep);

	if (!pgtable_table_count(*ptep))
		pt->empty_tables--;
	forget_hot(pt);
	entry_break(pt, op, ptep, level, off, live);
	if (op->flush.nfreed == FLUSH_BATCH)
		flush_run(pt, &op->flush);
	op->flush.freed[op->flush.nfreed++] = t;
	pt->tables--;
}

/*
 * A contiguous run the operation does not cover whole loses its hint
 * everywhere before any entry changes: invalid, flush, rewritten plain.
 */
static void break_run(struct pgtable *pt, struct op *op, uint64_t *t,
		      int level, uint64_t off, bool live)
{
	unsigned n = pgtable_cont_entries(&pt->geom, level);
	uint64_t size = lvl_size(pt, level);
	uint64_t first_off = off & ~(run_size(pt, level) - 1);
	unsigned first = index_of(pt, level, first_off);
	uint64_t old[CONT_MAX];

	for (unsigned i = 0; i < n; i++) {
		old[i] = t[first + i];
		entry_break(pt, op, &t[first + i], level, first_off + i * size,
			    live);
	}
	if (live)
		flush_run(pt, &op->flush);
	for (unsigned i = 0; i < n; i++)
		if (desc_valid(old[i]))
			libos_arch_write_pte(&t[first + i], old[i] & ~PTE_CONT);
}

static uint64_t protected_desc(const struct pgtable *pt, const struct op *op,
			       uint64_t d, int level, uint64_t off)
{
	uint64_t nd = (d & ~ATTR_BITS & ~PTE_CONT) | op->attrs;

	if ((d & PTE_CONT) && op_covers_run(pt, op, level, off))
		nd |= PTE_CONT;
	return nd;
}

static bool needs_bbm(uint64_t old, uint64_t new)
{
	return (old & PTE_CONT) || ((old ^ new) & ~BBM_FREE_BITS);
}

static void commit_protect(struct pgtable *pt, struct op *op, uint64_t *ptep,
			   int level, uint64_t off, bool live)
{
	uint64_t d = *ptep;
	uint64_t nd = protected_desc(pt, op, d, level, off);

	if (nd == d)
		return;
	if (!live) {
		libos_arch_write_pte(ptep, nd);
		return;
	}
	if (needs_bbm(d, nd)) {
		entry_break(pt, op, ptep, level, off, live);
		flush_run(pt, &op->flush);
		libos_arch_write_pte(ptep, nd);
		return;
	}
	/* Permission-only: rewrite in place, then forget the old one. */
	libos_arch_write_pte(ptep, nd);
	flush_queue(pt, &op->flush, off, leaf_tlbi(d));
}

/*
 * A whole contiguous run changing attributes: every entry goes invalid and
 * is flushed before the first new one appears, so the run is never mixed.
 */
static void protect_run(struct pgtable *pt, struct op *op, uint64_t *t,
			int level, uint64_t off, bool live)
{
	unsigned n = pgtable_cont_entries(&pt->geom, level);
	uint64_t size = lvl_size(pt, level);
	uint64_t first_off = off & ~(run_size(pt, level) - 1);
	unsigned first = index_of(pt, level, first_off);
	uint64_t nd[CONT_MAX];

	for (unsigned i = 0; i < n; i++) {
		nd[i] = protected_desc(pt, op, t[first + i], level, off);
		entry_break(pt, op, &t[first + i], level, first_off + i * size,
			    live);
	}
	if (live)
		flush_run(pt, &op->flush);
	for (unsigned i = 0; i < n; i++)
		libos_arch_write_pte(&t[first + i], nd[i]);
}

static void commit_map_leaf(struct pgtable *pt, struct op *op, uint64_t *ptep,
			    int level, uint64_t off)
{
	uint64_t d = make_leaf(op_pa(op, off), op->attrs, level);
	uint64_t rs = run_size(pt, level);
	uint64_t first = off & ~(rs - 1);

	/* The hint needs the whole run in this call, PA aligned alike. */
	if (op_covers_run(pt, op, level, off) && !(op_pa(op, first) & (rs - 1)))
		d |= PTE_CONT;
	libos_arch_write_pte(ptep, d);
}

/* The change in t's valid entries: -1 for a leaf unmapped, else 0. */
static int commit_leaf(struct pgtable *pt, struct op *op, uint64_t *ptep,
		       int level, uint64_t off, uint64_t next, bool live)
{
	if (!covers_entry(pt, level, off, next)) {
		commit_split(pt, op, ptep, level, off, next, live);
		return 0;
	}
	if (op->kind == OP_UNMAP) {
		entry_break(pt, op, ptep, level, off, live);
		return -1;
	}
	commit_protect(pt, op, ptep, level, off, live);
	return 0;
}

/* A table below *ptep changed by delta entries: its count follows; an
 * unmap that empties it frees it when enough empty tables are kept.
 * Returns the change in the entries of *ptep's own table. */
static int commit_count(struct pgtable *pt, struct op *op, uint64_t *ptep,
			int level, uint64_t off, int delta, bool live)
{
	if (delta)
		set_count(pt, ptep,
			  (unsigned)((int)pgtable_table_count(*ptep) + delta));
	if (op->kind != OP_UNMAP || pgtable_table_count(*ptep) ||
	    pt->empty_tables <= pt->keep_empty)
		return 0;
	free_table(pt, op, ptep, level, off, live);
	return -1;
}

/* The change in the valid entries of t. */
static int commit_entry(struct pgtable *pt, struct op *op, uint64_t *t,
			int level, uint64_t off, uint64_t next, bool live)
{
	uint64_t *ptep = &t[index_of(pt, level, off)];
	uint64_t d = *ptep;

	if (desc_is_table(d, level)) {
		int delta = commit_table(pt, op, level + 1, table_of(pt, d),
					 off, next, live);

		return commit_count(pt, op, ptep, level, off, delta, live);
	}
	if (!desc_valid(d)) {
		if (op->kind != OP_MAP)
			return 0;
		if (map_leaf_fits(pt, op, level, off, next))
			commit_map_leaf(pt, op, ptep, level, off);
		else
			commit_new_table(pt, op, ptep, level, off, next, live);
		return 1;
	}
	if ((d & PTE_CONT) && !op_covers_run(pt, op, level, off))
		break_run(pt, op, t, level, off, live);
	return commit_leaf(pt, op, ptep, level, off, next, live);
}

static int commit_table(struct pgtable *pt, struct op *op, int level,
			uint64_t *t, uint64_t off, uint64_t end, bool live)
{
	int delta = 0;

	while (off < end) {
		uint64_t next = entry_end(pt, level, off, end);
		uint64_t d = t[index_of(pt, level, off)];

		/* A covered run changing attributes moves as one. */
		if (op->kind == OP_PROTECT && desc_is_leaf(d, level) &&
		    (d & PTE_CONT) && op_covers_run(pt, op, level, off)) {
			uint64_t rs = run_size(pt, level);

			protect_run(pt, op, t, level, off, live);
			off = (off & ~(rs - 1)) + rs;
			continue;
		}
		delta += commit_entry(pt, op, t, level, off, next, live);
		off = next;
	}
	return delta;
}

/* --- operations ----------------------------------------------------------- */

static uint64_t half_span(const struct pgtable *pt)
{
	return UINT64_C(1) << pt->geom.va_bits;
}

static int check_va_range(const struct pgtable *pt, uint64_t va,
			  uint64_t size)
{
	uint64_t gmask = (UINT64_C(1) << pt->geom.page_shift) - 1;
	uint64_t off = va - pt->va_base;

	if (va & gmask)
		return PGTABLE_EVA_ALIGN;
	if (!size || (size & gmask))
		return PGTABLE_ESIZE;
	if (off >= half_span(pt) || size > half_span(pt) - off)
		return PGTABLE_ERANGE;
	return PGTABLE_OK;
}

/* New entries visible to this CPU's walks before an operation returns. */
static void op_done(void)
{
	libos_arch_dsb_ishst();
	libos_arch_isb();
}

static int run_op(struct pgtable *pt, struct op *op)
{
	struct vtable root = { pt->root, 0 };
	int level = pt->geom.start_level;

	prep_table(pt, op, level, root, op->start, op->end);
	if (op->err)
		return op->err;
	if (take_reserve(pt, op))
		return PGTABLE_ENOMEM;
	op->flush.n = op->flush.nfreed = 0;
	commit_table(pt, op, level, pt->root, op->start, op->end, true);
	flush_run(pt, &op->flush);
	release_reserve(pt, op);
	op_done();
	return PGTABLE_OK;
}

/*
 * The fast paths: one granule page, one walk, no prepare. The level-3
 * table's descriptor is the only count to change; the tables a map lacks
 * are all taken before anything changes.
 */
#define SLOW_PATH 1

/* The level-3 entry for off when the last walk's table covers it, else
 * NULL; *parent: the descriptor linking that table. */
static uint64_t *hot_entry(const struct pgtable *pt, uint64_t off,
			   uint64_t **parent)
{
	if (off >> pt->geom.shift[2] != pt->hot_index)
		return NULL;
	*parent = pt->hot_parent;
	return &pt->hot_table[index_of(pt, PGTABLE_LAST_LEVEL, off)];
}

static void remember(struct pgtable *pt, uint64_t off, uint64_t *table,
		     uint64_t *parent)
{
	pt->hot_table = table;
	pt->hot_parent = parent;
	pt->hot_index = off >> pt->geom.shift[2];
}

/* Tables for levels level+1..3 under the invalid *ptep, built off-line
 * around the new leaf, then linked with one store. */
static int map_page_new(struct pgtable *pt, uint64_t *parent, uint64_t *ptep,
			int level, uint64_t off, uint64_t leaf)
{
	uint64_t *t[PGTABLE_LEVELS_MAX];
	unsigned n = (unsigned)(PGTABLE_LAST_LEVEL - level);

	for (unsigned i = 0; i < n; i++) {
		t[i] = pt->mm.alloc(pt->mm.ctx);
		if (!t[i]) {
			while (i--)
				pt->mm.free(pt->mm.ctx, t[i]);
			return PGTABLE_ENOMEM;
		}
		zero_page(pt, t[i]);
	}
	pt->tables += n;
	libos_arch_write_pte(&t[n - 1][index_of(pt, PGTABLE_LAST_LEVEL, off)],
			     leaf);
	for (unsigned i = n - 1; i > 0; i--)
		libos_arch_write_pte(&t[i - 1][index_of(pt, level + (int)i,
							  off)],
				     make_table(pt, t[i], 1));
	/* Orders the new tables' contents before they are reachable. */
	libos_arch_dsb_ishst();
	libos_arch_write_pte(ptep, make_table(pt, t[0], 1));
	if (parent)
		set_count(pt, parent, pgtable_table_count(*parent) + 1);
	/* The new level-3 table serves the next page there (a fault's
	 * neighbour) without a walk. */
	remember(pt, off, t[n - 1],
		 n == 1 ? ptep
			: &t[n - 2][index_of(pt, PGTABLE_LAST_LEVEL - 1, off)]);
	return PGTABLE_OK;
}

static int map_page(struct pgtable *pt, uint64_t off, uint64_t pa,
		    uint64_t attrs)
{
	uint64_t leaf = make_leaf(pa, attrs, PGTABLE_LAST_LEVEL);
	uint64_t *parent = NULL, *t = pt->root, *ptep = hot_entry(pt, off,
								 &parent);

	if (ptep)
		goto leaf;
	for (int level = pt->geom.start_level; level < PGTABLE_LAST_LEVEL;
	     level++) {
		ptep = &t[index_of(pt, level, off)];
		if (!desc_is_table(*ptep, level))
			return desc_valid(*ptep) ?
				       PGTABLE_EOVERLAP :
				       map_page_new(pt, parent, ptep, level,
						    off, leaf);
		parent = ptep;
		t = table_of(pt, *ptep);
	}
	remember(pt, off, t, parent);
	ptep = &t[index_of(pt, PGTABLE_LAST_LEVEL, off)];
leaf:
	if (desc_valid(*ptep))
		return PGTABLE_EOVERLAP;
	libos_arch_write_pte(ptep, leaf);
	set_count(pt, parent, pgtable_table_count(*parent) + 1);
	return PGTABLE_OK;
}

static uint64_t page_size(const struct pgtable *pt);
static int encode_cached(struct pgtable *pt, uint32_t attrs, uint64_t *bits);

/* Break-before-make of one level-3 page leaf in place: invalid, the TLBs
 * forget it, then the new leaf (the table's count does not change). */
static void replace_leaf(struct pgtable *pt, uint64_t *ptep, uint64_t off,
			 uint64_t leaf)
{
	uint64_t d = *ptep;

	libos_arch_write_pte(ptep, 0);
	libos_arch_dsb_ishst();
	tlbi_one(pt, va_of(pt, off), leaf_tlbi(d));
	libos_arch_dsb_ish();
	libos_arch_write_pte(ptep, leaf);
}

void pgtable_hot_replace(struct pgtable *pt, uint64_t *ptep, uint64_t va,
			 uint64_t pa)
{
	replace_leaf(pt, ptep, va - pt->va_base,
		     make_leaf(pa, pt->last_bits, PGTABLE_LAST_LEVEL));
	libos_arch_dsb_ishst();	/* the exception return synchronises */
}

/* The level-3 entry of off, walked (the table remembered) or hot; NULL
 * when a level above holds no table. */
static uint64_t *leaf_slot(struct pgtable *pt, uint64_t off)
{
	uint64_t *parent = NULL, *t = pt->root, *ptep = hot_entry(pt, off,
								 &parent);

	if (ptep)
		return ptep;
	for (int level = pt->geom.start_level; level < PGTABLE_LAST_LEVEL;
	     level++) {
		ptep = &t[index_of(pt, level, off)];
		if (!desc_is_table(*ptep, level))
			return NULL;
		parent = ptep;
		t = table_of(pt, *ptep);
	}
	remember(pt, off, t, parent);
	return &t[index_of(pt, PGTABLE_LAST_LEVEL, off)];
}

int pgtable_replace_page(struct pgtable *pt, uint64_t va, uint64_t pa,
			 uint32_t attrs)
{
	uint64_t gmask = page_size(pt) - 1, bits, *ptep;
	int rc = check_va_range(pt, va, page_size(pt));

	if (rc)
		return rc;
	if (pa & gmask)
		return PGTABLE_EPA_ALIGN;
	if (pa >= UINT64_C(1) << PTE_OA_BITS)
		return PGTABLE_EPA_RANGE;
	rc = encode_cached(pt, attrs, &bits);
	if (rc)
		return rc;
	ptep = leaf_slot(pt, va - pt->va_base);
	if (!ptep || !desc_valid(*ptep) || (*ptep & PTE_CONT))
		return PGTABLE_ENOENT;
	replace_leaf(pt, ptep, va - pt->va_base,
		     make_leaf(pa, bits, PGTABLE_LAST_LEVEL));
	op_done();
	return PGTABLE_OK;
}

/* SLOW_PATH (nothing changed) for a block to split, a contiguous run to
 * break, or a table to free. */
static int unmap_page(struct pgtable *pt, uint64_t off)
{
	uint64_t *parent = NULL, *t = pt->root, *ptep, d;

	ptep = hot_entry(pt, off, &parent);
	if (ptep)
		goto leaf;
	for (int level = pt->geom.start_level; level < PGTABLE_LAST_LEVEL;
	     level++) {
		ptep = &t[index_of(pt, level, off)];
		if (!desc_valid(*ptep))
			return PGTABLE_OK;
		if (!desc_is_table(*ptep, level))
			return SLOW_PATH;
		parent = ptep;
		t = table_of(pt, *ptep);
	}
	remember(pt, off, t, parent);
	ptep = &t[index_of(pt, PGTABLE_LAST_LEVEL, off)];
leaf:
	d = *ptep;
	if (!desc_valid(d))
		return PGTABLE_OK;
	if ((d & PTE_CONT) || (pgtable_table_count(*parent) == 1 &&
			       pt->empty_tables >= pt->keep_empty))
		return SLOW_PATH;
	libos_arch_write_pte(ptep, 0);
	set_count(pt, parent, pgtable_table_count(*parent) - 1);
	libos_arch_dsb_ishst();
	tlbi_one(pt, va_of(pt, off), leaf_tlbi(d));
	libos_arch_dsb_ish();
	return PGTABLE_OK;
}

static uint64_t page_size(const struct pgtable *pt)
{
	return UINT64_C(1) << pt->geom.page_shift;
}

static void op_init(const struct pgtable *pt, struct op *op,
		    enum op_kind kind, uint64_t va, uint64_t size)
{
	op->kind = kind;
	op->start = va - pt->va_base;
	op->end = op->start + size;
	op->pa = 0;
	op->attrs = 0;
	op->need = 0;
	op->err = PGTABLE_OK;
	op->reserve = NULL;
}

/* pgtable_encode_attrs, remembering the last answer (maps of one kind of
 * memory in a row, as faults make, encode once). */
static int encode_cached(struct pgtable *pt, uint32_t attrs, uint64_t *bits)
{
	int rc;

	if (pt->last_bits && attrs == pt->last_attrs) {
		*bits = pt->last_bits;
		return PGTABLE_OK;
	}
	rc = pgtable_encode_attrs(attrs, bits);
	if (!rc) {
		pt->last_attrs = attrs;
		pt->last_bits = *bits;
	}
	return rc;
}

/* The general paths keep their operation (and its TLBI queue) on their
 * own stack frame, out of the single-page paths. */
static __attribute__((noinline)) int map_range(struct pgtable *pt,
					       uint64_t va, uint64_t pa,
					       uint64_t size, uint64_t bits)
{
	struct op op;

	op_init(pt, &op, OP_MAP, va, size);
	op.pa = pa;
	op.attrs = bits;
	return run_op(pt, &op);
}

static __attribute__((noinline)) int unmap_range(struct pgtable *pt,
						 uint64_t va, uint64_t size)
{
	struct op op;

	op_init(pt, &op, OP_UNMAP, va, size);
	return run_op(pt, &op);
}

int pgtable_map(struct pgtable *pt, uint64_t va, uint64_t pa, uint64_t size,
		uint32_t attrs)
{
	uint64_t gmask = (UINT64_C(1) << pt->geom.page_shift) - 1;
	uint64_t pa_limit = UINT64_C(1) << PTE_OA_BITS;
	uint64_t bits;
	int rc = check_va_range(pt, va, size);

	if (rc)
		return rc;
	if (pa & gmask)
		return PGTABLE_EPA_ALIGN;
	if (pa >= pa_limit || size > pa_limit - pa)
		return PGTABLE_EPA_RANGE;
	rc = encode_cached(pt, attrs, &bits);
	if (rc || size != page_size(pt))
		return rc ? rc : map_range(pt, va, pa, size, bits);
	rc = map_page(pt, va - pt->va_base, pa, bits);
	if (!rc)
		op_done();
	return rc;
}

int pgtable_unmap(struct pgtable *pt, uint64_t va, uint64_t size)
{
	int rc = check_va_range(pt, va, size);

	if (rc)
		return rc;
	if (size == page_size(pt)) {
		rc = unmap_page(pt, va - pt->va_base);
		if (rc != SLOW_PATH) {
			op_done();
			return rc;
		}
	}
	return unmap_range(pt, va, size);
}

int pgtable_protect(struct pgtable *pt, uint64_t va, uint64_t size,
		    uint32_t attrs)
{
	struct op op;
	int rc = check_va_range(pt, va, size);

	if (rc)
		return rc;
	op_init(pt, &op, OP_PROTECT, va, size);
	rc = pgtable_encode_attrs(attrs, &op.attrs);
	return rc ? rc : run_op(pt, &op);
}

/* --- set-up --------------------------------------------------------------- */

int pgtable_init(struct pgtable *pt, const struct pgtable_config *cfg,
		 const struct pgtable_mm_ops *mm)
{
	int rc = pgtable_geom_init(&pt->geom, cfg->granule, cfg->va_bits);

	if (rc)
		return rc;
	if (cfg->half != PGTABLE_TTBR0 && cfg->half != PGTABLE_TTBR1)
		return PGTABLE_ECONFIG;
	pt->mm = *mm;
	pt->half = cfg->half;
	pt->asid = cfg->asid;
	pt->va_base = cfg->half == PGTABLE_TTBR1 ? ~(half_span(pt) - 1) : 0;
	pt->root = mm->alloc(mm->ctx);
	if (!pt->root)
		return PGTABLE_ENOMEM;
	zero_page(pt, pt->root);
	pt->root_pa = mm->virt_to_phys(mm->ctx, pt->root);
	pt->tables = 1;
	pt->empty_tables = 0;
	pt->keep_empty = PGTABLE_KEEP_EMPTY_DEFAULT;
	pt->last_attrs = 0;
	pt->last_bits = 0;
	forget_hot(pt);
	return PGTABLE_OK;
}

void pgtable_set_mm(struct pgtable *pt, const struct pgtable_mm_ops *mm)
{
	pt->mm = *mm;
	pt->root = table_of(pt, pt->root_pa);
	forget_hot(pt);
}

static void free_tree(struct pgtable *pt, uint64_t *t, int level)
{
	unsigned n = lvl_entries(pt, level);

	for (unsigned i = 0; i < n; i++)
		if (desc_is_table(t[i], level))
			free_tree(pt, table_of(pt, t[i]), level + 1);
	pt->mm.free(pt->mm.ctx, t);
	pt->tables--;
}

void pgtable_destroy(struct pgtable *pt)
{
	forget_hot(pt);
	free_tree(pt, pt->root, pt->geom.start_level);
	pt->root = NULL;
	pt->empty_tables = 0;
	if (pt->half == PGTABLE_TTBR0) {
		libos_arch_dsb_ishst();
		libos_arch_tlbi_aside1is(libos_tlbi_operand(0, pt->asid));
		libos_arch_dsb_ish();
	}
}

/* Frees the empty tables below t (whose entries map from off); the change
 * in t's valid entries. */
static int trim_table(struct pgtable *pt, struct op *op, uint64_t *t,
		      int level, uint64_t off)
{
	unsigned n = lvl_entries(pt, level);
	uint64_t size = lvl_size(pt, level);
	int delta = 0;

	if (level == PGTABLE_LAST_LEVEL)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t *ptep = &t[i], at = off + i * size;
		int below;

		if (!desc_is_table(*ptep, level))
			continue;
		below = trim_table(pt, op, table_of(pt, *ptep), level + 1, at);
		if (below)
			set_count(pt, ptep, (unsigned)((int)pgtable_table_count(
							       *ptep) + below));
		if (!pgtable_table_count(*ptep)) {
			free_table(pt, op, ptep, level, at, true);
			delta--;
		}
	}
	return delta;
}

unsigned pgtable_trim(struct pgtable *pt)
{
	struct op op;
	unsigned before = pt->tables;

	if (!pt->empty_tables)
		return 0;
	op.flush.n = op.flush.nfreed = 0;
	trim_table(pt, &op, pt->root, pt->geom.start_level, 0);
	flush_run(pt, &op.flush);
	op_done();
	return before - pt->tables;
}

void pgtable_set_keep_empty(struct pgtable *pt, unsigned keep)
{
	pt->keep_empty = keep;
	if (pt->empty_tables > keep)
		pgtable_trim(pt);
}

uint64_t pgtable_ttbr(const struct pgtable *pt)
{
	return pt->root_pa | ((uint64_t)pt->asid << LIBOS_TLBI_ASID_SHIFT);
}

/* --- lookups -------------------------------------------------------------- */

int pgtable_walk(const struct pgtable *pt, uint64_t va, pgtable_walk_fn fn,
		 void *ctx)
{
	uint64_t off = va - pt->va_base;
	const uint64_t *t = pt->root;

	if (off >= half_span(pt))
		return PGTABLE_ERANGE;
	for (int level = pt->geom.start_level;; level++) {
		unsigned idx = index_of(pt, level, off);
		uint64_t d = t[idx];

		if (fn)
			fn(ctx, level, idx, d);
		if (!desc_valid(d))
			return PGTABLE_ENOENT;
		if (!desc_is_table(d, level))
			return level;
		t = table_of(pt, d);
	}
}

struct last_entry {
	int level;
	uint64_t desc;
};

static void keep_last(void *ctx, int level, unsigned index, uint64_t desc)
{
	struct last_entry *l = ctx;

	(void)index;
	l->level = level;
	l->desc = desc;
}

int pgtable_translate(const struct pgtable *pt, uint64_t va,
		      struct pgtable_xlate *out)
{
	struct last_entry l;
	uint64_t *parent, *hot = hot_entry(pt, va - pt->va_base, &parent);
	int rc = hot ? PGTABLE_LAST_LEVEL : pgtable_walk(pt, va, keep_last, &l);
	uint64_t size;

	if (hot) {
		l.level = PGTABLE_LAST_LEVEL;
		l.desc = *hot;
		if (!desc_valid(l.desc))
			return PGTABLE_ENOENT;
	}
	if (rc < 0)
		return rc;
	size = lvl_size(pt, l.level);
	out->level = l.level;
	out->desc = l.desc;
	out->leaf_size = size;
	out->pa = leaf_oa(pt, l.desc, l.level) | (va & (size - 1));
	out->attrs = pgtable_decode_attrs(l.desc);
	out->cont = l.desc & PTE_CONT;
	return PGTABLE_OK;
}

static void scan_table(const struct pgtable *pt, const uint64_t *t,
		       int level, uint64_t off, uint64_t end,
		       pgtable_scan_fn fn, void *ctx)
{
	while (off < end) {
		uint64_t next = entry_end(pt, level, off, end);
		uint64_t d = t[index_of(pt, level, off)];

		if (desc_is_table(d, level))
			scan_table(pt, table_of(pt, d), level + 1, off, next,
				   fn, ctx);
		else
			fn(ctx, va_of(pt, off), next - off,
			   desc_valid(d) ? d : 0, level);
		off = next;
	}
}

int pgtable_scan(const struct pgtable *pt, uint64_t va, uint64_t size,
		 pgtable_scan_fn fn, void *ctx)
{
	int rc = check_va_range(pt, va, size);

	if (rc)
		return rc;
	scan_table(pt, pt->root, pt->geom.start_level, va - pt->va_base,
		   va - pt->va_base + size, fn, ctx);
	return PGTABLE_OK;
}
