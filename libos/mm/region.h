/*
 * Address spaces and their regions: per address space a sorted set of
 * virtual ranges, each of one kind (anonymous demand-zero, copy-on-write,
 * stack with a guard page and a growth limit, guard, fixed), and the fault
 * handlers that give them pages on demand. Shared frames (copy-on-write)
 * carry a reference count kept here, in a table shared by every address
 * space that may share frames.
 *
 * Owns: the region sets, the page reference counts, the decision what a
 * stage-1 fault in a region means, and carrying it out (pages from the
 * address space's page source, mappings through libos/mmu). Never: chooses
 * where regions go (callers do), touches a TTBR (whoever switches address
 * spaces does: libos/task), or locks (one CPU per address space; callers
 * serialise).
 *
 * Portable: the decision (libos_vm_decide) is a pure function of the
 * region, the fault and what the tables hold; the host tests drive it and
 * the handler over a host-built table and a fake page source.
 */
#ifndef EXO_LIBOS_MM_REGION_H
#define EXO_LIBOS_MM_REGION_H

#include <libos/mmu/pgtable.h>
#include <stdbool.h>
#include <stdint.h>

struct pool; /* libos/pool/pool.h */

struct libos_fault;

/* --- regions -------------------------------------------------------------- */

enum libos_region_kind {
	LIBOS_REGION_ANON,  /* demand-zero: a zeroed page on first touch */
	LIBOS_REGION_COW,   /* pages start shared read-only; a write copies
			     * (or reuses the last reference); holes are
			     * demand-zero */
	LIBOS_REGION_STACK, /* demand-zero in [bottom, end); grows down one
			     * page per fault in the guard page below bottom,
			     * until the guard would leave the region */
	LIBOS_REGION_GUARD, /* never mapped: every touch is refused */
	LIBOS_REGION_FIXED, /* existing frames (device, image) mapped when
			     * inserted, never freed by libos */
	LIBOS_REGION_KINDS,
};

#define LIBOS_REGION_NAME_MAX 16

struct libos_region {
	uint64_t start, end; /* [start, end), page-aligned */
	enum libos_region_kind kind;
	/* PGTABLE_* attributes of the region's pages at their most
	 * permissive (COW pages are mapped without PGTABLE_WRITE until
	 * written). GUARD: ignored. */
	uint32_t attrs;
	char name[LIBOS_REGION_NAME_MAX]; /* for reports: "heap", "stack" */
	uint64_t pa;			  /* FIXED: physical address of start */
	uint64_t bottom; /* STACK: lowest VA it may use now; the
			  * guard page is [bottom - page, bottom) */
};

enum libos_region_error {
	LIBOS_REGION_OK = 0,
	LIBOS_REGION_EALIGN = -1,   /* start, end or pa not page-aligned */
	LIBOS_REGION_ERANGE = -2,   /* empty, wraps, or outside the half */
	LIBOS_REGION_EOVERLAP = -3, /* intersects a region already there */
	LIBOS_REGION_EFULL = -4,    /* LIBOS_REGIONS_MAX reached */
	LIBOS_REGION_ENOENT = -5,   /* no region starts there */
	LIBOS_REGION_EKIND = -6,    /* bad kind, or bad attributes for it */
	LIBOS_REGION_ENOMEM = -7,   /* no page, table page or ref slot */
	LIBOS_REGION_ESTACK = -8,   /* stack sizes: no room for the guard */
};
const char *libos_region_strerror(int err);
const char *libos_region_kind_name(enum libos_region_kind kind);

/* --- shared-page reference counts ----------------------------------------- */

/*
 * Frames mapped in more than one place (COW). A frame absent from the table
 * has one owner: the single mapping of it. Open addressing by physical
 * address, fixed size: no allocation on the fault path.
 */
#define LIBOS_PAGEREFS_MAX 1024 /* power of two */

struct libos_pagerefs {
	struct {
		uint64_t pa; /* 0: empty slot */
		uint32_t count;
	} slot[LIBOS_PAGEREFS_MAX];
	unsigned used;
};

void libos_pagerefs_init(struct libos_pagerefs *r);
/* Mappings of pa: 0 when absent (one private owner, or none). */
uint32_t libos_pagerefs_get(const struct libos_pagerefs *r, uint64_t pa);
/* One more mapping of pa (absent -> 1). false: the table is full. */
bool libos_pagerefs_inc(struct libos_pagerefs *r, uint64_t pa);
/* One fewer: returns the count left (an entry reaching 0 or 1 is dropped:
 * the last mapping owns the frame outright). */
uint32_t libos_pagerefs_dec(struct libos_pagerefs *r, uint64_t pa);
/* The slot of pa when it is mapped more than once (a count of 2 or
 * more), else -1; libos_pagerefs_dec_slot then drops one of its mappings
 * as libos_pagerefs_dec does, with one lookup for both (the copy-on-write
 * fault's), provided r did not change in between. */
int libos_pagerefs_shared_slot(const struct libos_pagerefs *r, uint64_t pa);
uint32_t libos_pagerefs_dec_slot(struct libos_pagerefs *r, unsigned slot);

/* --- page source ------------------------------------------------------------
 */

/* Where pages (one granule, aligned, of frames the guest holds) come from
 * and go back to, and how libos reaches their contents (to zero or copy). */
struct libos_vm_pages {
	bool (*alloc)(void *ctx, uint64_t *pa);
	void (*free)(void *ctx, uint64_t pa);
	void *(*virt)(void *ctx, uint64_t pa);
	void *ctx;
	/* Optional (NULL: no fault fast path): the pool alloc takes a page
	 * from, one frame a page (alloc being pool_alloc(pool, 1, pa)), its
	 * contents at pa + virt_offset (virt's answer). The fast path takes
	 * its page inline (pool_take_first), with no call. */
	struct pool *pool;
	uint64_t virt_offset;
};

/* --- address spaces
 * ----------------------------------------------------------- */

#define LIBOS_REGIONS_MAX 64

struct libos_vm_stats {
	unsigned demand_zero;	  /* zeroed pages mapped (anon, stack) */
	unsigned cow_copies;	  /* shared page copied on write */
	unsigned cow_reuses;	  /* last reference made writable */
	unsigned stack_growths;	  /* guard page moved down */
	unsigned stack_overflows; /* guard hit at the growth limit */
	unsigned guard_hits;	  /* touch of a GUARD region, or below a
				   * stack's guard page */
	unsigned refused;	  /* access the region does not allow */
	unsigned no_region;	  /* fault outside every region */
	unsigned no_memory;	  /* a page or table page was missing */
};

/*
 * The fault fast path's memory of the last demand-zero fill (vmfault.c):
 * [lo, hi) is where a translation fault means "map a zeroed page with
 * attrs" (the region's usable part), for an access attrs allows. Every
 * change to the space's regions forgets it (lo == hi: nothing).
 */
struct libos_vm_fast {
	uint64_t lo, hi;
	uint32_t attrs;
};

struct libos_aspace {
	struct pgtable *pt; /* this space's tables (either half) */
	const struct libos_vm_pages *pages;
	struct libos_pagerefs *refs; /* shared between spaces that share */
	uint64_t page_size;
	unsigned nr;
	struct libos_region r[LIBOS_REGIONS_MAX]; /* sorted by start */
	struct libos_vm_stats stats;
	struct libos_vm_fast fast;
};

/* An empty space over pt (which it does not own) and a page source. */
void libos_aspace_init(struct libos_aspace *as, struct pgtable *pt,
		       const struct libos_vm_pages *pages,
		       struct libos_pagerefs *refs);
/* Removes every region (unmapping and freeing their pages); pt stays. */
void libos_aspace_fini(struct libos_aspace *as);

/*
 * Inserts a region (copied; name may be NULL). ANON, COW, STACK, GUARD map
 * nothing now; FIXED maps [start, end) at r->pa at once (all or nothing).
 * STACK: r->bottom in [start + page, end], page-aligned; else ESTACK.
 * 0 or a libos_region_error; on error nothing changed.
 */
int libos_region_insert(struct libos_aspace *as, const struct libos_region *r);
/* Stack helper: [top - max - page, top) with the guard page below
 * top - initial; max >= initial >= page. */
int libos_region_insert_stack(struct libos_aspace *as, uint64_t top,
			      uint64_t initial, uint64_t max, uint32_t attrs,
			      const char *name);
/* Removes the region starting at start: unmaps it, frees the pages it owned
 * (shared ones lose a reference; FIXED frames are never freed). */
int libos_region_remove(struct libos_aspace *as, uint64_t start);
/* Index of the first region ending above va (the one holding va, if
 * any): a binary search of the sorted set. Inline, with the lookups
 * below: a fault's refusal route (an external abort EL2 reflects) makes
 * this its one search, not a chain of calls. */
static inline unsigned libos_region_lower_bound(const struct libos_aspace *as,
						uint64_t va)
{
	unsigned lo = 0, hi = as->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (as->r[mid].end <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
/* The region holding va, or NULL. */
static inline const struct libos_region *
libos_region_find_const(const struct libos_aspace *as, uint64_t va)
{
	unsigned i = libos_region_lower_bound(as, va);

	return i < as->nr && as->r[i].start <= va ? &as->r[i] : NULL;
}
static inline struct libos_region *libos_region_find(struct libos_aspace *as,
						     uint64_t va)
{
	return (struct libos_region *)libos_region_find_const(as, va);
}

/*
 * Ranges, with munmap and mprotect semantics: regions are split at the ends
 * of [va, va + size) (a STACK region cannot be cut: EKIND; no slot for the
 * pieces: EFULL, nothing changed).
 * unmap: removes every region piece inside; holes are fine.
 * protect: every page must lie in a region (else ENOENT), none a GUARD
 * region, no FIXED region gains PGTABLE_WRITE (EKIND); attrs (with
 * PGTABLE_READ) become the pieces' attributes, and their mapped pages'
 * except that shared pages stay read-only until a write copies them.
 */
int libos_region_unmap(struct libos_aspace *as, uint64_t va, uint64_t size);
int libos_region_protect(struct libos_aspace *as, uint64_t va, uint64_t size,
			 uint32_t attrs);
/* The lowest *va >= lo with [*va, *va + size) free and below hi; ENOMEM
 * when there is none. */
int libos_region_gap(const struct libos_aspace *as, uint64_t lo, uint64_t hi,
		     uint64_t size, uint64_t *va);

/*
 * COW: maps npages existing pages starting at pa read-only at va (inside a
 * COW region, unmapped there) and counts one reference each. Ownership of
 * the frames passes to the mappings: they go back to the page source when
 * the last mapping is removed, so they must come from it.
 */
int libos_region_cow_map(struct libos_aspace *as, uint64_t va, uint64_t pa,
			 uint64_t npages);
/*
 * fork: dst (empty, same refs, same page size, other tables) gets src's
 * regions; every page src maps in ANON, COW and STACK regions becomes
 * shared read-only in both (one more reference), FIXED regions are mapped
 * again at the same frames, GUARD copied. All or nothing.
 */
int libos_aspace_clone(struct libos_aspace *dst, struct libos_aspace *src);

/* --- faults --------------------------------------------------------------- */

enum libos_vm_action {
	LIBOS_VM_NONE,		 /* no region: not ours */
	LIBOS_VM_RETRY,		 /* already fixed (nothing to do) */
	LIBOS_VM_ZERO_FILL,	 /* map a zeroed page */
	LIBOS_VM_STACK_GROW,	 /* move the guard down, map a zeroed page */
	LIBOS_VM_COW_COPY,	 /* copy the shared page, map it writable */
	LIBOS_VM_COW_REUSE,	 /* last reference: make it writable */
	LIBOS_VM_STACK_OVERFLOW, /* guard page at the limit: refused */
	LIBOS_VM_GUARD_HIT,	 /* GUARD region / below a stack's guard */
	LIBOS_VM_REFUSE,	 /* the region does not allow this access */
	LIBOS_VM_ACTIONS,
};
const char *libos_vm_action_name(enum libos_vm_action a);

/* What the tables and the refcounts say at the faulting page. */
struct libos_vm_state {
	bool mapped;
	uint32_t attrs; /* when mapped */
	uint32_t refs;	/* when mapped: libos_pagerefs_get */
};

/* The pure decision: region (may be NULL), fault kind and access (only
 * ->kind, ->access and ->far are read), and what is mapped. */
enum libos_vm_action libos_vm_decide(const struct libos_region *r,
				     const struct libos_fault *f,
				     const struct libos_vm_state *s,
				     uint64_t page_size);

/*
 * Decides and carries out a translation or permission fault in as. true:
 * the faulting access may be retried. false: refused or not ours; *action
 * and *region (may be NULL) say why, for the report.
 */
bool libos_vm_fault(struct libos_aspace *as, const struct libos_fault *f,
		    enum libos_vm_action *action,
		    const struct libos_region **region);
/*
 * The refusal route of a fault whose outcome cannot depend on what is
 * mapped (kind other: an external abort, an alignment fault), in the space
 * attached to f->far's half: sets f->region and f->vm_action and counts
 * the refusal exactly as libos_vm_fault would (no walk); without an
 * attached space, no region and LIBOS_VM_NONE, nothing counted.
 */
void libos_vm_refuse(struct libos_fault *f);

/* Forgets the fast path's region (every region change calls it). */
void libos_vm_fast_forget(struct libos_aspace *as);

/*
 * The spaces faults are routed to by libos_fault_handle: one per half
 * (TTBR1: the library OS's; TTBR0: the running task's). as->pt->half says
 * which; libos_vm_detach(half) clears it.
 */
void libos_vm_attach(struct libos_aspace *as);
void libos_vm_detach(enum pgtable_half half);
struct libos_aspace *libos_vm_active(uint64_t va);
/* Fault counters summed over every address space, ever. */
void libos_vm_stats(struct libos_vm_stats *out);
/* *sum += *s, counter by counter (a group of spaces' totals). */
void libos_vm_stats_add(struct libos_vm_stats *sum,
			const struct libos_vm_stats *s);

#endif
