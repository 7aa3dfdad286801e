/*
 * libos/pool under revocation (docs/libos.md, "Events and revocation"),
 * against the simulated EL2 (fake_libos_el2.c): giving free frames back on
 * request (whole free chunks first, then free units of chunks in use, never
 * a frame handed out, in direct-map units), repairing the pool after EL2
 * took frames by force (free ones dropped, handed-out ones reported, gone
 * frames never handed out again, wholly gone chunks dropped), and a seeded
 * random mix of both against a shadow of every frame.
 */
#include "fake_libos_el2.h"

#include <criterion/criterion.h>
#include <libos/el2.h>
#include <libos/pool/pool.h>
#include <stdlib.h>
#include <string.h>

static uint64_t unmapped[64], nr_unmapped;

static int src_alloc(void *ctx, unsigned order, uint64_t *pa)
{
	(void)ctx;
	return libos_el2_frame_alloc((uint64_t)1 << order, order, pa) ? -1 : 0;
}

static int src_free(void *ctx, uint64_t pa, unsigned order)
{
	(void)ctx;
	return libos_el2_frame_free(pa, (uint64_t)1 << order) ? -1 : 0;
}

static int src_unmap(void *ctx, uint64_t pa, uint64_t count)
{
	(void)ctx, (void)count;
	if (nr_unmapped < 64)
		unmapped[nr_unmapped] = pa;
	nr_unmapped++;
	return 0;
}

static int src_free_frames(void *ctx, uint64_t pa, uint64_t count)
{
	(void)ctx;
	return libos_el2_frame_free(pa, count) ? -1 : 0;
}

static const struct pool_source el2 = {
	.alloc = src_alloc, .free = src_free,
	.unmap = src_unmap, .free_frames = src_free_frames,
};
static struct pool pool;

static void setup(unsigned unit_order)
{
	fake_el2_reset(4096);
	nr_unmapped = 0;
	pool_init(&pool, &el2, 4, 4096);
	pool_set_unit(&pool, unit_order);
}

static void check(void)
{
	const char *err = pool_check(&pool);
	struct pool_stats st;

	cr_assert_null(err, "pool_check: %s", err);
	pool_stats(&pool, &st);
	cr_assert_eq(st.frames_held, fake_el2.charged,
		     "pool holds %lu frames, EL2 charged %lu",
		     (unsigned long)st.frames_held,
		     (unsigned long)fake_el2.charged);
	cr_assert_eq(fake_el2.bad_frees, 0, "the pool freed frames it did not own");
}

static uint64_t alloc_ok(uint64_t count)
{
	uint64_t pa = 0;

	cr_assert(pool_alloc(&pool, count, &pa));
	return pa;
}

#define F(n) ((uint64_t)(n) * POOL_FRAME_SIZE)

Test(pool_revoke, whole_free_chunks_go_first)
{
	uint64_t a, b;
	struct pool_stats st;

	setup(0);
	a = alloc_ok(16);          /* chunk 1: full */
	b = alloc_ok(16);          /* chunk 2 */
	pool_free(&pool, b, 16);   /* chunk 2 wholly free */
	cr_assert_eq(pool_give_back(&pool, 16), 16);
	pool_stats(&pool, &st);
	cr_assert_eq(st.chunks, 1, "the free chunk went back whole");
	cr_assert_eq(st.frames_given, 16);
	cr_assert(fake_el2_owns(a, 16), "frames in use stay");
	cr_assert_eq(nr_unmapped, 0, "a whole chunk goes through src.free");
	check();
}

Test(pool_revoke, free_frames_of_a_chunk_in_use_go_by_unit)
{
	uint64_t a;
	struct pool_stats st;

	setup(0);
	a = alloc_ok(4);    /* chunk of 16: 4 used, 12 free */
	cr_assert_eq(pool_give_back(&pool, 5), 5, "exactly what was asked");
	cr_assert(fake_el2_owns(a, 4));
	pool_stats(&pool, &st);
	cr_assert_eq(st.frames_held, 11);
	cr_assert_eq(st.frames_free, 7);
	cr_assert_eq(nr_unmapped, 5, "each unit left the direct map first");
	/* What is left still works, and given frames are never handed out. */
	for (int i = 0; i < 7; i++) {
		uint64_t pa = alloc_ok(1);

		cr_assert(fake_el2_owns(pa, 1), "0x%lx was given back",
			  (unsigned long)pa);
	}
	check();
}

Test(pool_revoke, units_with_a_frame_in_use_stay)
{
	uint64_t a;

	setup(2);           /* units of 4 frames (16 KiB pages) */
	a = alloc_ok(1);    /* frame 0 of the chunk: unit 0 is in use */
	cr_assert_eq(pool_give_back(&pool, 100), 12,
		     "units 1-3 only: frames 1-3 share a page with a used one");
	cr_assert(fake_el2_owns(a, 4), "unit 0 stays whole");
	cr_assert_eq(nr_unmapped, 3);
	check();
	cr_assert(pool_free(&pool, a, 1));
	cr_assert_eq(pool_give_back(&pool, 100), 4, "then unit 0 goes too");
	check();
	cr_assert_eq(fake_el2.charged, 0);
}

Test(pool_revoke, nothing_free_gives_nothing)
{
	setup(0);
	alloc_ok(16);
	cr_assert_eq(pool_give_back(&pool, 8), 0);
	check();
}

Test(pool_revoke, repair_drops_free_frames_and_reports_used_ones)
{
	uint64_t a, base;
	struct pool_repair r;
	struct pool_stats st;

	setup(0);
	a = alloc_ok(4);                 /* frames 0-3 used, 4-15 free */
	base = a;
	fake_el2_take(base + F(2), 6);   /* frames 2-7: 2 used, 4 free */
	pool_revoked(&pool, base + F(2), 6, &r);
	cr_assert_eq(r.dropped_free, 4);
	cr_assert_eq(r.lost_in_use, 2);
	cr_assert_eq(r.lost_pa, base + F(2));
	cr_assert_eq(r.foreign, 0);
	pool_stats(&pool, &st);
	cr_assert_eq(st.frames_revoked, 6);
	cr_assert_eq(st.lost_in_use, 2);
	cr_assert(!pool_holds(&pool, base + F(3)));
	cr_assert(pool_holds(&pool, base + F(1)));
	check();
	/* The 8 frames left free are handed out; never a gone one. */
	for (int i = 0; i < 8; i++) {
		uint64_t pa = alloc_ok(1);

		cr_assert(pa < base + F(2) || pa >= base + F(8),
			  "handed out revoked frame 0x%lx", (unsigned long)pa);
	}
	/* Freeing a run with lost frames frees the others. */
	cr_assert(pool_free(&pool, base, 4));
	check();
}

Test(pool_revoke, wholly_gone_chunks_leave_the_table)
{
	uint64_t a;
	struct pool_repair r;
	struct pool_stats st;

	setup(0);
	a = alloc_ok(16);
	alloc_ok(1);                  /* a second chunk */
	fake_el2_take(a, 16);
	pool_revoked(&pool, a, 16, &r);
	cr_assert_eq(r.lost_in_use, 16);
	pool_stats(&pool, &st);
	cr_assert_eq(st.chunks, 1);
	cr_assert(!pool_holds(&pool, a));
	check();
}

Test(pool_revoke, frames_outside_the_pool_are_foreign)
{
	struct pool_repair r;
	uint64_t pa;

	setup(0);
	cr_assert_eq(libos_el2_frame_alloc(2, 0, &pa), 0);  /* not the pool's */
	fake_el2_take(pa, 2);
	pool_revoked(&pool, pa, 2, &r);
	cr_assert_eq(r.foreign, 2);
	cr_assert_eq(r.dropped_free + r.lost_in_use, 0);
}

Test(pool_revoke, a_unit_wholly_taken_leaves_the_direct_map)
{
	uint64_t a;
	struct pool_repair r;

	setup(2);
	a = alloc_ok(1);
	fake_el2_take(a + F(4), 5);     /* unit 1 whole, 1 frame of unit 2 */
	pool_revoked(&pool, a + F(4), 5, &r);
	cr_assert_eq(nr_unmapped, 1, "only the unit wholly gone is unmapped");
	cr_assert_eq(unmapped[0], a + F(4));
	check();
	/* Giving back later skips gone frames and the gone unit. */
	cr_assert_eq(pool_give_back(&pool, 100), 7, "units 2 (3 left) and 3");
	check();
}

Test(pool_revoke, trim_after_repair_returns_the_rest)
{
	uint64_t a;
	struct pool_repair r;

	setup(0);
	a = alloc_ok(1);
	fake_el2_take(a + F(8), 4);
	pool_revoked(&pool, a + F(8), 4, &r);
	cr_assert(pool_free(&pool, a, 1));
	pool_trim(&pool);
	check();
	cr_assert_eq(fake_el2.charged, 0, "everything not taken went back");
}

/* A seeded mix of allocations, frees, requests and forced revocations; a
 * shadow says which frames are handed out. POOL_SEED=<n> replays one. */
#define LIVE_MAX 256
Test(pool_revoke, random_mix)
{
	const char *env = getenv("POOL_SEED");
	unsigned first = env ? (unsigned)atoi(env) : 1;
	unsigned last = env ? first : 40;

	for (unsigned seed = first; seed <= last; seed++) {
		struct { uint64_t pa, n; } live[LIVE_MAX];
		unsigned nr = 0;

		srand(seed);
		setup((unsigned)(rand() % 3));
		for (int op = 0; op < 600; op++) {
			int k = rand() % 10;

			if (k < 5 && nr < LIVE_MAX) {
				uint64_t n = 1 + (uint64_t)(rand() % 24), pa;

				if (pool_alloc(&pool, n, &pa)) {
					cr_assert(fake_el2_owns(pa, n),
						  "seed %u: handed out frames "
						  "EL2 does not give us", seed);
					live[nr].pa = pa;
					live[nr++].n = n;
				}
			} else if (k < 8 && nr) {
				unsigned i = (unsigned)rand() % nr;

				pool_free(&pool, live[i].pa, live[i].n);
				live[i] = live[--nr];
			} else if (k == 8) {
				pool_give_back(&pool, (uint64_t)(rand() % 40));
			} else if (nr) {
				/* EL2 takes a live run by force. */
				unsigned i = (unsigned)rand() % nr;
				struct pool_repair r;
				uint64_t pa = live[i].pa, n = live[i].n;

				if (!fake_el2_owns(pa, n))
					continue;
				fake_el2.nr_taken = 0;
				fake_el2_take(pa, n);
				pool_revoked(&pool, pa, n, &r);
				cr_assert_eq(r.lost_in_use, n, "seed %u", seed);
				live[i] = live[--nr];
			}
			{
				const char *err = pool_check(&pool);

				cr_assert_null(err, "seed %u op %d: %s", seed, op,
					       err);
			}
		}
		check();
	}
}

/* pool_runs: what the pool holds, as runs, gone frames left out. */
struct runs_seen {
	uint64_t free, in_use, runs;
	uint64_t gone_pa, gone_count;   /* no run may touch this */
	bool touched_gone;
};

static void run_seen(void *ctx, uint64_t pa, uint64_t count, bool free)
{
	struct runs_seen *s = ctx;
	uint64_t end = pa + count * POOL_FRAME_SIZE;

	cr_assert(pool_holds(&pool, pa) && pool_holds(&pool, end - 4096));
	if (pa < s->gone_pa + s->gone_count * POOL_FRAME_SIZE &&
	    s->gone_pa < end)
		s->touched_gone = true;
	*(free ? &s->free : &s->in_use) += count;
	s->runs++;
}

Test(pool_revoke, runs_cover_what_is_held_and_not_what_is_gone)
{
	struct pool_repair r;
	struct pool_stats st;
	struct runs_seen seen = { 0 };
	uint64_t a, b;

	setup(0);
	a = alloc_ok(5);
	b = alloc_ok(3);
	(void)b;
	seen.gone_pa = a + POOL_FRAME_SIZE;
	seen.gone_count = 2;
	fake_el2_take(seen.gone_pa, seen.gone_count);
	pool_revoked(&pool, seen.gone_pa, seen.gone_count, &r);
	check();
	pool_runs(&pool, run_seen, &seen);
	pool_stats(&pool, &st);
	cr_assert_not(seen.touched_gone, "a run covers a gone frame");
	cr_assert_eq(seen.free, st.frames_free);
	cr_assert_eq(seen.in_use + seen.free, st.frames_held);
	cr_assert_geq(seen.runs, 3, "in use, gone, in use, free: %lu runs",
		      (unsigned long)seen.runs);
}
