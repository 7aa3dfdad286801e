/*
 * Stage-1 VMSAv8-64 translation tables for one half of an EL1 address space
 * (TTBR0_EL1 or TTBR1_EL1): 4K, 16K or 64K granule, 39- or 48-bit VA,
 * blocks and contiguous runs, break-before-make. Portable C: hardware is
 * reached only through libos/arch.h, table pages only through the caller's
 * callbacks. Never sleeps, never locks: the caller serialises operations on
 * one table.
 */
#ifndef EXO_LIBOS_MMU_PGTABLE_H
#define EXO_LIBOS_MMU_PGTABLE_H

#include <arch/pte.h>
#include <libos/arch.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- geometry (granule.c) ------------------------------------------------ */

enum pgtable_granule {           /* values are the page shift */
	PGTABLE_GRANULE_4K = 12,
	PGTABLE_GRANULE_16K = 14,
	PGTABLE_GRANULE_64K = 16,
};

#define PGTABLE_LEVELS_MAX 4     /* levels 0..3 */
#define PGTABLE_LAST_LEVEL 3

struct pgtable_geom {
	unsigned page_shift;     /* 12, 14 or 16 */
	unsigned index_bits;     /* VA bits resolved per full level */
	unsigned va_bits;        /* 64 - TxSZ */
	int start_level;         /* first level walked */
	unsigned root_entries;   /* entries in the start-level table */
	/* By level, from start_level (the rest 0): what the functions
	 * below compute, kept for the walks. */
	unsigned shift[PGTABLE_LEVELS_MAX];
	unsigned index_mask[PGTABLE_LEVELS_MAX];   /* entries - 1 */
};

int pgtable_geom_init(struct pgtable_geom *g, enum pgtable_granule granule,
		      unsigned va_bits);
unsigned pgtable_level_shift(const struct pgtable_geom *g, int level);
uint64_t pgtable_level_size(const struct pgtable_geom *g, int level);
unsigned pgtable_level_entries(const struct pgtable_geom *g, int level);
/* May a leaf (block or page) sit at this level? */
bool pgtable_leaf_allowed(const struct pgtable_geom *g, int level);
/* Entries in one contiguous-hint run at this level, 0 when not allowed. */
unsigned pgtable_cont_entries(const struct pgtable_geom *g, int level);
/* TCR_EL1.TxSZ for this geometry. */
unsigned pgtable_txsz(const struct pgtable_geom *g);

/* --- attributes ----------------------------------------------------------- */

#define PGTABLE_READ (1u << 0)       /* required: stage 1 has no W-only */
#define PGTABLE_WRITE (1u << 1)
#define PGTABLE_EXEC_EL1 (1u << 2)   /* clear: PXN */
#define PGTABLE_EXEC_EL0 (1u << 3)   /* clear: UXN; needs PGTABLE_USER */
#define PGTABLE_USER (1u << 4)       /* AP[1]: EL0 may access */
#define PGTABLE_GLOBAL (1u << 5)     /* clear: nG (tagged with the ASID) */
#define PGTABLE_ACCESSED (1u << 6)   /* AF; clear: first access faults */
#define PGTABLE_DBM (1u << 7)        /* hardware dirty: needs PGTABLE_WRITE */
#define PGTABLE_DIRTY (1u << 8)      /* with DBM: written already (AP[2]=0) */
#define PGTABLE_MEM_SHIFT 12
#define PGTABLE_MEM_MASK (7u << PGTABLE_MEM_SHIFT)
#define PGTABLE_MEM(m) ((uint32_t)(m) << PGTABLE_MEM_SHIFT)
#define PGTABLE_MEM_OF(a) (((a) & PGTABLE_MEM_MASK) >> PGTABLE_MEM_SHIFT)

/* Memory types, named by their MAIR_EL1 index (see PGTABLE_MAIR_EL1). */
enum pgtable_mem {
	PGTABLE_MEM_DEVICE_nGnRnE = 0,
	PGTABLE_MEM_NORMAL_WB = 1,
	PGTABLE_MEM_DEVICE_nGnRE = 2,
	PGTABLE_MEM_NORMAL_NC = 3,
};
#define PGTABLE_MEM_TYPES 4

/* The MAIR_EL1 value these indices assume. */
#define PGTABLE_MAIR_EL1                                                     \
	(MAIR_ATTR(PGTABLE_MEM_DEVICE_nGnRnE, MAIR_ATTR_DEVICE_nGnRnE) |     \
	 MAIR_ATTR(PGTABLE_MEM_NORMAL_WB, MAIR_ATTR_NORMAL_WB) |             \
	 MAIR_ATTR(PGTABLE_MEM_DEVICE_nGnRE, MAIR_ATTR_DEVICE_nGnRE) |       \
	 MAIR_ATTR(PGTABLE_MEM_NORMAL_NC, MAIR_ATTR_NORMAL_NC))

/* Common sets. */
#define PGTABLE_KERNEL_RW                                                    \
	(PGTABLE_READ | PGTABLE_WRITE | PGTABLE_GLOBAL | PGTABLE_ACCESSED |  \
	 PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB))
#define PGTABLE_USER_RW                                                      \
	(PGTABLE_READ | PGTABLE_WRITE | PGTABLE_USER | PGTABLE_ACCESSED |    \
	 PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB))

/* Descriptor attribute bits <-> abstract attributes (no type or address). */
int pgtable_encode_attrs(uint32_t attrs, uint64_t *bits);
uint32_t pgtable_decode_attrs(uint64_t desc);

/* --- errors --------------------------------------------------------------- */

enum pgtable_error {
	PGTABLE_OK = 0,
	PGTABLE_EVA_ALIGN = -1,  /* VA not granule-aligned */
	PGTABLE_EPA_ALIGN = -2,  /* PA not granule-aligned */
	PGTABLE_ESIZE = -3,      /* size zero or not a multiple of the granule */
	PGTABLE_ERANGE = -4,     /* VA range outside this half, or wraps */
	PGTABLE_EPA_RANGE = -5,  /* PA range beyond 48 bits */
	PGTABLE_EOVERLAP = -6,   /* map: part of the range is mapped */
	PGTABLE_ENOMEM = -7,     /* no table page: nothing was changed */
	PGTABLE_EATTR = -8,      /* attributes not representable */
	PGTABLE_ENOENT = -9,     /* protect/translate: not mapped */
	PGTABLE_ECONFIG = -10,   /* init: granule, VA bits or half unsupported */
};

/* --- tables --------------------------------------------------------------- */

/*
 * Where table pages come from. alloc returns one granule-sized,
 * granule-aligned page (contents need not be zero) or NULL; the two address
 * callbacks convert between the engine's pointers and the physical
 * addresses descriptors hold (a direct map on target, anything on the host).
 */
struct pgtable_mm_ops {
	void *(*alloc)(void *ctx);
	void (*free)(void *ctx, void *page);
	uint64_t (*virt_to_phys)(void *ctx, const void *p);
	void *(*phys_to_virt)(void *ctx, uint64_t pa);
	void *ctx;
	/* When linear is set, phys_to_virt(pa) is pa + linear_offset for
	 * every table page, and the walks add it themselves. */
	bool linear;
	uint64_t linear_offset;
};

enum pgtable_half {
	PGTABLE_TTBR0,           /* VAs from 0 up */
	PGTABLE_TTBR1,           /* VAs with the top 64 - va_bits bits set */
};

struct pgtable_config {
	enum pgtable_granule granule;
	unsigned va_bits;        /* 39 or 48 */
	enum pgtable_half half;
	uint16_t asid;
};

/*
 * Each table's count of valid entries lives in its parent's table
 * descriptor, in bits the walk ignores (Arm ARM D8.3.1, table descriptor
 * format: bits [11:2] and [58:51] IGNORED; bit 51 is left alone): the low
 * 10 bits of the count in [11:2], the rest in [58:52]. 17 bits: enough for
 * the 8,192 entries of a 64K-granule table. The root's count is not kept
 * (it is never freed).
 */
#define PGTABLE_TCOUNT_LO_SHIFT 2
#define PGTABLE_TCOUNT_LO_BITS 10
#define PGTABLE_TCOUNT_HI_SHIFT 52
#define PGTABLE_TCOUNT_HI_BITS 7
#define PGTABLE_TCOUNT_MASK                                                  \
	((((UINT64_C(1) << PGTABLE_TCOUNT_LO_BITS) - 1)                      \
	  << PGTABLE_TCOUNT_LO_SHIFT) |                                       \
	 (((UINT64_C(1) << PGTABLE_TCOUNT_HI_BITS) - 1)                      \
	  << PGTABLE_TCOUNT_HI_SHIFT))

/* Empty tables an unmap leaves linked for the next map, at most, unless
 * pgtable_set_keep_empty says otherwise (pgtable_trim gives them back). */
#define PGTABLE_KEEP_EMPTY_DEFAULT 16

struct pgtable {
	struct pgtable_geom geom;
	struct pgtable_mm_ops mm;
	uint64_t *root;
	uint64_t root_pa;
	uint64_t va_base;        /* lowest VA of the half */
	enum pgtable_half half;
	uint16_t asid;
	unsigned tables;         /* table pages held, root included */
	unsigned empty_tables;   /* linked tables with no valid entry */
	unsigned keep_empty;     /* most empty tables kept linked */
	/* The last attributes map encoded and their descriptor bits (0:
	 * none yet; a valid encoding always has SH set). */
	uint32_t last_attrs;
	uint64_t last_bits;
	/* The last level-3 table a single-page walk reached, the descriptor
	 * linking it and the offset it covers, >> its level-2 entry's shift:
	 * the next page operation there needs no walk. Forgotten whenever a
	 * table is freed or the table pages move (hot_parent NULL, hot_index
	 * PGTABLE_HOT_NONE: none). */
	uint64_t *hot_table, *hot_parent;
	uint64_t hot_index;
};

int pgtable_init(struct pgtable *pt, const struct pgtable_config *cfg,
		 const struct pgtable_mm_ops *mm);
/* Frees every table page. The table must no longer be in use by any TTBR;
 * for TTBR0 tables the ASID's TLB entries are invalidated. */
void pgtable_destroy(struct pgtable *pt);
/*
 * Replaces the page callbacks of a live table, keeping its pages: for the
 * switch from physical addresses (MMU off) to a direct map. Every page of
 * the table must be reachable through the new phys_to_virt.
 */
void pgtable_set_mm(struct pgtable *pt, const struct pgtable_mm_ops *mm);
/*
 * Empty tables stay linked after an unmap (up to keep_empty of them, the
 * rest are freed at once), so that mapping there again needs no new table.
 * pgtable_trim unlinks and frees every empty table (memory pressure; the
 * pages go back through mm.free once the TLBs forget them) and returns how
 * many; pgtable_set_keep_empty changes the bound (0: free on unmap, as
 * soon as a table empties), trimming them all when more are empty.
 */
unsigned pgtable_trim(struct pgtable *pt);
void pgtable_set_keep_empty(struct pgtable *pt, unsigned keep);
/* Valid entries of the table a table descriptor points to. */
unsigned pgtable_table_count(uint64_t table_desc);
/* TTBRn_EL1 value: root address and ASID (bits 63:48). */
uint64_t pgtable_ttbr(const struct pgtable *pt);

/*
 * All three are all-or-nothing: on any error the tables are unchanged.
 * map refuses to cover any mapped page (unmap first); it uses the largest
 * leaf the alignment of VA and PA allows, and the contiguous hint for every
 * aligned run the call covers whole. unmap accepts holes. protect needs
 * the whole range mapped; it replaces the attributes, keeping addresses.
 */
int pgtable_map(struct pgtable *pt, uint64_t va, uint64_t pa, uint64_t size,
		uint32_t attrs);
int pgtable_unmap(struct pgtable *pt, uint64_t va, uint64_t size);
int pgtable_protect(struct pgtable *pt, uint64_t va, uint64_t size,
		    uint32_t attrs);

/*
 * The fault fast path's map of one page, inline, in steps so that the
 * caller can take its page in between and store the entry last (after
 * zeroing the page: libos_arch_zero_page_map). Nothing may change pt in
 * between; together they do what pgtable_map(pt, va, pa, page, attrs)
 * does, but for the ISB (an exception return follows).
 *
 * pgtable_hot_covers: the last walk's level-3 table covers va and attrs
 * are the last ones map encoded (pgtable_map would need no walk, no table
 * and no encoding); then pgtable_hot_ptep is va's entry there. Forgotten,
 * the hot index is PGTABLE_HOT_NONE, which no offset matches: one compare
 * tests both (pgtable.c's hot_entry). pgtable_hot_count_room: whether the
 * hot table's count in parent (*pt->hot_parent, read once by the caller;
 * bits the walk ignores) can grow in its low field (not so near a full
 * 16K or 64K table: the caller declines). pgtable_hot_count_inc, only
 * then, with the same parent: the count and the empty tables' count for
 * the new entry. pgtable_hot_desc: the entry of pa to store last.
 */
#define PGTABLE_HOT_NONE UINT64_MAX
#define PGTABLE_TCOUNT_LO_ONE (UINT64_C(1) << PGTABLE_TCOUNT_LO_SHIFT)
#define PGTABLE_TCOUNT_LO_FULL                                                \
	(((UINT64_C(1) << PGTABLE_TCOUNT_LO_BITS) - 1)                        \
	 << PGTABLE_TCOUNT_LO_SHIFT)

static inline bool pgtable_hot_covers(const struct pgtable *pt, uint64_t va,
				      uint32_t attrs)
{
	const int l3 = PGTABLE_LAST_LEVEL;

	return pt->last_bits && attrs == pt->last_attrs &&
	       (va - pt->va_base) >> pt->geom.shift[l3 - 1] == pt->hot_index;
}

static inline uint64_t *pgtable_hot_ptep(const struct pgtable *pt,
					 uint64_t va)
{
	const int l3 = PGTABLE_LAST_LEVEL;

	return &pt->hot_table[((va - pt->va_base) >> pt->geom.shift[l3]) &
			      pt->geom.index_mask[l3]];
}

static inline bool pgtable_hot_count_room(uint64_t parent)
{
	return (parent & PGTABLE_TCOUNT_LO_FULL) != PGTABLE_TCOUNT_LO_FULL;
}

static inline void pgtable_hot_count_inc(struct pgtable *pt, uint64_t parent)
{
	if (!(parent & PGTABLE_TCOUNT_MASK))
		pt->empty_tables--;
	libos_arch_write_pte(pt->hot_parent, parent + PGTABLE_TCOUNT_LO_ONE);
}

static inline uint64_t pgtable_hot_desc(const struct pgtable *pt, uint64_t pa)
{
	return pa | pt->last_bits | PTE_VALID | PTE_PAGE;
}

/* The level-3 entry of va in the last walk's table when that table
 * covers va and attrs are the last ones encoded, else NULL. */
static inline uint64_t *pgtable_hot_entry(const struct pgtable *pt,
					  uint64_t va, uint32_t attrs)
{
	return pgtable_hot_covers(pt, va, attrs) ? pgtable_hot_ptep(pt, va)
						 : NULL;
}

/*
 * The same for a page mapped now (copy-on-write): pgtable_hot_leaf gives
 * the level-3 page entry of va (valid, no contiguous hint) when the last
 * walk's table covers it and attrs are the last ones encoded, else NULL;
 * pgtable_hot_replace puts pa there with those attributes, by
 * break-before-make (pgtable_replace_page's sequence but the ISB).
 */
static inline uint64_t *pgtable_hot_leaf(const struct pgtable *pt,
					 uint64_t va, uint32_t attrs)
{
	uint64_t *ptep = pgtable_hot_entry(pt, va, attrs);

	return ptep && (*ptep & PTE_VALID) && !(*ptep & PTE_CONT) ? ptep
								  : NULL;
}
void pgtable_hot_replace(struct pgtable *pt, uint64_t *ptep, uint64_t va,
			 uint64_t pa);

/*
 * Replaces the page mapped at va (a level-3 page, no contiguous hint) by
 * pa with attrs, in one walk: break-before-make in place (invalid, TLBI by
 * VA, DSB, the new entry). PGTABLE_ENOENT (nothing changed) when va is not
 * mapped by such a page; the usual errors for va, pa and attrs.
 */
int pgtable_replace_page(struct pgtable *pt, uint64_t va, uint64_t pa,
			 uint32_t attrs);

struct pgtable_xlate {
	uint64_t pa;             /* of va itself */
	uint32_t attrs;
	int level;               /* of the leaf */
	uint64_t leaf_size;      /* block or page size */
	bool cont;               /* leaf is part of a contiguous run */
	uint64_t desc;
};

int pgtable_translate(const struct pgtable *pt, uint64_t va,
		      struct pgtable_xlate *out);

/* Called for each level walked, the last call being a leaf or invalid. */
typedef void (*pgtable_walk_fn)(void *ctx, int level, unsigned index,
				uint64_t desc);
int pgtable_walk(const struct pgtable *pt, uint64_t va, pgtable_walk_fn fn,
		 void *ctx);

/*
 * Calls fn for every leaf and every hole in [va, va + size), in address
 * order, clipped to the range; desc is 0 for a hole (level: where the walk
 * stopped). The ptdump range dumper is built on it.
 */
typedef void (*pgtable_scan_fn)(void *ctx, uint64_t va, uint64_t size,
				uint64_t desc, int level);
int pgtable_scan(const struct pgtable *pt, uint64_t va, uint64_t size,
		 pgtable_scan_fn fn, void *ctx);

/* --- ptdump (ptdump.c) ---------------------------------------------------- */

typedef void (*pgtable_print_fn)(void *ctx, const char *line);
int pgtable_dump_range(const struct pgtable *pt, uint64_t va, uint64_t size,
		       pgtable_print_fn print, void *ctx);
int pgtable_dump_walk(const struct pgtable *pt, uint64_t va,
		      pgtable_print_fn print, void *ctx);

#endif
