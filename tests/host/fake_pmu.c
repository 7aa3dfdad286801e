/*
 * The fake PMU (fake_pmu.h): el2/pmu.h's arch_pmu_* calls on a register
 * file.
 */
#include "fake_pmu.h"

#include <string.h>

struct fake_pmu fake_pmu;

void fake_pmu_reset(unsigned counters)
{
	memset(&fake_pmu, 0, sizeof(fake_pmu));
	fake_pmu.present = true;
	fake_pmu.counters = counters;
}

unsigned arch_pmu_counters(void)
{
	return fake_pmu.counters;
}

bool arch_pmu_present(void)
{
	return fake_pmu.present;
}

static uint64_t *reg_of(enum pmu_reg reg, unsigned n)
{
	struct vcpu_pmu *r = &fake_pmu.regs;

	switch (reg) {
	case PMU_PMCR: return &r->pmcr;
	case PMU_PMCNTENSET:
	case PMU_PMCNTENCLR: return &r->cnten;
	case PMU_PMOVSSET:
	case PMU_PMOVSCLR: return &r->ovs;
	case PMU_PMINTENSET:
	case PMU_PMINTENCLR: return &r->inten;
	case PMU_PMSELR: return &r->selr;
	case PMU_PMCCNTR: return &r->ccntr;
	case PMU_PMCCFILTR: return &r->ccfiltr;
	case PMU_PMUSERENR: return &r->userenr;
	case PMU_PMEVCNTR: return &r->evcntr[n];
	case PMU_PMEVTYPER: return &r->evtyper[n];
	case PMU_PMCEID0: return &fake_pmu.ceid0;
	case PMU_PMCEID1: return &fake_pmu.ceid1;
	case PMU_PMMIR: return &fake_pmu.mmir;
	case PMU_PMSWINC: return &fake_pmu.swinc;
	default: return NULL;
	}
}

uint64_t arch_pmu_read(enum pmu_reg reg, unsigned n)
{
	uint64_t *p = reg_of(reg, n);

	return p ? *p : 0;
}

void arch_pmu_write(enum pmu_reg reg, unsigned n, uint64_t value)
{
	uint64_t *p = reg_of(reg, n);

	if (!p)
		return;
	if (reg == PMU_PMCNTENCLR || reg == PMU_PMOVSCLR ||
	    reg == PMU_PMINTENCLR)
		*p &= ~value;
	else if (reg == PMU_PMCNTENSET || reg == PMU_PMOVSSET ||
		 reg == PMU_PMINTENSET)
		*p |= value;
	else
		*p = value;
}

void arch_pmu_state_save(struct vcpu_pmu *p)
{
	uint64_t cnten = p->cnten, userenr = p->userenr;
	bool loaded = p->loaded;

	/* As el2/arch/pmu_regs.c: the enables and PMUSERENR_EL0 were saved
	 * when the owner left the CPU. */
	*p = fake_pmu.regs;
	p->cnten = cnten;
	p->userenr = userenr;
	p->loaded = loaded;
	fake_pmu.regs.cnten = 0;
	fake_pmu.saves++;
}

void arch_pmu_state_load(const struct vcpu_pmu *p)
{
	fake_pmu.regs = *p;
	fake_pmu.loads++;
}

void arch_pmu_traps(unsigned traps)
{
	fake_pmu.traps = traps;
}
