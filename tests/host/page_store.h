/*
 * A test's supply of pages with physical addresses of its own: table
 * pages for a struct pgtable_mm_ops and data pages for a struct
 * libos_vm_pages, carved from one host allocation. Every page handed out
 * is filled with garbage; every call is counted and every free checked, so
 * a test can assert what the code under test took and gave back. limit
 * caps the pages in use (a source running dry). Shared by the libos
 * regions and fault tests.
 */
#ifndef EXO_TESTS_PAGE_STORE_H
#define EXO_TESTS_PAGE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#define PAGE_STORE_MAX 128

struct page_store {
	uint8_t *mem;
	uint64_t pa0, psize;
	bool used[PAGE_STORE_MAX];
	unsigned n, in_use, limit;
	unsigned allocs, frees;
};

/* n pages of psize bytes from pa0 on, all free, limit n. */
void page_store_init(struct page_store *s, uint64_t pa0, uint64_t psize,
		     unsigned n);
void page_store_fini(struct page_store *s);

/* struct pgtable_mm_ops's callbacks (ctx: the store). */
void *page_store_tab_alloc(void *ctx);
void page_store_tab_free(void *ctx, void *p);
uint64_t page_store_v2p(void *ctx, const void *p);
/* Asserts pa is the store's. */
void *page_store_p2v(void *ctx, uint64_t pa);

/* struct libos_vm_pages's callbacks (ctx: the store). */
bool page_store_data_alloc(void *ctx, uint64_t *pa);
void page_store_data_free(void *ctx, uint64_t pa);

/* struct pool_source's alloc and free (ctx: the store): naturally aligned
 * runs of 2^order pages (pages being pool frames), counted one call each
 * in allocs and frees; pa0 must be aligned to the run. A pool over the
 * store is a page source for the fault fast path: its pages' contents at
 * pa + page_store_virt_offset. */
int page_store_src_alloc(void *ctx, unsigned order, uint64_t *pa);
int page_store_src_free(void *ctx, uint64_t pa, unsigned order);
uint64_t page_store_virt_offset(const struct page_store *s);

#endif
