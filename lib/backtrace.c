/*
 * Frame-pointer backtraces (see include/lib/backtrace.h). An AArch64 frame
 * record is two words at x29: the caller's x29, then the return address.
 * Reads only records that climb the stack, so a corrupt chain ends the
 * walk instead of wandering through memory.
 */
#include <lib/backtrace.h>
#include <lib/print.h>

static uint64_t image_base;

void backtrace_set_image(uint64_t image_start)
{
	image_base = image_start;
}

static void frame_print(unsigned n, uint64_t pc)
{
	if (image_base && pc >= image_base)
		kprintf("  #%u 0x%016lx (image +0x%lx)\n", n, (unsigned long)pc,
			(unsigned long)(pc - image_base));
	else
		kprintf("  #%u 0x%016lx\n", n, (unsigned long)pc);
}

void backtrace_print(uint64_t pc, uint64_t fp)
{
	uint64_t lo = fp, hi = fp + BACKTRACE_STACK_SPAN;
	unsigned n = 0;

	kprintf("backtrace:\n");
	if (pc)
		frame_print(n++, pc);
	while (n < BACKTRACE_MAX_FRAMES && fp && !(fp & 15) && fp >= lo &&
	       fp < hi) {
		const uint64_t *rec = (const uint64_t *)(uintptr_t)fp;
		uint64_t lr = rec[1];

		if (!lr)
			break;
		/* The call is the instruction before the return address. */
		frame_print(n++, lr - 4);
		if (rec[0] <= fp)
			break;
		fp = rec[0];
	}
}
