/*
 * scrub: "--fill" takes frames at a fixed physical address, fills them
 * with a pattern, frees them, notifies the checker and exits; "--check"
 * waits for that, takes the same frames and checks that not one byte of
 * the pattern is left: EL2 zeroes every frame that leaves a guest.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <string.h>

#include "../faultcatch.h"
#include "../tap.h"

#define SCRUB_PA 0x50000000ul   /* agreed by both roles; free at boot */
#define SCRUB_FRAMES 64
#define FRAME_SIZE EXO_FRAME_SIZE
#define PATTERN 0xa5a5a5a5a5a5a5a5ull

static uint64_t words(void)
{
	return SCRUB_FRAMES * FRAME_SIZE / sizeof(uint64_t);
}

static int fill(void)
{
	volatile uint64_t *p;

	TAP_CHECK(exo_frame_alloc_at(SCRUB_PA, SCRUB_FRAMES) == EXO_OK,
		  "took %u frames at 0x%lx", SCRUB_FRAMES, SCRUB_PA);
	p = pa_map(SCRUB_PA, SCRUB_FRAMES * FRAME_SIZE);
	for (uint64_t i = 0; i < words(); i++)
		p[i] = PATTERN;
	pa_unmap(SCRUB_PA, SCRUB_FRAMES * FRAME_SIZE);
	/* The first alone (FRAME_FREE's one-frame path leaves it unscrubbed
	 * for this guest: the checker's take must scrub it), the rest as a
	 * run (scrubbed by the free). */
	TAP_CHECK(exo_frame_free(SCRUB_PA, 1) == EXO_OK &&
			  exo_frame_free(SCRUB_PA + FRAME_SIZE,
					 SCRUB_FRAMES - 1) == EXO_OK,
		  "filled them with 0x%lx and freed them", (unsigned long)PATTERN);
	TAP_CHECK(exo_notify(exo_vm_lookup("checker").x1) == EXO_OK,
		  "told the checker");
	return tap_done();
}

static int check(void)
{
	volatile uint64_t *p;
	uint64_t dirty = 0;
	int64_t st;

	exo_wait();   /* until the filler has freed its frames */
	st = exo_frame_alloc_at(SCRUB_PA, SCRUB_FRAMES);
	TAP_CHECK(st == EXO_OK, "took the same frames");
	if (st != EXO_OK)
		return tap_done();
	p = pa_map(SCRUB_PA, SCRUB_FRAMES * FRAME_SIZE);
	for (uint64_t i = 0; i < words(); i++)
		dirty += p[i] != 0;
	pa_unmap(SCRUB_PA, SCRUB_FRAMES * FRAME_SIZE);
	TAP_CHECK(dirty == 0, "every word is zero (%lu dirty)",
		  (unsigned long)dirty);
	TAP_CHECK(exo_frame_free(SCRUB_PA, SCRUB_FRAMES) == EXO_OK, "freed");
	return tap_done();
}

EL1_GUEST_OPTIONS("--fill", "--check");

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--fill"))
		return fill();
	if (argc > 1 && !strcmp(argv[1], "--check"))
		return check();
	kprintf("usage: scrub --fill | --check\n");
	return 2;
}
