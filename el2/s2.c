/*
 * Per-guest stage-2 tables (see s2.h for the contract). Owns the table pages
 * of one guest, taken from and given back to its page cache. Every change to
 * a valid entry is break-before-make; nothing reachable by a walker is
 * written, freed or reused before the TLB maintenance that retires it.
 * Never takes memory on its own, never returns a guest-controlled error
 * through CHECK (only broken invariants of this file, or a caller that did
 * not fill the cache as s2_pages_needed said, reach CHECK).
 *
 * Commits run as one walk over the range; breaks are batched: invalid
 * entries are written at once, their TLB maintenance and the entries that
 * replace them wait in a struct op until batch_flush (or until a walk must
 * descend through an entry, as after a split).
 *
 * Tables do not churn (docs/stage2.md, "Table pages"):
 *  - Each table descriptor counts the valid entries of the table it points
 *    to, in its bits [11:2], which the walker ignores (4 KiB granule,
 *    VTCR_EL2.DS 0, no FEAT_HAFT): no table is ever scanned to learn it
 *    is empty or full. The root has no count (it is never freed).
 *  - A table whose count falls to 0 stays in place, reachable and empty,
 *    and the next map in its region reuses it: no zeroing, no TLB
 *    maintenance, no page taken. Such tables are linked in a list through
 *    their own first words (invalid entries: the walker ignores their
 *    other bits), with the region they map, so s2_reclaim gives them back
 *    without a search: under memory pressure, and by revocation (el2/mem.c);
 *    s2_destroy frees them with the rest. They stay table pages (nr_tables)
 *    and stay charged to the guest until then.
 */
#include <arch/pte.h>
#include <el2/arch.h>
#include <el2/s2.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <stddef.h>

#define ROOT_ENTRIES  S2_ROOT_ENTRIES
#define IPA_LIMIT     S2_IPA_LIMIT
#define BLOCK_SIZE    LEVEL_SIZE(S2_BLOCK_LEVEL)
/* The ABI tells guests what one table maps (exo/hvc.h): keep them equal. */
_Static_assert(EXO_S2_L3_TABLE_FRAMES * EXO_FRAME_SIZE == BLOCK_SIZE,
	       "EXO_S2_L3_TABLE_FRAMES is not one block");
_Static_assert(EXO_S2_L2_TABLE_FRAMES * EXO_FRAME_SIZE ==
	       LEVEL_SIZE(S2_START_LEVEL), "EXO_S2_L2_TABLE_FRAMES");
/* A level-3 descriptor maps exactly one frame: the frame DB's unit and the
 * stage-2 granule must stay the same size. */
_Static_assert(GRANULE_4K_SIZE == EXO_FRAME_SIZE, "stage-2 page != frame");
#define PROT_ACCESS   S2_PROT_ACCESS
#define T0SZ_40BIT    (64 - S2_IPA_BITS)
#define PARANGE_48BIT 5 /* the largest PS without FEAT_LPA */

/* Beyond this many IPAs in one batch, invalidate the whole VMID: one
 * VMALLS12E1IS is cheaper than a long series of IPAS2E1IS. */
#define TLBI_IPA_MAX 16
#define DEFER_MAX    32
#define FREED_MAX    16

/* What the TLBs may still hold for a broken entry. */
enum cached {
	CACHED_AT_IPA, /* a leaf, or a table with no valid leaf below it */
	CACHED_RANGE,  /* a table with valid leaves: any IPA it covers */
};

struct deferred {
	uint64_t *pte;
	uint64_t desc;
};

struct op;
/* Visits one entry of a walk; returns how the count of valid entries of
 * the entry's table changes (-1, 0, +1). */
typedef int (*visit_fn)(struct op *o, uint64_t *pte, int level, uint64_t ipa,
			uint64_t end);

/* One commit in progress: what it writes and what it still owes. Only
 * the counters are set at its start (op_init): the arrays are read up to
 * them, never zeroed. */
struct op {
	struct s2 *s2;
	struct s2_page_cache *cache;
	visit_fn visit;
	uint64_t attrs;		    /* leaf attributes for map/protect */
	uint64_t ipa[TLBI_IPA_MAX]; /* to invalidate by IPA */
	unsigned nr_ipa;
	bool whole_vmid;		  /* ... or the whole VMID */
	struct deferred defer[DEFER_MAX]; /* written after the TLBIs */
	unsigned nr_defer;
	uint64_t *freed[FREED_MAX]; /* back to the cache after them */
	unsigned nr_freed;
	bool published; /* new entries since the last DSB */
};

/* --- page cache --------------------------------------------------------- */

void s2_cache_init(struct s2_page_cache *cache)
{
	cache->head = NULL;
	cache->nr = 0;
}

void s2_cache_push(struct s2_page_cache *cache, void *page)
{
	uint64_t *p = page;

	p[0] = (uint64_t)(uintptr_t)cache->head;
	cache->head = p;
	cache->nr++;
}

void *s2_cache_pop(struct s2_page_cache *cache)
{
	uint64_t *p = cache->head;

	if (!p)
		return NULL;
	cache->head = (uint64_t *)(uintptr_t)p[0];
	cache->nr--;
	return p;
}

/* --- descriptors -------------------------------------------------------- */

static bool is_valid(uint64_t desc)
{
	return desc & PTE_VALID;
}

static bool is_table(uint64_t desc, int level)
{
	return level < 3 && s2_desc_is_table(desc);
}

static uint64_t *table_of(uint64_t desc)
{
	return s2_desc_table(desc);
}

static uint64_t table_desc(uint64_t *table)
{
	return (uint64_t)(uintptr_t)table | PTE_TABLE | PTE_VALID;
}

/* Identity: the output address is the IPA itself. */
static uint64_t leaf_desc(uint64_t ipa, uint64_t attrs, int level)
{
	return ipa | attrs | PTE_VALID | (level == 3 ? PTE_PAGE : PTE_BLOCK);
}

bool s2_wb_forced;
/* Normal memory's MemAttr field as s2_wb_forced says: read by every map. */
uint64_t s2_normal_memattr = S2_MEMATTR(S2_MEMATTR_NORMAL_WB);

void s2_set_forced_wb(bool forced)
{
	s2_wb_forced = forced;
	s2_normal_memattr = S2_MEMATTR(forced ? S2_MEMATTR_FWB_NORMAL_WB
					: S2_MEMATTR_NORMAL_WB);
	kprintf("stage 2: FWB %s\n", forced ?
		"on (FEAT_S2FWB: guest RAM forced Write-Back, HCR_EL2.FWB; "
		"scrubs zero with no clean)" :
		"off (no FEAT_S2FWB: guest RAM cleaned to the point of "
		"coherency on every hand-over)");
}

/* A MAIR nibble: 0b01RW Write-Back transient (RW not 0b00), 0b11RW
 * Write-Back non-transient. */
#define MAIR_NIBBLE_BITS 4
#define MAIR_WB_NT 0xcu
#define MAIR_WB_T 0x4u
#define MAIR_ALLOC 0x3u

static bool nibble_write_back(unsigned n)
{
	return (n & MAIR_WB_NT) == MAIR_WB_NT ||
	       ((n & MAIR_WB_NT) == MAIR_WB_T && (n & MAIR_ALLOC));
}

bool s2_mair_write_back(uint8_t attr)
{
	return nibble_write_back(attr >> MAIR_NIBBLE_BITS) &&
	       nibble_write_back(attr & ((1u << MAIR_NIBBLE_BITS) - 1));
}

static uint64_t prot_attrs(unsigned prot)
{
	return s2_prot_attrs(prot);
}

static unsigned desc_prot(uint64_t desc)
{
	unsigned prot = 0;

	if (desc & S2_AP_R)
		prot |= S2_PROT_R;
	if (desc & S2_AP_W)
		prot |= S2_PROT_W;
	if (!(desc & S2_XN))
		prot |= S2_PROT_X;
	if ((desc & S2_MEMATTR_MASK) == S2_MEMATTR(S2_MEMATTR_DEVICE_nGnRE))
		prot |= S2_PROT_DEVICE;
	return prot;
}


/* --- valid-entry counts and empty tables kept in place ------------------ */

/* The count of a table's valid entries, in its descriptor's IGNORED bits
 * [11:2] (10 bits: 0..512). */
#define COUNT_SHIFT S2_TABLE_COUNT_SHIFT
#define COUNT_MASK  S2_TABLE_COUNT_MASK
_Static_assert(PTES_PER_TABLE <= COUNT_MASK >> COUNT_SHIFT,
	       "a table's count does not fit its descriptor's ignored bits");
_Static_assert((COUNT_MASK & (PTE_ADDR_MASK | PTE_VALID | PTE_TABLE)) == 0,
	       "the count overlaps the address or the type");

static unsigned count_of(uint64_t desc)
{
	return s2_desc_count(desc);
}

/* Only ignored bits change: a live descriptor needs no break for it. */
static void count_add(uint64_t *pte, int delta)
{
	if (delta)
		arch_s2_write_pte(pte, s2_desc_count_add(*pte, delta));
}

/* Words of an empty table kept in place (invalid entries: bit 0 clear in
 * each, so a walker still reads them as invalid). */
enum empty_word {
	EMPTY_NEXT,  /* the next empty table, or 0 */
	EMPTY_PREV,  /* the previous one, or 0 (the list's head) */
	EMPTY_WHERE, /* the IPA its region starts at | its level << 1 */
	EMPTY_WORDS
};
#define WHERE_LEVEL_SHIFT 1
#define WHERE_LEVEL_MASK  (UINT64_C(3) << WHERE_LEVEL_SHIFT)

static void set_word(uint64_t *w, uint64_t v)
{
	__atomic_store_n(w, v, __ATOMIC_RELAXED);
}

static uint64_t word_of(const uint64_t *t)
{
	return (uint64_t)(uintptr_t)t;
}

static uint64_t *table_at(uint64_t w)
{
	return (uint64_t *)(uintptr_t)w;
}

/* t, the table at level for the region at base, has no valid entry left:
 * it stays where it is, on the list of empty tables. */
static void keep_empty(struct s2 *s2, uint64_t *t, uint64_t base, int level)
{
	uint64_t *head = s2->empty;

	set_word(&t[EMPTY_NEXT], word_of(head));
	set_word(&t[EMPTY_PREV], 0);
	set_word(&t[EMPTY_WHERE],
		 base | (uint64_t)level << WHERE_LEVEL_SHIFT);
	if (head)
		set_word(&head[EMPTY_PREV], word_of(t));
	s2->empty = t;
	s2->nr_empty++;
}

/* An empty table leaves the list: it is used again, or freed. */
static void unlink_empty(struct s2 *s2, uint64_t *t)
{
	uint64_t *next = table_at(t[EMPTY_NEXT]);
	uint64_t *prev = table_at(t[EMPTY_PREV]);

	if (prev)
		set_word(&prev[EMPTY_NEXT], word_of(next));
	else
		s2->empty = next;
	if (next)
		set_word(&next[EMPTY_PREV], word_of(prev));
	for (unsigned i = 0; i < EMPTY_WORDS; i++)
		set_word(&t[i], 0);
	s2->nr_empty--;
}

/* --- walking ------------------------------------------------------------ */

static unsigned entries_at(int level)
{
	return level == S2_START_LEVEL ? ROOT_ENTRIES : PTES_PER_TABLE;
}

static unsigned index_of(uint64_t ipa, int level)
{
	return s2_index(ipa, level);
}

static uint64_t align_down(uint64_t ipa, int level)
{
	return ipa & ~(LEVEL_SIZE(level) - 1);
}

/* The entry where a walk for ipa stops: a leaf or an invalid entry. */
static uint64_t *probe(const struct s2 *s2, uint64_t ipa, int *level)
{
	uint64_t *table = s2->root;
	int l = S2_START_LEVEL;

	while (is_table(table[index_of(ipa, l)], l)) {
		table = table_of(table[index_of(ipa, l)]);
		l++;
	}
	*level = l;
	return &table[index_of(ipa, l)];
}

/* What one pass over a range found (scan). */
struct scan {
	bool any, all; /* some / every page of it is mapped */
	unsigned pages; /* table pages a map of it takes (s2_pages_needed) */
};

/* The pages a map of [ipa, end) takes below an invalid entry at level:
 * the table a level-1 entry needs, and one page for each 2 MiB region (a
 * level-3 table when the map covers it in part, the page a block keeps
 * when it covers it whole). Below an existing level-3 table, none: a map
 * covering its region whole turns the (empty) table into the block's kept
 * page. */
static unsigned pages_below(int level, uint64_t ipa, uint64_t end)
{
	if (level == 3)
		return 0;
	if (level == S2_BLOCK_LEVEL)
		return 1;
	return 1 + (unsigned)((align_down(end - 1, S2_BLOCK_LEVEL) -
			       align_down(ipa, S2_BLOCK_LEVEL)) /
				  BLOCK_SIZE +
			      1);
}

/* One pass over [ipa, end), a probe per leaf or hole. */
static void scan(const struct s2 *s2, uint64_t ipa, uint64_t end,
		 struct scan *sc)
{
	*sc = (struct scan){.any = false, .all = true, .pages = 0};
	while (ipa < end) {
		int level;
		uint64_t *pte = probe(s2, ipa, &level);
		uint64_t next = align_down(ipa, level) + LEVEL_SIZE(level);

		if (next > end)
			next = end;
		if (is_valid(*pte)) {
			sc->any = true;
		} else {
			sc->all = false;
			sc->pages += pages_below(level, ipa, next);
		}
		ipa = next;
	}
}

static int walk_range(struct op *o, uint64_t *table, int level, uint64_t ipa,
		      uint64_t end)
{
	int delta = 0;

	while (ipa < end) {
		uint64_t next = align_down(ipa, level) + LEVEL_SIZE(level);

		if (next > end)
			next = end;
		delta += o->visit(o, &table[index_of(ipa, level)], level, ipa,
				  next);
		ipa = next;
	}
	return delta;
}

static bool covers_entry(int level, uint64_t ipa, uint64_t end)
{
	return end - ipa == LEVEL_SIZE(level);
}

/* --- batched break-before-make ------------------------------------------ */

static void batch_tlbi(struct op *o)
{
	uint64_t vttbr;

	/* The invalid entries must reach every walker before the TLBIs (and
	 * so do new entries written before them). The VMID is read after:
	 * a lease renewed since sees them (el2/vmid.h, vmid_current). */
	arch_dsb_ish();
	vttbr = s2_vttbr(o->s2);
	o->published = false;
	if (o->whole_vmid) {
		arch_s2_tlbi_vmid(vttbr);
	} else {
		for (unsigned i = 0; i < o->nr_ipa; i++)
			arch_s2_tlbi_ipa(vttbr, o->ipa[i]);
		/* Stage-1 entries may combine the old stage-2 ones; they are
		 * tagged by VA only, so drop the VMID's stage-1 entries after
		 * the stage-2 ones are gone. */
		arch_dsb_ish();
		arch_s2_tlbi_vmalle1(vttbr);
	}
	arch_dsb_ish();
	arch_isb();
	o->nr_ipa = 0;
	o->whole_vmid = false;
}

/* Pays what the batch owes: TLBIs, then the new entries, then the pages. */
static void batch_flush(struct op *o)
{
	if (o->nr_ipa || o->whole_vmid)
		batch_tlbi(o);
	for (unsigned i = 0; i < o->nr_defer; i++)
		arch_s2_write_pte(o->defer[i].pte, o->defer[i].desc);
	o->published |= o->nr_defer > 0;
	o->nr_defer = 0;
	for (unsigned i = 0; i < o->nr_freed; i++) {
		s2_cache_push(o->cache, o->freed[i]);
		o->s2->nr_tables--;
	}
	o->nr_freed = 0;
}

/* Invalid -> valid needs no TLB maintenance: no TLB holds an invalid
 * entry. */
static void set_new(struct op *o, uint64_t *pte, uint64_t desc)
{
	CHECK(!is_valid(*pte));
	arch_s2_write_pte(pte, desc);
	o->published = true;
}

/* Breaks a valid entry now; desc (if not 0) replaces it after the TLBIs. */
static void break_entry(struct op *o, uint64_t *pte, uint64_t ipa,
			enum cached cached, uint64_t desc)
{
	if (desc && o->nr_defer == DEFER_MAX)
		batch_flush(o);
	arch_s2_write_pte(pte, 0);
	if (cached == CACHED_RANGE || o->nr_ipa == TLBI_IPA_MAX)
		o->whole_vmid = true;
	else
		o->ipa[o->nr_ipa++] = ipa;
	if (desc)
		o->defer[o->nr_defer++] = (struct deferred){pte, desc};
}

static void free_table(struct op *o, uint64_t *table)
{
	if (o->nr_freed == FREED_MAX)
		batch_flush(o);
	o->freed[o->nr_freed++] = table;
}

/* Frees the table desc points to and every table below it; its entry is
 * already broken. Empty ones leave the list of kept tables. */
static void free_subtree(struct op *o, uint64_t desc, int level)
{
	uint64_t *table = table_of(desc);

	if (!count_of(desc)) {
		unlink_empty(o->s2, table);
	} else {
		for (unsigned i = 0; level < 3 && i < PTES_PER_TABLE; i++) {
			if (is_table(table[i], level))
				free_subtree(o, table[i], level + 1);
		}
	}
	free_table(o, table);
}

static uint64_t *new_table(struct op *o)
{
	uint64_t *t = s2_cache_pop(o->cache);

	CHECK(t); /* the caller filled the cache as s2_pages_needed said */
	for (unsigned i = 0; i < PTES_PER_TABLE; i++)
		t[i] = 0;
	o->s2->nr_tables++;
	return t;
}

static void op_init(struct op *o, struct s2 *s2, struct s2_page_cache *cache,
		    visit_fn visit, uint64_t attrs)
{
	o->s2 = s2;
	o->cache = cache;
	o->visit = visit;
	o->attrs = attrs;
	o->nr_ipa = 0;
	o->whole_vmid = false;
	o->nr_defer = 0;
	o->nr_freed = 0;
	o->published = false;
}

/* New entries must be visible to walkers before the guest is told; each
 * block keeps its page in the cache. */
static void op_finish(struct op *o)
{
	batch_flush(o);
	if (o->published)
		arch_dsb_ish();
	CHECK(o->cache->nr >= o->s2->nr_blocks);
}

/* A block becomes a table of pages with the same attributes (full: its
 * count is 512). The walk goes through the entry next, so the batch is
 * paid at once. */
static void split(struct op *o, uint64_t *pte, uint64_t base)
{
	uint64_t *t = new_table(o);
	uint64_t attrs = *pte & PTE_ATTR_MASK;

	for (unsigned i = 0; i < PTES_PER_TABLE; i++)
		t[i] = leaf_desc(base + i * GRANULE_4K_SIZE, attrs, 3);
	break_entry(o, pte, base, CACHED_AT_IPA,
		    table_desc(t) | (uint64_t)PTES_PER_TABLE << COUNT_SHIFT);
	o->s2->nr_blocks--; /* t was the page this block kept */
	batch_flush(o);
}

/* A full table of 512 uniform pages becomes one block. */
static void try_fold(struct op *o, uint64_t *pte, uint64_t base)
{
	uint64_t *t = table_of(*pte);
	uint64_t attrs = t[0] & PTE_ATTR_MASK;

	if (count_of(*pte) != PTES_PER_TABLE)
		return;
	for (unsigned i = 0; i < PTES_PER_TABLE; i++) {
		if (t[i] != leaf_desc(base + i * GRANULE_4K_SIZE, attrs, 3))
			return;
	}
	break_entry(o, pte, base, CACHED_RANGE,
		    leaf_desc(base, attrs, S2_BLOCK_LEVEL));
	free_table(o, t); /* the page the new block keeps */
	o->s2->nr_blocks++;
}

/* --- the three commits -------------------------------------------------- */

/* The range is unmapped (checked), so tables below it are not full, and
 * a table in a region the map covers whole is empty. */
static int map_visit(struct op *o, uint64_t *pte, int level, uint64_t ipa,
		     uint64_t end)
{
	int made = 0;

	if (level == 3 ||
	    (level == S2_BLOCK_LEVEL && covers_entry(level, ipa, end))) {
		uint64_t desc = leaf_desc(ipa, o->attrs, level);
		uint64_t *t = table_of(*pte);

		o->s2->nr_blocks += level == S2_BLOCK_LEVEL;
		if (!is_table(*pte, level)) {
			set_new(o, pte, desc);
			return 1;
		}
		/* An empty table kept in place: the block replaces it, and
		 * it becomes the page the block keeps. No leaf below it. */

		CHECK(!count_of(*pte));
		unlink_empty(o->s2, t);
		break_entry(o, pte, ipa, CACHED_AT_IPA, desc);
		free_table(o, t);
		return 0;
	}
	if (!is_valid(*pte)) {
		/* Filled, then linked: its count is known by then. */
		uint64_t *t = new_table(o);
		int n = walk_range(o, t, level + 1, ipa, end);

		set_new(o, pte, table_desc(t) | (uint64_t)n << COUNT_SHIFT);
		made = 1;
	} else {
		CHECK(is_table(*pte, level));
		if (!count_of(*pte))
			unlink_empty(o->s2, table_of(*pte));
		count_add(pte, walk_range(o, table_of(*pte), level + 1, ipa,
					  end));
	}
	if (level == S2_BLOCK_LEVEL)
		try_fold(o, pte, align_down(ipa, level));
	return made;
}

static int unmap_visit(struct op *o, uint64_t *pte, int level, uint64_t ipa,
		       uint64_t end)
{
	bool whole = covers_entry(level, ipa, end);
	uint64_t *t;

	if (!is_valid(*pte))
		return 0;
	if (!is_table(*pte, level)) {
		if (whole) {
			break_entry(o, pte, ipa, CACHED_AT_IPA, 0);
			o->s2->nr_blocks -= level == S2_BLOCK_LEVEL;
			return -1;
		}
		split(o, pte, align_down(ipa, level));
	}
	t = table_of(*pte);
	if (whole) {
		uint64_t desc = *pte;

		break_entry(o, pte, ipa, CACHED_RANGE, 0);
		free_subtree(o, desc, level + 1);
		return -1;
	}
	if (!count_of(*pte))
		return 0; /* kept empty: nothing below it to unmap */
	count_add(pte, walk_range(o, t, level + 1, ipa, end));
	if (!count_of(*pte))
		keep_empty(o->s2, t, align_down(ipa, level), level + 1);
	return 0;
}

/* The range is mapped (checked), every entry met is valid. */
static int protect_visit(struct op *o, uint64_t *pte, int level, uint64_t ipa,
			 uint64_t end)
{
	bool whole = covers_entry(level, ipa, end);
	uint64_t base = align_down(ipa, level);
	uint64_t want = leaf_desc(base, o->attrs, level);

	CHECK(is_valid(*pte));
	if (!is_table(*pte, level)) {
		if (*pte == want)
			return 0;
		if (whole) {
			break_entry(o, pte, ipa, CACHED_AT_IPA, want);
			return 0;
		}
		split(o, pte, base);
	} else if (whole && level == S2_BLOCK_LEVEL) {
		uint64_t *t = table_of(*pte);

		break_entry(o, pte, ipa, CACHED_RANGE, want);
		free_table(o, t); /* the page the new block keeps */
		o->s2->nr_blocks++;
		return 0;
	}
	walk_range(o, table_of(*pte), level + 1, ipa, end);
	return 0;
}

/* --- public ------------------------------------------------------------- */

int s2_init(struct s2 *s2, uint64_t *root, unsigned vm_id)
{
	if ((uintptr_t)root & (S2_ROOT_SIZE - 1) || !vm_id ||
	    vm_id >= EXO_MAX_VMS)
		return EXO_ERANGE;
	for (unsigned i = 0; i < ROOT_ENTRIES; i++)
		root[i] = 0;
	*s2 = (struct s2){.root = root, .vm_id = vm_id};
	return EXO_OK;
}

void s2_destroy(struct s2 *s2, struct s2_page_cache *cache)
{
	struct op o;

	op_init(&o, s2, cache, NULL, 0);
	for (unsigned i = 0; i < ROOT_ENTRIES; i++) {
		uint64_t *pte = &s2->root[i];
		uint64_t desc = *pte;

		if (!is_table(desc, S2_START_LEVEL))
			continue;
		break_entry(&o, pte, i * LEVEL_SIZE(S2_START_LEVEL),
			    CACHED_RANGE, 0);
		free_subtree(&o, desc, S2_START_LEVEL + 1);
	}
	/* Even with nothing mapped, retire the VMID for its next owner. */
	o.whole_vmid = true;
	s2->nr_blocks = 0; /* their kept pages stay in the cache */
	op_finish(&o);
	CHECK(s2->nr_tables == 0);
	CHECK(!s2->empty && !s2->nr_empty);
}

uint64_t s2_vtcr(unsigned pa_bits, unsigned vmid_bits)
{
	uint64_t ps = 0;

	CHECK(pa_bits >= S2_IPA_BITS); /* a property of the CPU */
	for (uint64_t e = 0; e <= PARANGE_48BIT; e++) {
		if (parange_bits(e) <= pa_bits)
			ps = e;
	}
	/* DS (52-bit addresses) and HAFT stay 0: a table descriptor's bits
	 * [11:2] are then ignored, and hold its table's count. */
	return VTCR_EL2_RES1 | T0SZ_40BIT << VTCR_EL2_T0SZ_SHIFT |
	       VTCR_EL2_SL0_4K_L1 << VTCR_EL2_SL0_SHIFT | VTCR_EL2_IRGN0_WBWA |
	       VTCR_EL2_ORGN0_WBWA | VTCR_EL2_SH0_INNER | VTCR_EL2_TG0_4K |
	       (vmid_bits == 16 ? VTCR_EL2_VS_16BIT : VTCR_EL2_VS_8BIT) |
	       ps << VTCR_EL2_PS_SHIFT;
}

static bool prot_ok(unsigned prot)
{
	return s2_prot_ok(prot);
}

int s2_check_pages(const struct s2 *s2, enum s2_op op, ipaddr_t at,
		   uint64_t size, unsigned prot, unsigned *pages)
{
	uint64_t ipa = ipa_addr(at);
	struct scan sc;

	*pages = 0;
	if (!size)
		return EXO_EINVAL;
	if ((ipa | size) & (GRANULE_4K_SIZE - 1) || ipa >= IPA_LIMIT ||
	    size > IPA_LIMIT - ipa)
		return EXO_ERANGE;
	if (op == S2_OP_UNMAP)
		return EXO_OK; /* a split takes the page its block kept */
	if (!prot_ok(prot) && !(op == S2_OP_PROTECT && prot == S2_PROT_NONE))
		return EXO_EINVAL;
	scan(s2, ipa, ipa + size, &sc);
	if (op == S2_OP_MAP && sc.any)
		return EXO_EBUSY;
	if (op == S2_OP_PROTECT && !sc.all)
		return EXO_ESTATE;
	if (op == S2_OP_MAP)
		*pages = sc.pages;
	return EXO_OK;
}

int s2_check(const struct s2 *s2, enum s2_op op, ipaddr_t ipa, uint64_t size,
	     unsigned prot)
{
	unsigned pages;

	return s2_check_pages(s2, op, ipa, size, prot, &pages);
}

unsigned s2_pages_needed(const struct s2 *s2, enum s2_op op, ipaddr_t at,
			 uint64_t size)
{
	uint64_t ipa = ipa_addr(at);
	struct scan sc;

	if (op != S2_OP_MAP)
		return 0; /* a split takes the page its block kept */
	scan(s2, ipa, ipa + size, &sc);
	return sc.pages;
}

static const visit_fn visits[] = {
	[S2_OP_MAP] = map_visit,
	[S2_OP_UNMAP] = unmap_visit,
	[S2_OP_PROTECT] = protect_visit,
};

/* The level-3 entry of ipa when its tables exist (the level-3 one kept
 * empty or not): one walk of two table loads (el2/s2.h). */
static bool find_slot(const struct s2 *s2, uint64_t ipa, struct s2_slot *s)
{
	*s = s2_page_slot(s2, ipa_init(ipa));
	return s2_slot_found(*s);
}

/* The unmapped page at ipa of slot s gets its leaf, and its table the
 * count (a table kept empty leaves the list first). Invalid -> valid: no
 * TLB maintenance. */
static void map_leaf(struct s2 *s2, struct s2_slot s, uint64_t ipa,
		     uint64_t attrs)
{
	if (!count_of(*s.l2))
		unlink_empty(s2, table_of(*s.l2));
	CHECK(!is_valid(*s.pte));
	arch_s2_write_pte(s.pte, leaf_desc(ipa, attrs, 3));
	count_add(s.l2, 1);
}

/* What map_visit does at level 3 and at the level-2 entry above it, for
 * the unmapped page of slot s: no walk, no page taken (a fold gives one
 * back). */
static void map_at(struct op *o, struct s2_slot s, uint64_t ipa)
{
	map_leaf(o->s2, s, ipa, o->attrs);
	o->published = true;
	try_fold(o, s.l2, align_down(ipa, S2_BLOCK_LEVEL));
}

/* What unmap_visit does there, for the mapped page of slot s. */
static void unmap_at(struct op *o, struct s2_slot s, uint64_t ipa)
{
	break_entry(o, s.pte, ipa, CACHED_AT_IPA, 0);
	count_add(s.l2, -1);
	if (!count_of(*s.l2))
		keep_empty(o->s2, table_of(*s.l2),
			   align_down(ipa, S2_BLOCK_LEVEL), 3);
}

/* The commonest commits, a map or an unmap of one page whose level-3
 * table exists, straight at its entry, without the generic walk. False
 * (nothing done) when the tables are not there. */
static bool commit_page(struct op *o, enum s2_op op, uint64_t ipa)
{
	struct s2_slot s;

	if (op == S2_OP_PROTECT || !find_slot(o->s2, ipa, &s))
		return false;
	if (op == S2_OP_MAP)
		map_at(o, s, ipa);
	else if (is_valid(*s.pte))
		unmap_at(o, s, ipa);
	return true;
}

/* The map that completes its table: the fold it may make goes through a
 * batch (break, TLBIs, the block, the table to the cache). */
static void map_slot_batched(struct s2 *s2, struct s2_page_cache *cache,
			     struct s2_slot s, uint64_t ipa, uint64_t attrs)
{
	struct op o;

	op_init(&o, s2, cache, map_visit, attrs);
	map_at(&o, s, ipa);
	op_finish(&o);
}

/* s2_map_slot's rare cases: a table that fills needs the batch; one kept
 * empty leaves the list (map_leaf), then the DSB that op_finish would
 * make. */
void s2_map_slot_rare(struct s2 *s2, struct s2_page_cache *cache,
		      struct s2_slot slot, uint64_t ipa, unsigned prot)
{
	if (count_of(*slot.l2) >= PTES_PER_TABLE - 1) {
		map_slot_batched(s2, cache, slot, ipa, prot_attrs(prot));
		return;
	}
	map_leaf(s2, slot, ipa, prot_attrs(prot));
	arch_dsb_ish();
}

void s2_keep_empty_slot(struct s2 *s2, struct s2_slot slot, uint64_t ipa)
{
	keep_empty(s2, table_of(*slot.l2), align_down(ipa, S2_BLOCK_LEVEL), 3);
}

void s2_commit(struct s2 *s2, struct s2_page_cache *cache, enum s2_op op,
	       ipaddr_t at, uint64_t size, unsigned prot)
{
	uint64_t ipa = ipa_addr(at);
	struct op o;

	op_init(&o, s2, cache, visits[op],
		op == S2_OP_UNMAP ? 0 : prot_attrs(prot));
	if (size != GRANULE_4K_SIZE || !commit_page(&o, op, ipa))
		walk_range(&o, s2->root, S2_START_LEVEL, ipa, ipa + size);
	op_finish(&o);
}

static int check_commit(struct s2 *s2, struct s2_page_cache *cache,
			enum s2_op op, ipaddr_t ipa, uint64_t size,
			unsigned prot)
{
	unsigned pages;
	int rc = s2_check_pages(s2, op, ipa, size, prot, &pages);

	if (rc)
		return rc;
	CHECK(cache->nr >= s2->nr_blocks + pages);
	s2_commit(s2, cache, op, ipa, size, prot);
	return EXO_OK;
}

int s2_map(struct s2 *s2, struct s2_page_cache *cache, ipaddr_t ipa,
	   uint64_t size, unsigned prot)
{
	return check_commit(s2, cache, S2_OP_MAP, ipa, size, prot);
}

int s2_unmap(struct s2 *s2, struct s2_page_cache *cache, ipaddr_t ipa,
	     uint64_t size)
{
	return check_commit(s2, cache, S2_OP_UNMAP, ipa, size, S2_PROT_R);
}

int s2_protect(struct s2 *s2, struct s2_page_cache *cache, ipaddr_t ipa,
	       uint64_t size, unsigned prot)
{
	return check_commit(s2, cache, S2_OP_PROTECT, ipa, size, prot);
}

/* The entry at level for ipa (reached through valid tables), and the
 * descriptor entry pointing to its table (NULL when that is the root). */
static uint64_t *entry_at(const struct s2 *s2, uint64_t ipa, int level,
			  uint64_t **parent)
{
	uint64_t *table = s2->root;

	*parent = NULL;
	for (int l = S2_START_LEVEL; l < level; l++) {
		*parent = &table[index_of(ipa, l)];
		CHECK(is_table(**parent, l));
		table = table_of(**parent);
	}
	return &table[index_of(ipa, level)];
}

static bool overlaps(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
	return b < b_end && a < b_end && b < a_end;
}

/* Detaches the empty table t: its entry is broken (no leaf below it, one
 * TLBI by IPA drops the walk's cached entry), it goes to the cache after
 * the TLBIs, and the table that held its entry loses a valid entry (kept
 * empty in turn when that was its last). */
static void give_back(struct op *o, uint64_t *t)
{
	uint64_t where = t[EMPTY_WHERE];
	int level = (int)((where & WHERE_LEVEL_MASK) >> WHERE_LEVEL_SHIFT);
	uint64_t base = where & ~WHERE_LEVEL_MASK;
	uint64_t *parent;
	uint64_t *pte = entry_at(o->s2, base, level - 1, &parent);

	CHECK(table_of(*pte) == t && !count_of(*pte));
	unlink_empty(o->s2, t);
	break_entry(o, pte, base, CACHED_AT_IPA, 0);
	free_table(o, t);
	if (!parent)
		return;
	count_add(parent, -1);
	if (!count_of(*parent))
		keep_empty(o->s2, table_of(*parent),
			   align_down(base, level - 2), level - 1);
}

unsigned s2_reclaim(struct s2 *s2, struct s2_page_cache *cache, unsigned max,
		    ipaddr_t avoid, uint64_t avoid_size)
{
	uint64_t lo = ipa_addr(avoid), hi = lo + avoid_size;
	unsigned n = 0;
	bool again = true;
	struct op o;

	op_init(&o, s2, cache, NULL, 0);
	/* A pass may leave a level-2 table empty (at the list's head):
	 * passes until one gives nothing back. */
	while (again && n < max) {
		uint64_t *t = s2->empty;

		again = false;
		while (t && n < max) {
			uint64_t *next = table_at(t[EMPTY_NEXT]);
			uint64_t where = t[EMPTY_WHERE];
			int level = (int)((where & WHERE_LEVEL_MASK) >>
					  WHERE_LEVEL_SHIFT);
			uint64_t base = where & ~WHERE_LEVEL_MASK;

			if (!overlaps(base, base + LEVEL_SIZE(level - 1), lo,
				      hi)) {
				give_back(&o, t);
				n++;
				again = true;
			}
			t = next;
		}
	}
	op_finish(&o);
	return n;
}

static struct s2_leaf leaf_of(uint64_t desc, uint64_t ipa, int level)
{
	return (struct s2_leaf){.ipa = align_down(ipa, level),
				.size = LEVEL_SIZE(level),
				.desc = desc,
				.prot = desc_prot(desc),
				.level = level};
}

bool s2_lookup(const struct s2 *s2, ipaddr_t at, struct s2_leaf *leaf)
{
	uint64_t ipa = ipa_addr(at);
	int level;
	uint64_t *pte;

	if (ipa >= IPA_LIMIT)
		return false;
	pte = probe(s2, ipa, &level);
	if (!is_valid(*pte))
		return false;
	*leaf = leaf_of(*pte, ipa, level);
	return true;
}

static void walk_table(const uint64_t *table, int level, uint64_t base,
		       s2_walk_fn fn, void *ctx)
{
	for (unsigned i = 0; i < entries_at(level); i++) {
		uint64_t ipa = base + i * LEVEL_SIZE(level);
		struct s2_leaf leaf;

		if (is_table(table[i], level)) {
			walk_table(table_of(table[i]), level + 1, ipa, fn, ctx);
		} else if (is_valid(table[i])) {
			leaf = leaf_of(table[i], ipa, level);
			fn(ctx, &leaf);
		}
	}
}

void s2_walk(const struct s2 *s2, s2_walk_fn fn, void *ctx)
{
	walk_table(s2->root, S2_START_LEVEL, 0, fn, ctx);
}
