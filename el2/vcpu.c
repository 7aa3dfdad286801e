/* vCPU reset state (portable): what a guest sees on its first instruction. */
#include <arch/sysreg.h>
#include <el2/s2.h>
#include <el2/vcpu.h>
#include <string.h>

/* Traps every guest runs with: stage 2 on, physical interrupts to EL2, SMC
 * and WFI trapped, set/way and implementation-defined ops trapped, the
 * LORegion and RAS error-record registers trapped (state EL2 does not
 * switch: undefined to guests), broadcast TLB maintenance inner-shareable
 * (ready for several CPUs). Where the CPU has FEAT_S2FWB, HCR_EL2.FWB too:
 * stage 2 then forces guest RAM Write-Back (el2/s2.h, s2_forced_wb). */
#define VCPU_HCR                                                             \
	(HCR_VM | HCR_SWIO | HCR_FMO | HCR_IMO | HCR_AMO | HCR_FB |          \
	 HCR_BSU_INNER | HCR_TWI | HCR_TSC | HCR_TIDCP | HCR_TACR | HCR_TSW | \
	 HCR_TLOR | HCR_TERR | HCR_RW)

void vcpu_reset(struct vcpu *v, uint64_t pc, uint64_t arg, uint64_t vttbr)
{
	/* What outlives a restart: its VM (with the CPU time it used: the
	 * manifest's limit is for the guest's life), its place in the run
	 * queue (and the CPU whose queue it is), its index and MPIDR, and
	 * the calls it made (counted from boot). */
	struct vm *vm = v->vm;
	unsigned slot = v->slot, cpu = v->cpu, index = v->index;
	uint64_t vmpidr = v->vmpidr, hypercalls = v->hypercalls;

	memset(v, 0, sizeof(*v));
	v->hypercalls = hypercalls;
	v->vm = vm;
	v->slot = slot;
	v->cpu = cpu;
	v->index = index;
	v->vmpidr = vmpidr;
	v->x[0] = arg;
	v->elr = pc;
	v->spsr = SPSR_M_EL1H | SPSR_D | SPSR_A | SPSR_I | SPSR_F;
	v->el1.SCTLR_EL1 = SCTLR_EL1_RES1;
	v->hcr = VCPU_HCR | (s2_forced_wb() ? HCR_FWB : 0);
	v->vttbr = vttbr;
	v->state = VCPU_RUNNABLE;
}

uint64_t vcpu_mpidr(unsigned index, unsigned nr)
{
	return MPIDR_RES1 | (nr == 1 ? MPIDR_UNIPROCESSOR : index);
}
