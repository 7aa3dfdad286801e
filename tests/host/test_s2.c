/*
 * el2/s2.c: stage-2 tables. Exact break-before-make and TLBI sequences,
 * blocks, splits and folds, the page-cache accounting, well-formed
 * descriptors, and a seeded random run against a per-page reference model.
 */
#include "fake_arch.h"

#include <arch/pte.h>
#include <criterion/criterion.h>
#include <el2/s2.h>
#include <exo/errors.h>
#include <stdio.h>
#include <stdlib.h>

#define S2_PAGE GRANULE_4K_SIZE /* one stage-2 page maps one frame */
#define GIB  (UINT64_C(1) << 30)
#define MIB2 LEVEL_SIZE(2)
#define RW   (S2_PROT_R | S2_PROT_W)
#define LEAF_ATTR_BITS                                                         \
	(S2_MEMATTR_MASK | S2_AP_R | S2_AP_W | S2_SH_INNER | S2_AF | S2_XN)

struct env {
	struct s2 s2;
	uint64_t *root;
	struct s2_page_cache cache;
	unsigned pages_in;
};

static void env_init(struct env *e, unsigned vmid)
{
	*e = (struct env){0};
	e->root = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
	cr_assert_not_null(e->root);
	s2_cache_init(&e->cache);
	cr_assert_eq(s2_init(&e->s2, e->root, vmid), EXO_OK);
	fake_s2_reset();
}

static void topup(struct env *e, unsigned n)
{
	while (e->cache.nr < n) {
		void *p = aligned_alloc(S2_PAGE, S2_PAGE);

		cr_assert_not_null(p);
		memset(p, 0xa5, S2_PAGE); /* s2 must zero what it uses */
		s2_cache_push(&e->cache, p);
		e->pages_in++;
	}
}

static void check_accounting(struct env *e)
{
	cr_assert_eq(e->pages_in, e->cache.nr + e->s2.nr_tables,
		     "pages in %u != cache %u + tables %u", e->pages_in,
		     e->cache.nr, e->s2.nr_tables);
	cr_assert_geq(e->cache.nr, s2_blocks(&e->s2),
		      "each of %u blocks keeps a page in the cache (%u)",
		      s2_blocks(&e->s2), e->cache.nr);
}

static void check_tables(struct env *e);

/* The hypercall layer's sequence: check, prepare, commit. */
static int run(struct env *e, enum s2_op op, uint64_t ipa, uint64_t size,
	       unsigned prot)
{
	int rc = s2_check(&e->s2, op, ipa_init(ipa), size, prot);

	if (rc)
		return rc;
	topup(e, s2_blocks(&e->s2) +
		     s2_pages_needed(&e->s2, op, ipa_init(ipa), size));
	fake_s2_reset();
	switch (op) {
	case S2_OP_MAP:
		rc = s2_map(&e->s2, &e->cache, ipa_init(ipa), size, prot);
		break;
	case S2_OP_UNMAP:
		rc = s2_unmap(&e->s2, &e->cache, ipa_init(ipa), size);
		break;
	case S2_OP_PROTECT:
		rc = s2_protect(&e->s2, &e->cache, ipa_init(ipa), size, prot);
		break;
	}
	cr_assert_eq(rc, EXO_OK, "commit failed after a passing check");
	check_accounting(e);
	return rc;
}

static int map(struct env *e, uint64_t ipa, uint64_t size, unsigned prot)
{
	return run(e, S2_OP_MAP, ipa, size, prot);
}

static int unmap(struct env *e, uint64_t ipa, uint64_t size)
{
	return run(e, S2_OP_UNMAP, ipa, size, 0);
}

static int protect(struct env *e, uint64_t ipa, uint64_t size, unsigned prot)
{
	return run(e, S2_OP_PROTECT, ipa, size, prot);
}

static void env_destroy(struct env *e)
{
	unsigned out = 0;
	void *p;

	s2_destroy(&e->s2, &e->cache);
	cr_assert_eq(e->s2.nr_tables, 0);
	while ((p = s2_cache_pop(&e->cache))) {
		free(p);
		out++;
	}
	cr_assert_eq(out, e->pages_in, "destroy returned %u of %u pages", out,
		     e->pages_in);
	free(e->root);
}

/* The entry for ipa at level, read from the raw tables. */
static uint64_t *raw_pte(struct env *e, uint64_t ipa, int level)
{
	uint64_t *t = e->root;

	for (int l = S2_START_LEVEL;; l++) {
		unsigned n =
		    l == S2_START_LEVEL ? 2 * PTES_PER_TABLE : PTES_PER_TABLE;
		uint64_t *pte = &t[(ipa >> LEVEL_SHIFT(l)) % n];

		if (l == level)
			return pte;
		cr_assert(*pte & PTE_TABLE, "no table at level %d", l);
		t = (uint64_t *)(uintptr_t)(*pte & PTE_ADDR_MASK);
	}
}

/* --- recorded sequences --------------------------------------------- */

struct expect {
	enum fake_s2_kind kind;
	uint64_t *pte; /* PTE only; NULL: any */
	uint64_t arg;  /* PTE: descriptor; TLBI_IPA: IPA */
};

static const char *kind_name(enum fake_s2_kind k)
{
	static const char *names[] = {"PTE",	  "DSB",     "ISB",
				      "TLBI_IPA", "VMALLE1", "VMALLS12"};

	return names[k];
}

/* The log from event `from` on is exactly x[0..n). */
static void expect_log(size_t from, const struct expect *x, size_t n,
		       uint64_t vttbr)
{
	for (size_t i = from; i < fake_s2.nr; i++)
		cr_log_info("event %zu: %s %#lx", i,
			    kind_name(fake_s2.ev[i].kind),
			    (unsigned long)fake_s2.ev[i].arg);
	cr_assert_eq(fake_s2.nr, from + n, "%zu events, expected %zu",
		     fake_s2.nr, from + n);
	for (size_t i = from; i < from + n; i++) {
		const struct fake_s2_event *ev = &fake_s2.ev[i];
		const struct expect *xi = &x[i - from];

		cr_assert_eq(ev->kind, xi->kind, "event %zu is %s, not %s", i,
			     kind_name(ev->kind), kind_name(xi->kind));
		if (ev->kind == FAKE_S2_PTE) {
			if (xi->pte)
				cr_assert_eq(ev->pte, xi->pte, "event %zu", i);
			cr_assert_eq(
			    ev->arg, xi->arg, "event %zu writes %#lx, not %#lx",
			    i, (unsigned long)ev->arg, (unsigned long)xi->arg);
		}
		if (ev->kind == FAKE_S2_TLBI_IPA)
			cr_assert_eq(ev->arg, xi->arg, "event %zu", i);
		if (ev->kind >= FAKE_S2_TLBI_IPA)
			cr_assert_eq(ev->vttbr, vttbr, "TLBI for another VMID");
	}
}

#define EXPECT_LOG_FROM(from, vttbr, ...)                                      \
	do {                                                                   \
		const struct expect x_[] = {__VA_ARGS__};                      \
		expect_log(from, x_, sizeof(x_) / sizeof(x_[0]), vttbr);       \
	} while (0)
#define EXPECT_LOG(vttbr, ...) EXPECT_LOG_FROM(0, vttbr, __VA_ARGS__)

#define PTE(p, d)                                                              \
	{                                                                      \
		FAKE_S2_PTE, p, d                                              \
	}
#define DSB                                                                    \
	{                                                                      \
		FAKE_S2_DSB, NULL, 0                                           \
	}
#define ISB                                                                    \
	{                                                                      \
		FAKE_S2_ISB, NULL, 0                                           \
	}
#define TLBI_IPA(ipa)                                                          \
	{                                                                      \
		FAKE_S2_TLBI_IPA, NULL, ipa                                    \
	}
#define VMALLE1                                                                \
	{                                                                      \
		FAKE_S2_TLBI_VMALLE1, NULL, 0                                  \
	}
#define VMALLS12                                                               \
	{                                                                      \
		FAKE_S2_TLBI_VMID, NULL, 0                                     \
	}

/*
 * The rules for any recorded operation: a valid entry never becomes another
 * valid entry directly; a broken entry gets a new value only after
 * DSB -> TLBI -> DSB [-> VMALLE1IS -> DSB] -> ISB; nothing stays broken
 * without that; new entries are followed by a DSB.
 */
static void check_bbm(uint64_t vttbr, const char *what)
{
	uint64_t *pending[FAKE_S2_LOG_MAX / 8];
	size_t nr_pending = 0;
	bool dsb_after_break = false, tlbi = false, dsb_after_tlbi = false;
	bool stage1_gone = false, unpublished = false;

	cr_assert_lt(fake_s2.nr, FAKE_S2_LOG_MAX, "%s: log overflow", what);
	for (size_t i = 0; i < fake_s2.nr; i++) {
		const struct fake_s2_event *ev = &fake_s2.ev[i];

		switch (ev->kind) {
		case FAKE_S2_PTE:
			/* A table's count lives in ignored bits. */
			if ((ev->old & PTE_VALID) && (ev->arg & PTE_VALID) &&
			    !((ev->old ^ ev->arg) & ~S2_TABLE_COUNT_MASK))
				break;
			cr_assert(
			    !((ev->old & PTE_VALID) && (ev->arg & PTE_VALID)),
			    "%s: event %zu: valid to valid", what, i);
			if (ev->old & PTE_VALID) {
				cr_assert_lt(nr_pending, FAKE_S2_LOG_MAX / 8);
				pending[nr_pending++] = ev->pte;
				cr_assert(!tlbi, "%s: break during TLBIs",
					  what);
				dsb_after_break = false;
			} else {
				for (size_t j = 0; j < nr_pending; j++)
					cr_assert_neq(pending[j], ev->pte,
						      "%s: event %zu: make "
						      "before TLBI",
						      what, i);
				unpublished = true;
			}
			break;
		case FAKE_S2_DSB:
			dsb_after_break = true;
			dsb_after_tlbi = tlbi;
			unpublished = false;
			break;
		case FAKE_S2_TLBI_IPA:
		case FAKE_S2_TLBI_VMID:
			cr_assert(dsb_after_break,
				  "%s: event %zu: TLBI "
				  "before the invalid entry is visible",
				  what, i);
			cr_assert_eq(ev->vttbr, vttbr);
			tlbi = true;
			dsb_after_tlbi = false;
			stage1_gone |= ev->kind == FAKE_S2_TLBI_VMID;
			break;
		case FAKE_S2_TLBI_VMALLE1:
			cr_assert(tlbi && dsb_after_tlbi,
				  "%s: event %zu: "
				  "VMALLE1IS before stage-2 TLBIs completed",
				  what, i);
			cr_assert_eq(ev->vttbr, vttbr);
			stage1_gone = true;
			dsb_after_tlbi = false;
			break;
		case FAKE_S2_ISB:
			if (!tlbi)
				break;
			cr_assert(dsb_after_tlbi && stage1_gone,
				  "%s: event %zu: ISB before TLBIs completed",
				  what, i);
			nr_pending = 0;
			tlbi = stage1_gone = false;
			break;
		default:
			cr_assert_fail("bad event");
		}
	}
	cr_assert_eq(nr_pending, 0, "%s: broken entries never invalidated",
		     what);
	cr_assert(!unpublished, "%s: new entries without a DSB", what);
}

Test(s2, map_from_invalid_needs_no_tlbi)
{
	struct env e;
	struct s2_leaf leaf;
	uint64_t ipa = 0x40001000;
	uint64_t *l3;

	env_init(&e, 7);
	cr_assert_eq(s2_pages_needed(&e.s2, S2_OP_MAP, ipa_init(ipa),
				     S2_PAGE), 2);
	cr_assert_eq(map(&e, ipa, S2_PAGE, RW), EXO_OK);
	cr_assert_eq(e.s2.nr_tables, 2);
	l3 = raw_pte(&e, ipa, 3);
	/* Each new table is filled, then linked with its count. */
	EXPECT_LOG(s2_vttbr(&e.s2), PTE(l3, *l3),
		   PTE(raw_pte(&e, ipa, 2), *raw_pte(&e, ipa, 2)),
		   PTE(raw_pte(&e, ipa, 1), *raw_pte(&e, ipa, 1)), DSB);
	cr_assert_eq(*raw_pte(&e, ipa, 2) & S2_TABLE_COUNT_MASK,
		     UINT64_C(1) << S2_TABLE_COUNT_SHIFT, "one valid entry");
	cr_assert(s2_lookup(&e.s2, ipa_init(ipa + 0x123), &leaf));
	cr_assert_eq(leaf.level, 3);
	cr_assert_eq(leaf.ipa, ipa);
	cr_assert_eq(leaf.prot, RW);
	cr_assert_eq(leaf.desc & PTE_ADDR_MASK, ipa, "identity");
	cr_assert_eq(leaf.desc & S2_MEMATTR_MASK,
		     S2_MEMATTR(S2_MEMATTR_NORMAL_WB));
	cr_assert_eq(leaf.desc & PTE_SH_INNER, S2_SH_INNER);
	cr_assert_neq(leaf.desc & S2_AF, 0);
	cr_assert_neq(leaf.desc & S2_XN, 0);
	cr_assert(!s2_lookup(&e.s2, ipa_init(ipa + S2_PAGE), &leaf));
	env_destroy(&e);
}

Test(s2, unmap_page_is_break_then_tlbi_ipa_then_vmalle1)
{
	struct env e;
	uint64_t ipa = 0x40001000;
	uint64_t *pte;

	env_init(&e, 7);
	map(&e, ipa, 2 * S2_PAGE, RW);
	pte = raw_pte(&e, ipa, 3);
	cr_assert_eq(unmap(&e, ipa, S2_PAGE), EXO_OK);
	/* The table's count drops in its descriptor's ignored bits. */
	EXPECT_LOG(s2_vttbr(&e.s2), PTE(pte, 0),
		   PTE(raw_pte(&e, ipa, 2), *raw_pte(&e, ipa, 2)), DSB,
		   TLBI_IPA(ipa), DSB, VMALLE1, DSB, ISB);
	env_destroy(&e);
}

Test(s2, downgrade_is_break_before_make)
{
	struct env e;
	uint64_t ipa = 0x40001000;
	uint64_t *pte, old;

	env_init(&e, 9);
	map(&e, ipa, 2 * S2_PAGE, RW);
	pte = raw_pte(&e, ipa, 3);
	old = *pte;
	cr_assert_eq(protect(&e, ipa, S2_PAGE, S2_PROT_R), EXO_OK);
	cr_assert_eq(*pte, old & ~S2_AP_W);
	EXPECT_LOG(s2_vttbr(&e.s2), PTE(pte, 0), DSB, TLBI_IPA(ipa), DSB,
		   VMALLE1, DSB, ISB, PTE(pte, old & ~S2_AP_W), DSB);
	/* Protecting with what is there already changes nothing. */
	protect(&e, ipa, S2_PAGE, S2_PROT_R);
	cr_assert_eq(fake_s2.nr, 0);
	env_destroy(&e);
}

Test(s2, aligned_2m_maps_as_block)
{
	struct env e;
	struct s2_leaf leaf;
	uint64_t base = 0x80200000;

	env_init(&e, 1);
	cr_assert_eq(s2_pages_needed(&e.s2, S2_OP_MAP, ipa_init(base),
				     2 * MIB2), 3, "a level-2 table, and a "
		     "page each block keeps for its split");
	map(&e, base, 2 * MIB2, S2_PROT_R | S2_PROT_X);
	cr_assert_eq(e.s2.nr_tables, 1, "one level-2 table, no level 3");
	cr_assert_eq(s2_blocks(&e.s2), 2);
	cr_assert_eq(e.cache.nr, 2, "the blocks' pages stay in the cache");
	cr_assert(s2_lookup(&e.s2, ipa_init(base + MIB2 + 0x5000), &leaf));
	cr_assert_eq(leaf.level, S2_BLOCK_LEVEL);
	cr_assert_eq(leaf.ipa, base + MIB2);
	cr_assert_eq(leaf.size, MIB2);
	cr_assert_eq(leaf.desc & PTE_TABLE, 0, "block, not table");
	cr_assert_eq(leaf.prot, S2_PROT_R | S2_PROT_X);
	cr_assert_eq(leaf.desc & S2_XN, 0);
	env_destroy(&e);
}

Test(s2, unmap_inside_block_splits_it)
{
	struct env e;
	struct s2_leaf leaf;
	uint64_t base = 0x80200000, hole = base + 0x7000;
	uint64_t *l2, block;

	env_init(&e, 3);
	map(&e, base, MIB2, RW);
	l2 = raw_pte(&e, base, 2);
	block = *l2;
	cr_assert_eq(s2_pages_needed(&e.s2, S2_OP_UNMAP, ipa_init(hole),
				     S2_PAGE), 0, "the block kept its page");
	cr_assert_eq(e.cache.nr, 1);
	cr_assert_eq(unmap(&e, hole, S2_PAGE), EXO_OK);
	cr_assert_eq(e.cache.nr, 0, "the split took it");
	cr_assert_eq(s2_blocks(&e.s2), 0);
	cr_assert_neq(*l2 & PTE_TABLE, 0);
	EXPECT_LOG(s2_vttbr(&e.s2), PTE(l2, 0), DSB, TLBI_IPA(base), DSB,
		   VMALLE1, DSB, ISB,
		   PTE(l2, *l2 + (UINT64_C(1) << S2_TABLE_COUNT_SHIFT)),
		   PTE(raw_pte(&e, hole, 3), 0), PTE(l2, *l2), DSB,
		   TLBI_IPA(hole), DSB, VMALLE1, DSB, ISB);
	cr_assert_eq((*l2 & S2_TABLE_COUNT_MASK) >> S2_TABLE_COUNT_SHIFT,
		     PTES_PER_TABLE - 1);
	cr_assert(!s2_lookup(&e.s2, ipa_init(hole), &leaf));
	for (uint64_t a = base; a < base + MIB2; a += S2_PAGE) {
		if (a == hole)
			continue;
		cr_assert(s2_lookup(&e.s2, ipa_init(a), &leaf));
		cr_assert_eq(leaf.level, 3);
		cr_assert_eq(leaf.desc & PTE_ATTR_MASK, block & PTE_ATTR_MASK);
		cr_assert_eq(leaf.desc & PTE_ADDR_MASK, a);
	}
	check_tables(&e);
	env_destroy(&e);
}

Test(s2, protect_part_of_block_splits_and_whole_folds)
{
	struct env e;
	struct s2_leaf leaf;
	uint64_t base = 0x80200000;

	env_init(&e, 3);
	map(&e, base, MIB2, RW);
	/* Same attributes over part of a block: nothing to split. */
	cr_assert_eq(protect(&e, base + S2_PAGE, S2_PAGE, RW), EXO_OK);
	cr_assert_eq(fake_s2.nr, 0);
	protect(&e, base + S2_PAGE, S2_PAGE, S2_PROT_R);
	cr_assert_eq(e.s2.nr_tables, 2);
	cr_assert(s2_lookup(&e.s2, ipa_init(base + S2_PAGE), &leaf));
	cr_assert_eq(leaf.prot, S2_PROT_R);
	cr_assert(s2_lookup(&e.s2, ipa_init(base), &leaf));
	cr_assert_eq(leaf.prot, RW);
	check_bbm(s2_vttbr(&e.s2), "split");
	/* The whole region with one protection is a block again. */
	protect(&e, base, MIB2, S2_PROT_R);
	check_bbm(s2_vttbr(&e.s2), "fold");
	cr_assert_eq(fake_s2.count[FAKE_S2_TLBI_VMID], 1,
		     "a table with valid leaves needs the whole VMID");
	cr_assert_eq(e.s2.nr_tables, 1);
	cr_assert(s2_lookup(&e.s2, ipa_init(base + 0x1000), &leaf));
	cr_assert_eq(leaf.level, S2_BLOCK_LEVEL);
	check_tables(&e);
	env_destroy(&e);
}

Test(s2, map_completing_2m_folds_into_block)
{
	struct env e;
	struct s2_leaf leaf;
	uint64_t base = 0x40000000;
	uint64_t *l2;

	env_init(&e, 5);
	map(&e, base, MIB2 / 2, RW);
	cr_assert_eq(e.s2.nr_tables, 2);
	l2 = raw_pte(&e, base, 2);
	map(&e, base + MIB2 / 2, MIB2 / 2, RW);
	cr_assert_eq(e.s2.nr_tables, 1, "the level-3 table went back");
	cr_assert(s2_lookup(&e.s2, ipa_init(base + 0x3000), &leaf));
	cr_assert_eq(leaf.level, S2_BLOCK_LEVEL);
	cr_assert_eq(leaf.prot, RW);
	/* 256 new pages, the table's count (512), then the fold: break
	 * the table, whole VMID. */
	EXPECT_LOG_FROM(257, s2_vttbr(&e.s2), PTE(l2, 0), DSB, VMALLS12, DSB,
			ISB, PTE(l2, leaf.desc), DSB);
	check_bbm(s2_vttbr(&e.s2), "fold on map");
	check_tables(&e);
	env_destroy(&e);
}

Test(s2, refusals_change_nothing)
{
	struct env e;
	const uint64_t top = UINT64_C(1) << S2_IPA_BITS;
	const uint64_t ipa = 0x40000000;

	env_init(&e, 2);
	map(&e, ipa, 4 * S2_PAGE, RW);
	fake_s2_reset();
	cr_assert_eq(s2_map(&e.s2, &e.cache, ipa_init(ipa + 0x800), S2_PAGE,
			    RW),
		     EXO_ERANGE);
	cr_assert_eq(s2_map(&e.s2, &e.cache, ipa_init(ipa), 0x800, RW),
		     EXO_ERANGE);
	cr_assert_eq(s2_map(&e.s2, &e.cache, ipa_init(ipa), 0, RW), EXO_EINVAL);
	cr_assert_eq(s2_map(&e.s2, &e.cache, ipa_init(top), S2_PAGE, RW),
		     EXO_ERANGE);
	cr_assert_eq(
	    s2_map(&e.s2, &e.cache, ipa_init(top - S2_PAGE), 2 * S2_PAGE,
		   RW),
	    EXO_ERANGE);
	cr_assert_eq(s2_map(&e.s2, &e.cache,
			    ipa_init(UINT64_MAX & ~(S2_PAGE - 1)),
			    S2_PAGE, RW),
		     EXO_ERANGE);
	cr_assert_eq(s2_map(&e.s2, &e.cache, ipa_init(S2_PAGE),
			    UINT64_MAX & ~(S2_PAGE - 1), RW),
		     EXO_ERANGE);
	cr_assert_eq(
	    s2_unmap(&e.s2, &e.cache, ipa_init(ipa),
		     UINT64_MAX & ~(S2_PAGE - 1)),
	    EXO_ERANGE);
	cr_assert_eq(s2_map(&e.s2, &e.cache, ipa_init(ipa + 8 * S2_PAGE),
			    S2_PAGE, 0),
		     EXO_EINVAL);
	cr_assert_eq(
	    s2_map(&e.s2, &e.cache, ipa_init(ipa + 8 * S2_PAGE), S2_PAGE,
		   1u << 9),
	    EXO_EINVAL);
	cr_assert_eq(s2_map(&e.s2, &e.cache, ipa_init(ipa + 8 * S2_PAGE),
			    S2_PAGE,
			    S2_PROT_DEVICE | S2_PROT_R | S2_PROT_X),
		     EXO_EINVAL);
	/* Overlaps: the whole range is refused, not just the mapped part. */
	cr_assert_eq(
	    s2_map(&e.s2, &e.cache, ipa_init(ipa - S2_PAGE), 2 * S2_PAGE,
		   RW),
	    EXO_EBUSY);
	cr_assert_eq(s2_protect(&e.s2, &e.cache, ipa_init(ipa), 5 * S2_PAGE,
				S2_PROT_R),
		     EXO_ESTATE);
	cr_assert_eq(fake_s2.nr, 0, "a refused call wrote something");
	cr_assert_eq(s2_init(&e.s2, e.root + 1, 1), EXO_ERANGE);
	cr_assert_eq(s2_init(&e.s2, e.root, EXO_MAX_VMS), EXO_ERANGE);
	cr_assert_eq(s2_init(&e.s2, e.root, 0), EXO_ERANGE, "0 is EL2");
	/* The last page below 2^40 is fine; unmapping holes is fine. */
	cr_assert_eq(map(&e, top - S2_PAGE, S2_PAGE, S2_PROT_R), EXO_OK);
	cr_assert_eq(unmap(&e, ipa - MIB2, 4 * MIB2), EXO_OK);
	cr_assert_eq(unmap(&e, ipa, S2_PAGE), EXO_OK);
	cr_assert_eq(fake_s2.nr, 0);
	env_destroy(&e);
}

Test(s2, vtcr_and_vttbr)
{
	struct env e;

	/* T0SZ 24, SL0 1, IRGN0/ORGN0 WBWA, SH0 inner, TG0 4K, RES1 bit 31. */
	cr_assert_eq(s2_vtcr(48, 8), UINT64_C(0x80053558));
	cr_assert_eq(s2_vtcr(44, 8), UINT64_C(0x80043558));
	cr_assert_eq(s2_vtcr(40, 8), UINT64_C(0x80023558));
	cr_assert_eq(s2_vtcr(52, 8), UINT64_C(0x80053558), "no 52-bit PS");
	cr_assert_eq(s2_vtcr(48, 16), UINT64_C(0x800d3558), "VS: 16-bit VMIDs");
	/* The VMID is the VM's lease (el2/vmid.h): with more guests than
	 * VMIDs none before it is loaded, then its VM id while that is free;
	 * with every id a VMID, its VM id from the start. */
	vmid_init(8, EXO_MAX_VMS - 1);
	env_init(&e, 0xab);
	cr_assert_eq(s2_vttbr(&e.s2), (uint64_t)(uintptr_t)e.root);
	cr_assert_eq(vmid_load(0xab, 0), 0xab);
	cr_assert_eq(s2_vttbr(&e.s2),
		     (uint64_t)(uintptr_t)e.root | UINT64_C(0xab) << 48);
	env_destroy(&e);
	vmid_init(16, EXO_MAX_VMS - 1);
	env_init(&e, 0x3ab);
	cr_assert_eq(s2_vttbr(&e.s2),
		     (uint64_t)(uintptr_t)e.root | UINT64_C(0x3ab) << 48);
	cr_assert_eq(vmid_load(0x3ab, 0), 0x3ab);
	cr_assert_eq((uintptr_t)e.root & (S2_ROOT_SIZE - 1), 0);
	env_destroy(&e);
}

Test(s2, device_memory_attributes)
{
	struct env e;
	struct s2_leaf leaf;

	env_init(&e, 2);
	map(&e, 0x09000000, S2_PAGE, RW | S2_PROT_DEVICE);
	cr_assert(s2_lookup(&e.s2, ipa_init(0x09000000), &leaf));
	cr_assert_eq(leaf.desc & S2_MEMATTR_MASK,
		     S2_MEMATTR(S2_MEMATTR_DEVICE_nGnRE));
	cr_assert_neq(leaf.desc & S2_XN, 0);
	cr_assert_eq(leaf.prot, RW | S2_PROT_DEVICE);
	env_destroy(&e);
}

/* With FEAT_S2FWB (HCR_EL2.FWB in every vCPU) MemAttr names the final
 * type: guest RAM is 0b0110, Normal Write-Back whatever stage 1 says, so
 * neither a Non-cacheable stage-1 mapping nor a guest running with its MMU
 * off makes an alias of another type than EL2's Write-Back; device ranges
 * keep 0b0001 (Device-nGnRE in both encodings) and MemAttr[3], RES0 under
 * FWB, stays clear. Without FWB guest RAM is 0b1111 (Write-Back, combined
 * with stage 1), and a block split keeps whichever its block had. */
static void expect_memattrs(bool forced, uint64_t normal)
{
	struct env e;
	struct s2_leaf leaf;
	uint64_t block = 0x40200000;

	s2_set_forced_wb(forced);
	cr_assert_eq(s2_forced_wb(), forced);
	env_init(&e, 3);
	cr_assert_eq(map(&e, 0x40001000, S2_PAGE, RW), EXO_OK);
	cr_assert_eq(map(&e, block, MIB2, RW), EXO_OK);
	cr_assert_eq(map(&e, 0x09000000, S2_PAGE, RW | S2_PROT_DEVICE),
		     EXO_OK);
	cr_assert(s2_lookup(&e.s2, ipa_init(0x40001000), &leaf));
	cr_assert_eq(leaf.desc & S2_MEMATTR_MASK, S2_MEMATTR(normal),
		     "page: %#lx", (unsigned long)leaf.desc);
	cr_assert_eq(leaf.desc & S2_SH_INNER, S2_SH_INNER);
	cr_assert_eq(leaf.prot, RW, "a normal page is not device memory");
	cr_assert(s2_lookup(&e.s2, ipa_init(block), &leaf));
	cr_assert_eq(leaf.level, S2_BLOCK_LEVEL);
	cr_assert_eq(leaf.desc & S2_MEMATTR_MASK, S2_MEMATTR(normal));
	cr_assert(s2_lookup(&e.s2, ipa_init(0x09000000), &leaf));
	cr_assert_eq(leaf.desc & S2_MEMATTR_MASK,
		     S2_MEMATTR(S2_MEMATTR_DEVICE_nGnRE));
	cr_assert_eq(leaf.prot, RW | S2_PROT_DEVICE);
	cr_assert_eq(unmap(&e, block + S2_PAGE, S2_PAGE), EXO_OK);
	cr_assert(s2_lookup(&e.s2, ipa_init(block), &leaf));
	cr_assert_eq(leaf.level, 3, "split");
	cr_assert_eq(leaf.desc & S2_MEMATTR_MASK, S2_MEMATTR(normal),
		     "a split keeps the block's memory type");
	env_destroy(&e);
	s2_set_forced_wb(false);
}

Test(s2, normal_memory_attributes_with_and_without_fwb)
{
	expect_memattrs(false, S2_MEMATTR_NORMAL_WB);
	expect_memattrs(true, S2_MEMATTR_FWB_NORMAL_WB);
	cr_assert_eq(S2_MEMATTR(S2_MEMATTR_FWB_NORMAL_WB) & S2_MEMATTR(0x8), 0,
		     "MemAttr[3] is RES0 with FWB");
}

Test(s2, large_unmap_invalidates_whole_vmid)
{
	struct env e;

	env_init(&e, 4);
	/* 64 pages, alternating permissions so nothing folds. */
	for (unsigned i = 0; i < 64; i++)
		map(&e, 0x40000000 + i * S2_PAGE, S2_PAGE,
		    i % 2 ? RW : S2_PROT_R);
	unmap(&e, 0x40000000, 64 * S2_PAGE);
	check_bbm(s2_vttbr(&e.s2), "large unmap");
	cr_assert_eq(fake_s2.count[FAKE_S2_TLBI_IPA], 0);
	cr_assert_eq(fake_s2.count[FAKE_S2_TLBI_VMID], 1);
	cr_assert_eq(e.s2.nr_tables, 2, "the empty tables stay");
	cr_assert_eq(s2_empty_tables(&e.s2), 1, "the level-3 one is empty");
	check_tables(&e);
	env_destroy(&e);
}

Test(s2, destroy_returns_every_table_page)
{
	struct env e;
	void *p;
	unsigned out = 0;

	env_init(&e, 6);
	map(&e, 0x40000000, 3 * S2_PAGE, RW);
	map(&e, 0x80000000 - S2_PAGE, 2 * S2_PAGE, RW);
	map(&e, 0x7f00200000, 2 * MIB2 + S2_PAGE, S2_PROT_R);
	map(&e, 0x1000, S2_PAGE, S2_PROT_X);
	cr_assert_geq(e.s2.nr_tables, 8);
	fake_s2_reset();
	s2_destroy(&e.s2, &e.cache);
	cr_assert_eq(e.s2.nr_tables, 0);
	cr_assert_eq(e.cache.nr, e.pages_in);
	cr_assert_eq(fake_s2.count[FAKE_S2_TLBI_VMID], 1);
	check_bbm(s2_vttbr(&e.s2), "destroy");
	for (unsigned i = 0; i < 2 * PTES_PER_TABLE; i++)
		cr_assert_eq(e.root[i], 0);
	while ((p = s2_cache_pop(&e.cache))) {
		free(p);
		out++;
	}
	cr_assert_eq(out, e.pages_in);
	free(e.root);
}

/* --- empty tables kept in place ------------------------------------- */

Test(s2, an_empty_table_stays_and_the_next_map_reuses_it)
{
	struct env e;
	uint64_t ipa = 0x40005000, *l2, *pte;
	unsigned cache;

	env_init(&e, 8);
	map(&e, ipa, S2_PAGE, RW);
	unmap(&e, ipa, S2_PAGE);
	cr_assert_eq(e.s2.nr_tables, 2, "both tables stay");
	cr_assert_eq(s2_empty_tables(&e.s2), 1);
	check_tables(&e);
	l2 = raw_pte(&e, ipa, 2);
	cr_assert_eq(*l2 & S2_TABLE_COUNT_MASK, 0, "count 0, still valid");
	cr_assert_neq(*l2 & PTE_VALID, 0);
	cr_assert_eq(s2_pages_needed(&e.s2, S2_OP_MAP, ipa_init(ipa + S2_PAGE),
				     S2_PAGE), 0, "no page for the reuse");
	cache = e.cache.nr;
	map(&e, ipa + S2_PAGE, S2_PAGE, RW);
	pte = raw_pte(&e, ipa + S2_PAGE, 3);
	/* The leaf and the count: no table made, no TLBI. */
	EXPECT_LOG(s2_vttbr(&e.s2), PTE(pte, *pte), PTE(l2, *l2), DSB);
	cr_assert_eq(e.cache.nr, cache);
	cr_assert_eq(s2_empty_tables(&e.s2), 0);
	check_tables(&e);
	env_destroy(&e);
}

Test(s2, reclaim_gives_empty_tables_back_but_not_those_avoided)
{
	struct env e;
	uint64_t a = 0x40000000, b = 0x40400000, c = 0x80000000;

	env_init(&e, 10);
	map(&e, a, S2_PAGE, RW);
	map(&e, b, S2_PAGE, RW);
	map(&e, c, S2_PAGE, RW);
	unmap(&e, a, S2_PAGE);
	unmap(&e, b, S2_PAGE);
	unmap(&e, c, S2_PAGE);
	cr_assert_eq(s2_empty_tables(&e.s2), 3);
	cr_assert_eq(e.s2.nr_tables, 5);
	fake_s2_reset();
	/* a's region avoided; b's table goes; c's level-3 table goes and
	 * leaves its level-2 table empty, which goes too. */
	cr_assert_eq(s2_reclaim(&e.s2, &e.cache, 10, ipa_init(a), S2_PAGE), 3);
	check_bbm(s2_vttbr(&e.s2), "reclaim");
	cr_assert_eq(e.s2.nr_tables, 2);
	cr_assert_eq(s2_empty_tables(&e.s2), 1, "a's table stays");
	cr_assert_eq(e.cache.nr + e.s2.nr_tables, e.pages_in);
	check_tables(&e);
	cr_assert_eq(*raw_pte(&e, c, 1), 0, "c's 1 GiB unlinked");
	cr_assert_eq(s2_reclaim(&e.s2, &e.cache, 1, ipa_init(0), 0), 1,
		     "at most max");
	cr_assert_eq(s2_empty_tables(&e.s2), 1, "a's level-2 table now");
	check_tables(&e);
	env_destroy(&e);
}

Test(s2, a_block_over_a_kept_table_makes_it_the_blocks_page)
{
	struct env e;
	uint64_t base = 0x40200000;

	env_init(&e, 11);
	map(&e, base + 3 * S2_PAGE, S2_PAGE, RW);
	unmap(&e, base + 3 * S2_PAGE, S2_PAGE);
	cr_assert_eq(s2_pages_needed(&e.s2, S2_OP_MAP, ipa_init(base), MIB2),
		     0, "the kept table is the block's page");
	map(&e, base, MIB2, RW);
	check_bbm(s2_vttbr(&e.s2), "block over a kept table");
	cr_assert_eq(s2_blocks(&e.s2), 1);
	cr_assert_eq(e.s2.nr_tables, 1);
	cr_assert_eq(s2_empty_tables(&e.s2), 0);
	check_tables(&e);
	/* Its split takes that page back: counts right after it. */
	unmap(&e, base + 5 * S2_PAGE, S2_PAGE);
	cr_assert_eq(e.s2.nr_tables, 2);
	check_tables(&e);
	env_destroy(&e);
}

/* --- descriptor well-formedness ------------------------------------- */

static unsigned valid_entries(const uint64_t *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < PTES_PER_TABLE; i++)
		n += t[i] & PTE_VALID;
	return n;
}

/* Checks every descriptor below t; returns the tables below it and adds
 * the empty ones to *empty. */
static unsigned check_table(const uint64_t *t, int level, uint64_t base,
			    unsigned *empty)
{
	unsigned n =
	    level == S2_START_LEVEL ? 2 * PTES_PER_TABLE : PTES_PER_TABLE;
	unsigned tables = 0, valid = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t d = t[i], ipa = base + i * LEVEL_SIZE(level);

		if (!(d & PTE_VALID))
			continue;
		valid++;
		if (level < 3 && (d & PTE_TABLE)) {
			const uint64_t *sub =
			    (uint64_t *)(uintptr_t)(d & PTE_ADDR_MASK);

			cr_assert_eq(d & ~(PTE_ADDR_MASK | PTE_TABLE |
					   PTE_VALID | S2_TABLE_COUNT_MASK),
				     0, "table descriptor with attributes");
			cr_assert_eq((d & S2_TABLE_COUNT_MASK) >>
					 S2_TABLE_COUNT_SHIFT,
				     valid_entries(sub),
				     "level %d table at %#lx: count %lu", level + 1,
				     (unsigned long)ipa,
				     (unsigned long)((d & S2_TABLE_COUNT_MASK) >>
						     S2_TABLE_COUNT_SHIFT));
			*empty += !valid_entries(sub);
			tables += 1 + check_table(sub, level + 1, ipa, empty);
			continue;
		}
		cr_assert(level == 3 || level == S2_BLOCK_LEVEL,
			  "block at level %d", level);
		cr_assert_eq(!!(d & PTE_PAGE), level == 3, "type bit");
		cr_assert_eq(d & PTE_ADDR_MASK, ipa, "not identity");
		cr_assert_eq(d & ~(PTE_ADDR_MASK | PTE_VALID | PTE_PAGE |
				   LEAF_ATTR_BITS),
			     0, "stray bits %#lx", (unsigned long)d);
		cr_assert_neq(d & S2_AF, 0, "AF clear");
		if ((d & S2_MEMATTR_MASK) == S2_MEMATTR(S2_MEMATTR_NORMAL_WB))
			cr_assert_eq(d & S2_SH_INNER, S2_SH_INNER);
		else
			cr_assert_eq(d & S2_MEMATTR_MASK,
				     S2_MEMATTR(S2_MEMATTR_DEVICE_nGnRE));
	}
	return tables;
}

/* Every table counted (nr_tables), every count right, every empty table
 * on the list of kept ones. */
static void check_tables(struct env *e)
{
	unsigned empty = 0;

	cr_assert_eq(check_table(e->root, S2_START_LEVEL, 0, &empty),
		     e->s2.nr_tables);
	cr_assert_eq(empty, s2_empty_tables(&e->s2), "%u empty tables, %u kept",
		     empty, s2_empty_tables(&e->s2));
}

/* --- random sequence against a reference model ---------------------- */

#define WINDOW_BASE  (GIB - 2 * MIB2) /* crosses a level-1 boundary */
#define WINDOW_PAGES 2048	      /* 8 MiB: four 2 MiB regions */

static const unsigned protections[] = {
    S2_PROT_R, RW,	  S2_PROT_R | S2_PROT_X,      RW | S2_PROT_X,
    S2_PROT_X, S2_PROT_W, S2_PROT_R | S2_PROT_DEVICE, RW | S2_PROT_DEVICE,
};

struct model {
	uint8_t prot[WINDOW_PAGES]; /* 0: unmapped */
	uint8_t seen[WINDOW_PAGES];
	uint64_t last_ipa;
	unsigned seed;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void walk_cb(void *ctx, const struct s2_leaf *leaf)
{
	struct model *m = ctx;

	cr_assert_geq(leaf->ipa, m->last_ipa, "seed %u: walk out of order",
		      m->seed);
	cr_assert(leaf->ipa >= WINDOW_BASE &&
		      leaf->ipa + leaf->size <=
			  WINDOW_BASE + WINDOW_PAGES * S2_PAGE,
		  "seed %u: leaf outside", m->seed);
	m->last_ipa = leaf->ipa + leaf->size;
	for (uint64_t a = leaf->ipa; a < leaf->ipa + leaf->size; a += S2_PAGE)
		m->seen[(a - WINDOW_BASE) / S2_PAGE] = (uint8_t)leaf->prot;
}

static void compare(struct env *e, struct model *m, unsigned step)
{
	struct s2_leaf leaf;

	for (unsigned i = 0; i < WINDOW_PAGES; i++) {
		uint64_t ipa = WINDOW_BASE + i * S2_PAGE;
		bool mapped = s2_lookup(&e->s2, ipa_init(ipa), &leaf);

		cr_assert_eq(mapped, m->prot[i] != 0,
			     "seed %u step %u: page %u mapped %d", m->seed,
			     step, i, mapped);
		if (mapped)
			cr_assert_eq(leaf.prot, m->prot[i],
				     "seed %u step %u: page %u prot %#x not "
				     "%#x",
				     m->seed, step, i, leaf.prot, m->prot[i]);
	}
	memset(m->seen, 0, sizeof(m->seen));
	m->last_ipa = 0;
	s2_walk(&e->s2, walk_cb, m);
	cr_assert_arr_eq(m->seen, m->prot, sizeof(m->prot),
			 "seed %u step %u: walk differs", m->seed, step);
}

static int model_apply(struct model *m, enum s2_op op, unsigned first,
		       unsigned n, unsigned prot)
{
	bool any = false, all = true;

	for (unsigned i = first; i < first + n; i++) {
		any |= m->prot[i] != 0;
		all &= m->prot[i] != 0;
	}
	if (op == S2_OP_MAP && any)
		return EXO_EBUSY;
	if (op == S2_OP_PROTECT && !all)
		return EXO_ESTATE;
	for (unsigned i = first; i < first + n; i++)
		m->prot[i] = op == S2_OP_UNMAP ? 0 : (uint8_t)prot;
	return EXO_OK;
}

static unsigned random_len(uint64_t *s, unsigned first)
{
	static const unsigned lens[] = {1, 2, 16, 512, 1024};
	unsigned room = WINDOW_PAGES - first;
	unsigned n = rnd(s) % 3 ? lens[rnd(s) % 5] : 1 + rnd(s) % room;

	return n < room ? n : room;
}

/* Fixed seeds, so every run of one commit tests the same sequences;
 * EXO_S2_SEED=<n> replays one of them (or tries another). */
static const unsigned random_seeds[] = { 1, 0x5eed };

static void random_sequence(unsigned seed)
{
	static struct model m;
	struct env e;
	uint64_t s;
	unsigned ops = 4000;

	memset(&m, 0, sizeof(m));
	m.seed = seed;
	s = m.seed | UINT64_C(1) << 40;
	cr_log_info("s2 random seed %u (EXO_S2_SEED=%u replays)", m.seed,
		    m.seed);
	env_init(&e, 12);
	for (unsigned step = 0; step < ops; step++) {
		enum s2_op op = rnd(&s) % 3;
		unsigned first = rnd(&s) % WINDOW_PAGES;
		unsigned prot = protections[rnd(&s) % 8];
		unsigned n;
		int want, rc;

		if (rnd(&s) % 2)
			first &= ~(PTES_PER_TABLE - 1); /* block-aligned */
		n = random_len(&s, first);
		want = model_apply(&m, op, first, n, prot);
		rc = run(&e, op, WINDOW_BASE + first * S2_PAGE, n * S2_PAGE,
			 prot);
		cr_assert_eq(rc, want, "seed %u step %u: op %d [%u, +%u) rc %d",
			     m.seed, step, op, first, n, rc);
		if (rc == EXO_OK)
			check_bbm(s2_vttbr(&e.s2), "random");
		if (rnd(&s) % 8 == 0) {
			/* Memory pressure: some kept tables go back, those
			 * meeting a random range stay. */
			unsigned avoid = (unsigned)(rnd(&s) % WINDOW_PAGES);
			unsigned before = s2_empty_tables(&e.s2);
			unsigned n;

			fake_s2_reset();
			n = s2_reclaim(&e.s2, &e.cache, 1 + rnd(&s) % 3,
				       ipa_init(WINDOW_BASE + avoid * S2_PAGE),
				       S2_PAGE);
			cr_assert_leq(n, before + 1, "seed %u step %u",
				      m.seed, step);
			check_bbm(s2_vttbr(&e.s2), "reclaim");
			check_accounting(&e);
		}
		compare(&e, &m, step);
		check_tables(&e);
	}
	env_destroy(&e);
}

Test(s2, random_sequence_matches_model)
{
	const char *env_seed = getenv("EXO_S2_SEED");

	if (env_seed) {
		random_sequence((unsigned)strtoul(env_seed, NULL, 0));
		return;
	}
	for (size_t i = 0; i < sizeof(random_seeds) / sizeof(random_seeds[0]);
	     i++)
		random_sequence(random_seeds[i]);
}

/* What the debug EL2 asks of PAR_EL1.ATTR (MAIR format): Write-Back inner
 * and outer, transient or not, with any allocation hint; not Device, not
 * Non-cacheable, not Write-Through, not a Write-Back transient nibble
 * without allocation (0b0100 is Non-cacheable). */
Test(s2, mair_write_back)
{
	static const uint8_t wb[] = { 0xff, 0xee, 0xcc, 0x77, 0x55, 0xf7 };
	static const uint8_t not_wb[] = { 0x00, 0x04, 0x0c, 0x44, 0xbb, 0x4f,
					  0xf4, 0x88, 0x33, 0xf0 };

	for (unsigned i = 0; i < sizeof(wb); i++)
		cr_assert(s2_mair_write_back(wb[i]), "%#x", wb[i]);
	for (unsigned i = 0; i < sizeof(not_wb); i++)
		cr_assert(!s2_mair_write_back(not_wb[i]), "%#x", not_wb[i]);
}

/* The one-page slots (s2_page_slot, s2_map_slot, s2_unmap_slot): only
 * under an existing level-3 table, and each writes what s2_map / s2_unmap
 * of that page would, in the same order: the leaf then the count and a
 * DSB for a map; break, count, then DSB, TLBI by IPA, DSB, VMALLE1, DSB,
 * ISB for an unmap. */
Test(s2, a_page_slot_maps_and_unmaps_as_the_commits_do)
{
	struct env e;
	struct s2_slot slot;
	struct s2_leaf leaf;
	uint64_t ipa = 0x40001000, next = ipa + S2_PAGE;
	uint64_t *l2;

	env_init(&e, 7);
	cr_assert(!s2_slot_found(s2_page_slot(&e.s2, ipa_init(ipa))),
		  "no tables");
	map(&e, ipa, S2_PAGE, RW);
	cr_assert(!s2_slot_found(s2_page_slot(&e.s2, ipa_init(ipa + 8))),
		  "unaligned");
	cr_assert(!s2_slot_found(s2_page_slot(
			  &e.s2, ipa_init(UINT64_C(1) << S2_IPA_BITS))),
		  "past the IPA space");
	slot = s2_page_slot(&e.s2, ipa_init(ipa));
	cr_assert(s2_slot_found(slot));
	cr_assert(s2_slot_mapped(slot));
	cr_assert_eq(slot.pte, raw_pte(&e, ipa, 3));
	slot = s2_page_slot(&e.s2, ipa_init(next));
	cr_assert(s2_slot_found(slot));
	cr_assert(!s2_slot_mapped(slot));
	l2 = raw_pte(&e, next, 2);
	cr_assert_eq(slot.l2, l2);
	fake_s2_reset();
	s2_map_slot(&e.s2, &e.cache, slot, ipa_init(next), RW);
	EXPECT_LOG(s2_vttbr(&e.s2), PTE(slot.pte, *slot.pte), PTE(l2, *l2),
		   DSB);
	cr_assert_eq(*l2 & S2_TABLE_COUNT_MASK,
		     UINT64_C(2) << S2_TABLE_COUNT_SHIFT);
	cr_assert(s2_lookup(&e.s2, ipa_init(next), &leaf));
	cr_assert_eq(leaf.level, 3);
	cr_assert_eq(leaf.prot, RW);
	cr_assert_eq(leaf.desc & PTE_ADDR_MASK, next, "identity");
	fake_s2_reset();
	s2_unmap_slot(&e.s2, slot, ipa_init(next), false);
	EXPECT_LOG(s2_vttbr(&e.s2), PTE(slot.pte, 0), PTE(l2, *l2), DSB,
		   TLBI_IPA(next), DSB, VMALLE1, DSB, ISB);
	cr_assert(!s2_lookup(&e.s2, ipa_init(next), &leaf));
	/* The last page out: the table stays, kept empty, and the next
	 * slot map takes it back off the list. */
	slot = s2_page_slot(&e.s2, ipa_init(ipa));
	cr_assert(s2_slot_found(slot));
	s2_unmap_slot(&e.s2, slot, ipa_init(ipa), false);
	cr_assert_eq(s2_empty_tables(&e.s2), 1);
	slot = s2_page_slot(&e.s2, ipa_init(next));
	cr_assert(s2_slot_found(slot), "kept empty");
	s2_map_slot(&e.s2, &e.cache, slot, ipa_init(next), S2_PROT_R);
	cr_assert_eq(s2_empty_tables(&e.s2), 0);
	cr_assert(s2_lookup(&e.s2, ipa_init(next), &leaf));
	cr_assert_eq(leaf.prot, S2_PROT_R);
	check_accounting(&e);
	check_tables(&e);
	env_destroy(&e);
}

/* The page that completes its table through a slot folds the table into
 * a block, as map_completing_2m_folds_into_block does. */
Test(s2, a_slot_map_completing_2m_folds_into_block)
{
	struct env e;
	struct s2_slot slot;
	struct s2_leaf leaf;
	uint64_t base = 0x40000000, last = base + MIB2 - S2_PAGE;

	env_init(&e, 5);
	map(&e, base, MIB2 - S2_PAGE, RW);
	cr_assert_eq(e.s2.nr_tables, 2);
	topup(&e, s2_blocks(&e.s2) + 1); /* what the caller keeps */
	slot = s2_page_slot(&e.s2, ipa_init(last));
	cr_assert(s2_slot_found(slot));
	s2_map_slot(&e.s2, &e.cache, slot, ipa_init(last), RW);
	cr_assert_eq(e.s2.nr_tables, 1, "the level-3 table went back");
	cr_assert_eq(s2_blocks(&e.s2), 1);
	cr_assert(s2_lookup(&e.s2, ipa_init(base + 0x3000), &leaf));
	cr_assert_eq(leaf.level, S2_BLOCK_LEVEL);
	check_bbm(s2_vttbr(&e.s2), "fold on a slot map");
	check_accounting(&e);
	check_tables(&e);
	cr_assert(!s2_slot_found(s2_page_slot(&e.s2, ipa_init(last))),
		  "a block has no level-3 slot");
	env_destroy(&e);
}
