/*
 * restart: on its first boot, leaves a mark in its memory and frames it
 * allocated, then asks for PSCI SYSTEM_RESET; EL2 boots it again with fresh
 * frames and says so in /chosen/exo,restarts. The second boot finds no mark
 * anywhere it can see and exits 0.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/guest_dt.h>
#include <exo/hypercall.h>
#include <libfdt.h>

#include "../faultcatch.h"
#include "../restarts.h"
#include "../tap.h"

#define MARK 0x5245535441525421ull   /* "RESTART!" */
#define EXTRA_FRAMES 8
#define FRAME_SIZE EXO_FRAME_SIZE

/* Counts marks in [pa, pa + n) and in the boot memory past the image (the
 * image itself holds the constant, and the stack). */
static uint64_t marks(uint64_t pa, uint64_t n)
{
	const struct el1_boot_info *b = el1_boot_info();
	volatile uint64_t *p = pa_map(pa, n);
	uint64_t found = 0;

	for (uint64_t i = 0; i < n / 8; i++)
		found += p[i] == MARK;
	/* boot_info has the image's VAs (the MMU is on): its PA is libos's. */
	uint64_t image_end = libos_mm_info()->image_pa +
			     (b->image_end - b->image_start);

	for (unsigned r = 0; r < b->mem_count; r++) {
		uint64_t start = b->mem[r].base, end = start + b->mem[r].size;

		if (image_end > start && image_end < end)
			start = image_end;
		for (uint64_t w = start; w < end; w += 8)
			found += *pa_ptr(w) == MARK;
	}
	return found;
}

int main(int argc, char **argv)
{
	uint32_t n = restarts();
	(void)argc, (void)argv;
	struct exo_ret a = exo_frame_alloc(EXTRA_FRAMES, 0);
	const struct el1_boot_info *b = el1_boot_info();
	uint64_t size = EXTRA_FRAMES * FRAME_SIZE;

	if (n == 0) {
		volatile uint64_t *p = pa_map(a.x1, size);
		volatile uint64_t *top = pa_ptr(b->mem[0].base + b->mem[0].size - 8);

		for (uint64_t i = 0; i < size / 8; i++)
			p[i] = MARK;
		*top = MARK;
		kprintf("first boot: marks left at 0x%lx and 0x%lx; resetting\n",
			(unsigned long)a.x1, (unsigned long)(uintptr_t)top);
		exo_call0(EXO_PSCI_SYSTEM_RESET);
		kprintf("SYSTEM_RESET returned\n");
		return 3;
	}
	TAP_CHECK(n == 1, "booted again: exo,restarts = %u", n);
	TAP_CHECK(a.status == EXO_OK, "frames allocated after the restart");
	TAP_CHECK(marks(a.x1, size) == 0, "no mark in any frame it can see");
	return tap_done();
}
