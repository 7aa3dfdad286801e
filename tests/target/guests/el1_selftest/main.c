/*
 * el1_selftest: exercises el1's own paths on demand (argv[1]) for
 * tests/target/test_el1_runtime.py: a handled trap that must preserve
 * general and FP/SIMD registers, an unhandled one, a panic. Tests only.
 */
#include <arch/esr.h>
#include <el1/el1.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <string.h>

#define INSN_SIZE 4

static unsigned brk_count;

static bool on_brk(struct el1_frame *f)
{
	volatile double clobber = 1.5;

	/* Use FP/SIMD registers here: the vectors must restore the caller's. */
	for (int i = 0; i < 8; i++)
		clobber = clobber * 3.25 + f->x[0];
	f->x[0] = (uint64_t)clobber ^ f->x[0];
	brk_count++;
	f->elr += INSN_SIZE;
	return true;
}

static int handled_trap(void)
{
	register double d0 __asm__("d0");
	register uint64_t x0 __asm__("x0");
	bool x0_changed, d0_kept;

	el1_set_sync_handler(ESR_EC_BRK64, on_brk);
	/* Set just before the asm: a call in between may reuse x0 and d0. */
	d0 = 2.5;
	x0 = 7;
	__asm__ volatile("brk #1" : "+r"(x0), "+w"(d0) : : "memory");
	/* Read both before any call, for the same reason. */
	x0_changed = x0 != 7;
	d0_kept = d0 == 2.5;
	kprintf("brk handled %u time(s), x0 changed %s, d0 %s\n", brk_count,
		x0_changed ? "yes" : "no", d0_kept ? "kept" : "lost");
	return brk_count == 1 && x0_changed && d0_kept ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "handled"))
		return handled_trap();
	if (!strcmp(what, "udf"))
		__asm__ volatile("udf #0");
	if (!strcmp(what, "unhandled-brk"))
		__asm__ volatile("brk #2");
	if (!strcmp(what, "panic"))
		panic("asked to panic");
	kprintf("unknown test '%s'\n", what);
	return 3;
}
