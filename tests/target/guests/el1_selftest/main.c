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

/* EL1's C cannot touch FP/SIMD (-mgeneral-regs-only) and the vectors
 * save none: the caller's FP/SIMD registers must come back as they were. */
static bool on_brk(struct el1_frame *f)
{
	f->x[0] ^= 0x5a5a;
	brk_count++;
	f->elr += INSN_SIZE;
	return true;
}

/* q0 and q31, low and high halves (q0's low half is the double 2.5). */
static const uint64_t fp_in[4] = {
	UINT64_C(0x4004000000000000), UINT64_C(0x0123456789abcdef),
	UINT64_C(0xfedcba9876543210), UINT64_C(0x5a5a5a5aa5a5a5a5),
};

static int handled_trap(void)
{
	register uint64_t x0 __asm__("x0");
	uint64_t fp_out[4];
	bool x0_changed, d0_kept;

	el1_set_sync_handler(ESR_EC_BRK64, on_brk);
	/* Set just before the asm: a call in between may reuse x0. Loads and
	 * stores only: the assembler allows no other FP/SIMD instruction
	 * under -mgeneral-regs-only. */
	x0 = 7;
	__asm__ volatile("ldr q0, [%[in]]\n\t"
			 "ldr q31, [%[in], #16]\n\t"
			 "brk #1\n\t"
			 "str q0, [%[out]]\n\t"
			 "str q31, [%[out], #16]"
			 : "+r"(x0)
			 : [in] "r"(fp_in), [out] "r"(fp_out)
			 : "v0", "v31", "memory");
	/* Read x0 before any call, for the same reason. */
	x0_changed = x0 != 7;
	d0_kept = !memcmp(fp_in, fp_out, sizeof(fp_out));
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
