/*
 * FEAT_S2FWB on this CPU (el2/arch.h, arch_s2fwb_present): whether stage 2
 * can force guest RAM Write-Back (docs/stage2.md, "Memory attributes").
 * Owns the detection only. Never: chooses stage-2 attributes (el2/s2.c)
 * or the guests' HCR_EL2 (el2/vcpu.c).
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
