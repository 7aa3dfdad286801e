/*
 * scrub: "--fill" takes frames at a fixed physical address, fills them
 * with a pattern, frees them and exits; "--check" takes the same frames
 * once they are free again (retrying while the filler holds them) and
 * checks that not one byte of the pattern is left: EL2 zeroes every frame
 * that leaves a guest.
 */
#include <exo/hypercall.h>
#include <lib/print.h>
#include <string.h>

#include "../tap.h"

#define SCRUB_PA 0x50000000ul   /* agreed by both roles; free at boot */
#define SCRUB_FRAMES 64
#define FRAME_SIZE 4096u
#define PATTERN 0xa5a5a5a5a5a5a5a5ull
#define MAX_TRIES 100000

static uint64_t words(void)
{
	return SCRUB_FRAMES * FRAME_SIZE / sizeof(uint64_t);
}

static int fill(void)
{
	volatile uint64_t *p = (volatile uint64_t *)SCRUB_PA;

	TAP_CHECK(exo_frame_alloc_at(SCRUB_PA, SCRUB_FRAMES) == EXO_OK,
		  "took %u frames at 0x%lx", SCRUB_FRAMES, SCRUB_PA);
	for (uint64_t i = 0; i < words(); i++)
		p[i] = PATTERN;
	TAP_CHECK(exo_frame_free(SCRUB_PA, SCRUB_FRAMES) == EXO_OK,
		  "filled them with 0x%lx and freed them", (unsigned long)PATTERN);
	return tap_done();
}

static int check(void)
{
	volatile uint64_t *p = (volatile uint64_t *)SCRUB_PA;
	uint64_t dirty = 0;
	int64_t st = EXO_EBUSY;
	int tries = 0;

	/* The filler runs first; while it holds the frames this is EBUSY. */
	while (tries++ < MAX_TRIES &&
	       (st = exo_frame_alloc_at(SCRUB_PA, SCRUB_FRAMES)) == EXO_EBUSY)
		exo_yield();
	TAP_CHECK(st == EXO_OK, "took the same frames after %d tries", tries);
	if (st != EXO_OK)
		return tap_done();
	for (uint64_t i = 0; i < words(); i++)
		dirty += p[i] != 0;
	TAP_CHECK(dirty == 0, "every word is zero (%lu dirty)",
		  (unsigned long)dirty);
	TAP_CHECK(exo_frame_free(SCRUB_PA, SCRUB_FRAMES) == EXO_OK, "freed");
	return tap_done();
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--fill"))
		return fill();
	if (argc > 1 && !strcmp(argv[1], "--check"))
		return check();
	kprintf("usage: scrub --fill | --check\n");
	return 2;
}
