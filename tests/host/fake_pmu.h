/*
 * Host replacement for el2/arch/pmu_regs.c: a PMU as a register file, so tests
 * see what el2/pmu.c did to it (which state was saved and loaded, the
 * traps last asked for, every register a guest reached).
 */
#ifndef EXO_TESTS_FAKE_PMU_H
#define EXO_TESTS_FAKE_PMU_H

#include <el2/pmu.h>
#include <stdbool.h>
#include <stdint.h>

struct fake_pmu {
	bool present;
	unsigned counters;          /* PMCR_EL0.N */
	struct vcpu_pmu regs;       /* the CPU's PMU (loaded is unused) */
	uint64_t ceid0, ceid1, mmir;
	uint64_t swinc;             /* last PMSWINC write */
	unsigned traps;             /* last arch_pmu_traps */
	unsigned saves, loads;      /* arch_pmu_state_save / _load calls */
};

extern struct fake_pmu fake_pmu;

/* A present PMU of `counters` event counters, all zero, no calls yet. */
void fake_pmu_reset(unsigned counters);

#endif
