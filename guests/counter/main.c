/*
 * counter: allocates frames from EL2, writes a pattern into every word,
 * reads it back, frees the frames and prints a checksum. Exits 0 when the
 * pattern read back is the one written, 1 otherwise. Frames come straight
 * from the hypercalls; the MMU is on, so each run is mapped in the library
 * OS's direct map while it is held (8 frames, 32 KiB aligned: whole pages
 * with the 4K and 16K granules; a 64K guest would need bigger runs).
 */
#include <exo/frame.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <libos/mm/mm.h>
#include <stdint.h>

#define FRAME_SIZE EXO_FRAME_SIZE
#define RUN_FRAMES 8u		/* frames per allocation */
#define RUN_ALIGN_LOG2 3u	/* runs aligned to their size */
#define RUNS 4u			/* allocations */
#define PATTERN_MUL UINT64_C(0x9e3779b97f4a7c15)	/* golden ratio */

/* Depends on the word's sequence number only, not on the frames' address,
 * so the checksum is the same wherever EL2 finds the frames. */
static uint64_t pattern(uint64_t seq)
{
	return (seq + 1) * PATTERN_MUL;
}

/* Fills one run and checks it; returns the number of wrong words. */
static uint64_t fill_and_check(uint64_t pa, uint64_t first, uint64_t words,
			       uint64_t *sum)
{
	volatile uint64_t *p = libos_dmap_phys_to_virt(pa);
	uint64_t bad = 0;

	for (uint64_t i = 0; i < words; i++)
		p[i] = pattern(first + i);
	for (uint64_t i = 0; i < words; i++) {
		uint64_t v = p[i];

		bad += v != pattern(first + i);
		*sum = (*sum << 1 | *sum >> 63) ^ v;
	}
	return bad;
}

int main(int argc, char **argv)
{
	uint64_t pa[RUNS], sum = 0, bad = 0;
	uint64_t words = RUN_FRAMES * FRAME_SIZE / sizeof(uint64_t);

	(void)argc;
	kprintf("%s: %u runs of %u frames\n", argv[0], RUNS, RUN_FRAMES);
	for (unsigned r = 0; r < RUNS; r++) {
		struct exo_ret a = exo_frame_alloc(RUN_FRAMES, RUN_ALIGN_LOG2);
		int rc;

		if (a.status != EXO_OK) {
			kprintf("frame alloc: error %ld\n", (long)a.status);
			return 1;
		}
		pa[r] = a.x1;
		rc = libos_dmap_map(pa[r], RUN_FRAMES * FRAME_SIZE);
		if (rc) {
			kprintf("direct map of 0x%lx: error %d\n",
				(unsigned long)pa[r], rc);
			return 1;
		}
		bad += fill_and_check(pa[r], r * words, words, &sum);
	}
	for (unsigned r = 0; r < RUNS; r++) {
		int64_t st;

		if (libos_dmap_unmap(pa[r], RUN_FRAMES * FRAME_SIZE))
			return 1;
		st = exo_frame_free(pa[r], RUN_FRAMES);

		if (st != EXO_OK) {
			kprintf("frame free 0x%lx: error %ld\n",
				(unsigned long)pa[r], (long)st);
			return 1;
		}
	}
	kprintf("checksum 0x%016lx, %lu bad words\n", (unsigned long)sum,
		(unsigned long)bad);
	return bad ? 1 : 0;
}
