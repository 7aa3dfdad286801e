/*
 * Per-granule geometry of VMSAv8-64 stage-1 tables: levels, index bits,
 * which levels may hold leaves and how long a contiguous run is. Pure
 * arithmetic from the Arm ARM: never touches a table.
 */
#include <libos/mmu/pgtable.h>

#define DESC_SHIFT 3             /* 8-byte descriptors */

int pgtable_geom_init(struct pgtable_geom *g, enum pgtable_granule granule,
		      unsigned va_bits)
{
	unsigned levels;

	if (granule != PGTABLE_GRANULE_4K && granule != PGTABLE_GRANULE_16K &&
	    granule != PGTABLE_GRANULE_64K)
		return PGTABLE_ECONFIG;
	if (va_bits != 39 && va_bits != 48)
		return PGTABLE_ECONFIG;
	g->page_shift = granule;
	g->index_bits = granule - DESC_SHIFT;
	g->va_bits = va_bits;
	/* Each level resolves index_bits; the start level takes the rest. */
	levels = (va_bits - g->page_shift + g->index_bits - 1) / g->index_bits;
	g->start_level = PGTABLE_LEVELS_MAX - (int)levels;
	g->root_entries = 1u << (va_bits - pgtable_level_shift(g,
							       g->start_level));
	for (int level = 0; level < PGTABLE_LEVELS_MAX; level++) {
		bool walked = level >= g->start_level;

		g->shift[level] = walked ? pgtable_level_shift(g, level) : 0;
		g->index_mask[level] =
		    walked ? pgtable_level_entries(g, level) - 1 : 0;
	}
	return PGTABLE_OK;
}

unsigned pgtable_level_shift(const struct pgtable_geom *g, int level)
{
	return g->page_shift +
	       g->index_bits * (unsigned)(PGTABLE_LAST_LEVEL - level);
}

uint64_t pgtable_level_size(const struct pgtable_geom *g, int level)
{
	return UINT64_C(1) << pgtable_level_shift(g, level);
}

unsigned pgtable_level_entries(const struct pgtable_geom *g, int level)
{
	return level == g->start_level ? g->root_entries : 1u << g->index_bits;
}

/*
 * Without FEAT_LPA/LPA2 (52-bit output addresses), blocks exist only at
 * level 1 (1 GiB) and 2 (2 MiB) with 4K, and at level 2 with 16K (32 MiB)
 * and 64K (512 MiB). The 64K level-1 (4 TiB) and 16K level-1 (64 GiB)
 * blocks need 52-bit addresses: not used.
 */
bool pgtable_leaf_allowed(const struct pgtable_geom *g, int level)
{
	if (level == PGTABLE_LAST_LEVEL)
		return true;
	if (level == 2)
		return true;
	return level == 1 && g->page_shift == PGTABLE_GRANULE_4K;
}

/*
 * Contiguous-bit run lengths: 4K: 16 entries at levels 1-3 (16 GiB, 32 MiB,
 * 64 KiB); 16K: 32 at level 2 (1 GiB), 128 at level 3 (2 MiB); 64K: 32 at
 * levels 2 and 3 (16 GiB, 2 MiB).
 */
unsigned pgtable_cont_entries(const struct pgtable_geom *g, int level)
{
	if (!pgtable_leaf_allowed(g, level))
		return 0;
	switch (g->page_shift) {
	case PGTABLE_GRANULE_4K:
		return 16;
	case PGTABLE_GRANULE_16K:
		return level == PGTABLE_LAST_LEVEL ? 128 : 32;
	default:
		return 32;
	}
}

unsigned pgtable_txsz(const struct pgtable_geom *g)
{
	return 64 - g->va_bits;
}
