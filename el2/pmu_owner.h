/*
 * Who owns the CPU's PMU (el2/pmu.h), asked on every guest switch: inline,
 * for el2/pmu.c and el2/arch/pmu_regs.c.
 *
 * Owns: the ownership tests and the traps a guest runs with. Never:
 * changes the owner (pmu_claim does).
 */
#ifndef EXO_EL2_PMU_OWNER_H
#define EXO_EL2_PMU_OWNER_H

#include <arch/sysreg.h>
#include <el2/percpu.h>
#include <el2/pmu.h>
#include <el2/vm.h>

/* The vCPU whose state this CPU's PMU holds (each CPU has its own PMU,
 * struct percpu); it owns it while its pmu.loaded holds (a vCPU reset
 * clears it). */
static inline struct vcpu *pmu_owner(void)
{
	return this_cpu()->pmu_owner;
}

/* The manifest gave v's guest `pmu = "system"`. */
static inline bool pmu_system(const struct vcpu *v)
{
	return v->vm->config.pmu_system;
}

/* Whether the CPU's PMU holds v's state. */
static inline bool pmu_owns(const struct vcpu *v)
{
	return v == pmu_owner() && v->pmu.loaded;
}

/* The owner counts the whole system: its counters run while others do. */
static inline bool pmu_system_counting(void)
{
	const struct vcpu *owner = pmu_owner();

	return owner && owner->pmu.loaded && pmu_system(owner);
}

/* The traps of the owner: none for the system guest, else all, EL2
 * hidden. */
static inline unsigned pmu_owner_traps(const struct vcpu *owner)
{
	return pmu_system(owner) ? 0 : PMU_TRAP_ACCESS | PMU_HIDE_EL2;
}

/* The traps of a guest that does not own the PMU: all; EL2 hidden unless
 * the owner counts the whole system (EL2 included) while it runs. */
static inline unsigned pmu_other_traps(void)
{
	return PMU_TRAP_ACCESS | (pmu_system_counting() ? 0 : PMU_HIDE_EL2);
}

/* PMU_TRAP_ACCESS / PMU_HIDE_EL2 for v about to run. */
static inline unsigned pmu_traps(const struct vcpu *v)
{
	return pmu_owns(v) ? pmu_owner_traps(v) : pmu_other_traps();
}

/* v about to run has counters counting (PMCR_EL0.E and an enable; the
 * saved enables hold only counters the CPU has) but does not own the
 * PMU: it must claim it now, or they would miss what it runs. */
static inline bool pmu_claims_on_entry(const struct vcpu *v)
{
	return !pmu_owns(v) && (v->pmu.pmcr & PMCR_E) && v->pmu.cnten;
}

#endif
