/*
 * attack_scrub: the scrubbing campaign (tests/target/test_attacks.py).
 * "--fill" takes every frame its quota allows (FRAME_ALLOC of big runs,
 * then smaller ones down to single frames, until EQUOTA or ENOMEM), fills
 * each with a pattern, frees half of them itself and exits holding the
 * rest, so both ways out of a guest (FRAME_FREE and teardown) are tried.
 * "--check" waits until no guest named "filler" runs any more (VM_LOOKUP
 * polling), then takes every free frame from the bottom of RAM up
 * (FRAME_QUERY, FRAME_ALLOC_AT) to its own quota and reads
 * every byte of every one: not one may be non-zero. Both print the runs
 * they held ("run 0x..., n frames") so the test can check that the
 * checkers took back every frame the filler had.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <string.h>

#include "../faultcatch.h"
#include "../tap.h"

#define FRAME EXO_FRAME_SIZE
#define RAM_BASE 0x40000000ul
#define PATTERN 0xa5c3a5c3a5c3a5c3ull
#define BIG_LOG2 9       /* runs of 2 MiB first */
#define MAX_RUNS 4096
#define MARGIN 32        /* frames left for libos's own tables */

struct run {
	uint64_t pa, count;
};

static struct run runs[MAX_RUNS];
static unsigned nr_runs;

/* Takes everything the quota (or EL2) allows, biggest runs first, but for
 * a few frames libos keeps for the tables of its direct map. */
static uint64_t take_all(void)
{
	uint64_t total = 0;

	for (int log2 = BIG_LOG2; log2 >= 0 && nr_runs < MAX_RUNS; log2--) {
		uint64_t n = 1ul << log2;

		for (;;) {
			struct exo_ret info = exo_vm_info();
			struct exo_ret a;

			if (info.x3 + n + MARGIN > info.x2)
				break;
			a = exo_frame_alloc(n, (unsigned)log2);
			if (a.status != EXO_OK || nr_runs == MAX_RUNS)
				break;
			runs[nr_runs++] = (struct run){ a.x1, n };
			total += n;
		}
	}
	return total;
}

/* Takes FREE frames from the bottom of RAM up (FRAME_QUERY, then
 * FRAME_ALLOC_AT of each free run), until the quota allows no more: where
 * the filler's frames were, holes between other guests' frames included.
 * A run the other checker took first is skipped. */
static uint64_t take_from_bottom(void)
{
	uint64_t total = 0, pa = RAM_BASE;

	while (nr_runs < MAX_RUNS) {
		struct exo_ret info = exo_vm_info();
		uint64_t room = info.x2 - info.x3, n = 0;

		if (room <= MARGIN)
			break;
		room -= MARGIN;
		while (exo_frame_query(pa).x1 != EXO_FRAME_FREE) {
			if (exo_frame_query(pa).status != EXO_OK)
				return total;   /* the end of RAM */
			pa += FRAME;
		}
		while (n < room && n < (1u << BIG_LOG2) &&
		       exo_frame_query(pa + n * FRAME).x1 == EXO_FRAME_FREE)
			n++;
		/* Stage-2 table pages are charged too: halve until it fits. */
		while (n && exo_frame_alloc_at(pa, n) == EXO_EQUOTA)
			n /= 2;
		if (n && exo_frame_query(pa).x2) {
			runs[nr_runs++] = (struct run){ pa, n };
			total += n;
			pa += n * FRAME;
		} else {
			pa += FRAME;
		}
	}
	return total;
}

static void print_runs(void)
{
	for (unsigned i = 0; i < nr_runs; i++)
		kprintf("# run 0x%lx, %lu frames\n", (unsigned long)runs[i].pa,
			(unsigned long)runs[i].count);
}

static int fill(void)
{
	uint64_t total = take_all(), freed = 0;
	struct exo_ret info = exo_vm_info();

	TAP_CHECK(total > 0 && info.x3 + MARGIN >= info.x2,
		  "took %lu frames in %u runs, up to the quota (%lu of %lu "
		  "charged)", (unsigned long)total, nr_runs,
		  (unsigned long)info.x3, (unsigned long)info.x2);
	for (unsigned i = 0; i < nr_runs; i++) {
		uint64_t *p = pa_map(runs[i].pa, runs[i].count * FRAME);

		for (uint64_t w = 0; w < runs[i].count * FRAME / 8; w++)
			p[w] = PATTERN;
		pa_unmap(runs[i].pa, runs[i].count * FRAME);
	}
	TAP_CHECK(true, "filled them all with 0x%lx", (unsigned long)PATTERN);
	print_runs();
	for (unsigned i = 0; i < nr_runs; i += 2) {
		if (exo_frame_free(runs[i].pa, runs[i].count) == EXO_OK)
			freed += runs[i].count;
	}
	TAP_CHECK(freed > 0, "freed %lu of them; exiting with the rest",
		  (unsigned long)freed);
	return tap_done();
}

static int check(void)
{
	uint64_t total, dirty = 0, dirty_frames = 0, first_dirty = 0;
	unsigned polls = 0;

	while (exo_vm_lookup("filler").status == EXO_OK) {
		exo_yield();
		polls++;
	}
	TAP_CHECK(true, "the filler is gone (%u polls)", polls);
	total = take_from_bottom();
	TAP_CHECK(total > 0, "took %lu frames in %u runs from the bottom of RAM",
		  (unsigned long)total, nr_runs);
	for (unsigned i = 0; i < nr_runs; i++) {
		const volatile uint64_t *p = pa_map(runs[i].pa, runs[i].count * FRAME);

		for (uint64_t f = 0; f < runs[i].count; f++) {
			uint64_t bad = 0;

			for (uint64_t w = 0; w < FRAME / 8; w++)
				bad += p[f * FRAME / 8 + w] != 0;
			if (bad && !dirty_frames++)
				first_dirty = runs[i].pa + f * FRAME;
			dirty += bad;
		}
		pa_unmap(runs[i].pa, runs[i].count * FRAME);
	}
	TAP_CHECK(dirty == 0, "every byte of every frame is zero (%lu dirty "
		  "words in %lu frames, first 0x%lx)", (unsigned long)dirty,
		  (unsigned long)dirty_frames, (unsigned long)first_dirty);
	print_runs();
	for (unsigned i = 0; i < nr_runs; i++)
		dirty += exo_frame_free(runs[i].pa, runs[i].count) != EXO_OK;
	TAP_CHECK(dirty == 0, "gave them all back");
	return tap_done();
}

EL1_GUEST_OPTIONS("--fill", "--check");

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--fill"))
		return fill();
	if (argc > 1 && !strcmp(argv[1], "--check"))
		return check();
	kprintf("usage: attack_scrub --fill | --check\n");
	return 2;
}
