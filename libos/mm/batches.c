/*
 * The page source's batches (libos/mm/batches.h).
 */
#include "libos/mm/batches.h"

#include <exo/frame.h>
#include <stdbool.h>

void batches_init(struct batches *t, unsigned pages, uint64_t page_size)
{
	t->page_size = page_size;
	t->pages = pages < BATCHES_PAGES_MAX ? pages : BATCHES_PAGES_MAX;
	t->nr = 0;
	t->untracked = 0;
}

void batches_add(struct batches *t, uint64_t pa)
{
	if (t->nr == BATCHES_MAX) {
		t->untracked += t->pages;
		return;
	}
	t->e[t->nr++] = (struct batches_entry){pa, 0};
}

static uint32_t all_gone(const struct batches *t)
{
	return (uint32_t)((UINT64_C(1) << t->pages) - 1);
}

void batches_drop(struct batches *t, uint64_t pa)
{
	uint64_t size = t->pages * t->page_size;

	for (unsigned i = 0; i < t->nr; i++) {
		struct batches_entry *b = &t->e[i];

		if (pa < b->pa || pa - b->pa >= size)
			continue;
		b->gone |= UINT32_C(1) << ((pa - b->pa) / t->page_size);
		if (b->gone == all_gone(t))
			*b = t->e[--t->nr];
		return;
	}
	if (t->untracked)
		t->untracked--;
}

static void entry_runs(const struct batches *t, const struct batches_entry *b,
		       batches_run_fn fn, void *ctx)
{
	uint64_t frames = t->page_size >> EXO_FRAME_SHIFT;
	unsigned start = 0;

	for (unsigned i = 1; i <= t->pages; i++) {
		bool gone = b->gone >> start & 1;

		if (i < t->pages && (b->gone >> i & 1) == gone)
			continue;
		if (!gone)
			fn(ctx, b->pa + start * t->page_size,
			   (i - start) * frames);
		start = i;
	}
}

unsigned batches_runs(const struct batches *t, batches_run_fn fn, void *ctx)
{
	for (unsigned i = 0; i < t->nr; i++)
		entry_runs(t, &t->e[i], fn, ctx);
	return t->untracked;
}
