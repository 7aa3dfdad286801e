/*
 * A virtual PMU per guest (issue 14): each guest counts only itself.
 *
 * The CPU's PMU holds one guest's state at a time, its owner's. Every
 * other guest runs with MDCR_EL2.TPM/TPMCR set: its first PMU access traps,
 * EL2 saves the owner's state into the owner's vCPU, loads the new guest's
 * and makes it the owner (pmu_claim). A guest whose counters count
 * (PMCR_EL0.E and an enable set) claims the PMU again when it is switched
 * in, so they count all it runs. A guest that never touches the PMU, or
 * has its counters off, costs the guest switch no PMU state; an owner
 * switched out has its counters stopped (arch_pmu_save) and started again
 * when it runs (arch_pmu_load).
 *
 * EL2 is never counted for a guest: a guest's accesses stay trapped while
 * it owns the PMU, and EL2 clears the NSH bit (count at EL2) of every event
 * type and cycle filter a guest writes. MDCR_EL2.HPMD (PMUv3p1 and later)
 * is set as well, but alone it does not stop the cycle counter (only with
 * PMCR_EL0.DP, which the guest writes, or HCCD of PMUv3p5), and
 * cortex-a72 (PMUv3) has no HPMD: the filter is what holds on every CPU.
 *
 * A guest whose manifest says `pmu = "system"` gets the PMU untrapped once
 * it owns it, NSH honoured, HPMD clear, and its counters run on while
 * other guests run: it counts EL2 and the whole system (the bench guest,
 * docs/performance.md). It is a privilege: such a guest sees other
 * guests' instruction counts (docs/security.md).
 *
 * Overflow interrupts are never delivered: EL2 never enables the PMU's
 * PPI at the GIC, so a guest's PMINTENSET reaches neither EL2 nor another
 * guest; PMOVS flags and PMINTEN are switched with the rest.
 *
 * Owns: decoding a trapped PMU access, what a guest may write, who owns
 * the PMU and which traps each guest runs with. Never: touches the PMU
 * registers (el2/arch/pmu_regs.c does, through the calls below).
 */
#ifndef EXO_EL2_PMU_H
#define EXO_EL2_PMU_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

#define PMU_MAX_EVENT_COUNTERS 31   /* PMCR_EL0.N is at most 31 */
#define PMU_CYCLE_INDEX 31          /* PMSELR.SEL / PMEVTYPER<31>: cycles */

/* A guest's PMU while another guest owns the CPU's (and the registers
 * the switch reads on every switch from or to the owner). */
struct vcpu_pmu {
	uint64_t pmcr, cnten, inten, ovs, selr, ccntr, ccfiltr, userenr;
	uint64_t evcntr[PMU_MAX_EVENT_COUNTERS];
	uint64_t evtyper[PMU_MAX_EVENT_COUNTERS];
	bool loaded;                /* its state is in the CPU's PMU: it owns it
				     * (cleared with the vCPU at reset, so a
				     * guest started again owns nothing) */
};

/* The PMU registers a guest can name (AArch64, MRS/MSR). */
enum pmu_reg {
	PMU_NONE,                   /* not a PMU register */
	PMU_PMCR, PMU_PMCNTENSET, PMU_PMCNTENCLR, PMU_PMOVSCLR, PMU_PMSWINC,
	PMU_PMSELR, PMU_PMCEID0, PMU_PMCEID1, PMU_PMCCNTR, PMU_PMXEVTYPER,
	PMU_PMXEVCNTR, PMU_PMUSERENR, PMU_PMINTENSET, PMU_PMINTENCLR,
	PMU_PMOVSSET, PMU_PMMIR, PMU_PMEVCNTR, PMU_PMEVTYPER, PMU_PMCCFILTR,
};

struct pmu_access {
	enum pmu_reg reg;
	unsigned n;                 /* PMEVCNTR<n>/PMEVTYPER<n> */
};

/* What a vCPU runs with (arch_pmu_traps turns it into MDCR_EL2). */
#define PMU_TRAP_ACCESS 1u          /* TPM and TPMCR: every access traps */
#define PMU_HIDE_EL2 2u             /* HPMD, where the CPU has it */

/* The register a trapped MSR/MRS (ESR_EL2.ISS, EC 0x18) names. */
struct pmu_access pmu_decode(uint64_t iss);

/* PMXEVTYPER/PMXEVCNTR with PMSELR_EL0.SEL = sel: the register they reach,
 * or PMU_NONE for a counter the guest does not have. */
struct pmu_access pmu_indirect(enum pmu_reg reg, uint64_t sel,
			       unsigned counters);

/* The value EL2 writes for a guest's MSR: the register's writable bits,
 * and for a guest without the system privilege no NSH in a filter. */
uint64_t pmu_write_value(enum pmu_reg reg, uint64_t value, bool system);

/* A trapped MSR/MRS (ESR_EL2 with EC 0x18): true when it named a PMU
 * register the guest has and was emulated on its own PMU state (claimed
 * first), the guest resuming after it; false otherwise (the caller
 * injects an undefined instruction). */
bool pmu_emulate(struct vcpu *v, uint64_t esr);

/* Makes v's PMU state the CPU's, saving the owner's first. */
void pmu_claim(struct vcpu *v);
/* The PMCNTEN/PMOVS/PMINTEN bits of the cycle counter and `counters`
 * event counters. */
uint64_t pmu_all_counters(unsigned counters);
/* Who owns the PMU and the traps each guest runs with: el2/pmu_owner.h
 * (inline: the guest switch asks on every switch). */

/* el2/arch/pmu_regs.c (tests/host/fake_pmu.c on the host). */
unsigned arch_pmu_counters(void);   /* PMCR_EL0.N; 0 and no PMU: none */
bool arch_pmu_present(void);
uint64_t arch_pmu_read(enum pmu_reg reg, unsigned n);
void arch_pmu_write(enum pmu_reg reg, unsigned n, uint64_t value);
/* Everything of the owner's into p (its counters stopped). p->cnten and
 * p->userenr are the ones the switch saved when it left the CPU, and
 * stay. */
void arch_pmu_state_save(struct vcpu_pmu *p);
/* p into the PMU, its counters enabled as p->cnten says. */
void arch_pmu_state_load(const struct vcpu_pmu *p);
/* MDCR_EL2 for the running vCPU: PMU_TRAP_ACCESS / PMU_HIDE_EL2. */
void arch_pmu_traps(unsigned traps);

/* el2/arch/pmu_regs.c only. At boot: what the PMU has, and MDCR_EL2 =
 * mdcr_other (cpu.c's traps) + HPMN + each combination of traps. */
void arch_pmu_probe(uint64_t mdcr_other);
/* On each CPU: MDCR_EL2 with the traps of a guest that owns nothing; the
 * PMU stopped and cleared, no owner. */
void arch_pmu_cpu_init(void);
/* The guest switch: last step of arch_vcpu_save, and before the final ISB
 * of arch_vcpu_load. */
void arch_pmu_save(struct vcpu *v);
void arch_pmu_load(const struct vcpu *v);

#endif
