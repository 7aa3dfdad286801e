/*
 * libos/pool: frames in batches from a simulated EL2 (fake_libos_el2.c),
 * single frames and naturally aligned runs, the tail of a non-power-of-two
 * run left free, whole chunks given back above the high-water mark, the
 * quota fallback to an exact chunk, bad frees that change nothing, and a
 * seeded random workload against a shadow map of every frame
 * (POOL_SEED=<n> replays one seed).
 */
#include "fake_libos_el2.h"

#include <criterion/criterion.h>
#include <libos/el2.h>
#include <libos/pool/pool.h>
#include <stdlib.h>
#include <string.h>

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

static const struct pool_source el2 = {.alloc = src_alloc, .free = src_free};
static struct pool pool;

static void setup(uint64_t quota, unsigned batch_order, uint64_t hwm)
{
	fake_el2_reset(quota);
	pool_init(&pool, &el2, batch_order, hwm);
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
	cr_assert_eq(fake_el2.bad_frees, 0,
		     "the pool freed frames it did not own");
}

static uint64_t alloc_ok(uint64_t count)
{
	uint64_t pa = 0;

	cr_assert(pool_alloc(&pool, count, &pa), "pool_alloc(%lu) failed",
		  (unsigned long)count);
	cr_assert(fake_el2_owns(pa, count));
	return pa;
}

Test(pool, single_frames_come_in_batches)
{
	uint64_t pa[17];
	struct pool_stats st;

	setup(1024, 4, 64);
	for (int i = 0; i < 16; i++) {
		pa[i] = alloc_ok(1);
		for (int j = 0; j < i; j++)
			cr_assert_neq(pa[i], pa[j]);
	}
	cr_assert_eq(fake_el2.alloc_calls, 1, "16 frames took %lu calls",
		     (unsigned long)fake_el2.alloc_calls);
	pa[16] = alloc_ok(1);
	cr_assert_eq(fake_el2.alloc_calls, 2);
	pool_stats(&pool, &st);
	cr_assert_eq(st.frames_held, 32);
	cr_assert_eq(st.frames_in_use, 17);
	cr_assert_eq(st.frames_free, 15);
	cr_assert_eq(st.frames_from_src, 32);
	cr_assert_eq(st.chunks, 2);
	cr_assert_eq(st.allocs, 17);
	check();
}

Test(pool, runs_are_naturally_aligned)
{
	setup(4096, 4, 1024);
	for (uint64_t n = 1; n <= POOL_MAX_RUN; n = n * 3 / 2 + 1) {
		uint64_t align = 1;
		uint64_t pa = alloc_ok(n);

		while (align < n)
			align <<= 1;
		cr_assert_eq(pa % (align * POOL_FRAME_SIZE), 0,
			     "run of %lu frames at 0x%lx", (unsigned long)n,
			     (unsigned long)pa);
	}
	check();
}

Test(pool, tail_of_an_odd_run_stays_free)
{
	uint64_t a, b;
	struct pool_stats st;

	setup(1024, 4, 64);
	a = alloc_ok(3);
	pool_stats(&pool, &st);
	cr_assert_eq(st.frames_in_use, 3);
	cr_assert_eq(st.frames_free, 13);
	b = alloc_ok(1);
	cr_assert_eq(b, a + 3 * POOL_FRAME_SIZE,
		     "the tail frame was not reused");
	cr_assert(pool_free(&pool, a + POOL_FRAME_SIZE, 2), "sub-run free");
	cr_assert(pool_free(&pool, a, 1));
	cr_assert(pool_free(&pool, b, 1));
	check();
}

Test(pool, free_above_high_water_returns_chunks)
{
	uint64_t pa[64];
	struct pool_stats st;

	setup(1024, 4, 16);
	for (int i = 0; i < 64; i++)
		pa[i] = alloc_ok(1);
	cr_assert_eq(fake_el2.charged, 64);
	for (int i = 0; i < 64; i++) {
		cr_assert(pool_free(&pool, pa[i], 1));
		pool_stats(&pool, &st);
		cr_assert_leq(st.frames_free, 16 + 15,
			      "%lu frames free above the mark",
			      (unsigned long)st.frames_free);
	}
	pool_stats(&pool, &st);
	cr_assert_eq(st.frames_returned, 48);
	cr_assert_eq(st.frames_held, 16);
	cr_assert_eq(fake_el2.charged, 16);
	cr_assert_eq(pool_trim(&pool), 16);
	cr_assert_eq(fake_el2.charged, 0);
	check();
}

Test(pool, lowering_the_high_water_gives_back_at_once)
{
	uint64_t pa = 0;

	setup(1024, 6, 1024);
	pa = alloc_ok(64);
	cr_assert(pool_free(&pool, pa, 64));
	cr_assert_eq(fake_el2.charged, 64, "kept below the mark");
	pool_set_high_water(&pool, 0);
	cr_assert_eq(fake_el2.charged, 0);
	check();
}

Test(pool, partly_used_chunks_are_kept)
{
	uint64_t a, b;

	setup(1024, 4, 0);
	a = alloc_ok(1);
	b = alloc_ok(1);
	cr_assert(pool_free(&pool, a, 1));
	cr_assert_eq(fake_el2.charged, 16, "a chunk in use went back");
	cr_assert(pool_free(&pool, b, 1));
	cr_assert_eq(fake_el2.charged, 0);
	check();
}

Test(pool, bad_frees_change_nothing)
{
	uint64_t pa, outside = (uint64_t)(uintptr_t)&pool;
	struct pool_stats st;

	setup(1024, 4, 64);
	pa = alloc_ok(4);
	cr_assert_not(pool_free(&pool, pa + 4 * POOL_FRAME_SIZE, 1),
		      "never handed out");
	cr_assert_not(pool_free(&pool, pa + 1, 1), "unaligned");
	cr_assert_not(pool_free(&pool, pa, 0), "count 0");
	cr_assert_not(pool_free(&pool, pa, 17), "past the chunk");
	cr_assert_not(pool_free(&pool, outside, 1), "not the pool's");
	cr_assert(pool_free(&pool, pa, 4));
	cr_assert_not(pool_free(&pool, pa, 4), "double free");
	cr_assert_not(pool_free(&pool, pa + POOL_FRAME_SIZE, 1),
		      "double free inside");
	pool_stats(&pool, &st);
	cr_assert_eq(st.bad_frees, 7);
	cr_assert_eq(st.frees, 1);
	cr_assert_eq(st.frames_in_use, 0);
	check();
}

Test(pool, short_quota_takes_an_exact_chunk)
{
	uint64_t pa;
	struct pool_stats st;

	setup(10, 4, 64);
	alloc_ok(1); /* 16 refused, 1 taken */
	alloc_ok(8);
	cr_assert_eq(fake_el2.charged, 9);
	cr_assert_not(pool_alloc(&pool, 2, &pa), "over the quota");
	pool_stats(&pool, &st);
	cr_assert_eq(st.failures, 1);
	cr_assert_geq(st.src_failures, 2);
	alloc_ok(1);
	cr_assert_eq(fake_el2.charged, 10);
	check();
}

Test(pool, sizes_out_of_range_fail)
{
	uint64_t pa;

	setup(4096, 4, 64);
	cr_assert_not(pool_alloc(&pool, 0, &pa));
	cr_assert_not(pool_alloc(&pool, POOL_MAX_RUN + 1, &pa));
	cr_assert_eq(fake_el2.alloc_calls, 0, "asked EL2 for a bad size");
	pa = alloc_ok(POOL_MAX_RUN);
	cr_assert(pool_free(&pool, pa, POOL_MAX_RUN));
	check();
}

Test(pool, chunk_table_full_fails_cleanly)
{
	uint64_t pa;

	setup(4096, 0, 4096);
	/* Runs of a whole batch each: one chunk per call, batches doubling
	 * every 16 chunks (1, 2, 4 then 8 frames). */
	for (int i = 0; i < POOL_MAX_CHUNKS; i++)
		alloc_ok(1u << (i / (POOL_MAX_CHUNKS / 4)));
	cr_assert_eq(fake_el2.charged, 16 * (1 + 2 + 4 + 8));
	cr_assert_not(pool_alloc(&pool, 1, &pa));
	cr_assert_eq(fake_el2.charged, 16 * (1 + 2 + 4 + 8));
	check();
}

Test(pool, fullest_chunk_is_filled_first)
{
	uint64_t a[16], b, c;

	setup(1024, 4, 1024);
	for (int i = 0; i < 16; i++)
		a[i] = alloc_ok(1);
	b = alloc_ok(1); /* second chunk */
	cr_assert(pool_free(&pool, a[5], 1));
	c = alloc_ok(1);
	cr_assert_eq(c, a[5], "took a frame of the emptier chunk (0x%lx)",
		     (unsigned long)c);
	cr_assert(pool_free(&pool, b, 1));
	check();
}

/* ---- random workload against a shadow map ---- */

#define LIVE_MAX 256

struct live {
	uint64_t pa, count;
};

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t frame_index(uint64_t pa)
{
	return (pa - (uint64_t)(uintptr_t)fake_el2.arena) / POOL_FRAME_SIZE;
}

static void shadow_mark(uint8_t *shadow, const struct live *l, bool on,
			uint64_t seed)
{
	for (uint64_t i = 0; i < l->count; i++) {
		uint64_t f = frame_index(l->pa) + i;

		cr_assert_eq(shadow[f], !on, "seed %lu: frame %lu %s",
			     (unsigned long)seed, (unsigned long)f,
			     on ? "handed out twice" : "not handed out");
		shadow[f] = on;
	}
}

static uint64_t random_count(uint64_t *s)
{
	uint64_t r = rng(s) % 100;

	if (r < 60)
		return 1;
	if (r < 90)
		return 1 + rng(s) % 8;
	return 1 + rng(s) % 80;
}

static void random_workload(uint64_t seed)
{
	static uint8_t shadow[FAKE_EL2_FRAMES];
	struct live live[LIVE_MAX];
	unsigned n = 0;
	uint64_t s = seed | 1;

	memset(shadow, 0, sizeof(shadow));
	setup(1500, 4, 48);
	for (int op = 0; op < 4000; op++) {
		struct live l;

		if (n < LIVE_MAX && (n == 0 || rng(&s) % 100 < 55)) {
			l.count = random_count(&s);
			if (!pool_alloc(&pool, l.count, &l.pa))
				continue; /* quota: fine, nothing changed */
			shadow_mark(shadow, &l, true, seed);
			live[n++] = l;
		} else {
			unsigned i = (unsigned)(rng(&s) % n);

			/* Free the front part now, the rest stays live. */
			l = live[i];
			l.count = 1 + rng(&s) % l.count;
			cr_assert(pool_free(&pool, l.pa, l.count));
			shadow_mark(shadow, &l, false, seed);
			live[i].pa += l.count * POOL_FRAME_SIZE;
			live[i].count -= l.count;
			if (!live[i].count)
				live[i] = live[--n];
		}
		if (op % 64 == 0)
			check();
	}
	while (n) {
		n--;
		cr_assert(pool_free(&pool, live[n].pa, live[n].count));
	}
	pool_trim(&pool);
	check();
	cr_assert_eq(fake_el2.charged, 0, "seed %lu: frames left after trim",
		     (unsigned long)seed);
}

Test(pool, random_workload)
{
	const char *env = getenv("POOL_SEED");

	if (env) {
		random_workload(strtoull(env, NULL, 0));
		return;
	}
	for (uint64_t seed = 1; seed <= 8; seed++)
		random_workload(seed * 0x9e3779b97f4a7c15ull);
}

/* A single frame comes from the chunk of the last frame taken or given
 * back (the hint), without a search of the table; a hint whose chunk has
 * nothing free, or went back to the source, is passed over. */
Test(pool, single_frames_follow_the_hint)
{
	uint64_t a[16], b[16], again;

	setup(1024, 4, 1024);
	for (int i = 0; i < 16; i++)
		a[i] = alloc_ok(1);       /* chunk A, full */
	for (int i = 0; i < 16; i++)
		b[i] = alloc_ok(1);       /* chunk B, full */
	cr_assert_eq(fake_el2.alloc_calls, 2);
	cr_assert(pool_free(&pool, a[5], 1));
	again = alloc_ok(1);
	cr_assert_eq(again, a[5], "taken again from the chunk freed into");
	cr_assert(pool_free(&pool, b[9], 1));
	cr_assert(pool_free(&pool, a[3], 1));
	cr_assert_eq(alloc_ok(1), a[3], "the last chunk given back to");
	cr_assert_eq(alloc_ok(1), b[9], "the hint's chunk full: a search");
	check();
	/* The hinted chunk goes back to the source: no frame from it. */
	for (int i = 0; i < 16; i++)
		cr_assert(pool_free(&pool, b[i], 1));
	cr_assert(pool_trim(&pool) == 16);
	check();
	cr_assert(pool_alloc(&pool, 1, &again));
	cr_assert(pool_holds(&pool, again), "a frame the pool holds");
	check();
}

/* pool_take_first (inline, the fault fast path's) takes what
 * pool_alloc(p, 1) takes, or declines with nothing changed: its hinted
 * chunk's first word empty while a later one holds frames (the scan's
 * case), the hinted chunk given back (its bitmap left as it was). */
Test(pool, take_first_is_pool_alloc_or_nothing)
{
	struct pool twin;
	uint64_t pa, pb, first[64];
	unsigned taken = 0, declined = 0;

	setup(1024, 7, 1024); /* chunks of 128 frames: two words */
	for (unsigned i = 0; i < 300; i++) {
		bool fast;

		twin = pool;
		fast = pool_take_first(&pool, &pa);
		if (!fast) {
			/* pool_alloc decides (a source call: the twin
			 * cannot make the same one). */
			cr_assert(!memcmp(&twin, &pool, sizeof(pool)),
				  "step %u: a decline changed the pool", i);
			declined++;
			cr_assert(pool_alloc(&pool, 1, &pa));
			continue;
		}
		taken++;
		cr_assert(pool_alloc(&twin, 1, &pb));
		cr_assert_eq(pa, pb, "step %u: not pool_alloc's frame", i);
		cr_assert(!memcmp(&twin, &pool, sizeof(pool)),
			  "step %u: not pool_alloc's effect", i);
	}
	cr_assert(taken > 250 && declined >= 2, "taken %u, declined %u", taken,
		  declined);
	check();
	/* Every frame of the first chunk back, so it goes to the source. */
	setup(1024, 7, 0);
	for (unsigned i = 0; i < 64; i++)
		first[i] = alloc_ok(1);
	for (unsigned i = 0; i < 64; i++)
		cr_assert(pool_free(&pool, first[i], 1));
	cr_assert(!pool.chunks[pool.hint].used, "the chunk went back");
	cr_assert(pool.chunks[pool.hint].free_map[0], "its bitmap stays");
	twin = pool;
	cr_assert(!pool_take_first(&pool, &pa), "no frame of a gone chunk");
	cr_assert(!memcmp(&twin, &pool, sizeof(pool)));
	check();
}
