/*
 * The guest's memory report (libos/memuse.c, libos_memory_report): runs of
 * one use merged and no others, the totals line, and on a simulated EL2
 * (fake_libos_el2.c) a report whose runs are disjoint, lie in frames EL2
 * says the guest owns, and add up to what the pool holds, split into heap,
 * region pages and free frames.
 */
#include "fake_libos_el2.h"
#include "console_capture.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <lib/print.h>
#include <libos/libos.h>
#include <libos/memuse.h>
#include <stdio.h>
#include <string.h>

#define MAX_LINES 64

static char lines[MAX_LINES][256];
static unsigned nr_lines;

static void collect(void *ctx, const char *line)
{
	(void)ctx;
	cr_assert_lt(nr_lines, MAX_LINES);
	snprintf(lines[nr_lines++], sizeof(lines[0]), "%s", line);
}

Test(memuse, adjacent_runs_of_one_use_merge)
{
	struct memuse m;

	nr_lines = 0;
	memuse_init(&m, collect, NULL);
	memuse_add(&m, MEMUSE_HEAP, 0x10000, 2);
	memuse_add(&m, MEMUSE_HEAP, 0x12000, 3);      /* adjacent: merged */
	memuse_add(&m, MEMUSE_POOL_FREE, 0x15000, 1); /* other use */
	memuse_add(&m, MEMUSE_POOL_FREE, 0x20000, 4); /* a gap */
	memuse_add(&m, MEMUSE_S1_TABLES, 0x40000, 0); /* nothing */
	memuse_finish(&m, 7);
	cr_assert_eq(nr_lines, 4);
	cr_assert_str_eq(lines[0], "memuse: 0x10000 5 heap");
	cr_assert_str_eq(lines[1], "memuse: 0x15000 1 pool-free");
	cr_assert_str_eq(lines[2], "memuse: 0x20000 4 pool-free");
	cr_assert_str_eq(lines[3], "memuse: total s1-tables 0 heap 5 "
				   "region-pages 0 pool-free 5 untracked 7");
}

Test(memuse, an_unknown_use_is_ignored)
{
	struct memuse m;

	nr_lines = 0;
	memuse_init(&m, collect, NULL);
	memuse_add(&m, MEMUSE_KINDS, 0x10000, 2);
	memuse_finish(&m, 0);
	cr_assert_eq(nr_lines, 1);
	cr_assert_str_eq(memuse_name(MEMUSE_KINDS), "?");
}

/* ---- libos_memory_report over the simulated EL2 ---- */


struct report {
	uint64_t pa[MAX_LINES], frames[MAX_LINES];
	char use[MAX_LINES][16];
	unsigned nr;
	uint64_t total[MEMUSE_KINDS], untracked;
};

static void parse(struct report *r)
{
	char *line = capture_out, *nl;

	memset(r, 0, sizeof(*r));
	for (; *line; line = nl ? nl + 1 : line + strlen(line)) {
		unsigned long long pa, n, t[MEMUSE_KINDS], u;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (sscanf(line,
			   "memuse: total s1-tables %llu heap %llu "
			   "region-pages %llu pool-free %llu untracked %llu",
			   &t[0], &t[1], &t[2], &t[3], &u) == 5) {
			for (unsigned k = 0; k < MEMUSE_KINDS; k++)
				r->total[k] = t[k];
			r->untracked = u;
		} else if (sscanf(line, "memuse: 0x%llx %llu %15s", &pa, &n,
				  r->use[r->nr]) == 3) {
			cr_assert_lt(r->nr, MAX_LINES - 1);
			r->pa[r->nr] = pa;
			r->frames[r->nr++] = n;
		}
	}
}

static uint64_t use_sum(const struct report *r, const char *use)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < r->nr; i++)
		if (strcmp(r->use[i], use) == 0)
			n += r->frames[i];
	return n;
}

static void assert_disjoint_and_owned(const struct report *r)
{
	for (unsigned i = 0; i < r->nr; i++) {
		cr_assert(fake_el2_owns(r->pa[i], r->frames[i]),
			  "run %u (0x%" PRIx64 " +%" PRIu64 ") not owned", i,
			  r->pa[i], r->frames[i]);
		for (unsigned j = 0; j < i; j++)
			cr_assert(r->pa[i] + r->frames[i] * 4096 <= r->pa[j] ||
				      r->pa[j] + r->frames[j] * 4096 <=
					  r->pa[i],
				  "runs %u and %u overlap", i, j);
	}
}

Test(memuse, the_report_splits_what_the_pool_holds)
{
	char *argv[] = {"t", NULL};
	struct libos_config cfg = { .name = "t", .heap_policy = "tlsf",
				    .argc = 1, .argv = argv,
				    .memory_report = true };
	struct libos_stats st;
	struct report r;
	uint64_t pages;
	void *big, *small;

	fake_el2_reset(2048);
	capture_len = 0;
	print_set_console(capture_console, "");
	cr_assert_eq(libos_init(&cfg), LIBOS_OK);
	big = libos_malloc(40000);
	small = libos_malloc(100);
	cr_assert(big && small);
	cr_assert(libos_frames_alloc(3, &pages));
	libos_fini(); /* memory_report: prints the report */
	libos_stats(&st);
	parse(&r);
	assert_disjoint_and_owned(&r);
	cr_assert_eq(use_sum(&r, "heap"), r.total[MEMUSE_HEAP]);
	cr_assert_eq(use_sum(&r, "pool-free"), r.total[MEMUSE_POOL_FREE]);
	cr_assert_eq(use_sum(&r, "region-pages"), r.total[MEMUSE_REGION_PAGES]);
	cr_assert_eq(r.total[MEMUSE_REGION_PAGES], 3, "the 3 task frames");
	cr_assert_geq(r.total[MEMUSE_HEAP] * 4096, 40000);
	cr_assert_eq(r.total[MEMUSE_POOL_FREE], st.pool.frames_free);
	cr_assert_eq(r.total[MEMUSE_HEAP] + r.total[MEMUSE_REGION_PAGES] +
			 r.total[MEMUSE_POOL_FREE],
		     st.pool.frames_held, "%s", capture_out);
	cr_assert_eq(r.total[MEMUSE_S1_TABLES], 0, "no tables on the host");
	libos_frames_free(pages, 3);
	libos_free(big);
	libos_free(small);
}

Test(memuse, no_report_unless_asked)
{
	char *argv[] = {"t", NULL};
	struct libos_config cfg = { .name = "t", .heap_policy = "tlsf",
				    .argc = 1, .argv = argv };

	fake_el2_reset(2048);
	capture_len = 0;
	capture_out[0] = '\0';
	print_set_console(capture_console, "");
	cr_assert_eq(libos_init(&cfg), LIBOS_OK);
	cr_assert_not_null(libos_malloc(100));
	libos_fini();
	cr_assert_null(strstr(capture_out, "memuse:"), "%s", capture_out);
}
