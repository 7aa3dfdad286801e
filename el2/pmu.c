/*
 * The virtual PMU's decisions (pmu.h): which register a trapped access
 * names, what a guest may write, who owns the CPU's PMU, and the traps
 * each guest runs with.
 */
#include <arch/esr.h>
#include <el2/pmu.h>
#include <el2/pmu_owner.h>
#include <el2/vm.h>


/* MRS/MSR encodings (Op0 is 3 for all of them). */
#define PMU_OP0 3
#define PMU_OP1_EL0 3               /* the _EL0 registers */
#define PMU_OP1_EL1 0               /* PMINTENSET/CLR_EL1, PMMIR_EL1 */
#define PMU_CRN_CONTROL 9           /* PMCR ... PMOVSSET */
#define PMU_CRN_EVENT 14            /* PMEVCNTR<n>, PMEVTYPER<n> */
#define PMU_CRM_EVCNTR 8            /* CRm 8-11: PMEVCNTR<n>, 12-15: TYPER */
#define PMU_CRM_EVTYPER 12
#define PMU_CRM_BANK 4              /* CRm values per bank */
#define PMU_OP2_PER_CRM 8

/* The writable bits of what a guest writes. PMCR_EL0: E, P, C, D, X, DP,
 * LC (N, IMP, IDCODE are read-only; LP, FZO and the rest not offered). */
#define PMCR_WRITABLE 0x7fu
#define PMSELR_SEL_MASK 0x1fu
#define PMUSERENR_WRITABLE 0xfu     /* EN, SW, CR, ER */


static const enum pmu_reg control_regs[3][PMU_OP2_PER_CRM] = {
	/* CRm 12 */
	{ PMU_PMCR, PMU_PMCNTENSET, PMU_PMCNTENCLR, PMU_PMOVSCLR,
	  PMU_PMSWINC, PMU_PMSELR, PMU_PMCEID0, PMU_PMCEID1 },
	/* CRm 13 */
	{ PMU_PMCCNTR, PMU_PMXEVTYPER, PMU_PMXEVCNTR },
	/* CRm 14, Op1 3 */
	{ PMU_PMUSERENR, PMU_NONE, PMU_NONE, PMU_PMOVSSET },
};

static const enum pmu_reg el1_regs[PMU_OP2_PER_CRM] = {
	/* CRm 14, Op1 0 */
	[1] = PMU_PMINTENSET, [2] = PMU_PMINTENCLR, [6] = PMU_PMMIR,
};

struct pmu_access pmu_decode(uint64_t iss)
{
	unsigned op1 = (unsigned)ESR_SYSREG_OP1(iss);
	unsigned crn = (unsigned)ESR_SYSREG_CRN(iss);
	unsigned crm = (unsigned)ESR_SYSREG_CRM(iss);
	unsigned op2 = (unsigned)ESR_SYSREG_OP2(iss);
	struct pmu_access a = { PMU_NONE, 0 };

	if (ESR_SYSREG_OP0(iss) != PMU_OP0)
		return a;
	if (crn == PMU_CRN_CONTROL && op1 == PMU_OP1_EL0 && crm >= 12 &&
	    crm <= 14)
		a.reg = control_regs[crm - 12][op2];
	else if (crn == PMU_CRN_CONTROL && op1 == PMU_OP1_EL1 && crm == 14)
		a.reg = el1_regs[op2];
	else if (crn == PMU_CRN_EVENT && op1 == PMU_OP1_EL0 &&
		 crm >= PMU_CRM_EVCNTR) {
		a.n = (crm % PMU_CRM_BANK) * PMU_OP2_PER_CRM + op2;
		a.reg = crm < PMU_CRM_EVTYPER ? PMU_PMEVCNTR : PMU_PMEVTYPER;
		if (a.n == PMU_CYCLE_INDEX) /* PMEVTYPER<31> is PMCCFILTR */
			a = (struct pmu_access){
				a.reg == PMU_PMEVTYPER ? PMU_PMCCFILTR
						       : PMU_NONE, 0 };
	}
	return a;
}

struct pmu_access pmu_indirect(enum pmu_reg reg, uint64_t sel,
			       unsigned counters)
{
	sel &= PMSELR_SEL_MASK;
	if (sel == PMU_CYCLE_INDEX)
		return (struct pmu_access){
			reg == PMU_PMXEVTYPER ? PMU_PMCCFILTR : PMU_NONE, 0 };
	if (sel >= counters)
		return (struct pmu_access){ PMU_NONE, 0 };
	return (struct pmu_access){
		reg == PMU_PMXEVTYPER ? PMU_PMEVTYPER : PMU_PMEVCNTR,
		(unsigned)sel };
}

uint64_t pmu_write_value(enum pmu_reg reg, uint64_t value, bool system)
{
	switch (reg) {
	case PMU_PMCR:
		return value & PMCR_WRITABLE;
	case PMU_PMSELR:
		return value & PMSELR_SEL_MASK;
	case PMU_PMUSERENR:
		return value & PMUSERENR_WRITABLE;
	case PMU_PMEVTYPER:
	case PMU_PMCCFILTR:
		return system ? value : value & ~PMU_FILTER_NSH;
	default:
		return value;
	}
}

static bool read_only(enum pmu_reg reg)
{
	return reg == PMU_PMCEID0 || reg == PMU_PMCEID1 || reg == PMU_PMMIR;
}

/* A counter number the guest has (PMCR_EL0.N of them). */
static bool counter_exists(struct pmu_access a, unsigned counters)
{
	if (a.reg == PMU_NONE)
		return false;
	return (a.reg != PMU_PMEVCNTR && a.reg != PMU_PMEVTYPER) ||
	       a.n < counters;
}

uint64_t pmu_all_counters(unsigned counters)
{
	return PMCNTEN_C | (BIT(counters) - 1);
}

void pmu_claim(struct vcpu *v)
{
	struct vcpu *owner = pmu_owner();

	if (pmu_owns(v))
		return;
	/* An owner started again since (vCPU reset) has nothing to keep. */
	if (owner && owner->pmu.loaded) {
		arch_pmu_state_save(&owner->pmu);
		owner->pmu.loaded = false;
	}
	arch_pmu_state_load(&v->pmu);
	v->pmu.loaded = true;
	this_cpu()->pmu_owner = v;
	arch_pmu_traps(pmu_traps(v));
}

bool pmu_emulate(struct vcpu *v, uint64_t esr)
{
	uint64_t iss = ESR_ISS(esr);
	bool read = iss & ESR_SYSREG_READ;
	unsigned rt = (unsigned)ESR_SYSREG_RT(iss);
	unsigned counters = arch_pmu_counters();
	struct pmu_access a = pmu_decode(iss);

	if (ESR_EC(esr) != ESR_EC_SYSREG || !arch_pmu_present() ||
	    !counter_exists(a, counters))
		return false;
	if (read ? a.reg == PMU_PMSWINC : read_only(a.reg))
		return false;
	pmu_claim(v);
	if (a.reg == PMU_PMXEVTYPER || a.reg == PMU_PMXEVCNTR) {
		a = pmu_indirect(a.reg, arch_pmu_read(PMU_PMSELR, 0), counters);
		if (a.reg == PMU_NONE)
			return false;
	}
	if (!read)
		arch_pmu_write(a.reg, a.n,
			       pmu_write_value(a.reg, vcpu_msr_value(v, rt),
					       pmu_system(v)));
	else if (rt != ESR_SYSREG_RT_XZR)
		v->x[rt] = arch_pmu_read(a.reg, a.n);
	v->elr += A64_INSN_SIZE;
	return true;
}
