/*
 * vcpustate: CPU state stays with its guest across guest switches (the
 * differential test of docs/security.md, "CPU state between guests").
 * Several copies run side by side; each writes values of its own (derived
 * from its name and the round) into every register a guest may write
 * without changing how it runs, yields so EL2 switches to another copy that
 * writes its own, and reads them back. A register EL2 forgot to save or
 * restore reads the other guest's value.
 *
 * Registers: TPIDR_EL0, TPIDRRO_EL0, TPIDR_EL1, SP_EL0, CONTEXTIDR_EL1,
 * TTBR0_EL1's ASID (the table base kept: the guest's own tables, only the
 * ASID that tags their TLB entries changes; TCR_EL1.A1 is 0),
 * CNTV_CVAL_EL0 (timer left disabled), CNTKCTL_EL1 (EL0 access bits),
 * CSSELR_EL1 (InD), PAR_EL1, ICC_PMR_EL1,
 * ICC_BPR1_EL1, ICC_AP0R0_EL1 and ICC_AP1R0_EL1 (the virtual CPU
 * interface's active priorities), FPCR, FPSR and all 32 SIMD
 * registers (written and read inside the yield's own asm block, so no
 * compiler-generated code can touch them in between). Bits that do not
 * stick on this CPU (read back at once) are not compared; a register none
 * of whose chosen bits stick is a "# SKIP"; what a register holds right
 * after the write (some clamp, like ICC_BPR1_EL1) is what must come back.
 * The self-hosted debug registers are not switched but trapped: each must
 * read as zero after this guest wrote it (el2/debug_regs.c), so there is
 * nothing in them to pass on.
 *
 * Owns: nothing but its own registers. Never: changes translation, the
 * vectors or interrupt routing (that would test the guest, not EL2).
 */
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <exo/hvc.h>
#include <lib/print.h>
#include <stdint.h>
#include <string.h>

#include "../tap.h"

#define ROUNDS 64u
#define SIMD_REGS 32u

#define SYSREG_CONTEXTIDR_EL1 contextidr_el1
#define SYSREG_CNTV_CVAL_EL0 cntv_cval_el0
#define SYSREG_CNTV_CTL_EL0 cntv_ctl_el0
#define SYSREG_CSSELR_EL1 csselr_el1
#define SYSREG_PAR_EL1 par_el1

#define CNTKCTL_EL0_ACCESS_BITS 0x303ul	/* EL0PCTEN, EL0VCTEN, EL0VTEN, EL0PTEN */
#define CSSELR_IND 0x1ul
#define PAR_TESTED_BITS 0x000ffffffffff000ul	/* PA[51:12] with F = 0 */
#define ICC_PMR_TESTED_BITS 0xf8ul
#define ICC_BPR1_TESTED_BITS 0x7ul
/* One bit per preemption level; the guest takes no interrupt while the
 * test runs, so the active priorities it writes mask nothing it needs. */
#define ICC_APR_TESTED_BITS 0xfffffffful
#define FPCR_TESTED_BITS 0x03c00000ul	/* RMode, FZ, DN */
#define FPSR_TESTED_BITS 0x0000001ful	/* IOC, DZC, OFC, UFC, IXC */

struct reg {
	const char *name;
	uint64_t mask;		/* the bits this test writes */
	void (*write)(uint64_t);
	uint64_t (*read)(void);
	uint64_t sticky;	/* the bits of mask this CPU keeps */
};

#define REG_ACCESSORS(fn, sysreg)                                            \
	static void write_##fn(uint64_t v) { write_sysreg(v, sysreg); }     \
	static uint64_t read_##fn(void) { return read_sysreg(sysreg); }

REG_ACCESSORS(tpidr_el0, tpidr_el0)
REG_ACCESSORS(tpidrro_el0, tpidrro_el0)
REG_ACCESSORS(tpidr_el1, tpidr_el1)
REG_ACCESSORS(sp_el0, sp_el0)
REG_ACCESSORS(contextidr, SYSREG_CONTEXTIDR_EL1)
REG_ACCESSORS(cntv_cval, SYSREG_CNTV_CVAL_EL0)
REG_ACCESSORS(cntkctl, cntkctl_el1)
REG_ACCESSORS(csselr, SYSREG_CSSELR_EL1)
REG_ACCESSORS(par, SYSREG_PAR_EL1)
REG_ACCESSORS(icc_pmr, SYSREG_ICC_PMR_EL1)
REG_ACCESSORS(icc_bpr1, SYSREG_ICC_BPR1_EL1)
REG_ACCESSORS(icc_ap0r0, SYSREG_ICC_AP0R0_EL1)
REG_ACCESSORS(icc_ap1r0, SYSREG_ICC_AP1R0_EL1)
REG_ACCESSORS(fpcr, fpcr)
REG_ACCESSORS(fpsr, fpsr)

/* Only the ASID field: the table base stays the guest's own. */
static void write_ttbr0_asid(uint64_t v)
{
	uint64_t ttbr = read_sysreg(ttbr0_el1);

	write_sysreg((ttbr & ~TTBR_ASID_MASK) | (v & TTBR_ASID_MASK),
		     ttbr0_el1);
	__asm__ volatile("isb" ::: "memory");
}

static uint64_t read_ttbr0_asid(void)
{
	return read_sysreg(ttbr0_el1);
}

#define REG(fn, m) { #fn, (m), write_##fn, read_##fn, 0 }

static struct reg regs[] = {
	REG(tpidr_el0, ~0ul),
	REG(tpidrro_el0, ~0ul),
	REG(tpidr_el1, ~0ul),
	REG(sp_el0, ~0xful),
	REG(contextidr, 0xfffffffful),
	REG(ttbr0_asid, TTBR_ASID_MASK),
	REG(cntv_cval, ~0ul),
	REG(cntkctl, CNTKCTL_EL0_ACCESS_BITS),
	REG(csselr, CSSELR_IND),
	REG(par, PAR_TESTED_BITS),
	REG(icc_pmr, ICC_PMR_TESTED_BITS),
	REG(icc_bpr1, ICC_BPR1_TESTED_BITS),
	REG(icc_ap0r0, ICC_APR_TESTED_BITS),
	REG(icc_ap1r0, ICC_APR_TESTED_BITS),
	REG(fpcr, FPCR_TESTED_BITS),
	REG(fpsr, FPSR_TESTED_BITS),
};
#define NR_REGS (sizeof(regs) / sizeof(regs[0]))

/* splitmix64: values that differ in every bit from guest to guest. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ul;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ul;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebul;
	return x ^ (x >> 31);
}

static uint64_t name_seed(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ul;	/* FNV-1a */

	while (*name)
		h = (h ^ (uint8_t)*name++) * 0x100000001b3ul;
	return h;
}

/* Which of the tested bits this CPU keeps: write all, then none. */
static void calibrate(struct reg *r)
{
	uint64_t saved = r->read();

	r->write(r->mask);
	r->sticky = r->read() & r->mask;
	r->write(saved);
}

/* Writes v[] into the SIMD registers, yields, and reads them into out[];
 * one asm block, so nothing the compiler emits sits between. */
static void simd_yield(const uint64_t v[2 * SIMD_REGS],
		       uint64_t out[2 * SIMD_REGS])
{
	register uint64_t x0 __asm__("x0") = EXO_HVC_YIELD;
	register const uint64_t *in __asm__("x8") = v;
	register uint64_t *res __asm__("x9") = out;

	__asm__ volatile(
		"ldp q0, q1, [x8, #0]\n\t"     "ldp q2, q3, [x8, #32]\n\t"
		"ldp q4, q5, [x8, #64]\n\t"    "ldp q6, q7, [x8, #96]\n\t"
		"ldp q8, q9, [x8, #128]\n\t"   "ldp q10, q11, [x8, #160]\n\t"
		"ldp q12, q13, [x8, #192]\n\t" "ldp q14, q15, [x8, #224]\n\t"
		"ldp q16, q17, [x8, #256]\n\t" "ldp q18, q19, [x8, #288]\n\t"
		"ldp q20, q21, [x8, #320]\n\t" "ldp q22, q23, [x8, #352]\n\t"
		"ldp q24, q25, [x8, #384]\n\t" "ldp q26, q27, [x8, #416]\n\t"
		"ldp q28, q29, [x8, #448]\n\t" "ldp q30, q31, [x8, #480]\n\t"
		"hvc #0\n\t"
		"stp q0, q1, [x9, #0]\n\t"     "stp q2, q3, [x9, #32]\n\t"
		"stp q4, q5, [x9, #64]\n\t"    "stp q6, q7, [x9, #96]\n\t"
		"stp q8, q9, [x9, #128]\n\t"   "stp q10, q11, [x9, #160]\n\t"
		"stp q12, q13, [x9, #192]\n\t" "stp q14, q15, [x9, #224]\n\t"
		"stp q16, q17, [x9, #256]\n\t" "stp q18, q19, [x9, #288]\n\t"
		"stp q20, q21, [x9, #320]\n\t" "stp q22, q23, [x9, #352]\n\t"
		"stp q24, q25, [x9, #384]\n\t" "stp q26, q27, [x9, #416]\n\t"
		"stp q28, q29, [x9, #448]\n\t" "stp q30, q31, [x9, #480]"
		: "+r"(x0), "+r"(in), "+r"(res)
		:
		: "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x10", "x11",
		  "x12", "x13", "x14", "x15", "x16", "x17", "v0", "v1", "v2",
		  "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11",
		  "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19",
		  "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27",
		  "v28", "v29", "v30", "v31", "memory");
}

struct mismatch {
	unsigned count;
	unsigned first_round;
	uint64_t wrote, read;
};

static void note(struct mismatch *m, unsigned round, uint64_t wrote,
		 uint64_t read)
{
	if (!m->count++) {
		m->first_round = round;
		m->wrote = wrote;
		m->read = read;
	}
}

static struct mismatch reg_bad[NR_REGS], simd_bad;
static uint64_t simd_in[2 * SIMD_REGS], simd_out[2 * SIMD_REGS];

static void one_round(uint64_t seed, unsigned round)
{
	uint64_t want[NR_REGS];

	/* What the register holds right after the write is what must come
	 * back: some clamp (ICC_BPR1_EL1 reads its minimum for less). */
	for (unsigned i = 0; i < NR_REGS; i++) {
		regs[i].write(mix(seed ^ mix(round * NR_REGS + i)) &
			      regs[i].sticky);
		want[i] = regs[i].read() & regs[i].sticky;
	}
	for (unsigned i = 0; i < 2 * SIMD_REGS; i++)
		simd_in[i] = mix(seed + round * 2 * SIMD_REGS + i);
	simd_yield(simd_in, simd_out);
	for (unsigned i = 0; i < NR_REGS; i++) {
		uint64_t got = regs[i].read() & regs[i].sticky;

		if (got != want[i])
			note(&reg_bad[i], round, want[i], got);
	}
	for (unsigned i = 0; i < 2 * SIMD_REGS; i++) {
		if (simd_out[i] != simd_in[i])
			note(&simd_bad, round, simd_in[i], simd_out[i]);
	}
}

/* Debug registers: a breakpoint, a watchpoint, MDSCR (single-step and
 * debug exceptions on), the OS lock and OS double lock. (QEMU has no claim
 * tags: DBGCLAIMSET_EL1 is undefined there before any trap.) */
#define DEBUG_MARK 0x0000fffffffffffcul
#define MDSCR_KDE_MDE_SS ((1ul << 13) | (1ul << 15) | 1ul)
#define OS_LOCK 1ul

#define DEBUG_REG(sysreg, value)                                             \
	do {                                                                 \
		write_sysreg(value, sysreg);                                 \
		__asm__ volatile("isb" ::: "memory");                        \
		if (read_sysreg(sysreg) != 0) {                              \
			kprintf("# %s reads 0x%lx after a write\n", #sysreg, \
				(unsigned long)read_sysreg(sysreg));         \
			kept++;                                              \
		}                                                            \
	} while (0)

static void debug_registers_hold_nothing(void)
{
	unsigned kept = 0;

	DEBUG_REG(dbgbvr0_el1, DEBUG_MARK);
	DEBUG_REG(dbgbcr0_el1, 0x1e7ul);	/* enabled, any EL */
	DEBUG_REG(dbgwvr0_el1, DEBUG_MARK);
	DEBUG_REG(dbgwcr0_el1, 0x1ffful);
	DEBUG_REG(mdscr_el1, MDSCR_KDE_MDE_SS);
	DEBUG_REG(osdlr_el1, OS_LOCK);
	write_sysreg(OS_LOCK, oslar_el1);
	__asm__ volatile("isb" ::: "memory");
	if (read_sysreg(oslsr_el1)) {
		kprintf("# oslsr_el1 reads 0x%lx after the OS lock was set\n",
			(unsigned long)read_sysreg(oslsr_el1));
		kept++;
	}
	TAP_CHECK(!kept, "the debug registers read as zero after this guest "
		  "wrote them (nothing to pass on)");
}

static void report(const char *name, const struct mismatch *m)
{
	if (m->count)
		kprintf("# %s: %u of %u rounds read another value; first in "
			"round %u: wrote 0x%lx, read 0x%lx\n", name, m->count,
			ROUNDS, m->first_round, (unsigned long)m->wrote,
			(unsigned long)m->read);
	TAP_CHECK(!m->count, "%s keeps this guest's value across switches",
		  name);
}

int main(int argc, char **argv)
{
	uint64_t seed = name_seed(argc > 0 ? argv[0] : "");
	uint64_t saved[NR_REGS];

	for (unsigned i = 0; i < NR_REGS; i++) {
		saved[i] = regs[i].read();
		calibrate(&regs[i]);
	}
	write_sysreg(0, SYSREG_CNTV_CTL_EL0);	/* cval never fires */
	for (unsigned round = 0; round < ROUNDS; round++)
		one_round(seed, round);
	for (unsigned i = 0; i < NR_REGS; i++)
		regs[i].write(saved[i]);
	for (unsigned i = 0; i < NR_REGS; i++) {
		if (!regs[i].sticky)
			kprintf("ok %u - %s # SKIP none of its tested bits "
				"stick on this CPU\n", ++tap_count,
				regs[i].name);
		else
			report(regs[i].name, &reg_bad[i]);
	}
	report("SIMD registers q0-q31", &simd_bad);
	debug_registers_hold_nothing();
	return tap_done();
}
