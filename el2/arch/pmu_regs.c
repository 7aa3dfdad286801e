/*
 * AArch64 side of the virtual PMU (el2/pmu.h): MDCR_EL2, the PMU
 * registers, the owner's state in and out of the CPU, and the two steps
 * on the guest switch path.
 *
 * Owns: every PMU register access EL2 makes and MDCR_EL2. Never: decides
 * who owns the PMU or what a guest may write (el2/pmu.c).
 */
#include <arch/sysreg.h>
#include <el2/arch.h>
#include <el2/pmu.h>
#include <el2/pmu_owner.h>
#include <el2/vcpu.h>

/* ID_AA64DFR0_EL1.PMUVer: 0 none, 1 PMUv3, 4 PMUv3p1 (HPMD) and later,
 * 0xf an IMPLEMENTATION DEFINED PMU exo does not use. */
#define PMUVER_NONE 0
#define PMUVER_V3P1 4
#define PMUVER_IMPDEF 0xf

/* MDCR_EL2 for each combination of PMU_TRAP_ACCESS and PMU_HIDE_EL2. */
#define PMU_TRAP_COMBINATIONS 4
static uint64_t mdcr_for[PMU_TRAP_COMBINATIONS];
static unsigned counters;           /* PMCR_EL0.N */
static bool present, has_hpmd;
static uint64_t all_counters;       /* PMCNTEN bits of the counters */

unsigned arch_pmu_counters(void)
{
	return counters;
}

bool arch_pmu_present(void)
{
	return present;
}

void arch_pmu_traps(unsigned traps)
{
	write_sysreg(mdcr_for[traps], mdcr_el2);  /* in effect at the ERET */
}

/* Counter n through PMSELR_EL0 (the register number is part of the
 * instruction otherwise); the guest's selection is put back by the
 * caller. */
static void select_counter(unsigned n)
{
	write_sysreg(n, pmselr_el0);
	isb();
}

static uint64_t read_indexed(enum pmu_reg reg, unsigned n)
{
	uint64_t sel = read_sysreg(pmselr_el0), v;

	select_counter(n);
	v = reg == PMU_PMEVCNTR ? read_sysreg(pmxevcntr_el0)
				: read_sysreg(pmxevtyper_el0);
	write_sysreg(sel, pmselr_el0);
	return v;
}

static void write_indexed(enum pmu_reg reg, unsigned n, uint64_t value)
{
	uint64_t sel = read_sysreg(pmselr_el0);

	select_counter(n);
	if (reg == PMU_PMEVCNTR)
		write_sysreg(value, pmxevcntr_el0);
	else
		write_sysreg(value, pmxevtyper_el0);
	write_sysreg(sel, pmselr_el0);
}

uint64_t arch_pmu_read(enum pmu_reg reg, unsigned n)
{
	switch (reg) {
	case PMU_PMCR: return read_sysreg(pmcr_el0);
	case PMU_PMCNTENSET:
	case PMU_PMCNTENCLR: return read_sysreg(pmcntenset_el0);
	case PMU_PMOVSCLR:
	case PMU_PMOVSSET: return read_sysreg(pmovsset_el0);
	case PMU_PMSELR: return read_sysreg(pmselr_el0);
	case PMU_PMCEID0: return read_sysreg(pmceid0_el0);
	case PMU_PMCEID1: return read_sysreg(pmceid1_el0);
	case PMU_PMCCNTR: return read_sysreg(pmccntr_el0);
	case PMU_PMUSERENR: return read_sysreg(pmuserenr_el0);
	case PMU_PMINTENSET:
	case PMU_PMINTENCLR: return read_sysreg(pmintenset_el1);
	case PMU_PMMIR: return read_sysreg(SYSREG_PMMIR_EL1);
	case PMU_PMCCFILTR: return read_sysreg(pmccfiltr_el0);
	case PMU_PMEVCNTR:
	case PMU_PMEVTYPER: return read_indexed(reg, n);
	default: return 0;  /* write-only or indirect: pmu_emulate's */
	}
}

void arch_pmu_write(enum pmu_reg reg, unsigned n, uint64_t value)
{
	switch (reg) {
	case PMU_PMCR: write_sysreg(value, pmcr_el0); break;
	case PMU_PMCNTENSET: write_sysreg(value, pmcntenset_el0); break;
	case PMU_PMCNTENCLR: write_sysreg(value, pmcntenclr_el0); break;
	case PMU_PMOVSCLR: write_sysreg(value, pmovsclr_el0); break;
	case PMU_PMOVSSET: write_sysreg(value, pmovsset_el0); break;
	case PMU_PMSWINC: write_sysreg(value, pmswinc_el0); break;
	case PMU_PMSELR: write_sysreg(value, pmselr_el0); break;
	case PMU_PMCCNTR: write_sysreg(value, pmccntr_el0); break;
	case PMU_PMUSERENR: write_sysreg(value, pmuserenr_el0); break;
	case PMU_PMINTENSET: write_sysreg(value, pmintenset_el1); break;
	case PMU_PMINTENCLR: write_sysreg(value, pmintenclr_el1); break;
	case PMU_PMCCFILTR: write_sysreg(value, pmccfiltr_el0); break;
	case PMU_PMEVCNTR:
	case PMU_PMEVTYPER: write_indexed(reg, n, value); break;
	default: break;     /* read-only: pmu_emulate refuses the write */
	}
	isb();
}

void arch_pmu_state_save(struct vcpu_pmu *p)
{
	write_sysreg(all_counters, pmcntenclr_el0);
	isb();
	p->pmcr = read_sysreg(pmcr_el0);
	p->inten = read_sysreg(pmintenset_el1);
	p->ovs = read_sysreg(pmovsset_el0);
	p->selr = read_sysreg(pmselr_el0);
	p->ccntr = read_sysreg(pmccntr_el0);
	p->ccfiltr = read_sysreg(pmccfiltr_el0);
	/* Not PMUSERENR_EL0 (nor the enables): the owner's were saved when it
	 * left the CPU (arch_pmu_save), and the register now holds the
	 * claiming guest's (found by the differential test, vcpudiff). */
	for (unsigned n = 0; n < counters; n++) {
		select_counter(n);
		p->evcntr[n] = read_sysreg(pmxevcntr_el0);
		p->evtyper[n] = read_sysreg(pmxevtyper_el0);
	}
}

void arch_pmu_state_load(const struct vcpu_pmu *p)
{
	write_sysreg(all_counters, pmcntenclr_el0);
	/* The saved PMCR_EL0 without its reset bits (P, C read as 0). */
	write_sysreg(pmu_write_value(PMU_PMCR, p->pmcr, true) &
		     ~(PMCR_P | PMCR_C), pmcr_el0);
	for (unsigned n = 0; n < counters; n++) {
		select_counter(n);
		write_sysreg(p->evcntr[n], pmxevcntr_el0);
		write_sysreg(p->evtyper[n], pmxevtyper_el0);
	}
	write_sysreg(p->selr, pmselr_el0);
	write_sysreg(p->ccntr, pmccntr_el0);
	write_sysreg(p->ccfiltr, pmccfiltr_el0);
	write_sysreg(all_counters, pmovsclr_el0);
	write_sysreg(p->ovs & all_counters, pmovsset_el0);
	write_sysreg(all_counters, pmintenclr_el1);
	write_sysreg(p->inten & all_counters, pmintenset_el1);
	write_sysreg(p->userenr, pmuserenr_el0);
	write_sysreg(p->cnten & all_counters, pmcntenset_el0);
	isb();
}

/* Switch path, last step of arch_vcpu_save: the owner leaving the CPU
 * keeps its enables and EL0 access; its counters stop unless it counts
 * the whole system. Nothing for any other guest. */
void arch_pmu_save(struct vcpu *v)
{
	if (!pmu_owns(v))
		return;
	v->pmu.cnten = read_sysreg(pmcntenset_el0);
	v->pmu.userenr = read_sysreg(pmuserenr_el0);
	if (!pmu_system(v))
		write_sysreg(all_counters, pmcntenclr_el0);
}

/* Switch path, before arch_vcpu_load's isb. A guest whose counters are
 * counting takes the PMU back now (they must count all it runs; the one
 * place v is written, hence the cast: vCPUs are never const objects). The
 * owner's counters run again. Every other guest gets its own traps and
 * PMUSERENR_EL0 (which decides whether its EL0 traps to its EL1 before
 * MDCR_EL2 is looked at). */
void arch_pmu_load(const struct vcpu *v)
{
	if (pmu_owns(v)) {
		arch_pmu_traps(pmu_owner_traps(v));
		write_sysreg(v->pmu.userenr, pmuserenr_el0);
		if (!pmu_system(v))
			write_sysreg(v->pmu.cnten, pmcntenset_el0);
		return;
	}
	if (!present) {
		arch_pmu_traps(pmu_other_traps());
		return;
	}
	if (pmu_claims_on_entry(v)) {
		pmu_claim((struct vcpu *)v);
		return;
	}
	arch_pmu_traps(pmu_other_traps());
	write_sysreg(v->pmu.userenr, pmuserenr_el0);
}

/* What the PMU has, and MDCR_EL2 for each trap combination: read once, at
 * boot (every CPU has the same: el2/cpus.c checks PMCR_EL0.N). Every event
 * counter is the guests' (HPMN = PMCR_EL0.N). */
void arch_pmu_probe(uint64_t mdcr_other)
{
	uint64_t pmuver = FIELD_GET(read_sysreg(id_aa64dfr0_el1),
				    ID_AA64DFR0_PMUVER_SHIFT, 4);

	present = pmuver != PMUVER_NONE && pmuver != PMUVER_IMPDEF;
	has_hpmd = present && pmuver >= PMUVER_V3P1;
	counters = present ? (unsigned)PMCR_N(read_sysreg(pmcr_el0)) : 0;
	for (unsigned t = 0; t < PMU_TRAP_COMBINATIONS; t++) {
		mdcr_for[t] = mdcr_other | (counters & MDCR_EL2_HPMN_MASK);
		if (t & PMU_TRAP_ACCESS)
			mdcr_for[t] |= MDCR_EL2_TPM | MDCR_EL2_TPMCR;
		if ((t & PMU_HIDE_EL2) && has_hpmd)
			mdcr_for[t] |= MDCR_EL2_HPMD;
	}
	all_counters = present ? pmu_all_counters(counters) : 0;
}

/* PMU state is UNKNOWN at reset: EL2 stops and clears what a guest could
 * see before it owns the PMU (a claim loads the rest), on each CPU. */
void arch_pmu_cpu_init(void)
{
	arch_pmu_traps(PMU_TRAP_ACCESS | PMU_HIDE_EL2);
	isb();
	if (!present)
		return;
	write_sysreg(all_counters, pmcntenclr_el0);
	write_sysreg(all_counters, pmintenclr_el1);
	write_sysreg(all_counters, pmovsclr_el0);
	write_sysreg(0, pmuserenr_el0);
	isb();
}
