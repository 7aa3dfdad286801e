/*
 * Which batches of pages the page source (pages.c) still holds, for the
 * memory report: a fixed table of batches fetched from EL2, each with a
 * mask of the pages that went back. Owns: that table. Never: fetches or
 * frees a page, or touches one (it only records addresses).
 */
#ifndef EXO_LIBOS_MM_BATCHES_H
#define EXO_LIBOS_MM_BATCHES_H

#include <stdint.h>

/* 16 MiB of 4 KiB table pages; pages of later batches are only counted. */
#define BATCHES_MAX	  256
#define BATCHES_PAGES_MAX 32 /* pages per batch: bits of the gone mask */

struct batches_entry {
	uint64_t pa;
	uint32_t gone; /* bit i: page i went back */
};

struct batches {
	uint64_t page_size;
	unsigned pages; /* per batch, 1..BATCHES_PAGES_MAX */
	unsigned nr;
	unsigned untracked; /* pages held outside the table */
	struct batches_entry e[BATCHES_MAX];
};

void batches_init(struct batches *t, unsigned pages, uint64_t page_size);
/* A batch of t->pages pages at pa came from EL2. */
void batches_add(struct batches *t, uint64_t pa);
/* Page pa went back to EL2; a batch all gone is forgotten. */
void batches_drop(struct batches *t, uint64_t pa);
/* Calls fn for every run of held pages (in 4 KiB frames), batch by batch;
 * returns the pages held outside the table (past BATCHES_MAX). */
typedef void (*batches_run_fn)(void *ctx, uint64_t pa, uint64_t frames);
unsigned batches_runs(const struct batches *t, batches_run_fn fn, void *ctx);

#endif
