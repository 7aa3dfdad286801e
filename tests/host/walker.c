/*
 * Software model of the Arm ARM stage-1 translation process (see
 * walker.h). Written from the architecture's description, not from the
 * engine: start levels come from the TxSZ ranges the Arm ARM tabulates,
 * permissions from the AP[2:1]/PXN/UXN tables. Tests only.
 */
#include "walker.h"

#include <stddef.h>

#define DESC_VALID 0x1ull
#define DESC_TYPE 0x2ull            /* table (L0-2) or page (L3) */
#define DESC_ATTRINDX(d) (((d) >> 2) & 7)
#define DESC_AP1 (1ull << 6)
#define DESC_AP2 (1ull << 7)
#define DESC_AF (1ull << 10)
#define DESC_NG (1ull << 11)
#define DESC_DBM (1ull << 51)
#define DESC_CONT (1ull << 52)
#define DESC_PXN (1ull << 53)
#define DESC_UXN (1ull << 54)
#define OA_TOP 48                   /* no FEAT_LPA: OA[47:0] */

static uint64_t bits(uint64_t v, unsigned hi, unsigned lo)
{
	return (v >> lo) & ((2ull << (hi - lo)) - 1);
}

static unsigned stride(const struct walker_cfg *c)
{
	return c->tg_shift - 3;
}

/* Arm ARM: initial lookup level from the granule and TxSZ. */
static int start_level(const struct walker_cfg *c, unsigned txsz)
{
	switch (c->tg_shift) {
	case 12:
		return txsz <= 24 ? 0 : txsz <= 33 ? 1 : 2;
	case 14:
		return txsz == 16 ? 0 : txsz <= 27 ? 1 : txsz <= 38 ? 2 : 3;
	default:
		return txsz <= 21 ? 1 : txsz <= 34 ? 2 : 3;
	}
}

/* Lowest VA bit the index of this level uses. */
static unsigned level_lsb(const struct walker_cfg *c, int level)
{
	return c->tg_shift + stride(c) * (unsigned)(3 - level);
}

uint64_t walker_entry_size(const struct walker_cfg *c, int level)
{
	return 1ull << level_lsb(c, level);
}

/* Blocks without 52-bit addressing: 4K at L1/L2, 16K and 64K at L2. */
static bool block_ok(const struct walker_cfg *c, int level)
{
	return level == 2 || (level == 1 && c->tg_shift == 12);
}

static unsigned cont_len(const struct walker_cfg *c, int level)
{
	if (c->tg_shift == 12)
		return 16;
	if (c->tg_shift == 14)
		return level == 3 ? 128 : 32;
	return 32;
}

static const uint64_t *table_at(const struct walker_cfg *c, uint64_t pa)
{
	return c->pa_to_ptr(c->ctx, pa);
}

static uint64_t next_table_pa(const struct walker_cfg *c, uint64_t d)
{
	return bits(d, OA_TOP - 1, c->tg_shift) << c->tg_shift;
}

/* All entries of a contiguous run: same attributes, consecutive OAs. */
static bool cont_consistent(const struct walker_cfg *c, const uint64_t *t,
			    unsigned idx, int level)
{
	unsigned n = cont_len(c, level);
	unsigned first = idx & ~(n - 1);
	unsigned lsb = level_lsb(c, level);
	uint64_t oa_mask = ((1ull << OA_TOP) - 1) & ~((1ull << lsb) - 1);
	uint64_t oa0 = t[first] & oa_mask;

	if (oa0 & (((uint64_t)n << lsb) - 1))
		return false;
	for (unsigned i = 0; i < n; i++) {
		uint64_t d = t[first + i];

		if ((d & ~oa_mask) != (t[first] & ~oa_mask))
			return false;
		if ((d & oa_mask) != oa0 + ((uint64_t)i << lsb))
			return false;
	}
	return true;
}

static void decode_perms(uint64_t d, struct walker_result *r)
{
	bool ap1 = d & DESC_AP1, ap2 = d & DESC_AP2;

	r->dbm = d & DESC_DBM;
	r->el1_r = true;
	r->el1_w = !ap2;
	r->el0_r = ap1;
	r->el0_w = ap1 && !ap2;
	r->el0_x = !(d & DESC_UXN);
	/* EL0-writable memory is never executable at EL1. */
	r->el1_x = !(d & DESC_PXN) && !(ap1 && !ap2);
	r->ng = d & DESC_NG;
	r->cont = d & DESC_CONT;
	r->attrindx = DESC_ATTRINDX(d);
}

static void leaf(const struct walker_cfg *c, const uint64_t *t, unsigned idx,
		 int level, uint64_t va, struct walker_result *r)
{
	uint64_t d = t[idx];
	unsigned lsb = level_lsb(c, level);

	r->leaf_size = 1ull << lsb;
	r->pa = (bits(d, OA_TOP - 1, lsb) << lsb) | bits(va, lsb - 1, 0);
	decode_perms(d, r);
	if ((d & DESC_CONT) && !cont_consistent(c, t, idx, level))
		r->fault = WALK_CONT_BAD;
	else if (!(d & DESC_AF))
		r->fault = WALK_ACCESS_FLAG;
	else
		r->fault = WALK_OK;
}

void walker_translate(const struct walker_cfg *c, uint64_t va,
		      struct walker_result *r)
{
	bool upper = bits(va, 55, 55);
	unsigned txsz = upper ? c->t1sz : c->t0sz;
	uint64_t ttbr = upper ? c->ttbr1 : c->ttbr0;
	uint64_t top = bits(va, 63, 64 - txsz);
	uint64_t ones = (1ull << txsz) - 1;
	int level = start_level(c, txsz);
	const uint64_t *t;

	*r = (struct walker_result){ .fault = WALK_TRANSLATION, .level = 0 };
	if (top != (upper ? ones : 0) || !ttbr)
		return;
	t = table_at(c, bits(ttbr, OA_TOP - 1, 1) << 1);
	for (;; level++) {
		unsigned hi = level == start_level(c, txsz) ?
				      63 - txsz :
				      level_lsb(c, level) + stride(c) - 1;
		unsigned idx = (unsigned)bits(va, hi, level_lsb(c, level));
		uint64_t d = t[idx];

		r->level = level;
		r->desc = d;
		if (!(d & DESC_VALID))
			return;
		if (level == 3 && !(d & DESC_TYPE))
			return;         /* reserved at level 3 */
		if (level < 3 && !(d & DESC_TYPE)) {
			if (block_ok(c, level))
				leaf(c, t, idx, level, va, r);
			return;
		}
		if (level == 3) {
			leaf(c, t, idx, level, va, r);
			return;
		}
		t = table_at(c, next_table_pa(c, d));
	}
}

static void visit(const struct walker_cfg *c, const uint64_t *t,
		  unsigned entries, int level, uint64_t base,
		  walker_table_fn fn, void *ctx)
{
	fn(ctx, t, entries, level, base);
	if (level == 3)
		return;
	for (unsigned i = 0; i < entries; i++)
		if ((t[i] & (DESC_VALID | DESC_TYPE)) == (DESC_VALID | DESC_TYPE))
			visit(c, table_at(c, next_table_pa(c, t[i])),
			      1u << stride(c), level + 1,
			      base + i * walker_entry_size(c, level), fn, ctx);
}

static void visit_root(const struct walker_cfg *c, uint64_t ttbr,
		       unsigned txsz, bool upper, walker_table_fn fn,
		       void *ctx)
{
	int level = start_level(c, txsz);
	unsigned top_bits = 64 - txsz - level_lsb(c, level);
	uint64_t base = upper ? ~0ull << (64 - txsz) : 0;

	if (!ttbr)
		return;
	visit(c, table_at(c, bits(ttbr, OA_TOP - 1, 1) << 1), 1u << top_bits,
	      level, base, fn, ctx);
}

void walker_for_each_table(const struct walker_cfg *c, walker_table_fn fn,
			   void *ctx)
{
	visit_root(c, c->ttbr0, c->t0sz, false, fn, ctx);
	visit_root(c, c->ttbr1, c->t1sz, true, fn, ctx);
}
