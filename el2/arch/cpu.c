/*
 * AArch64 implementation of el2/arch.h: system registers, MMIO, SMCCC
 * conduits and the MMU switch for EL2's own stage 1.
 */
#include <arch/cpu_features.h>
#include <arch/pte.h>
#include <arch/sysreg.h>
#include <el2/arch/cptr.h>
#include <el2/arch.h>
#include <el2/spectre.h>
#include <el2/hyp_mm.h>
#include <el2/pmu.h>
#include <el2/trap_layout.h>
#include <exo/frame.h>
#include <lib/entropy.h>
#include <stddef.h>

extern char el2_vectors[], el2_vectors_ras[], el2_vectors_noras[],
	el2_vectors_generic_locked[], el2_vectors_ras_locked[],
	el2_vectors_noras_locked[], el2_vectors_full[];

/* FEAT_RAS: DISR_EL1 exists, and the exits of a guest (guest.S) read it
 * after the ESB (arch_el2_traps_init sets it). */
uint32_t ras_present;

/* Read on every exit from a guest (guest.S) but the HVC entries of the
 * tables fast_vectors picks when it is 0. */
uint32_t spectre_exit_steps, spectre_loop_k;

/* The fast path's table whose HVC entry checks only what this CPU needs
 * (guest.S, hvc_exit_checks): read after spectre_setup and the RAS probe,
 * which run before the manifest turns the fast path on. */
static char *fast_vectors(bool locked)
{
	if (spectre_exit_steps)
		return locked ? el2_vectors_generic_locked : el2_vectors;
	if (ras_present)
		return locked ? el2_vectors_ras_locked : el2_vectors_ras;
	return locked ? el2_vectors_noras_locked : el2_vectors_noras;
}

void arch_vectors_set(enum arch_vectors which)
{
	write_sysreg(which == ARCH_VECTORS_FULL
			     ? el2_vectors_full
			     : fast_vectors(which == ARCH_VECTORS_FAST_HVC_LOCKED),
		     vbar_el2);
	isb();
}

extern char __image_start[], __text_end[], __rodata_end[], __stack_guard[],
	__stack_bottom[], __stack_top[], __stacks_end[], __image_end[];

struct image_layout arch_image_layout(void)
{
	return (struct image_layout){
		.start = (uint64_t)__image_start,
		.text_end = (uint64_t)__text_end,
		.rodata_end = (uint64_t)__rodata_end,
		.stack_guard = (uint64_t)__stack_guard,
		.stack_bottom = (uint64_t)__stack_bottom,
		.stack_top = (uint64_t)__stack_top,
		.stacks_end = (uint64_t)__stacks_end,
		.end = (uint64_t)__image_end,
	};
}

/* Runs before the stack guard is seeded: must not be instrumented. */
__attribute__((no_stack_protector)) uint64_t arch_entropy(void)
{
	return entropy_mix(read_sysreg(cntpct_el0));
}

uint32_t arch_mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}

void arch_mmio_write32(uint64_t addr, uint32_t value)
{
	*(volatile uint32_t *)(uintptr_t)addr = value;
}

void arch_spectre_cpu(struct spectre_cpu *cpu)
{
	cpu->midr = read_sysreg(midr_el1);
	cpu->pfr0 = read_sysreg(id_aa64pfr0_el1);
	cpu->pfr1 = read_sysreg(id_aa64pfr1_el1);
	cpu->mmfr1 = read_sysreg(id_aa64mmfr1_el1);
	cpu->isar2 = read_sysreg(SYSREG_ID_AA64ISAR2_EL1);
}

void arch_spectre_exit_steps(unsigned steps, unsigned loop_k)
{
	spectre_loop_k = loop_k;
	spectre_exit_steps = steps;
}

uint64_t arch_smc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fid;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	__asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
			 : : "memory");
	return x0;
}

uint64_t arch_hvc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fid;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
			 : : "memory");
	return x0;
}

unsigned arch_pa_bits(void)
{
	uint64_t mmfr0 = read_sysreg(id_aa64mmfr0_el1);

	return parange_bits(FIELD_GET(mmfr0, ID_AA64MMFR0_PARANGE_SHIFT, 4));
}

unsigned arch_vmid_bits(void)
{
	uint64_t mmfr1 = read_sysreg(id_aa64mmfr1_el1);

	return FIELD_GET(mmfr1, ID_AA64MMFR1_VMIDBITS_SHIFT, 4) ==
			       ID_AA64MMFR1_VMIDBITS_16
		       ? 16
		       : 8;
}

static uint64_t tcr_ps(unsigned pa_bits)
{
	static const unsigned char bits[] = { 32, 36, 40, 42, 44, 48, 52 };
	uint64_t ps = 0;

	/* The largest encoding not above pa_bits, capped at 48 (no LPA). */
	for (uint64_t i = 0; i < 6; i++) {
		if (bits[i] <= pa_bits)
			ps = i;
	}
	return ps;
}

void arch_mmu_enable(uint64_t root_pa, unsigned pa_bits)
{
	uint64_t mair = MAIR_ATTR(MAIR_IDX_DEVICE_nGnRnE, MAIR_ATTR_DEVICE_nGnRnE) |
			MAIR_ATTR(MAIR_IDX_NORMAL_WB, MAIR_ATTR_NORMAL_WB) |
			MAIR_ATTR(MAIR_IDX_DEVICE_nGnRE, MAIR_ATTR_DEVICE_nGnRE) |
			MAIR_ATTR(MAIR_IDX_NORMAL_NC, MAIR_ATTR_NORMAL_NC);
	uint64_t tcr = TCR_EL2_RES1 | ((64 - HYP_MM_VA_BITS) << TCR_T0SZ_SHIFT) |
		       TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER |
		       TCR_TG0_4K | (tcr_ps(pa_bits) << TCR_EL2_PS_SHIFT);

	write_sysreg(mair, mair_el2);
	write_sysreg(tcr, tcr_el2);
	write_sysreg(root_pa, ttbr0_el2);
	dsb(ish);
	__asm__ volatile("tlbi alle2" : : : "memory");
	dsb(ish);
	isb();
	write_sysreg(SCTLR_EL2_RES1 | SCTLR_M | SCTLR_C | SCTLR_SA | SCTLR_I |
			     SCTLR_WXN,
		     sctlr_el2);
	isb();
}

_Static_assert(offsetof(struct cpu_boot, mair) == CPU_BOOT_MAIR &&
		       offsetof(struct cpu_boot, tcr) == CPU_BOOT_TCR &&
		       offsetof(struct cpu_boot, ttbr0) == CPU_BOOT_TTBR0 &&
		       offsetof(struct cpu_boot, sctlr) == CPU_BOOT_SCTLR &&
		       offsetof(struct cpu_boot, vbar) == CPU_BOOT_VBAR &&
		       offsetof(struct cpu_boot, stack_top) ==
			       CPU_BOOT_STACK_TOP &&
		       offsetof(struct cpu_boot, cpu) == CPU_BOOT_CPU,
	       "secondary.S reads struct cpu_boot by these offsets");

/* A secondary CPU translates as this one does: the same tables, memory
 * types, translation control and vectors (arch_mmu_enable wrote them). */
void arch_cpu_boot_regs(struct cpu_boot *b)
{
	b->mair = read_sysreg(mair_el2);
	b->tcr = read_sysreg(tcr_el2);
	b->ttbr0 = read_sysreg(ttbr0_el2);
	b->sctlr = read_sysreg(sctlr_el2);
	b->vbar = read_sysreg(vbar_el2);
}

extern char arch_secondary_entry[];

/* EL2's stage 1 is an identity map: the entry's address is physical. */
uint64_t arch_secondary_entry_pa(void)
{
	return (uint64_t)(uintptr_t)arch_secondary_entry;
}

const char *const arch_cpu_signature_names[ARCH_CPU_SIGNATURE_REGS] = {
	"MIDR_EL1", "ID_AA64PFR0_EL1", "ID_AA64PFR1_EL1", "ID_AA64DFR0_EL1",
	"ID_AA64ISAR0_EL1", "ID_AA64ISAR1_EL1", "ID_AA64ISAR2_EL1",
	"ID_AA64MMFR0_EL1", "ID_AA64MMFR1_EL1", "ID_AA64MMFR2_EL1",
	"CTR_EL0", "DCZID_EL0", "ICH_VTR_EL2", "PMCR_EL0.N",
};

void arch_cpu_signature(uint64_t sig[ARCH_CPU_SIGNATURE_REGS])
{
	sig[0] = read_sysreg(midr_el1);
	sig[1] = read_sysreg(id_aa64pfr0_el1);
	sig[2] = read_sysreg(id_aa64pfr1_el1);
	sig[3] = read_sysreg(id_aa64dfr0_el1);
	sig[4] = read_sysreg(id_aa64isar0_el1);
	sig[5] = read_sysreg(id_aa64isar1_el1);
	sig[6] = read_sysreg(SYSREG_ID_AA64ISAR2_EL1);
	sig[7] = read_sysreg(id_aa64mmfr0_el1);
	sig[8] = read_sysreg(id_aa64mmfr1_el1);
	sig[9] = read_sysreg(SYSREG_ID_AA64MMFR2_EL1);
	sig[10] = read_sysreg(ctr_el0);
	sig[11] = read_sysreg(dczid_el0);
	sig[12] = read_sysreg(SYSREG_ICH_VTR_EL2);
	sig[13] = PMCR_N(read_sysreg(pmcr_el0));
}

/* CTR_EL0.DIC: instruction cache invalidation to the point of
 * unification not required for data-to-instruction coherence. */
#define CTR_DIC_SHIFT 29

bool arch_icache_coherent(void)
{
	return FIELD_GET(read_sysreg(ctr_el0), CTR_DIC_SHIFT, 1);
}

uint64_t arch_read_sctlr_el2(void)
{
	return read_sysreg(sctlr_el2);
}

void arch_wait_forever(void)
{
	for (;;)
		__asm__ volatile("wfi");
}

void arch_dcache_clean_inval(uint64_t start, uint64_t size)
{
	uint64_t ctr = read_sysreg(ctr_el0);
	uint64_t line = UINT64_C(4) << FIELD_GET(ctr, 16, 4); /* DminLine */

	for (uint64_t a = start & ~(line - 1); a < start + size; a += line)
		__asm__ volatile("dc civac, %0" : : "r"(a) : "memory");
	dsb(ish);
}

/* Registers whose reset value is UNKNOWN and that a guest's view depends
 * on: the identity it reads (MIDR, and an MPIDR of a uniprocessor with
 * affinity 0), and, where the CPU has them, HCRX_EL2 and the fine-grained
 * trap registers, all 0: no trap or control beyond HCR_EL2's. */
static void feature_regs_init(void)
{
	uint64_t mmfr0 = read_sysreg(id_aa64mmfr0_el1);
	uint64_t mmfr1 = read_sysreg(id_aa64mmfr1_el1);

	write_sysreg(read_sysreg(midr_el1), vpidr_el2);
	write_sysreg(MPIDR_RES1 | MPIDR_UNIPROCESSOR, vmpidr_el2);
	if (FIELD_GET(mmfr1, ID_AA64MMFR1_HCX_SHIFT, 4))
		write_sysreg(0, SYSREG_HCRX_EL2);
	if (FIELD_GET(mmfr0, ID_AA64MMFR0_FGT_SHIFT, 4)) {
		write_sysreg(0, SYSREG_HFGRTR_EL2);
		write_sysreg(0, SYSREG_HFGWTR_EL2);
		write_sysreg(0, SYSREG_HFGITR_EL2);
		write_sysreg(0, SYSREG_HDFGRTR_EL2);
		write_sysreg(0, SYSREG_HDFGWTR_EL2);
	}
}

/* Statistical profiling (FEAT_SPE) and the trace filter (FEAT_TRF) are
 * state EL2 does not switch: trapped and refused where the CPU has them
 * (the bits are RES0 without). The profiling buffer stays EL2's (E2PB 0). */
static uint64_t profiling_and_trace_traps(void)
{
	uint64_t dfr0 = read_sysreg(id_aa64dfr0_el1);
	uint64_t traps = 0;

	if (FIELD_GET(dfr0, ID_AA64DFR0_PMSVER_SHIFT, ID_FIELD_WIDTH))
		traps |= MDCR_EL2_TPMS;
	if (FIELD_GET(dfr0, ID_AA64DFR0_TRACEFILT_SHIFT, ID_FIELD_WIDTH))
		traps |= MDCR_EL2_TTRF;
	return traps;
}

void arch_el2_traps_init(void)
{
	ras_present = FIELD_GET(read_sysreg(id_aa64pfr0_el1),
				ID_AA64PFR0_RAS_SHIFT, 4) != 0;
	/* The PMU is virtual, one per guest (el2/pmu.h): every event counter
	 * is EL1's (HPMN = PMCR_EL0.N), a guest's accesses trap until it owns
	 * the PMU and stay trapped unless its manifest says pmu = "system",
	 * EL2 is hidden from guests' counters. The self-hosted debug
	 * registers are trapped (TDA, TDOSA, TDRA) and read as zero to
	 * guests (el2/debug_regs.c). */
	arch_pmu_probe(MDCR_EL2_TDA | MDCR_EL2_TDOSA | MDCR_EL2_TDRA |
		       profiling_and_trace_traps());
	arch_el2_cpu_init();
}

void arch_el2_cpu_init(void)
{
	/* Physical IRQ/FIQ/SError go to EL2 from every EL; lower ELs are
	 * AArch64. Stage 2 (VM) is turned on per guest when it is entered. */
	write_sysreg(HCR_RW | HCR_IMO | HCR_FMO | HCR_AMO, hcr_el2);
	/* el2/arch/cptr.h; FP/SIMD untrapped until the first guest is
	 * loaded (the arm64 libfdt reads the host DTB and the manifest). */
	write_sysreg(EL2_CPTR_TRAPS, cptr_el2);
	/* Guests may read the physical counter but not use the EL1 physical
	 * timer, which EL2 does not switch. */
	write_sysreg(CNTHCTL_EL1PCTEN, cnthctl_el2);
	write_sysreg(0, cntvoff_el2);
	/* MDCR_EL2 as arch_pmu_probe chose, the counters stopped and clear. */
	arch_pmu_cpu_init();
	/* The debug registers are never switched, so MDSCR_EL1, UNKNOWN at
	 * reset, is cleared once here. */
	write_sysreg(0, mdscr_el1);
	feature_regs_init();
	if (ras_present)
		write_sysreg(0, SYSREG_DISR_EL1);   /* UNKNOWN at reset */
	/* The EL1&0 TLB holds what firmware or an earlier boot left; a guest
	 * must never hit such an entry under its VMID (the architecture
	 * does not clear TLBs at reset). Local: each CPU does its own. */
	dsb(ish);
	__asm__ volatile("tlbi alle1" : : : "memory");
	dsb(ish);
	isb();
}

/* arch_zero_frames: el2/arch/frame_scrub.S. */
