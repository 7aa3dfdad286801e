/*
 * FEAT_S2FWB on this CPU (el2/arch.h, arch_s2fwb_present): whether stage 2
 * can force guest RAM Write-Back (docs/stage2.md, "Memory attributes"); and
 * the debug EL2's question to the MMU of what memory type a loaded guest
 * gets (arch_s12_read_par). Owns the detection and the probe only. Never:
 * chooses stage-2 attributes (el2/s2.c) or the guests' HCR_EL2
 * (el2/vcpu.c).
 */
#include <arch/sysreg.h>
#include <el2/arch.h>

/* The ID field says so, and HCR_EL2.FWB holds a 1 written to it (a bit
 * that is RES0 would read back 0). Stage 2 is off while EL2 boots, so
 * setting the bit for a moment changes no translation. */
bool arch_s2fwb_present(void)
{
	uint64_t hcr = read_sysreg(hcr_el2);
	bool sticks;

	if (!FIELD_GET(read_sysreg(SYSREG_ID_AA64MMFR2_EL1),
		       ID_AA64MMFR2_FWB_SHIFT, 4))
		return false;
	write_sysreg(hcr | HCR_FWB, hcr_el2);
	isb();
	sticks = read_sysreg(hcr_el2) & HCR_FWB;
	write_sysreg(hcr, hcr_el2);
	isb();
	return sticks;
}

/* AT S12E1R runs the loaded guest's stage 1 (its SCTLR_EL1, TTBRs) and
 * stage 2 (VTTBR_EL2, HCR_EL2.FWB) as one of its reads would; PAR_EL1
 * holds the result, the guest's own value put back. */
uint64_t arch_s12_read_par(uint64_t ipa)
{
	uint64_t saved = read_sysreg(par_el1), par;

	__asm__ volatile("at s12e1r, %0" : : "r"(ipa) : "memory");
	isb();
	par = read_sysreg(par_el1);
	write_sysreg(saved, par_el1);
	isb();
	return par;
}
