/*
 * Per-guest stage-2 translation tables: an identity map (IPA == PA) of the
 * frames a guest may access, with their permissions and memory type.
 * 4 KiB granule, 40-bit IPA, starting at level 1 (two concatenated level-1
 * tables), 2 MiB blocks where a whole aligned block is uniform, one VMID.
 *
 * Owns the table pages below the root, which come only from a caller-filled
 * struct s2_page_cache. Never allocates on its own, never decides who may
 * access a frame (the frame DB does), never changes a live entry without
 * break-before-make, never panics on a value a guest controls.
 *
 * Two phases, as the hypercall layer needs them, one walk each:
 *   rc = s2_check_pages(s2, op, ipa, size, prot, &n); may fail, changes
 *                                                    nothing
 *   top up the cache to s2_blocks(s2) + n pages (charge the guest); may
 *   fail: EXO_ENOMEM
 *   s2_commit(s2, cache, op, ipa, size, prot);       cannot fail now
 * (s2_map / s2_unmap / s2_protect check and commit at once.)
 * Every 2 MiB block keeps one page in the cache, paid when the block is
 * made (a map of a whole block, or 512 pages folding into one): the page
 * its split will need. So an unmap or a protect never needs a page the
 * guest has not paid for already (s2_pages_needed is 0 for them), whoever
 * asks for it: the owner taking back what it shared, revocation, a
 * teardown (docs/memory-model.md, "Rule 1").
 * A table page that becomes empty stays in place, counted in nr_tables,
 * for the next map in its region (no zeroing, no TLB maintenance): each
 * table descriptor counts its table's valid entries, so nothing is scanned
 * (el2/s2.c). s2_reclaim gives empty tables back to the cache (after the
 * TLB maintenance that makes them unreachable): under memory pressure and
 * by revocation; s2_destroy gives back everything. Tables whose region an
 * unmap covers whole still go back at once. The caller trims the cache
 * with s2_cache_pop and uncharges what it frees. The caller serialises all
 * calls on one struct s2 (the guest's lock).
 */
#ifndef EXO_EL2_S2_H
#define EXO_EL2_S2_H

#include <arch/pte.h>
#include <el2/arch.h>
#include <el2/paddr.h>
#include <el2/vmid.h>
#include <lib/panic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S2_IPA_BITS    40
#define S2_START_LEVEL 1
#define S2_BLOCK_LEVEL 2 /* the only level with block descriptors */
#define S2_ROOT_PAGES  2 /* concatenated level-1 tables */
#define S2_ROOT_SIZE   (S2_ROOT_PAGES * GRANULE_4K_SIZE)
/* A table descriptor's ignored bits [11:2]: its table's valid entries. */
#define S2_TABLE_COUNT_SHIFT 2
#define S2_TABLE_COUNT_MASK  (UINT64_C(0x3ff) << S2_TABLE_COUNT_SHIFT)

/* Access a guest is given to a range, and its memory type. */
enum s2_prot {
	S2_PROT_R = 1u << 0,
	S2_PROT_W = 1u << 1,
	S2_PROT_X = 1u << 2,
	S2_PROT_DEVICE = 1u << 3, /* device nGnRE; else normal WB, inner-sh. */
};
/* s2_protect only: the translation (and every table page it uses) stays,
 * with no access. A lender's view of what it lent: taking it back never
 * needs a page (docs/memory-model.md, "Rule 1"). */
#define S2_PROT_NONE 0u

enum s2_op {
	S2_OP_MAP,
	S2_OP_UNMAP,
	S2_OP_PROTECT,
};

/* Free table pages, linked through their first word. */
struct s2_page_cache {
	uint64_t *head;
	unsigned nr;
};

struct s2 {
	uint64_t *root; /* S2_ROOT_SIZE bytes, S2_ROOT_SIZE aligned */
	unsigned vm_id; /* whose VMID lease tags it (el2/vmid.h) */
	unsigned nr_tables; /* table pages below the root, empty ones too */
	unsigned nr_blocks; /* 2 MiB block leaves: each keeps a cache page */
	uint64_t *empty;    /* the empty tables kept in place, listed */
	unsigned nr_empty;
};

/* One leaf: a 4 KiB page (level 3) or a 2 MiB block (level 2). */
struct s2_leaf {
	uint64_t ipa; /* first byte the leaf translates */
	uint64_t size;
	uint64_t desc; /* the raw descriptor */
	unsigned prot; /* enum s2_prot bits */
	int level;
};

typedef void (*s2_walk_fn)(void *ctx, const struct s2_leaf *leaf);

void s2_cache_init(struct s2_page_cache *cache);
/* Adds a page-aligned 4 KiB page (any contents) to the cache. */
void s2_cache_push(struct s2_page_cache *cache, void *page);
/* Takes a page out of the cache; NULL when it is empty. */
void *s2_cache_pop(struct s2_page_cache *cache);

/* root: S2_ROOT_SIZE bytes aligned to S2_ROOT_SIZE (the caller keeps
 * ownership; s2_init zeroes it); vm_id: the VM whose VMID lease tags its
 * entries. EXO_ERANGE if misaligned or vm_id is no VM id. */
int s2_init(struct s2 *s2, uint64_t *root, unsigned vm_id);
/* Unmaps everything, invalidates the VMID's TLB entries and puts every table
 * page below the root into cache. The guest must not be running. */
void s2_destroy(struct s2 *s2, struct s2_page_cache *cache);

/* Normal memory's stage-2 memory type (docs/stage2.md, "Memory
 * attributes"). forced: the CPU has FEAT_S2FWB and every vCPU runs with
 * HCR_EL2.FWB (vcpu_reset), so stage 2 makes guest RAM Write-Back whatever
 * the guest's stage 1 says (MMU off and Non-cacheable mappings included):
 * no guest can make an alias of another attribute than EL2's. Otherwise
 * Write-Back combined with stage 1's, and a guest's Non-cacheable view is
 * left to the cleans on hand-over. Set once at boot, before any stage 2
 * maps anything (el2/arch/s2fwb.c); false until then. Inline: every
 * scrub asks (el2/mem.c, scrub_frames). */
void s2_set_forced_wb(bool forced);
extern bool s2_wb_forced;
static inline bool s2_forced_wb(void)
{
	return s2_wb_forced;
}
/* Whether a memory type in MAIR format (PAR_EL1.ATTR) is Normal
 * Write-Back, inner and outer (any allocation or transient hint). */
bool s2_mair_write_back(uint8_t attr);
/* VTCR_EL2 for every guest: T0SZ for 40 bits, SL0 level 1, 4 KiB granule,
 * inner-shareable write-back tables, PS from pa_bits (at least 40), VS
 * for vmid_bits (8 or 16). */
uint64_t s2_vtcr(unsigned pa_bits, unsigned vmid_bits);

/*
 * The check phase. EXO_EINVAL: size 0 or bad prot (no access but for a
 * protect to S2_PROT_NONE, unknown bits, executable device memory);
 * EXO_ERANGE: ipa or size not page-aligned, or the range overflows or
 * passes 2^40; EXO_EBUSY: map over a mapped page (S2_PROT_NONE too);
 * EXO_ESTATE: protect over an unmapped page. Unmapping holes is allowed.
 * prot is ignored for S2_OP_UNMAP.
 */
int s2_check(const struct s2 *s2, enum s2_op op, ipaddr_t ipa, uint64_t size,
	     unsigned prot);
/* s2_check and s2_pages_needed in one walk: *pages is 0 unless it
 * returns EXO_OK. */
int s2_check_pages(const struct s2 *s2, enum s2_op op, ipaddr_t ipa,
		   uint64_t size, unsigned prot, unsigned *pages);
/* The pages the cache must hold for the operation beyond s2_blocks(): the
 * new tables a map takes, plus one kept for each block it makes; 0 for an
 * unmap or a protect (a split takes its block's kept page). Only
 * meaningful after s2_check succeeded. */
unsigned s2_pages_needed(const struct s2 *s2, enum s2_op op, ipaddr_t ipa,
			 uint64_t size);

/* The commit phase: each re-runs s2_check and returns its error without a
 * change; with a passing check and a cache holding s2_pages_needed pages it
 * returns EXO_OK. */
int s2_map(struct s2 *s2, struct s2_page_cache *cache, ipaddr_t ipa,
	   uint64_t size, unsigned prot);
int s2_unmap(struct s2 *s2, struct s2_page_cache *cache, ipaddr_t ipa,
	     uint64_t size);
int s2_protect(struct s2 *s2, struct s2_page_cache *cache, ipaddr_t ipa,
	       uint64_t size, unsigned prot);

/* The commit alone, right after a passing check (nothing changed since)
 * with the cache holding s2_blocks() + the pages it counted: one walk, no
 * second check (what the walk relies on it checks with CHECK as it goes). */
void s2_commit(struct s2 *s2, struct s2_page_cache *cache, enum s2_op op,
	       ipaddr_t ipa, uint64_t size, unsigned prot);

/* The cache pages the blocks keep for their splits: the caller never trims
 * the cache below this. Inline: every memory call reads it. */
static inline unsigned s2_blocks(const struct s2 *s2)
{
	return s2->nr_blocks;
}

/* Empty tables kept in place (counted in nr_tables). */
static inline unsigned s2_empty_tables(const struct s2 *s2)
{
	return s2->nr_empty;
}

/*
 * The one-page paths (a frame's FRAME_ALLOC and FRAME_FREE, the commonest
 * calls): check and commit share one walk. s2_page_slot finds the
 * level-3 entry of ipa when the tables above it exist (the level-3 one
 * kept empty or not); pte NULL when they do not or ipa is not a page
 * below 2^40 (then a map would need pages, or the page sits in a block:
 * take s2_check_pages and s2_commit). Changes nothing. The slot stays
 * valid until the next change to this stage 2, and is passed by value
 * (two registers: the callers keep no slot in memory). s2_map_slot and
 * s2_unmap_slot are then what s2_commit of S2_OP_MAP / S2_OP_UNMAP of
 * that one page at ipa does (break-before-make, TLB maintenance, counts,
 * the empty table kept or reused, a fold), on an unmapped / a mapped slot
 * (CHECK: the caller looked with s2_slot_mapped); no page is taken from
 * the cache, and an unmap gives none to it (an emptied table stays).
 * Inline: the common case (a table neither empty nor about to fill, for
 * a map; one that keeps an entry, for an unmap) is a few loads and
 * stores, the leaf and its table's count, and the barriers and TLBIs,
 * which a call each would double. The rest is out of line in el2/s2.c
 * (s2_map_slot_rare, s2_keep_empty_slot), as are the descriptors' other
 * uses: el2/s2.c reads descriptors with the helpers below.
 */
struct s2_slot {
	uint64_t *l2;  /* the level-2 entry of its level-3 table */
	uint64_t *pte; /* its level-3 entry */
};

#define S2_IPA_LIMIT    (UINT64_C(1) << S2_IPA_BITS)
#define S2_ROOT_ENTRIES (S2_ROOT_PAGES * PTES_PER_TABLE)

/* Whether desc at a level above 3 points to a table. */
static inline bool s2_desc_is_table(uint64_t desc)
{
	return (desc & PTE_TYPE_MASK) == (PTE_VALID | PTE_TABLE);
}

static inline uint64_t *s2_desc_table(uint64_t desc)
{
	return (uint64_t *)(uintptr_t)(desc & PTE_ADDR_MASK);
}

/* The count of a table's valid entries, in its descriptor's ignored bits
 * [11:2] (10 bits: 0..512). */
static inline unsigned s2_desc_count(uint64_t desc)
{
	return (unsigned)((desc & S2_TABLE_COUNT_MASK) >> S2_TABLE_COUNT_SHIFT);
}

/* A table descriptor with its count moved by delta: only ignored bits
 * change, so a live descriptor needs no break for it. */
static inline uint64_t s2_desc_count_add(uint64_t desc, int delta)
{
	return desc + (uint64_t)((int64_t)delta * (1 << S2_TABLE_COUNT_SHIFT));
}

static inline unsigned s2_index(uint64_t ipa, int level)
{
	unsigned entries = level == S2_START_LEVEL ? S2_ROOT_ENTRIES
						   : PTES_PER_TABLE;

	return (unsigned)((ipa >> LEVEL_SHIFT(level)) % entries);
}

/* Normal memory's MemAttr field as s2_set_forced_wb said: read by every
 * map (el2/s2.c writes it, once, at boot). */
extern uint64_t s2_normal_memattr;

/* The access bits of a leaf for prot's R, W and X (and AF). */
#define S2_ACCESS_ATTRS(p)                                                  \
	(S2_AF | ((p) & S2_PROT_R ? S2_AP_R : 0) |                          \
	 ((p) & S2_PROT_W ? S2_AP_W : 0) | ((p) & S2_PROT_X ? 0 : S2_XN))
#define S2_PROT_ACCESS (S2_PROT_R | S2_PROT_W | S2_PROT_X)
#define S2_PROT_ALL    (S2_PROT_ACCESS | S2_PROT_DEVICE)

/* A leaf's attributes for prot (memory type, shareability, access). */
static inline uint64_t s2_prot_attrs(unsigned prot)
{
	uint64_t a = S2_ACCESS_ATTRS(prot);

	if (prot & S2_PROT_DEVICE)
		return a | S2_MEMATTR(S2_MEMATTR_DEVICE_nGnRE);
	return a | s2_normal_memattr | S2_SH_INNER;
}

/* Some access, no unknown bit, and no executable device memory
 * (speculative fetches from MMIO). */
static inline bool s2_prot_ok(unsigned prot)
{
	if (prot & ~S2_PROT_ALL || !(prot & S2_PROT_ACCESS))
		return false;
	return !((prot & S2_PROT_DEVICE) && (prot & S2_PROT_X));
}

/* VTTBR_EL2's table base: the root. */
static inline uint64_t s2_baddr(const struct s2 *s2)
{
	return (uint64_t)(uintptr_t)s2->root;
}

/* For TLBIs: the root and the VMID the guest holds now (read after the
 * DSB that published the change: el2/vmid.h, vmid_current). */
static inline uint64_t s2_vttbr(const struct s2 *s2)
{
	return s2_baddr(s2) |
	       (uint64_t)vmid_current(s2->vm_id) << VTTBR_VMID_SHIFT;
}

static inline struct s2_slot s2_page_slot(const struct s2 *s2, ipaddr_t at)
{
	const struct s2_slot none = { NULL, NULL };
	uint64_t ipa = ipa_addr(at);
	uint64_t l1, *l2;

	if (ipa & (GRANULE_4K_SIZE - 1) || ipa >= S2_IPA_LIMIT)
		return none;
	l1 = s2->root[s2_index(ipa, S2_START_LEVEL)];
	if (!s2_desc_is_table(l1))
		return none;
	l2 = &s2_desc_table(l1)[s2_index(ipa, S2_BLOCK_LEVEL)];
	if (!s2_desc_is_table(*l2))
		return none;
	return (struct s2_slot){ l2, &s2_desc_table(*l2)[s2_index(ipa, 3)] };
}

static inline bool s2_slot_found(struct s2_slot slot)
{
	return slot.pte != NULL;
}

static inline bool s2_slot_mapped(struct s2_slot slot)
{
	return *slot.pte & PTE_VALID;
}

/* The maps s2_map_slot leaves out of line: into a table kept empty (it
 * leaves the list) or one the map fills (a fold may follow). */
void s2_map_slot_rare(struct s2 *s2, struct s2_page_cache *cache,
		      struct s2_slot slot, uint64_t ipa, unsigned prot);
/* The level-3 table of slot has no valid entry left: kept in place. */
void s2_keep_empty_slot(struct s2 *s2, struct s2_slot slot, uint64_t ipa);

static inline void s2_map_slot(struct s2 *s2, struct s2_page_cache *cache,
			       struct s2_slot slot, ipaddr_t at, unsigned prot)
{
	uint64_t ipa = ipa_addr(at);
	unsigned n = s2_desc_count(*slot.l2);

	CHECK(s2_prot_ok(prot) && !s2_slot_mapped(slot));
	if (!n || n >= PTES_PER_TABLE - 1) {
		s2_map_slot_rare(s2, cache, slot, ipa, prot);
		return;
	}
	/* Invalid -> valid: no TLB maintenance; the DSB makes the entry
	 * reach the walkers before the guest is told. */
	arch_s2_write_pte(slot.pte,
			  ipa | s2_prot_attrs(prot) | PTE_VALID | PTE_PAGE);
	arch_s2_write_pte(slot.l2, s2_desc_count_add(*slot.l2, 1));
	arch_dsb_ish();
}

/* What s2_unmap_slot tells the TLBI pair on the VMID loaded of s2's
 * VTTBR: the debug build checks it is the one loaded, the host records
 * it; the release build reads nothing for it (the lease's atomic load
 * would stay, though nothing uses it). */
static inline uint64_t s2_vttbr_loaded(const struct s2 *s2)
{
#if defined(EXO_DEBUG) || defined(EXO_HOST)
	return s2_vttbr(s2);
#else
	(void)s2;
	return 0;
#endif
}

/* Break, the count, then the TLBIs by IPA (the stage-2 entry) and of the
 * VMID's stage-1 entries (combined ones may cache it), completed. loaded:
 * s2 is the one VTTBR_EL2 holds (the running guest's own call), so the
 * TLBIs need no VMID test (arch_s2_tlbi_ipa_vmalle1_loaded). */
static inline void s2_unmap_slot(struct s2 *s2, struct s2_slot slot,
				 ipaddr_t at, bool loaded)
{
	uint64_t ipa = ipa_addr(at);

	CHECK(s2_slot_mapped(slot));
	arch_s2_write_pte(slot.pte, 0);
	arch_s2_write_pte(slot.l2, s2_desc_count_add(*slot.l2, -1));
	if (!s2_desc_count(*slot.l2))
		s2_keep_empty_slot(s2, slot, ipa);
	arch_dsb_ish();
	if (loaded)
		arch_s2_tlbi_ipa_vmalle1_loaded(s2_vttbr_loaded(s2), ipa);
	else
		arch_s2_tlbi_ipa_vmalle1(s2_vttbr(s2), ipa);
	arch_dsb_ish();
	arch_isb();
}

/* Gives up to max empty tables back to the cache, but none whose region
 * meets [avoid, +avoid_size) (size 0: none avoided); a level-2 table left
 * empty by it goes too. Returns how many. Cannot fail. */
unsigned s2_reclaim(struct s2 *s2, struct s2_page_cache *cache, unsigned max,
		    ipaddr_t avoid, uint64_t avoid_size);

/* The leaf translating ipa, if any. */
bool s2_lookup(const struct s2 *s2, ipaddr_t ipa, struct s2_leaf *leaf);
/* Calls fn for every leaf, in IPA order. */
void s2_walk(const struct s2 *s2, s2_walk_fn fn, void *ctx);

#endif
