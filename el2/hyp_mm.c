/*
 * Builds EL2's identity map before its MMU is on (and on the host for
 * tests). Never changes a live entry: boot-time only, ranges are disjoint.
 */
#include <arch/pte.h>
#include <el2/hyp_mm.h>
#include <stddef.h>

/* In the EL2 (single VA range) regime AP[1] is RES1. */
#define HYP_AP_RES1 PTE_AP_RW_EL0

static uint64_t leaf_attrs(enum hyp_prot prot)
{
	uint64_t a = PTE_AF | HYP_AP_RES1;

	switch (prot) {
	case HYP_PROT_RX:
		return a | PTE_SH_INNER | PTE_ATTRINDX(MAIR_IDX_NORMAL_WB) |
		       PTE_AP_RO;
	case HYP_PROT_R:
		return a | PTE_SH_INNER | PTE_ATTRINDX(MAIR_IDX_NORMAL_WB) |
		       PTE_AP_RO | PTE_XN;
	case HYP_PROT_RW:
		return a | PTE_SH_INNER | PTE_ATTRINDX(MAIR_IDX_NORMAL_WB) |
		       PTE_XN;
	case HYP_PROT_DEVICE:
	default:
		return a | PTE_ATTRINDX(MAIR_IDX_DEVICE_nGnRE) | PTE_XN;
	}
}

static uint64_t *table_of(uint64_t desc)
{
	return (uint64_t *)(uintptr_t)(desc & PTE_ADDR_MASK);
}

int hyp_mm_init(struct hyp_mm *mm, hyp_mm_alloc_fn alloc, void *ctx)
{
	mm->alloc = alloc;
	mm->alloc_ctx = ctx;
	mm->root = alloc(ctx);
	mm->tables = mm->root ? 1 : 0;
	return mm->root ? HYP_MM_OK : HYP_MM_ENOMEM;
}

static int map_level(struct hyp_mm *mm, uint64_t *table, int level,
		     uint64_t va, uint64_t end, uint64_t attrs)
{
	uint64_t size = LEVEL_SIZE(level);

	while (va < end) {
		uint64_t next = (va & ~(size - 1)) + size;
		uint64_t *pte = &table[(va >> LEVEL_SHIFT(level)) % PTES_PER_TABLE];

		if (next > end)
			next = end;
		if (level == 3 || (!(va & (size - 1)) && next - va == size)) {
			if (*pte & PTE_VALID)
				return HYP_MM_EOVERLAP;
			*pte = va | attrs | PTE_VALID |
			       (level == 3 ? PTE_PAGE : PTE_BLOCK);
		} else {
			if (!(*pte & PTE_VALID)) {
				uint64_t *t = mm->alloc(mm->alloc_ctx);

				if (!t)
					return HYP_MM_ENOMEM;
				mm->tables++;
				*pte = (uint64_t)(uintptr_t)t | PTE_TABLE | PTE_VALID;
			} else if (!(*pte & PTE_TABLE)) {
				return HYP_MM_EOVERLAP;
			}
			int rc = map_level(mm, table_of(*pte), level + 1, va,
					   next, attrs);
			if (rc)
				return rc;
		}
		va = next;
	}
	return HYP_MM_OK;
}

int hyp_mm_map(struct hyp_mm *mm, uint64_t pa, uint64_t size,
	       enum hyp_prot prot)
{
	uint64_t limit = UINT64_C(1) << HYP_MM_VA_BITS;

	if (!size || (pa | size) & (GRANULE_4K_SIZE - 1) || pa >= limit ||
	    size > limit - pa)
		return HYP_MM_ERANGE;
	return map_level(mm, mm->root, HYP_MM_START_LEVEL, pa, pa + size,
			 leaf_attrs(prot));
}

uint64_t hyp_mm_lookup(const struct hyp_mm *mm, uint64_t va, int *level)
{
	const uint64_t *table = mm->root;

	if (va >> HYP_MM_VA_BITS)
		return 0;
	for (int l = HYP_MM_START_LEVEL; l <= 3; l++) {
		uint64_t d = table[(va >> LEVEL_SHIFT(l)) % PTES_PER_TABLE];

		if (!(d & PTE_VALID))
			return 0;
		if (l == 3 || !(d & PTE_TABLE)) {
			if (level)
				*level = l;
			return d;
		}
		table = table_of(d);
	}
	return 0;
}
