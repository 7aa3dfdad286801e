/*
 * libos/mm/batches.c: which table-page batches the page source holds, for
 * the memory report. Runs skip pages that went back, a batch all gone is
 * forgotten, and past BATCHES_MAX batches pages are counted, not listed.
 */
#include <criterion/criterion.h>
#include <libos/mm/batches.h>

#define PAGE	 4096u
#define MAX_RUNS 8

struct seen {
	uint64_t pa[MAX_RUNS], frames[MAX_RUNS];
	unsigned n;
	uint64_t total;
};

static void see(void *ctx, uint64_t pa, uint64_t frames)
{
	struct seen *s = ctx;

	s->total += frames;
	if (s->n < MAX_RUNS) {
		s->pa[s->n] = pa;
		s->frames[s->n] = frames;
	}
	s->n++;
}

static struct batches t;

Test(batches, a_batch_is_one_run_until_pages_go_back)
{
	struct seen s = {0};

	batches_init(&t, 16, PAGE);
	batches_add(&t, 0x100000);
	batches_drop(&t, 0x100000 + 4 * PAGE);
	batches_drop(&t, 0x100000 + 15 * PAGE);
	cr_assert_eq(batches_runs(&t, see, &s), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.pa[0], 0x100000);
	cr_assert_eq(s.frames[0], 4);
	cr_assert_eq(s.pa[1], 0x100000 + 5 * PAGE);
	cr_assert_eq(s.frames[1], 10);
}

Test(batches, a_batch_all_gone_is_forgotten)
{
	struct seen s = {0};

	batches_init(&t, 4, PAGE);
	batches_add(&t, 0x100000);
	batches_add(&t, 0x200000);
	for (unsigned i = 0; i < 4; i++)
		batches_drop(&t, 0x100000 + i * PAGE);
	cr_assert_eq(t.nr, 1);
	batches_runs(&t, see, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.pa[0], 0x200000);
	cr_assert_eq(s.frames[0], 4);
}

Test(batches, large_pages_count_in_frames)
{
	struct seen s = {0};

	batches_init(&t, 1, 64 * 1024);
	batches_add(&t, 0x400000);
	batches_runs(&t, see, &s);
	cr_assert_eq(s.total, 16, "one 64 KiB page is 16 frames");
}

Test(batches, past_the_table_pages_are_counted_not_listed)
{
	struct seen s = {0};

	batches_init(&t, 16, PAGE);
	for (unsigned i = 0; i <= BATCHES_MAX; i++)
		batches_add(&t, 0x100000 + (uint64_t)i * 16 * PAGE);
	cr_assert_eq(batches_runs(&t, see, &s), 16);
	cr_assert_eq(s.total, (uint64_t)BATCHES_MAX * 16);
	/* A page of the untracked batch goes back: one fewer untracked. */
	batches_drop(&t, 0x100000 + (uint64_t)BATCHES_MAX * 16 * PAGE);
	cr_assert_eq(batches_runs(&t, see, &(struct seen){0}), 15);
}

Test(batches, a_page_never_fetched_changes_nothing)
{
	batches_init(&t, 16, PAGE);
	batches_add(&t, 0x100000);
	batches_drop(&t, 0x900000);
	cr_assert_eq(t.e[0].gone, 0);
	cr_assert_eq(t.untracked, 0, "no underflow");
}
