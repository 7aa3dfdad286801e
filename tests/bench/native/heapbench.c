/*
 * Native heap benchmark: the same single-threaded workloads against one
 * allocator. Built twice over: with -DBENCH_EXO it drives the libos heap
 * policies through heap_create (pages from mmap); without it, it calls
 * malloc/free/realloc and is linked once per peer (glibc, -ljemalloc,
 * -lmimalloc, -ltcmalloc_minimal), so no symbols clash.
 *
 * Prints one machine-readable line per figure, "BENCH <name> <value>";
 * tools/bench collects them. Owns no policy: it only measures. Never
 * checks heap correctness (the host unit tests do).
 *
 * Every repetition runs in a child process of its own (fork), so a peer
 * starts each one from a cold heap as the exo policies do (heap_create).
 *
 * --cachegrind runs each workload once, at CG_SCALE, and prints its
 * operation count: tools/bench runs it under Cachegrind with
 * --toggle-collect=bench_op_*, so only the allocator's own instructions and
 * cache misses (inside the bench_op_ functions) are counted.
 *
 * --worst=N (a diagnostic; measures nothing else) also prints the N
 * operations of the latency pass with the highest element-wise minimum
 * among those that did not call the page source (the steady_max_ns
 * figure's candidates), each with its index, kind and size:
 * "WORST <name> <rank> <index> <alloc|free> <bytes> <ns>".
 *
 * --reps=N (a diagnostic too) runs every workload N times at full scale,
 * whatever its first run took (on a loaded host that first run can
 * leave a fast policy at one repetition, and the latency pass with no
 * minimum to take).
 *
 * --steady (a diagnostic) also prints random's ns per operation over its
 * steady phase alone (the free + alloc steps, without the fill of the
 * live set and its teardown): "..._random_steady_ns_per_op". The fill is
 * where a heap gets its memory; an exo policy's page source maps it
 * populated inside the operation that grows, while a peer that reserved
 * its arena in the parent before the fork has it faulted in by the
 * child's mlockall, outside every timed operation.
 *
 * --cold-load (a diagnostic, and nothing else is run) prints the host's
 * cost of a load that misses every cache and the TLB, alone and followed
 * by a second such load that depends on it (a free reading its block's
 * header, then a neighbour's): "BENCH cold_load_ns", "BENCH
 * cold_load2_ns", medians over COLD_SAMPLES loads into a region of the
 * random workload's size (populated and locked as the heaps' pages are),
 * each after a sweep of COLD_SWEEP bytes that evicts the caches and TLB.
 * The floor under any operation that must read memory it has not touched
 * lately, in the same units as the latency figures.
 *
 * Usage: heapbench <allocator-name> [--smoke] [--cachegrind]
 *        [--reps=N] [--worst=N] [--steady] [--cold-load] [--workload=NAME] [policy...]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __x86_64__
#include <x86intrin.h>
#endif
#ifdef BENCH_EXO
#include <libos/heap/heap.h>
#endif

#define MAX_SIZE 4096u
#define MIN_SIZE 16u
#define LIVE_SLOTS 8192u      /* random: the live set */
#define RING 1024u            /* producer/consumer: objects in flight */
#define REALLOC_BUFS 16u      /* buffers grown alternately */
#define REALLOC_MAX (64u * 1024u)
#define FRAG_OBJS 16384u
#define LAT_SAMPLES (1u << 20)
#define REPS 3                /* best of REPS for ns/op and for max */

#define SLOW_NS 1500000000ull /* a first run longer than this: no scale-up */
/* Under Cachegrind (50-100x slower): random runs 8,192 + 2 x 25,000 ops. */
#define CG_SCALE 0.1
#define CG_SMOKE_SCALE 0.004

static double scale = 8;       /* ops multiplier; --smoke sets 0.02 */
static int forced_reps;        /* --reps=N; 0: REPS, or 1 if slow */
static bool steady_diag;       /* --steady */
static unsigned worst_n;       /* --worst=N: how many worst ops to print */
/* --worst: each timed op's size, and the top bit for a free (written
 * after the op's second clock read: outside what is timed). */
static uint64_t *lat_what;
#define WHAT_FREE (UINT64_C(1) << 63)
static uint64_t grows;         /* exo: calls of the page source (grow, shrink) */

/* --- the allocator under test --------------------------------------- */

#ifdef BENCH_EXO
static struct heap heap;
static const char *policy;

static void *src_grow(void *ctx, size_t min, size_t *got)
{
	size_t sz = (min + 4095) & ~(size_t)4095;
	void *p;

	(void)ctx;
	grows++;
	if (sz < 256 * 1024)
		sz = 256 * 1024;   /* as the libos source grows: in chunks */
	/* Populated, like frames EL2 hands out zeroed and mapped: page
	 * faults land in the grow, not in the heap operation after it. */
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*got = sz;
	return p;
}

static void src_shrink(void *ctx, void *base, size_t bytes)
{
	(void)ctx;
	grows++;   /* a call of the source all the same */
	munmap(base, bytes);
}

static void a_reset(void)
{
	if (heap.ops)
		heap_destroy(&heap);
	if (heap_create(policy, src_grow, src_shrink, NULL, &heap) != HEAP_OK) {
		fprintf(stderr, "heapbench: heap_create(%s) failed\n", policy);
		exit(1);
	}
}

static inline void *a_alloc_(size_t n) { return heap_alloc(&heap, n); }
static inline void a_free_(void *p) { heap_free(&heap, p); }
static inline void *a_realloc_(void *p, size_t n)
{
	return heap_realloc(&heap, p, n);
}

/* Peak footprint: what the heap held from its source at most. */
static size_t a_peak_footprint(size_t base)
{
	struct heap_stats st;

	(void)base;
	heap_stats(&heap, &st);
	return st.peak_footprint;
}

static size_t a_footprint_base(void) { return 0; }
#else
static void a_reset(void) {}
static inline void *a_alloc_(size_t n) { return malloc(n); }
static inline void a_free_(void *p) { free(p); }
static inline void *a_realloc_(void *p, size_t n) { return realloc(p, n); }

/* Peers expose no common footprint counter: resident set growth, from
 * /proc (VmHWM: the peak RSS of the process). Run in a fresh process per
 * workload so the peak belongs to it. */
static size_t proc_kb(const char *key)
{
	char line[256];
	size_t kb = 0, len = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len)) {
			kb = strtoull(line + len, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static size_t a_footprint_base(void) { return proc_kb("VmRSS:") * 1024; }
static size_t a_peak_footprint(size_t base)
{
	size_t hwm = proc_kb("VmHWM:") * 1024;

	return hwm > base ? hwm - base : 0;
}
#endif

/* Every allocator call goes through one of these, never inlined and
 * external, so Cachegrind's --toggle-collect=bench_op_* counts exactly the
 * allocator's work (its page-source calls included), the same for exo and
 * the peers; the call itself costs a handful of instructions each. */
void *bench_op_alloc(size_t n);
void bench_op_free(void *p);
void *bench_op_realloc(void *p, size_t n);

__attribute__((noinline)) void *bench_op_alloc(size_t n)
{
	return a_alloc_(n);
}

__attribute__((noinline)) void bench_op_free(void *p) { a_free_(p); }

__attribute__((noinline)) void *bench_op_realloc(void *p, size_t n)
{
	return a_realloc_(p, n);
}

#define a_alloc	  bench_op_alloc
#define a_free	  bench_op_free
#define a_realloc bench_op_realloc

/* --- clocks and randomness -------------------------------------------- */

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	uint64_t x = rng_state;   /* xorshift64* */

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

static inline size_t rnd_size(size_t lo, size_t hi)
{
	return lo + (size_t)(rnd() % (hi - lo + 1));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#ifdef __x86_64__
static double tsc_ns;   /* ns per TSC tick */

static inline uint64_t ticks(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

static void ticks_calibrate(void)
{
	uint64_t t0 = now_ns(), c0 = ticks(), t1, c1;

	do
		t1 = now_ns();
	while (t1 - t0 < 20000000);
	c1 = ticks();
	tsc_ns = (double)(t1 - t0) / (double)(c1 - c0);
}

static inline double ticks_to_ns(uint64_t t) { return (double)t * tsc_ns; }
#else
static void ticks_calibrate(void) {}
static inline uint64_t ticks(void) { return now_ns(); }
static inline double ticks_to_ns(uint64_t t) { return (double)t; }
#endif

static void emit(const char *name, const char *wl, const char *what,
		 double v)
{
	printf("BENCH %s_%s_%s %.3f\n", name, wl, what, v);
}

/* Touches the block as a program would: first and last byte. */
static inline void touch(void *p, size_t n)
{
	((volatile char *)p)[0] = 1;
	((volatile char *)p)[n - 1] = 2;
}

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "heapbench: out of memory\n");
		exit(1);
	}
	return p;
}

/* --- workloads -------------------------------------------------------- */
/*
 * Each returns the number of operations (alloc, free and realloc calls)
 * and tracks the peak of live requested bytes. lat, when non-NULL,
 * receives per-operation latencies in ticks.
 */
struct run {
	uint64_t ops;
	size_t live, peak_live;
	uint64_t *lat;
	size_t nlat;
	uint64_t grow_max;   /* worst op during which the source was called */
	uint64_t steady_max; /* worst op during which it was not */
	uint64_t steady_ns, steady_ops; /* --steady: random's steady phase */
};

/* Every op counts in the latency figures, those that called the page
 * source too (the peers pay their own mmap inside malloc); the worst of
 * those is also reported on its own (exo only: the peers' are invisible). */
#define LAT_GREW (UINT64_C(1) << 63)   /* the op called the page source */

static inline void lat_record(struct run *r, uint64_t t, uint64_t g,
			      uint64_t what)
{
	if (lat_what)
		lat_what[r->nlat] = what;
	if (grows != g && t > r->grow_max)
		r->grow_max = t;
	if (grows == g && t > r->steady_max)
		r->steady_max = t;
	r->lat[r->nlat++] = t | (grows != g ? LAT_GREW : 0);
}

static inline void *timed_alloc(struct run *r, size_t n)
{
	void *p;

	if (r->lat && r->nlat < LAT_SAMPLES) {
		uint64_t g = grows, t = ticks();

		p = a_alloc(n);
		lat_record(r, ticks() - t, g, n);
	} else {
		p = a_alloc(n);
	}
	r->ops++;
	r->live += n;
	if (r->live > r->peak_live)
		r->peak_live = r->live;
	return must(p);
}

static inline void timed_free(struct run *r, void *p, size_t n)
{
	if (r->lat && r->nlat < LAT_SAMPLES) {
		uint64_t g = grows, t = ticks();

		a_free(p);
		lat_record(r, ticks() - t, g, n | WHAT_FREE);
	} else {
		a_free(p);
	}
	r->ops++;
	r->live -= n;
}

/* Random sizes 16 B - 4 KiB, a live set of LIVE_SLOTS blocks: each step
 * frees a random slot's block and allocates a new one there. */
static void wl_random(struct run *r)
{
	static void *ptr[LIVE_SLOTS];
	static size_t len[LIVE_SLOTS];
	uint64_t steps = (uint64_t)(scale * 250000);

	for (unsigned i = 0; i < LIVE_SLOTS; i++) {
		len[i] = rnd_size(MIN_SIZE, MAX_SIZE);
		ptr[i] = timed_alloc(r, len[i]);
		touch(ptr[i], len[i]);
	}
	uint64_t t0 = steady_diag ? now_ns() : 0, ops0 = r->ops;

	for (uint64_t s = 0; s < steps; s++) {
		unsigned i = (unsigned)(rnd() % LIVE_SLOTS);

		timed_free(r, ptr[i], len[i]);
		len[i] = rnd_size(MIN_SIZE, MAX_SIZE);
		ptr[i] = timed_alloc(r, len[i]);
		touch(ptr[i], len[i]);
	}
	if (steady_diag) {
		r->steady_ns = now_ns() - t0;
		r->steady_ops = r->ops - ops0;
	}
	for (unsigned i = 0; i < LIVE_SLOTS; i++)
		timed_free(r, ptr[i], len[i]);
}

/* Producer/consumer: FIFO lifetimes through a ring of RING messages of
 * 16-512 bytes; the consumer frees the oldest. */
static void wl_prodcons(struct run *r)
{
	static void *ptr[RING];
	static size_t len[RING];
	uint64_t steps = (uint64_t)(scale * 250000);

	for (unsigned i = 0; i < RING; i++) {
		len[i] = rnd_size(MIN_SIZE, 512);
		ptr[i] = timed_alloc(r, len[i]);
		touch(ptr[i], len[i]);
	}
	for (uint64_t s = 0; s < steps; s++) {
		unsigned i = (unsigned)(s % RING);

		timed_free(r, ptr[i], len[i]);
		len[i] = rnd_size(MIN_SIZE, 512);
		ptr[i] = timed_alloc(r, len[i]);
		touch(ptr[i], len[i]);
	}
	for (unsigned i = 0; i < RING; i++)
		timed_free(r, ptr[i], len[i]);
}

/* Growing realloc: REALLOC_BUFS buffers grown in turn by 16-256 bytes up
 * to 64 KiB, then freed, over and over (interleaved so in-place growth
 * is not free). */
static void wl_realloc(struct run *r)
{
	void *ptr[REALLOC_BUFS] = { 0 };
	size_t len[REALLOC_BUFS] = { 0 };
	uint64_t steps = (uint64_t)(scale * 100000);

	for (uint64_t s = 0; s < steps; s++) {
		unsigned i = (unsigned)(s % REALLOC_BUFS);
		size_t n = len[i] + rnd_size(MIN_SIZE, 256);

		if (n > REALLOC_MAX) {
			timed_free(r, ptr[i], len[i]);
			ptr[i] = NULL;
			len[i] = 0;
			continue;
		}
		ptr[i] = must(a_realloc(ptr[i], n));
		touch(ptr[i], n);
		r->ops++;
		r->live += n - len[i];
		if (r->live > r->peak_live)
			r->peak_live = r->live;
		len[i] = n;
	}
	for (unsigned i = 0; i < REALLOC_BUFS; i++) {
		if (ptr[i])
			timed_free(r, ptr[i], len[i]);
	}
}

/* Fragmentation: small (32-64 B) and large (1-2 KiB) blocks interleaved,
 * the large ones freed, then blocks slightly larger than any hole (2-3 KiB)
 * allocated: a policy that cannot reuse the holes must grow. Repeated
 * with the roles of the survivors shifting. */
static void wl_frag(struct run *r)
{
	static void *ptr[FRAG_OBJS];
	static size_t len[FRAG_OBJS];
	unsigned rounds = scale < 1 ? 2 : (unsigned)(scale * 2);

	for (unsigned i = 0; i < FRAG_OBJS; i++) {
		len[i] = (i & 1) ? rnd_size(1024, 2048) : rnd_size(32, 64);
		ptr[i] = timed_alloc(r, len[i]);
		touch(ptr[i], len[i]);
	}
	for (unsigned round = 0; round < rounds; round++) {
		unsigned odd = round & 1;

		for (unsigned i = odd; i < FRAG_OBJS; i += 2)
			timed_free(r, ptr[i], len[i]);
		for (unsigned i = odd; i < FRAG_OBJS; i += 2) {
			len[i] = (round % 4 < 2) ? rnd_size(2048, 3072)
						 : rnd_size(32, 64);
			ptr[i] = timed_alloc(r, len[i]);
			touch(ptr[i], len[i]);
		}
	}
	for (unsigned i = 0; i < FRAG_OBJS; i++)
		timed_free(r, ptr[i], len[i]);
}

struct workload {
	const char *name;
	void (*fn)(struct run *r);
};

static const struct workload workloads[] = {
	{ "random", wl_random },
	{ "prodcons", wl_prodcons },
	{ "realloc", wl_realloc },
	{ "frag", wl_frag },
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* --cold-load: the region loaded from (random's live set, 8,192 blocks of
 * 2 KiB on average), the sweep that makes it cold (larger than the last
 * level cache, and than the TLB's reach), the samples. */
#define COLD_REGION ((size_t)16 << 20)
#define COLD_SWEEP  ((size_t)96 << 20)
#define COLD_SAMPLES 64u
#define CACHE_LINE  64u

static void *map_locked(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		perror("heapbench: mmap");
		exit(1);
	}
	mlock(p, bytes);
	return p;
}

static void cold_load(void)
{
	char *region = map_locked(COLD_REGION);
	volatile char *sweep = map_locked(COLD_SWEEP);
	uint64_t one[COLD_SAMPLES], two[COLD_SAMPLES];
	char sink = 0;

	for (unsigned k = 0; k < COLD_SAMPLES; k++) {
		size_t a = (size_t)rnd() % (COLD_REGION / CACHE_LINE);
		size_t b = (size_t)rnd() % (COLD_REGION / CACHE_LINE);
		char *volatile *pa = (char *volatile *)(region + a * CACHE_LINE);
		char *volatile *pb = (char *volatile *)(region + b * CACHE_LINE);
		uint64_t t0, t1, t2;
		char *q;

		*pa = (char *)pb;
		*pb = NULL;
		for (size_t i = 0; i < COLD_SWEEP; i += CACHE_LINE)
			sink += sweep[i];
		t0 = ticks();
		q = *pa;
		t1 = ticks();
		q = *(char *volatile *)q;
		t2 = ticks();
		sink += q != NULL;
		one[k] = t1 - t0;
		two[k] = t2 - t0;
	}
	qsort(one, COLD_SAMPLES, sizeof(*one), cmp_u64);
	qsort(two, COLD_SAMPLES, sizeof(*two), cmp_u64);
	printf("BENCH cold_load_ns %.3f\n", ticks_to_ns(one[COLD_SAMPLES / 2]));
	printf("BENCH cold_load2_ns %.3f\n", ticks_to_ns(two[COLD_SAMPLES / 2]));
	if (sink == 42)
		printf("\n"); /* keeps the sweep's loads */
	munmap(region, COLD_REGION);
	munmap((void *)sweep, COLD_SWEEP);
}

/* What a repetition's child hands back (in memory shared with it). */
struct rep_result {
	double ns_per_op;
	double frag;
	uint64_t ops;
	uint64_t nlat;
	uint64_t grow_max;
	uint64_t steady_max;
	double steady_ns_per_op; /* --steady; 0 if the workload has none */
};

static struct rep_result *rep_out; /* MAP_SHARED */

/* One run of w at the current scale, in this process, from a new heap. */
static void run_here(const struct workload *w, struct run *r,
		     struct rep_result *out)
{
	size_t base;
	uint64_t t;

	a_reset();
	base = a_footprint_base();
	rng_state = UINT64_C(0x9e3779b97f4a7c15);
	t = now_ns();
	w->fn(r);
	t = now_ns() - t;
	out->ns_per_op = (double)t / (double)r->ops;
	out->frag = r->peak_live ?
		(double)a_peak_footprint(base) / (double)r->peak_live : 0;
	out->ops = r->ops;
	out->nlat = r->nlat;
	out->grow_max = r->grow_max;
	out->steady_max = r->steady_max;
	out->steady_ns_per_op = r->steady_ops ?
		(double)r->steady_ns / (double)r->steady_ops : 0;
}

/* One repetition in a child process: a peer's malloc starts it as cold
 * as heap_create starts an exo policy (nothing freed by an earlier
 * repetition sits in its caches). lat, when non-NULL, is shared memory. */
static struct rep_result run_once(const struct workload *w, uint64_t *lat)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("heapbench: fork");
		exit(1);
	}
	if (pid == 0) {
		struct run r = { .lat = lat };

		/* Every page the child has, and every page it maps later,
		 * faulted in now and at its mmap: a first write to a page
		 * shared with the parent (its copy) or never touched (a zero
		 * fill) is the host kernel's cost, not the allocator's, and
		 * would land in whichever operation writes the page first in
		 * every repetition alike. */
		mlockall(MCL_CURRENT | MCL_FUTURE);
		run_here(w, &r, rep_out);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "heapbench: %s: a repetition failed\n", w->name);
		exit(1);
	}
	return *rep_out;
}

/* --worst: the worst_n operations without a page-source call by their
 * element-wise minimum, worst first (a selection: n is large, worst_n
 * small). */
static void print_worst(const char *name, const uint64_t *lat, size_t n)
{
	size_t prev_i = SIZE_MAX;
	uint64_t prev_t = UINT64_MAX;

	for (unsigned rank = 0; rank < worst_n; rank++) {
		size_t best_i = SIZE_MAX;
		uint64_t best_t = 0;

		/* The largest below the previous pick (ties by index). */
		for (size_t i = 0; i < n; i++) {
			uint64_t t = lat[i];

			if (t & LAT_GREW)
				continue;
			if ((t < prev_t || (t == prev_t && i > prev_i)) &&
			    (best_i == SIZE_MAX || t > best_t)) {
				best_t = t;
				best_i = i;
			}
		}
		if (best_i == SIZE_MAX)
			return;
		printf("WORST %s %u %zu %s %llu %.0f\n", name, rank, best_i,
		       lat_what[best_i] & WHAT_FREE ? "free" : "alloc",
		       (unsigned long long)(lat_what[best_i] & ~WHAT_FREE),
		       ticks_to_ns(best_t));
		prev_t = best_t;
		prev_i = best_i;
	}
}

static void bench_workload(const char *name, const struct workload *w,
			   uint64_t *lat)
{
	double best = 1e30, best_max, best_p999, grow_max = 0, steady_max = 0;
	double frag = 0, full = scale, best_steady = 1e30;
	int reps = forced_reps ? forced_reps : REPS;

	/* A policy whose first run is slow (linear searches) is measured at
	 * scale 1 only, once: make bench must stay within minutes. */
	if (scale > 1 && !forced_reps) {
		uint64_t t = now_ns();
		struct rep_result one;

		scale = 1;
		one = run_once(w, NULL);
		best = one.ns_per_op;
		frag = one.frag;
		if (now_ns() - t > SLOW_NS / 8)
			reps = 1;
		else
			scale = full;
	}
	for (int rep = 0; rep < reps && !(reps == 1 && best < 1e30); rep++) {
		struct rep_result one = run_once(w, NULL);

		if (best >= 1e30)
			frag = one.frag;
		if (one.ns_per_op < best)
			best = one.ns_per_op;
		if (one.steady_ns_per_op && one.steady_ns_per_op < best_steady)
			best_steady = one.steady_ns_per_op;
	}
	emit(name, w->name, "ns_per_op", best);
	if (best_steady < 1e30)
		emit(name, w->name, "steady_ns_per_op", best_steady);
	emit(name, w->name, "frag", frag);
	if (lat) {
		/* Latency pass: the same operations, each timed, REPS times.
		 * The sequence is the same every time (same seed), so the
		 * element-wise minimum over the runs keeps each operation's
		 * own cost and drops host interrupts and preemption, which
		 * strike different operations each time. Operations that called the
		 * page source count like the others (the peers' mmap is inside
		 * their malloc too); exo's worst with and without such a call
		 * are also reported apart. */
		size_t n = 0;

		for (int rep = 0; rep < reps; rep++) {
			uint64_t *mine = lat + (rep ? LAT_SAMPLES : 0);
			struct rep_result one = run_once(w, mine);

			n = one.nlat;
			for (size_t i = 0; rep && i < n; i++) {
				if (mine[i] < lat[i])
					lat[i] = mine[i];
			}
		}
		/* Each operation's own cost (the element-wise minimum), its
		 * worst with and without a page-source call: the sequence and
		 * so which operations call the source are the same every
		 * repetition. */
		for (size_t i = 0; i < n; i++) {
			double t = ticks_to_ns(lat[i] & ~LAT_GREW);

			if ((lat[i] & LAT_GREW) && t > grow_max)
				grow_max = t;
			if (!(lat[i] & LAT_GREW) && t > steady_max)
				steady_max = t;
		}
		if (worst_n)
			print_worst(name, lat, n);
		for (size_t i = 0; i < n; i++)
			lat[i] &= ~LAT_GREW;
		qsort(lat, n, sizeof(*lat), cmp_u64);
		best_max = ticks_to_ns(lat[n - 1]);
		best_p999 = ticks_to_ns(lat[n * 999 / 1000]);
		emit(name, w->name, "p999_ns", best_p999);
		emit(name, w->name, "max_ns", best_max);
#ifdef BENCH_EXO
		emit(name, w->name, "grow_max_ns", grow_max);
		emit(name, w->name, "steady_max_ns", steady_max);
#endif
	}
	scale = full;
}

/* --cachegrind: one run in this process (Cachegrind counts it), and the
 * number of operations it made. */
static void cachegrind_workload(const char *name, const struct workload *w)
{
	struct run r = { 0 };
	struct rep_result out;

	run_here(w, &r, &out);
	emit(name, w->name, "cg_ops", (double)out.ops);
}

/* Which library malloc resolves to, so a mislinked peer is caught. */
static void report_malloc(const char *name)
{
#ifndef BENCH_EXO
	Dl_info info;
	void *(*fn)(size_t) = malloc;

	if (dladdr((void *)fn, &info) && info.dli_fname)
		printf("INFO %s malloc from %s\n", name, info.dli_fname);
#else
	(void)name;
#endif
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "malloc";
	const char *only_wl = NULL;
	uint64_t *lat;
	int first = 2;
	bool cachegrind = false;

	if (argc > first && !strcmp(argv[first], "--smoke")) {
		scale = 0.02;
		first++;
	}
	if (argc > first && !strcmp(argv[first], "--cachegrind")) {
		cachegrind = true;
		scale = scale < 1 ? CG_SMOKE_SCALE : CG_SCALE;
		first++;
	}
	if (argc > first && !strncmp(argv[first], "--reps=", 7)) {
		forced_reps = atoi(argv[first] + 7);
		if (forced_reps < 1 || forced_reps > 64)
			forced_reps = REPS;
		first++;
	}
	if (argc > first && !strncmp(argv[first], "--worst=", 8)) {
		worst_n = (unsigned)strtoul(argv[first] + 8, NULL, 10);
		first++;
	}
	if (argc > first && !strcmp(argv[first], "--steady")) {
		steady_diag = true;
		first++;
	}
	if (argc > first && !strncmp(argv[first], "--workload=", 11)) {
		only_wl = argv[first] + 11;
		first++;
	}
	/* Shared with the children, and outside malloc: the parent's heap
	 * stays as cold as it can. */
	lat = mmap(NULL, 2 * LAT_SAMPLES * sizeof(*lat) + sizeof(*rep_out),
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lat == MAP_FAILED)
		return 1;
	rep_out = (struct rep_result *)(lat + 2 * LAT_SAMPLES);
	if (worst_n) {
		lat_what = mmap(NULL, LAT_SAMPLES * sizeof(*lat_what),
				PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (lat_what == MAP_FAILED)
			return 1;
	}
	ticks_calibrate();
	if (argc > first && !strcmp(argv[first], "--cold-load")) {
		rng_state = UINT64_C(0x9e3779b97f4a7c15);
		cold_load();
		return 0;
	}
	report_malloc(name);
	for (size_t i = 0; i < sizeof(workloads) / sizeof(*workloads); i++) {
		const struct workload *w = &workloads[i];

		if (only_wl && strcmp(only_wl, w->name))
			continue;
#ifdef BENCH_EXO
		const char *const *names = heap_policy_names();

		for (; *names; names++) {
			char full[64];
			/* bump never reuses memory: these workloads would
			 * need gigabytes. Only when asked by name. */
			int match = argc <= first && strcmp(*names, "bump");

			for (int a = first; a < argc; a++)
				match |= !strcmp(argv[a], *names);
			if (!match)
				continue;
			policy = *names;
			snprintf(full, sizeof(full), "heap_%s", policy);
			if (cachegrind)
				cachegrind_workload(full, w);
			else
				bench_workload(full, w,
					       !strcmp(w->name, "random") ?
						       lat : NULL);
		}
		if (heap.ops)
			heap_destroy(&heap);
		heap.ops = NULL;
#else
		char full[64];

		snprintf(full, sizeof(full), "peer_%s", name);
		if (cachegrind)
			cachegrind_workload(full, w);
		else
			bench_workload(full, w,
				       !strcmp(w->name, "random") ? lat : NULL);
#endif
	}
	return 0;
}
