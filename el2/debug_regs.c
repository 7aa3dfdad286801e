/*
 * Debug registers as guests see them: read-as-zero, writes ignored
 * (debug_regs.h).
 */
#include <arch/esr.h>
#include <el2/debug_regs.h>

#define INSN_SIZE 4
#define XZR 31	/* Rt == 31 names XZR in MSR/MRS */

bool debug_regs_emulate(struct vcpu *v, uint64_t esr)
{
	uint64_t iss = ESR_ISS(esr);
	unsigned rt = (unsigned)ESR_SYSREG_RT(iss);

	if (ESR_EC(esr) != ESR_EC_SYSREG ||
	    ESR_SYSREG_OP0(iss) != SYSREG_OP0_DEBUG)
		return false;
	if ((iss & ESR_SYSREG_READ) && rt != XZR)
		v->x[rt] = 0;
	v->elr += INSN_SIZE;
	return true;
}
