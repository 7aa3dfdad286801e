/*
 * Debug registers as guests see them: read-as-zero, writes ignored
 * (debug_regs.h).
 */
#include <arch/esr.h>
#include <el2/debug_regs.h>


bool debug_regs_emulate(struct vcpu *v, uint64_t esr)
{
	uint64_t iss = ESR_ISS(esr);
	unsigned rt = (unsigned)ESR_SYSREG_RT(iss);

	if (ESR_EC(esr) != ESR_EC_SYSREG ||
	    ESR_SYSREG_OP0(iss) != SYSREG_OP0_DEBUG)
		return false;
	if ((iss & ESR_SYSREG_READ) && rt != ESR_SYSREG_RT_XZR)
		v->x[rt] = 0;
	v->elr += A64_INSN_SIZE;
	return true;
}
