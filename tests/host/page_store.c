/* A test's pages with physical addresses (page_store.h). */
#include "page_store.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* What a page holds before the code under test writes it. */
#define PAGE_STORE_GARBAGE 0xa5
#define PAGE_STORE_FRESH   0x5a

void page_store_init(struct page_store *s, uint64_t pa0, uint64_t psize,
		     unsigned n)
{
	cr_assert(n <= PAGE_STORE_MAX, "a store of %u pages", n);
	memset(s, 0, sizeof(*s));
	s->pa0 = pa0;
	s->psize = psize;
	s->n = n;
	s->limit = n;
	s->mem = aligned_alloc(psize, n * psize);
	cr_assert_not_null(s->mem);
	memset(s->mem, PAGE_STORE_FRESH, n * psize);
}

void page_store_fini(struct page_store *s)
{
	free(s->mem);
	s->mem = NULL;
}

static int take(struct page_store *s)
{
	if (s->in_use >= s->limit)
		return -1;
	for (unsigned i = 0; i < s->n; i++) {
		if (s->used[i])
			continue;
		s->used[i] = true;
		s->in_use++;
		s->allocs++;
		memset(s->mem + i * s->psize, PAGE_STORE_GARBAGE, s->psize);
		return (int)i;
	}
	return -1;
}

static void give(struct page_store *s, uint64_t i)
{
	cr_assert(i < s->n && s->used[i], "free of page %llu not handed out",
		  (unsigned long long)i);
	s->used[i] = false;
	s->in_use--;
	s->frees++;
}

void *page_store_tab_alloc(void *ctx)
{
	struct page_store *s = ctx;
	int i = take(s);

	return i < 0 ? NULL : s->mem + (uint64_t)i * s->psize;
}

void page_store_tab_free(void *ctx, void *p)
{
	struct page_store *s = ctx;

	give(s, (uint64_t)((uint8_t *)p - s->mem) / s->psize);
}

uint64_t page_store_v2p(void *ctx, const void *p)
{
	struct page_store *s = ctx;

	return s->pa0 + (uint64_t)((const uint8_t *)p - s->mem);
}

void *page_store_p2v(void *ctx, uint64_t pa)
{
	struct page_store *s = ctx;

	cr_assert(pa >= s->pa0 && pa < s->pa0 + s->n * s->psize,
		  "PA 0x%llx not in the store", (unsigned long long)pa);
	return s->mem + (pa - s->pa0);
}

bool page_store_data_alloc(void *ctx, uint64_t *pa)
{
	struct page_store *s = ctx;
	int i = take(s);

	if (i < 0)
		return false;
	*pa = s->pa0 + (uint64_t)i * s->psize;
	return true;
}

/* A naturally aligned run of 2^order pages (index aligned: the store's
 * first page is aligned to any run it holds), all taken, or -1. */
static int take_run(struct page_store *s, unsigned order)
{
	unsigned run = 1u << order;

	if (s->in_use + run > s->limit)
		return -1;
	for (unsigned i = 0; i + run <= s->n; i += run) {
		unsigned j = 0;

		while (j < run && !s->used[i + j])
			j++;
		if (j < run)
			continue;
		for (j = 0; j < run; j++)
			s->used[i + j] = true;
		s->in_use += run;
		s->allocs++;
		memset(s->mem + i * s->psize, PAGE_STORE_GARBAGE,
		       run * s->psize);
		return (int)i;
	}
	return -1;
}

int page_store_src_alloc(void *ctx, unsigned order, uint64_t *pa)
{
	struct page_store *s = ctx;
	int i;

	cr_assert(s->pa0 % (s->psize << order) == 0,
		  "a store at 0x%llx holds no run of order %u",
		  (unsigned long long)s->pa0, order);
	i = take_run(s, order);
	if (i < 0)
		return -1;
	*pa = s->pa0 + (uint64_t)i * s->psize;
	return 0;
}

int page_store_src_free(void *ctx, uint64_t pa, unsigned order)
{
	struct page_store *s = ctx;
	uint64_t first = (pa - s->pa0) / s->psize;

	cr_assert_eq(pa & ((s->psize << order) - 1), 0);
	for (uint64_t i = first; i < first + (UINT64_C(1) << order); i++) {
		cr_assert(i < s->n && s->used[i],
			  "run free of page %llu not handed out",
			  (unsigned long long)i);
		s->used[i] = false;
	}
	s->in_use -= 1u << order;
	s->frees++;
	return 0;
}

uint64_t page_store_virt_offset(const struct page_store *s)
{
	return (uint64_t)(uintptr_t)s->mem - s->pa0;
}

void page_store_data_free(void *ctx, uint64_t pa)
{
	struct page_store *s = ctx;

	cr_assert_eq(pa & (s->psize - 1), 0);
	give(s, (pa - s->pa0) / s->psize);
}
