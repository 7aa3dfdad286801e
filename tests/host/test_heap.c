/*
 * libos/heap: every policy through the one interface. Semantics and edge
 * cases, a seeded random workload against a shadow model (no overlap,
 * alignment, contents kept across realloc, stats agree, check() holds),
 * exhaustion of the page source, memory given back, and the registry.
 * Set HEAP_SEED=<n> to replay one random sequence.
 */
#include <criterion/criterion.h>
#include <libos/heap/heap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a page source over aligned_alloc, with a limit and a ledger ---- */

#define SRC_MAX_REGIONS 1024

struct src {
	size_t limit;	    /* bytes it will hand out at most */
	size_t outstanding; /* handed out, not yet given back */
	size_t round;	    /* hands out multiples of this (>= a page) */
	void *base[SRC_MAX_REGIONS];
	size_t bytes[SRC_MAX_REGIONS];
};

static void *src_grow(void *ctx, size_t bytes_min, size_t *bytes_got)
{
	struct src *s = ctx;
	size_t got = (bytes_min + s->round - 1) / s->round * s->round;

	if (got > s->limit - s->outstanding)
		return NULL;
	for (int i = 0; i < SRC_MAX_REGIONS; i++) {
		if (s->base[i])
			continue;
		s->base[i] = aligned_alloc(HEAP_PAGE_SIZE, got);
		if (!s->base[i])
			return NULL;
		s->bytes[i] = got;
		s->outstanding += got;
		*bytes_got = got;
		return s->base[i];
	}
	return NULL;
}

static void src_shrink(void *ctx, void *base, size_t bytes)
{
	struct src *s = ctx;

	for (int i = 0; i < SRC_MAX_REGIONS; i++) {
		if (s->base[i] != base)
			continue;
		cr_assert_eq(s->bytes[i], bytes, "shrink of a partial region");
		free(base);
		s->base[i] = NULL;
		s->outstanding -= bytes;
		return;
	}
	cr_assert_fail("shrink of a region grow never gave: %p", base);
}

static void src_init(struct src *s, size_t limit, size_t round)
{
	memset(s, 0, sizeof(*s));
	s->limit = limit;
	s->round = round;
}

static void heap_open(struct heap *h, struct src *s, const char *policy)
{
	int err = heap_create(policy, src_grow, src_shrink, s, h);

	cr_assert_eq(err, HEAP_OK, "heap_create(%s) = %d", policy, err);
	cr_assert_str_eq(heap_policy(h), policy);
}

static void heap_close(struct heap *h, struct src *s, const char *policy)
{
	const char *why = heap_check(h);

	cr_assert_null(why, "%s: %s", policy, why);
	heap_destroy(h);
	cr_assert_eq(s->outstanding, 0, "%s: %zu bytes not given back", policy,
		     s->outstanding);
}

static void expect_ok(struct heap *h, const char *policy)
{
	const char *why = heap_check(h);

	cr_assert_null(why, "%s: %s", policy, why);
}

/* One Test per policy for each scenario. */
#define PER_POLICY(fn)                                                         \
	Test(heap, fn##_bump)                                                  \
	{                                                                      \
		fn("bump");                                                    \
	}                                                                      \
	Test(heap, fn##_freelist)                                              \
	{                                                                      \
		fn("freelist");                                                \
	}                                                                      \
	Test(heap, fn##_buddy)                                                 \
	{                                                                      \
		fn("buddy");                                                   \
	}                                                                      \
	Test(heap, fn##_slab)                                                  \
	{                                                                      \
		fn("slab");                                                    \
	}                                                                      \
	Test(heap, fn##_tlsf)                                                  \
	{                                                                      \
		fn("tlsf");                                                    \
	}                                                                      \
	Test(heap, fn##_sizeclass)                                             \
	{                                                                      \
		fn("sizeclass");                                               \
	}

static bool reuses_memory(const char *policy)
{
	return strcmp(policy, "bump") != 0;
}

/* ---- semantics ---- */

static void basics(const char *policy)
{
	struct src s;
	struct heap h;
	struct heap_stats st;
	char *a, *b, *c;

	src_init(&s, SIZE_MAX, HEAP_PAGE_SIZE);
	heap_open(&h, &s, policy);

	a = heap_alloc(&h, 0);
	b = heap_alloc(&h, 0);
	cr_assert(a && b && a != b, "%s: alloc(0) not unique", policy);
	heap_free(&h, a);
	heap_free(&h, b);
	heap_free(&h, NULL);

	a = heap_alloc(&h, 100);
	cr_assert_not_null(a);
	cr_assert_eq((uintptr_t)a % HEAP_MIN_ALIGN, 0);
	cr_assert_geq(heap_usable_size(&h, a), 100);
	cr_assert_eq(heap_usable_size(&h, NULL), 0);
	memset(a, 0x5a, 100);

	b = heap_realloc(&h, a, 5000);
	cr_assert_not_null(b, "%s: realloc grow", policy);
	for (int i = 0; i < 100; i++)
		cr_assert_eq((unsigned char)b[i], 0x5a, "%s: realloc lost data",
			     policy);
	c = heap_realloc(&h, b, 10);
	cr_assert_not_null(c);
	cr_assert_eq((unsigned char)c[9], 0x5a);
	cr_assert_null(heap_realloc(&h, c, 0), "realloc(p, 0) frees");

	a = heap_realloc(&h, NULL, 64);
	cr_assert_not_null(a, "realloc(NULL, n) allocates");
	heap_stats(&h, &st);
	cr_assert_eq(st.live_blocks, 1, "%s: live %zu", policy, st.live_blocks);

	/* Sizes no heap can give: NULL, and the heap stays usable. */
	cr_assert_null(heap_alloc(&h, SIZE_MAX));
	cr_assert_null(heap_alloc(&h, SIZE_MAX - 15));
	cr_assert_null(heap_alloc(&h, HEAP_MAX_ALLOC + 1));
	cr_assert_null(heap_realloc(&h, a, SIZE_MAX));
	cr_assert_null(heap_aligned_alloc(&h, 64, SIZE_MAX - 8));
	cr_assert_null(heap_aligned_alloc(&h, (size_t)1 << 63, 16));
	heap_stats(&h, &st);
	cr_assert_eq(st.failures, 6, "%s: failures %llu", policy,
		     (unsigned long long)st.failures);
	cr_assert_eq(st.live_blocks, 1);
	heap_free(&h, a);
	heap_stats(&h, &st);
	cr_assert_eq(st.live_blocks, 0);
	cr_assert_eq(st.bytes_in_use, 0);
	heap_close(&h, &s, policy);
}
PER_POLICY(basics)

static void alignment(const char *policy)
{
	static const size_t sizes[] = {0, 1, 16, 100, 1000, 3000, 9000};
	static const size_t bad[] = {0, 3, 24, 48, 100, 4095, 12288};
	struct src s;
	struct heap h;
	struct heap_stats st;

	src_init(&s, SIZE_MAX, HEAP_PAGE_SIZE);
	heap_open(&h, &s, policy);
	for (size_t align = 1; align <= 4096; align *= 2) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			char *p = heap_aligned_alloc(&h, align, sizes[i]);

			cr_assert_not_null(p, "%s: align %zu size %zu", policy,
					   align, sizes[i]);
			cr_assert_eq((uintptr_t)p % align, 0,
				     "%s: %p not aligned to %zu", policy,
				     (void *)p, align);
			cr_assert_eq((uintptr_t)p % HEAP_MIN_ALIGN, 0);
			cr_assert_geq(heap_usable_size(&h, p), sizes[i]);
			memset(p, 0xa5, sizes[i]);
			heap_free(&h, p);
		}
		expect_ok(&h, policy);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(heap_aligned_alloc(&h, bad[i], 64),
			       "%s: alignment %zu accepted", policy, bad[i]);
	heap_stats(&h, &st);
	cr_assert_eq(st.live_blocks, 0);
	heap_close(&h, &s, policy);
}
PER_POLICY(alignment)

/* A pointer the heap never handed out, and a double free: ignored and
 * counted, the heap unharmed. */
static void bad_frees(const char *policy)
{
	struct src s;
	struct heap h;
	struct heap_stats st;
	char *a, *b, *c;

	src_init(&s, SIZE_MAX, HEAP_PAGE_SIZE);
	heap_open(&h, &s, policy);
	a = heap_alloc(&h, 64);
	b = heap_alloc(&h, 64);
	c = heap_alloc(&h, 64);
	memset(a, 0, 64);
	heap_free(&h, a + 32);
	heap_free(&h, a + 8);
	heap_free(&h, b);
	heap_free(&h, b);
	heap_stats(&h, &st);
	cr_assert_eq(st.bad_frees, 3, "%s: bad frees %llu", policy,
		     (unsigned long long)st.bad_frees);
	cr_assert_eq(st.frees, 1);
	cr_assert_eq(st.live_blocks, 2);
	expect_ok(&h, policy);
	heap_free(&h, a);
	heap_free(&h, c);
	heap_close(&h, &s, policy);
}
PER_POLICY(bad_frees)

/* check() sees an overflow from one block into its freed neighbour. */
static void check_catches_overflow(const char *policy)
{
	struct src s;
	struct heap h;
	unsigned char *a, *b, *c, save[32];
	size_t n;

	src_init(&s, SIZE_MAX, HEAP_PAGE_SIZE);
	heap_open(&h, &s, policy);
	a = heap_alloc(&h, 64);
	b = heap_alloc(&h, 64);
	c = heap_alloc(&h, 64);
	heap_free(&h, b);
	expect_ok(&h, policy);
	n = heap_usable_size(&h, a);
	memcpy(save, a + n, sizeof(save));
	memset(a + n, 0xff, sizeof(save));
	cr_assert_not_null(heap_check(&h), "%s: overflow not seen", policy);
	memcpy(a + n, save, sizeof(save));
	expect_ok(&h, policy);
	heap_free(&h, a);
	heap_free(&h, c);
	heap_close(&h, &s, policy);
}
PER_POLICY(check_catches_overflow)

/* ---- random workload against a shadow model ---- */

#define MODEL_SLOTS	  384
#define MODEL_OPS	  12000
#define MODEL_CHECK_EVERY 200

struct block {
	unsigned char *p;
	size_t size;
	size_t align;
	uint32_t id;
};

struct model {
	struct heap h;
	struct src s;
	struct block b[MODEL_SLOTS];
	uint64_t rng;
	uint64_t seed;
	uint32_t next_id;
	size_t live;
	const char *policy;
};

static uint64_t rnd(struct model *m)
{
	/* xorshift64*: small, seedable, good enough for op mixes. */
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * 0x2545f4914f6cdd1dull;
}

static size_t rnd_size(struct model *m)
{
	uint64_t r = rnd(m) % 100;

	if (r < 70)
		return rnd(m) % 257;
	if (r < 95)
		return rnd(m) % 4097;
	return rnd(m) % 65537;
}

static unsigned char pattern(uint32_t id, size_t i)
{
	return (unsigned char)(id * 131u + i * 7u + (i >> 8));
}

static void fill(struct block *b)
{
	for (size_t i = 0; i < b->size; i++)
		b->p[i] = pattern(b->id, i);
}

static void verify(struct model *m, struct block *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b->p[i] != pattern(b->id, i))
			cr_assert_fail(
			    "%s seed %llu: block %u byte %zu changed",
			    m->policy, (unsigned long long)m->seed, b->id, i);
}

static void no_overlap(struct model *m, struct block *nb)
{
	uintptr_t lo = (uintptr_t)nb->p;
	uintptr_t hi = lo + heap_usable_size(&m->h, nb->p);

	for (int i = 0; i < MODEL_SLOTS; i++) {
		struct block *o = &m->b[i];
		uintptr_t olo = (uintptr_t)o->p;

		if (!o->p || o == nb)
			continue;
		if (lo < olo + heap_usable_size(&m->h, o->p) && olo < hi)
			cr_assert_fail(
			    "%s seed %llu: block %u overlaps block %u",
			    m->policy, (unsigned long long)m->seed, nb->id,
			    o->id);
	}
}

static void placed(struct model *m, struct block *b)
{
	if ((uintptr_t)b->p % b->align)
		cr_assert_fail("%s seed %llu: %p not aligned to %zu", m->policy,
			       (unsigned long long)m->seed, (void *)b->p,
			       b->align);
	if (heap_usable_size(&m->h, b->p) < b->size)
		cr_assert_fail("%s seed %llu: usable size below request",
			       m->policy, (unsigned long long)m->seed);
	no_overlap(m, b);
}

static void op_alloc(struct model *m, struct block *b)
{
	bool aligned = rnd(m) % 8 == 0;

	b->size = rnd_size(m);
	b->align = aligned ? (size_t)1 << (rnd(m) % 13) : HEAP_MIN_ALIGN;
	b->p = aligned ? heap_aligned_alloc(&m->h, b->align, b->size)
		       : heap_alloc(&m->h, b->size);
	cr_assert_not_null(b->p, "%s seed %llu: alloc %zu failed", m->policy,
			   (unsigned long long)m->seed, b->size);
	if (b->align < HEAP_MIN_ALIGN)
		b->align = HEAP_MIN_ALIGN;
	b->id = m->next_id++;
	m->live++;
	placed(m, b);
	fill(b);
}

static void op_free(struct model *m, struct block *b)
{
	verify(m, b, b->size);
	heap_free(&m->h, b->p);
	b->p = NULL;
	m->live--;
}

static void op_realloc(struct model *m, struct block *b)
{
	size_t size = rnd_size(m);
	unsigned char *p;

	verify(m, b, b->size);
	if (size == 0)
		size = 1; /* realloc(p, 0) frees: covered in basics */
	p = heap_realloc(&m->h, b->p, size);
	cr_assert_not_null(p, "%s seed %llu: realloc failed", m->policy,
			   (unsigned long long)m->seed);
	b->p = p;
	b->align = HEAP_MIN_ALIGN;
	verify(m, b, size < b->size ? size : b->size);
	b->size = size;
	placed(m, b);
	fill(b);
}

static void model_check(struct model *m)
{
	struct heap_stats st;
	size_t in_use = 0;
	const char *why = heap_check(&m->h);

	cr_assert_null(why, "%s seed %llu: %s", m->policy,
		       (unsigned long long)m->seed, why);
	for (int i = 0; i < MODEL_SLOTS; i++)
		if (m->b[i].p)
			in_use += heap_usable_size(&m->h, m->b[i].p);
	heap_stats(&m->h, &st);
	cr_assert_eq(st.live_blocks, m->live, "%s seed %llu: live blocks",
		     m->policy, (unsigned long long)m->seed);
	cr_assert_eq(st.bytes_in_use, in_use, "%s seed %llu: bytes in use",
		     m->policy, (unsigned long long)m->seed);
	cr_assert_eq(st.footprint, m->s.outstanding, "%s seed %llu: footprint",
		     m->policy, (unsigned long long)m->seed);
	cr_assert_leq(st.fragmentation_pct, 100);
}

static void model_run(const char *policy, uint64_t seed)
{
	struct model *m = calloc(1, sizeof(*m));

	cr_assert_not_null(m);
	m->policy = policy;
	m->seed = seed;
	m->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	src_init(&m->s, SIZE_MAX, HEAP_PAGE_SIZE * (1 + seed % 4));
	heap_open(&m->h, &m->s, policy);
	for (int op = 0; op < MODEL_OPS; op++) {
		struct block *b = &m->b[rnd(m) % MODEL_SLOTS];
		uint64_t r = rnd(m) % 10;

		if (!b->p)
			op_alloc(m, b);
		else if (r < 6)
			op_free(m, b);
		else
			op_realloc(m, b);
		if (op % MODEL_CHECK_EVERY == 0)
			model_check(m);
	}
	model_check(m);
	for (int i = 0; i < MODEL_SLOTS; i++)
		if (m->b[i].p)
			op_free(m, &m->b[i]);
	model_check(m);
	heap_close(&m->h, &m->s, policy);
	free(m);
}

static void random_ops(const char *policy)
{
	const char *env = getenv("HEAP_SEED");

	if (env) {
		model_run(policy, strtoull(env, NULL, 0));
		return;
	}
	model_run(policy, 1);
	model_run(policy, 0x5eed2025);
}
PER_POLICY(random_ops)

/* ---- the source runs dry ---- */

#define EXHAUST_LIMIT ((size_t)1 << 20)
#define EXHAUST_MAX   2048

static void exhaustion(const char *policy)
{
	static void *p[EXHAUST_MAX];
	struct src s;
	struct heap h;
	struct heap_stats st;
	size_t n = 0;

	src_init(&s, EXHAUST_LIMIT, HEAP_PAGE_SIZE);
	heap_open(&h, &s, policy);
	while (n < EXHAUST_MAX && (p[n] = heap_alloc(&h, 1000)))
		n++;
	cr_assert_lt(n, EXHAUST_MAX, "%s: the limit never bit", policy);
	cr_assert_gt(n, 100, "%s: only %zu blocks in 1 MiB", policy, n);
	cr_assert_null(heap_alloc(&h, 1000));
	cr_assert_null(heap_alloc(&h, EXHAUST_LIMIT));
	cr_assert_null(heap_aligned_alloc(&h, 64, 1000));
	heap_stats(&h, &st);
	cr_assert_geq(st.failures, 4);
	cr_assert_leq(st.footprint, EXHAUST_LIMIT);
	expect_ok(&h, policy);

	for (size_t i = 0; i < n; i += 2)
		heap_free(&h, p[i]);
	expect_ok(&h, policy);
	if (reuses_memory(policy)) {
		for (size_t i = 0; i < n; i += 2)
			cr_assert_not_null(p[i] = heap_alloc(&h, 1000),
					   "%s: no recovery after frees",
					   policy);
	} else {
		for (size_t i = 0; i < n; i += 2)
			p[i] = NULL;
	}
	for (size_t i = 0; i < n; i++)
		heap_free(&h, p[i]);
	heap_stats(&h, &st);
	cr_assert_eq(st.live_blocks, 0);
	heap_close(&h, &s, policy);
}
PER_POLICY(exhaustion)

/* Regions that become free go back to the source (all but bump). */
static void gives_back(const char *policy)
{
	static void *p[64];
	struct src s;
	struct heap h;
	struct heap_stats st;
	size_t first;

	src_init(&s, SIZE_MAX, HEAP_PAGE_SIZE);
	heap_open(&h, &s, policy);
	first = s.outstanding;
	for (int i = 0; i < 64; i++)
		cr_assert_not_null(p[i] = heap_alloc(&h, 100000));
	cr_assert_gt(s.outstanding, first + 64 * 100000 - 1);
	for (int i = 0; i < 64; i++)
		heap_free(&h, p[i]);
	expect_ok(&h, policy);
	heap_stats(&h, &st);
	cr_assert_eq(st.footprint, s.outstanding);
	if (reuses_memory(policy)) {
		cr_assert_eq(s.outstanding, first, "%s: kept %zu bytes", policy,
			     s.outstanding - first);
		cr_assert_gt(st.shrinks, 0);
	} else {
		cr_assert_eq(st.shrinks, 0);
	}
	cr_assert_geq(st.peak_footprint, 64 * 100000);
	heap_close(&h, &s, policy);
}
PER_POLICY(gives_back)

/* ---- registry ---- */

Test(heap, policy_names)
{
	const char *const *names = heap_policy_names();
	static const char *const want[] = {"bump", "freelist", "buddy", "slab",
					   "tlsf", "sizeclass"};
	size_t n = 0;

	while (names[n])
		n++;
	cr_assert_eq(n, 6);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(names[i], want[i]);
}

Test(heap, unknown_policy)
{
	struct src s;
	struct heap h;
	char msg[160];
	int n;

	src_init(&s, SIZE_MAX, HEAP_PAGE_SIZE);
	cr_assert_eq(heap_create("jemalloc", src_grow, src_shrink, &s, &h),
		     HEAP_EPOLICY);
	cr_assert_eq(heap_create("", src_grow, src_shrink, &s, &h),
		     HEAP_EPOLICY);
	cr_assert_eq(s.outstanding, 0);
	n = heap_strerror(HEAP_EPOLICY, "jemalloc", msg, sizeof(msg));
	cr_assert_str_eq(msg, "heap: unknown policy 'jemalloc' (valid: bump, "
			      "freelist, buddy, slab, tlsf, sizeclass)");
	cr_assert_eq((size_t)n, strlen(msg));
	/* Truncated output still reports the whole length. */
	cr_assert_eq(heap_strerror(HEAP_EPOLICY, "jemalloc", msg, 10), n);
	cr_assert_eq(strlen(msg), 9);
}

Test(heap, create_errors)
{
	struct src s;
	struct heap h;

	src_init(&s, 0, HEAP_PAGE_SIZE);
	cr_assert_eq(heap_create(NULL, src_grow, NULL, &s, &h), HEAP_EINVAL);
	cr_assert_eq(heap_create("tlsf", NULL, NULL, &s, &h), HEAP_EINVAL);
	cr_assert_eq(heap_create("tlsf", src_grow, NULL, &s, NULL),
		     HEAP_EINVAL);
	for (const char *const *p = heap_policy_names(); *p; p++)
		cr_assert_eq(heap_create(*p, src_grow, src_shrink, &s, &h),
			     HEAP_ENOMEM, "%s with an empty source", *p);
}
