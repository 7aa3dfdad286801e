/* el2/hyp_mm.c: EL2's identity map, W^X attributes, blocks and errors. */
#include <arch/pte.h>
#include <criterion/criterion.h>
#include <el2/hyp_mm.h>
#include <stdlib.h>

#define POOL_PAGES 32

struct pool {
	uint64_t *pages[POOL_PAGES];
	unsigned used, limit;
};

static uint64_t *pool_alloc(void *ctx)
{
	struct pool *p = ctx;

	if (p->used == p->limit)
		return NULL;
	p->pages[p->used] = aligned_alloc(GRANULE_4K_SIZE, GRANULE_4K_SIZE);
	cr_assert_not_null(p->pages[p->used]);
	memset(p->pages[p->used], 0, GRANULE_4K_SIZE);
	return p->pages[p->used++];
}

static void pool_free(struct pool *p)
{
	for (unsigned i = 0; i < p->used; i++)
		free(p->pages[i]);
}

static uint64_t leaf(struct hyp_mm *mm, uint64_t va, int *level)
{
	return hyp_mm_lookup(mm, va, level);
}

Test(hyp_mm, image_gets_w_xor_x_and_ram_uses_blocks)
{
	struct pool pool = { .limit = POOL_PAGES };
	struct hyp_mm mm;
	int level;
	uint64_t d;

	cr_assert_eq(hyp_mm_init(&mm, pool_alloc, &pool), 0);
	cr_assert_eq(hyp_mm_map(&mm, 0x40000000, 0x200000, HYP_PROT_RW), 0);
	cr_assert_eq(hyp_mm_map(&mm, 0x40200000, 0x8000, HYP_PROT_RX), 0);
	cr_assert_eq(hyp_mm_map(&mm, 0x40208000, 0x2000, HYP_PROT_R), 0);
	cr_assert_eq(hyp_mm_map(&mm, 0x4020a000, 0x1f6000, HYP_PROT_RW), 0);
	cr_assert_eq(hyp_mm_map(&mm, 0x40400000, 0x3fc00000, HYP_PROT_RW), 0);
	cr_assert_eq(hyp_mm_map(&mm, 0x09000000, 0x1000, HYP_PROT_DEVICE), 0);

	d = leaf(&mm, 0x40201234, &level);
	cr_assert_eq(level, 3);
	cr_assert_eq(d & PTE_XN, 0, "text executable");
	cr_assert_neq(d & PTE_AP_RO, 0, "text read-only");
	cr_assert_eq(d & PTE_ADDR_MASK, 0x40201000, "identity");

	d = leaf(&mm, 0x40208000, &level);
	cr_assert_neq(d & PTE_XN, 0);
	cr_assert_neq(d & PTE_AP_RO, 0);

	d = leaf(&mm, 0x4020a000, &level);
	cr_assert_neq(d & PTE_XN, 0, "data never executable");
	cr_assert_eq(d & PTE_AP_RO, 0);

	d = leaf(&mm, 0x40000000, &level);
	cr_assert_eq(level, 2, "2 MiB block below the image");
	d = leaf(&mm, 0x7fffffff, &level);
	cr_assert_eq(level, 2);
	cr_assert_neq(d & PTE_XN, 0);

	d = leaf(&mm, 0x09000000, &level);
	cr_assert_eq((d >> 2) & 7, MAIR_IDX_DEVICE_nGnRE);
	cr_assert_neq(d & PTE_XN, 0);
	cr_assert_eq(leaf(&mm, 0x09001000, &level), 0, "only the page asked for");
	cr_assert_eq(leaf(&mm, 0x80000000, &level), 0);
	pool_free(&pool);
}

Test(hyp_mm, one_gib_block_when_aligned)
{
	struct pool pool = { .limit = POOL_PAGES };
	struct hyp_mm mm;
	int level;

	cr_assert_eq(hyp_mm_init(&mm, pool_alloc, &pool), 0);
	cr_assert_eq(hyp_mm_map(&mm, 0x40000000, 0x40000000, HYP_PROT_RW), 0);
	cr_assert_neq(leaf(&mm, 0x50000000, &level), 0);
	cr_assert_eq(level, 1);
	cr_assert_eq(mm.tables, 1, "a 1 GiB block needs no table");
	pool_free(&pool);
}

Test(hyp_mm, errors)
{
	struct pool pool = { .limit = 3 };
	struct hyp_mm mm;

	cr_assert_eq(hyp_mm_init(&mm, pool_alloc, &pool), 0);
	cr_assert_eq(hyp_mm_map(&mm, 0x1001, 0x1000, HYP_PROT_RW), HYP_MM_ERANGE);
	cr_assert_eq(hyp_mm_map(&mm, 0x1000, 0, HYP_PROT_RW), HYP_MM_ERANGE);
	cr_assert_eq(hyp_mm_map(&mm, UINT64_C(1) << 39, 0x1000, HYP_PROT_RW),
		     HYP_MM_ERANGE);
	cr_assert_eq(hyp_mm_map(&mm, (UINT64_C(1) << 39) - 0x1000, 0x2000,
				HYP_PROT_RW), HYP_MM_ERANGE);
	cr_assert_eq(hyp_mm_map(&mm, 0x40000000, 0x1000, HYP_PROT_RW), 0);
	cr_assert_eq(hyp_mm_map(&mm, 0x40000000, 0x1000, HYP_PROT_RX),
		     HYP_MM_EOVERLAP);
	cr_assert_eq(hyp_mm_map(&mm, 0x40000000, 0x200000, HYP_PROT_RW),
		     HYP_MM_EOVERLAP, "block over a table");
	cr_assert_eq(hyp_mm_map(&mm, 0x80000000, 0x1000, HYP_PROT_RW),
		     HYP_MM_ENOMEM, "pool exhausted");
	pool_free(&pool);
}
