/*
 * libos on several vCPUs, on the host: threads stand for vCPUs (each its
 * own fake_libos_cpu and IRQ mask, fake_libos_irq.h) and use one libos at
 * once through its entry points, which take libos's lock (libos/lock.h):
 * the heap of every policy (malloc, calloc, aligned_alloc, realloc, free,
 * each block holding a pattern of its own checked before it goes), the
 * frame pool (libos_frames_alloc and free: no frame handed to two threads
 * at once), and the lock itself (recursive on one thread, exclusive
 * across threads, a waiter yields). After each round the policy's own
 * invariants (libos_check: the heap's and the pool's) and the counts
 * (every allocation freed, every frame back) must hold. `make tsan-test`
 * runs this suite under ThreadSanitizer too.
 */
#include "console_capture.h"
#include "fake_libos_el2.h"
#include "fake_libos_irq.h"

#include <criterion/criterion.h>
#include <lib/print.h>
#include <libos/libos.h>
#include <libos/lock.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#define THREADS 4
#define OPS 3000
#define SLOTS 64
#define MAX_SIZE 3000
#define FRAME_RUNS 200

static char *no_args[] = { "t", NULL };

static void start(const char *policy)
{
	struct libos_config cfg = { .name = "t", .heap_policy = policy,
				    .argc = 1, .argv = no_args };

	fake_el2_reset(FAKE_EL2_FRAMES);
	print_set_console(capture_console, "");
	cr_assert_eq(libos_init(&cfg), LIBOS_OK);
}

struct worker {
	unsigned cpu;
	pthread_t thread;
	uint64_t rng;
	unsigned long errors, ops;
	uint64_t frames[FRAME_RUNS];
};

static uint64_t next_rand(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static unsigned char pattern(unsigned cpu, unsigned slot, size_t i)
{
	return (unsigned char)(cpu * 31u + slot * 7u + i);
}

static void fill(unsigned char *p, size_t n, unsigned cpu, unsigned slot)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(cpu, slot, i);
}

static unsigned long bad_bytes(const unsigned char *p, size_t n,
			       unsigned cpu, unsigned slot)
{
	unsigned long bad = 0;

	for (size_t i = 0; i < n; i++)
		bad += p[i] != pattern(cpu, slot, i);
	return bad;
}

struct block {
	unsigned char *p;
	size_t size;
};

/* One step on slot s: a new block (of one of four kinds) where there is
 * none, else a realloc or a free, the old contents checked first. */
static void heap_step(struct worker *w, struct block *b, unsigned s)
{
	size_t size = 1 + next_rand(w) % MAX_SIZE;
	unsigned kind = (unsigned)(next_rand(w) % 4);
	unsigned char *p;

	if (!b->p) {
		if (kind == 0)
			p = libos_calloc(1, size);
		else if (kind == 1)
			p = libos_aligned_alloc(64, size);
		else
			p = libos_malloc(size);
		w->errors += !p || (kind == 1 && (uintptr_t)p % 64);
		if (p && kind == 0)
			for (size_t i = 0; i < size; i++)
				w->errors += p[i] != 0;
	} else if (kind == 0) {
		size_t keep = size < b->size ? size : b->size;

		w->errors += bad_bytes(b->p, b->size, w->cpu, s);
		p = libos_realloc(b->p, size);
		w->errors += !p || (p && bad_bytes(p, keep, w->cpu, s));
	} else {
		w->errors += bad_bytes(b->p, b->size, w->cpu, s);
		libos_free(b->p);
		b->p = NULL;
		return;
	}
	b->p = p;
	b->size = p ? size : 0;
	if (p)
		fill(p, size, w->cpu, s);
}

static void *heap_worker(void *arg)
{
	struct worker *w = arg;
	struct block blocks[SLOTS] = { { 0 } };

	fake_libos_cpu = w->cpu;
	for (unsigned op = 0; op < OPS; op++) {
		unsigned s = (unsigned)(next_rand(w) % SLOTS);

		heap_step(w, &blocks[s], s);
		w->ops++;
	}
	for (unsigned s = 0; s < SLOTS; s++) {
		if (blocks[s].p) {
			w->errors += bad_bytes(blocks[s].p, blocks[s].size,
					       w->cpu, s);
			libos_free(blocks[s].p);
		}
	}
	return NULL;
}

static void run_threads(struct worker *w, void *(*fn)(void *))
{
	for (unsigned i = 0; i < THREADS; i++) {
		w[i].cpu = i;
		w[i].rng = 0x9e3779b97f4a7c15ull * (i + 1) | 1;
		cr_assert_eq(pthread_create(&w[i].thread, NULL, fn, &w[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_join(w[i].thread, NULL), 0);
}

static void heap_round(const char *policy)
{
	struct worker w[THREADS];
	struct libos_stats st;
	const char *err;

	memset(w, 0, sizeof(w));
	start(policy);
	run_threads(w, heap_worker);
	for (unsigned i = 0; i < THREADS; i++) {
		cr_assert_eq(w[i].errors, 0, "%s: thread %u: %lu errors", policy,
			     i, w[i].errors);
		cr_assert_eq(w[i].ops, OPS);
	}
	err = libos_check();
	cr_assert_null(err, "%s: %s", policy, err);
	libos_stats(&st);
	cr_assert(st.heap_created);
	cr_assert_eq(st.heap.live_blocks, 0, "%s: %zu blocks left", policy,
		     st.heap.live_blocks);
	cr_assert_eq(st.heap.allocs, st.heap.frees, "%s", policy);
	cr_assert_eq(st.heap.failures, 0, "%s", policy);
	cr_assert_eq(st.heap.bad_frees, 0, "%s", policy);
	cr_assert_eq(libos_lock.holder, 0, "the lock is free at the end");
	cr_assert_eq(libos_lock.depth, 0);
}

Test(libos_smp, heap_tlsf_from_four_threads) { heap_round("tlsf"); }
Test(libos_smp, heap_sizeclass_from_four_threads) { heap_round("sizeclass"); }
Test(libos_smp, heap_buddy_from_four_threads) { heap_round("buddy"); }
Test(libos_smp, heap_slab_from_four_threads) { heap_round("slab"); }
Test(libos_smp, heap_freelist_from_four_threads) { heap_round("freelist"); }
Test(libos_smp, heap_bump_from_four_threads) { heap_round("bump"); }

/* Runs of 1..4 frames taken and given back from every thread at once:
 * each run is written whole with the thread's mark while it holds it
 * (two threads given one frame overwrite each other's marks). */
static void *frame_worker(void *arg)
{
	struct worker *w = arg;

	fake_libos_cpu = w->cpu;
	for (unsigned r = 0; r < FRAME_RUNS; r++) {
		uint64_t count = 1 + next_rand(w) % 4, pa;

		if (!libos_frames_alloc(count, &pa)) {
			w->errors++;
			continue;
		}
		memset((void *)(uintptr_t)pa, (int)(0xa0 + w->cpu),
		       count * POOL_FRAME_SIZE);
		for (uint64_t i = 0; i < count * POOL_FRAME_SIZE; i++)
			w->errors += ((unsigned char *)(uintptr_t)pa)[i] !=
				     (unsigned char)(0xa0 + w->cpu);
		libos_frames_free(pa, count);
		w->ops++;
	}
	return NULL;
}

Test(libos_smp, frame_pool_from_four_threads)
{
	struct worker w[THREADS];
	struct libos_stats st;

	memset(w, 0, sizeof(w));
	start("tlsf");
	run_threads(w, frame_worker);
	for (unsigned i = 0; i < THREADS; i++)
		cr_assert_eq(w[i].errors, 0, "thread %u: %lu", i, w[i].errors);
	cr_assert_null(libos_check());
	libos_stats(&st);
	cr_assert_eq(st.pool.frames_in_use, 0, "every frame back in the pool");
}

/* The lock alone: recursive on one thread, and a count that only its
 * holders change comes out exact from four threads. */
static uint64_t shared_count;

static void *lock_worker(void *arg)
{
	struct worker *w = arg;

	fake_libos_cpu = w->cpu;
	for (unsigned i = 0; i < OPS; i++) {
		uint64_t outer = libos_lock_take();
		uint64_t inner = libos_lock_take();
		uint64_t v = shared_count;

		w->errors += !libos_lock_held() || libos_lock.depth != 2 ||
			     !fake_irq.masked;
		sched_yield();   /* another thread runs while it is held */
		shared_count = v + 1;
		libos_lock_give(inner);
		w->errors += !libos_lock_held();
		libos_lock_give(outer);
	}
	w->errors += fake_irq.masked != 0;
	return NULL;
}

Test(libos_smp, lock_is_recursive_and_exclusive)
{
	struct worker w[THREADS];

	memset(w, 0, sizeof(w));
	shared_count = 0;
	fake_el2_reset(FAKE_EL2_FRAMES);
	run_threads(w, lock_worker);
	for (unsigned i = 0; i < THREADS; i++)
		cr_assert_eq(w[i].errors, 0, "thread %u: %lu", i, w[i].errors);
	cr_assert_eq(shared_count, (uint64_t)THREADS * OPS);
	cr_assert_gt(libos_lock.waits, 0, "the threads met at the lock");
	cr_assert_eq(libos_lock.holder, 0);
}
