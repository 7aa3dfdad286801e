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

void *page_store_data_try(void *ctx, uint64_t *pa)
{
	struct page_store *s = ctx;

	return page_store_data_alloc(ctx, pa) ? s->mem + (*pa - s->pa0) : NULL;
}

void page_store_data_free(void *ctx, uint64_t pa)
{
	struct page_store *s = ctx;

	cr_assert_eq(pa & (s->psize - 1), 0);
	give(s, (pa - s->pa0) / s->psize);
}
