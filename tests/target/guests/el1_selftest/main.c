/*
 * el1_selftest: exercises el1's own paths on demand (argv[1]) for
 * tests/target/test_el1_runtime.py: a handled trap that must preserve
 * general and FP/SIMD registers, an unhandled one, a panic; a synchronous
 * external abort (a touch stage 2 refuses, reflected by EL2) handled by a
 * libos fault hook, and one nobody handles (el1/vectors.S takes both on
 * el1_abort_light's frame). Tests only.
 */
#include <arch/esr.h>
#include <el1/el1.h>
#include <el1/trap.h>
#include <libos/mm/mm.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <string.h>

#define INSN_SIZE 4
#define UNBACKED_IPA 0x20000000ul  /* no RAM, no device: never mapped */
#define X30_MARK UINT64_C(0x3030303030303030)
#define GPRS 31
#define REG_MARK(n) (0x5a00u + (n))  /* what the probe puts in xn */

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

static uint64_t extabt_va;
static unsigned extabt_seen, extabt_depth;
static enum libos_fault_kind extabt_kind;

/* Takes the probe's abort: a nested exception first (ELR_EL1 and
 * SPSR_EL1 change under the handler: the path must restore its own), then
 * past the load, with x30 changed (a hook may: faultcatch.h's probe_exec). */
static bool on_extabt(struct libos_fault *f)
{
	if (f->far != extabt_va)
		return false;
	extabt_seen++;
	extabt_depth = el1_handler_depth_now();
	extabt_kind = f->kind;
	__asm__ volatile("brk #1" ::: "x0", "memory");  /* on_brk: x0 ^= */
	f->elr += INSN_SIZE;
	f->x30 = X30_MARK;
	return true;
}

/* Every general register but x18 (the platform's) and x29 (the frame's)
 * set to REG_MARK(n), the load from the unbacked page (x0 holds its
 * address and keeps it: the load is skipped), then all stored to
 * regs[1 ..]; regs[0] holds the address on entry. */
static void probe_registers(uint64_t *regs)
{
	register uint64_t *blk __asm__("x1") = regs;

	__asm__ volatile(
		"str	x1, [sp, #-16]!\n\t"
		"ldr	x0, [x1]\n\t"
		"mov	x1, #0x5a01\n\t"   "mov	x2, #0x5a02\n\t"
		"mov	x3, #0x5a03\n\t"   "mov	x4, #0x5a04\n\t"
		"mov	x5, #0x5a05\n\t"   "mov	x6, #0x5a06\n\t"
		"mov	x7, #0x5a07\n\t"   "mov	x8, #0x5a08\n\t"
		"mov	x9, #0x5a09\n\t"   "mov	x10, #0x5a0a\n\t"
		"mov	x11, #0x5a0b\n\t"  "mov	x12, #0x5a0c\n\t"
		"mov	x13, #0x5a0d\n\t"  "mov	x14, #0x5a0e\n\t"
		"mov	x15, #0x5a0f\n\t"  "mov	x16, #0x5a10\n\t"
		"mov	x17, #0x5a11\n\t"  "mov	x19, #0x5a13\n\t"
		"mov	x20, #0x5a14\n\t"  "mov	x21, #0x5a15\n\t"
		"mov	x22, #0x5a16\n\t"  "mov	x23, #0x5a17\n\t"
		"mov	x24, #0x5a18\n\t"  "mov	x25, #0x5a19\n\t"
		"mov	x26, #0x5a1a\n\t"  "mov	x27, #0x5a1b\n\t"
		"mov	x28, #0x5a1c\n\t"  "mov	x30, #0x5a1e\n\t"
		"ldr	x0, [x0]\n\t"      /* the abort */
		"stp	x0, x1, [sp, #-16]!\n\t"
		"ldr	x1, [sp, #16]\n\t"
		"stp	x2, x3, [x1, #24]\n\t"   "stp	x4, x5, [x1, #40]\n\t"
		"stp	x6, x7, [x1, #56]\n\t"   "stp	x8, x9, [x1, #72]\n\t"
		"stp	x10, x11, [x1, #88]\n\t" "stp	x12, x13, [x1, #104]\n\t"
		"stp	x14, x15, [x1, #120]\n\t" "stp	x16, x17, [x1, #136]\n\t"
		"stp	x19, x20, [x1, #160]\n\t" "stp	x21, x22, [x1, #176]\n\t"
		"stp	x23, x24, [x1, #192]\n\t" "stp	x25, x26, [x1, #208]\n\t"
		"stp	x27, x28, [x1, #224]\n\t" "str	x30, [x1, #248]\n\t"
		"ldp	x2, x3, [sp], #32\n\t"
		"stp	x2, x3, [x1, #8]"
		: "+r"(blk)
		:
		: "x0", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
		  "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x19",
		  "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
		  "x30", "memory");
}

static uint64_t unbacked_va(void)
{
	uint64_t page = libos_mm_info()->page_size;

	libos_dmap_map(UNBACKED_IPA, page);
	return (uint64_t)(uintptr_t)libos_dmap_phys_to_virt(UNBACKED_IPA);
}

/* The hook's answer comes back (ELR past the load, its x30), and every
 * other register as it was. */
static int handled_extabt(void)
{
	uint64_t regs[1 + GPRS] = {0};
	unsigned wrong = 0;

	el1_set_sync_handler(ESR_EC_BRK64, on_brk);
	extabt_va = unbacked_va();
	libos_fault_set_hook(on_extabt);
	regs[0] = extabt_va;
	probe_registers(regs);
	for (unsigned n = 1; n < 29; n++) {  /* x29 is not probed */
		if (n != 18 && regs[1 + n] != REG_MARK(n)) {
			kprintf("x%u 0x%lx\n", n, (unsigned long)regs[1 + n]);
			wrong++;
		}
	}
	if (regs[1] != extabt_va || regs[1 + 30] != X30_MARK)
		wrong++;
	kprintf("external abort handled %u time(s), kind %s, depth %u, "
		"nested brk %u, %u register(s) wrong\n", extabt_seen,
		libos_fault_kind_name(extabt_kind), extabt_depth, brk_count,
		wrong);
	return extabt_seen == 1 && extabt_depth == 1 && brk_count == 1 &&
		       !wrong ? 0 : 1;
}

/* Nobody handles it: the report shows the registers as they were. */
static void unhandled_extabt(void)
{
	uint64_t regs[1 + GPRS] = { unbacked_va() };

	probe_registers(regs);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "handled"))
		return handled_trap();
	if (!strcmp(what, "extabt"))
		return handled_extabt();
	if (!strcmp(what, "unhandled-extabt"))
		unhandled_extabt();
	if (!strcmp(what, "udf"))
		__asm__ volatile("udf #0");
	if (!strcmp(what, "unhandled-brk"))
		__asm__ volatile("brk #2");
	if (!strcmp(what, "panic"))
		panic("asked to panic");
	kprintf("unknown test '%s'\n", what);
	return 3;
}
