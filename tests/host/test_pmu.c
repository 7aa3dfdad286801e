/*
 * The virtual PMU's decisions (el2/pmu.c) on the fake PMU
 * (tests/host/fake_pmu.c): decoding trapped accesses, what a guest may
 * write, claiming the PMU from its owner, and the traps each guest runs
 * with.
 */
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <criterion/criterion.h>
#include <el2/pmu.h>
#include <el2/pmu_owner.h>
#include <el2/vm.h>
#include <string.h>

#include "fake_pmu.h"

#define ELR 0x40001000u
#define COUNTERS 6
#define NSH (UINT64_C(1) << 27)

static struct vm vm_a, vm_b;
static struct vcpu *a = &vm_a.vcpu, *b = &vm_b.vcpu;

static void setup(void)
{
	memset(&vm_a, 0, sizeof(vm_a));
	memset(&vm_b, 0, sizeof(vm_b));
	vm_a.vcpu.vm = &vm_a;
	vm_b.vcpu.vm = &vm_b;
	a->elr = b->elr = ELR;
	this_cpu()->pmu_owner = NULL;
	fake_pmu_reset(COUNTERS);
}

TestSuite(pmu, .init = setup);

static uint64_t sysreg_esr(unsigned op1, unsigned crn, unsigned crm,
			   unsigned op2, unsigned rt, bool read)
{
	uint64_t iss = (UINT64_C(3) << 20) | ((uint64_t)op2 << 17) |
		       ((uint64_t)op1 << 14) | ((uint64_t)crn << 10) |
		       ((uint64_t)rt << 5) | ((uint64_t)crm << 1) |
		       (read ? ESR_SYSREG_READ : 0);

	return ((uint64_t)ESR_EC_SYSREG << ESR_EC_SHIFT) | ESR_IL | iss;
}

#define ISS(esr) ESR_ISS(esr)
/* Registers by encoding (Op1, CRn, CRm, Op2). */
#define PMCR(rt, rd) sysreg_esr(3, 9, 12, 0, rt, rd)
#define PMSELR(rt, rd) sysreg_esr(3, 9, 12, 5, rt, rd)
#define PMCEID0(rt, rd) sysreg_esr(3, 9, 12, 6, rt, rd)
#define PMSWINC(rt, rd) sysreg_esr(3, 9, 12, 4, rt, rd)
#define PMXEVTYPER(rt, rd) sysreg_esr(3, 9, 13, 1, rt, rd)
#define PMXEVCNTR(rt, rd) sysreg_esr(3, 9, 13, 2, rt, rd)
#define PMEVCNTR(n, rt, rd) sysreg_esr(3, 14, 8 + (n) / 8, (n) % 8, rt, rd)
#define PMEVTYPER(n, rt, rd) sysreg_esr(3, 14, 12 + (n) / 8, (n) % 8, rt, rd)

Test(pmu, decodes_every_register_class)
{
	struct pmu_access x;

	cr_assert_eq(pmu_decode(ISS(PMCR(0, true))).reg, PMU_PMCR);
	cr_assert_eq(pmu_decode(ISS(sysreg_esr(3, 9, 12, 1, 0, 0))).reg,
		     PMU_PMCNTENSET);
	cr_assert_eq(pmu_decode(ISS(sysreg_esr(3, 9, 13, 0, 0, 0))).reg,
		     PMU_PMCCNTR);
	cr_assert_eq(pmu_decode(ISS(sysreg_esr(3, 9, 14, 0, 0, 0))).reg,
		     PMU_PMUSERENR);
	cr_assert_eq(pmu_decode(ISS(sysreg_esr(3, 9, 14, 3, 0, 0))).reg,
		     PMU_PMOVSSET);
	cr_assert_eq(pmu_decode(ISS(sysreg_esr(0, 9, 14, 1, 0, 0))).reg,
		     PMU_PMINTENSET);
	cr_assert_eq(pmu_decode(ISS(sysreg_esr(0, 9, 14, 2, 0, 0))).reg,
		     PMU_PMINTENCLR);
	x = pmu_decode(ISS(PMEVCNTR(13, 0, true)));
	cr_assert(x.reg == PMU_PMEVCNTR && x.n == 13);
	x = pmu_decode(ISS(PMEVTYPER(30, 0, true)));
	cr_assert(x.reg == PMU_PMEVTYPER && x.n == 30);
	/* PMEVTYPER<31> is PMCCFILTR_EL0; there is no PMEVCNTR<31>. */
	cr_assert_eq(pmu_decode(ISS(PMEVTYPER(31, 0, true))).reg,
		     PMU_PMCCFILTR);
	cr_assert_eq(pmu_decode(ISS(PMEVCNTR(31, 0, true))).reg, PMU_NONE);
	/* Not the PMU: SCTLR_EL1, a debug register, a hole in CRm 14. */
	cr_assert_eq(pmu_decode(ISS(sysreg_esr(0, 1, 0, 0, 0, 0))).reg,
		     PMU_NONE);
	cr_assert_eq(pmu_decode(ISS(sysreg_esr(3, 9, 14, 1, 0, 0))).reg,
		     PMU_NONE);
	cr_assert_eq(pmu_decode(ISS(PMCR(0, true)) & ~(UINT64_C(1) << 20))
			     .reg, PMU_NONE);   /* Op0 2 */
}

Test(pmu, a_guest_never_writes_nsh_the_system_guest_does)
{
	uint64_t filter = NSH | (UINT64_C(1) << 30) | 0x08;

	cr_assert_eq(pmu_write_value(PMU_PMEVTYPER, filter, false),
		     filter & ~NSH);
	cr_assert_eq(pmu_write_value(PMU_PMCCFILTR, filter, false),
		     filter & ~NSH);
	cr_assert_eq(pmu_write_value(PMU_PMEVTYPER, filter, true), filter);
	/* PMCR_EL0: N, IMP and the rest are not the guest's to write. */
	cr_assert_eq(pmu_write_value(PMU_PMCR, 0xffffffffu, false), 0x7fu);
	cr_assert_eq(pmu_write_value(PMU_PMSELR, 0xffu, false), 0x1fu);
}

Test(pmu, the_first_access_claims_and_is_emulated_on_the_guests_state)
{
	a->x[3] = NSH | 0x11;
	cr_assert(pmu_emulate(a, PMEVTYPER(2, 3, false)));
	cr_assert_eq(fake_pmu.loads, 1);
	cr_assert(pmu_owns(a));
	cr_assert_eq(fake_pmu.traps, PMU_TRAP_ACCESS | PMU_HIDE_EL2);
	cr_assert_eq(fake_pmu.regs.evtyper[2], 0x11, "NSH reached the PMU");
	cr_assert_eq(a->elr, ELR + 4);
	fake_pmu.regs.evcntr[2] = 777;
	cr_assert(pmu_emulate(a, PMEVCNTR(2, 9, true)));
	cr_assert_eq(a->x[9], 777);
	cr_assert_eq(fake_pmu.loads, 1, "the owner claimed again");
	/* XZR: reads go nowhere, writes write 0. */
	cr_assert(pmu_emulate(a, PMEVCNTR(2, 31, false)));
	cr_assert_eq(fake_pmu.regs.evcntr[2], 0);
}

Test(pmu, a_counter_the_cpu_lacks_is_undefined_and_claims_nothing)
{
	cr_assert_not(pmu_emulate(a, PMEVCNTR(COUNTERS, 0, true)));
	cr_assert_not(pmu_emulate(a, PMEVTYPER(30, 0, false)));
	cr_assert_eq(fake_pmu.loads, 0);
	cr_assert_eq(a->elr, ELR);
	/* Read-only written, write-only read. */
	cr_assert_not(pmu_emulate(a, PMCEID0(0, false)));
	cr_assert_not(pmu_emulate(a, PMSWINC(0, true)));
	cr_assert(pmu_emulate(a, PMCEID0(0, true)));
	/* A CPU without a PMUv3: nothing is the PMU's. */
	setup();
	fake_pmu.present = false;
	cr_assert_not(pmu_emulate(a, PMCR(0, true)));
}

Test(pmu, the_selected_counter_decides_pmxev)
{
	a->x[1] = COUNTERS;
	cr_assert(pmu_emulate(a, PMSELR(1, false)));
	cr_assert_not(pmu_emulate(a, PMXEVCNTR(0, true)));
	a->x[1] = 4;
	cr_assert(pmu_emulate(a, PMSELR(1, false)));
	a->x[2] = 99;
	cr_assert(pmu_emulate(a, PMXEVCNTR(2, false)));
	cr_assert_eq(fake_pmu.regs.evcntr[4], 99);
	/* SEL 31: PMXEVTYPER is PMCCFILTR, PMXEVCNTR nothing. */
	a->x[1] = PMU_CYCLE_INDEX;
	cr_assert(pmu_emulate(a, PMSELR(1, false)));
	a->x[2] = NSH | 1;
	cr_assert(pmu_emulate(a, PMXEVTYPER(2, false)));
	cr_assert_eq(fake_pmu.regs.ccfiltr, 1);
	cr_assert_not(pmu_emulate(a, PMXEVCNTR(2, true)));
}

Test(pmu, a_claim_saves_the_owner_and_loads_the_claimer)
{
	a->x[0] = 5;
	cr_assert(pmu_emulate(a, PMSELR(0, false)));
	a->pmu.cnten = 0x3;           /* as the switch saved it */
	b->pmu.selr = 2;
	b->pmu.cnten = 0x80000001u;
	cr_assert(pmu_emulate(b, PMSELR(7, true)));
	cr_assert_eq(b->x[7], 2, "b read a's PMSELR");
	cr_assert_eq(fake_pmu.saves, 1);
	cr_assert_eq(a->pmu.selr, 5);
	cr_assert_eq(a->pmu.cnten, 0x3, "the switch's enables were lost");
	cr_assert_not(a->pmu.loaded);
	cr_assert(pmu_owns(b) && !pmu_owns(a));
	cr_assert_eq(fake_pmu.regs.cnten, 0x80000001u);
}

Test(pmu, an_owner_reset_since_keeps_nothing)
{
	cr_assert(pmu_emulate(a, PMCR(0, true)));
	memset(&a->pmu, 0, sizeof(a->pmu));   /* vcpu_reset */
	cr_assert_not(pmu_owns(a));
	fake_pmu.regs.evcntr[0] = 1234;       /* the old life's count */
	cr_assert(pmu_emulate(b, PMCR(0, true)));
	cr_assert_eq(fake_pmu.saves, 0);
	cr_assert_eq(a->pmu.evcntr[0], 0);
	/* And the reset vCPU claims its own (zero) state back. */
	cr_assert(pmu_emulate(a, PMEVCNTR(0, 4, true)));
	cr_assert_eq(a->x[4], 0);
}

Test(pmu, only_the_system_owner_runs_untrapped_and_sees_el2)
{
	cr_assert_eq(pmu_traps(a), PMU_TRAP_ACCESS | PMU_HIDE_EL2);
	vm_a.config.pmu_system = true;
	cr_assert_eq(pmu_traps(a), PMU_TRAP_ACCESS | PMU_HIDE_EL2,
		     "untrapped before it owns the PMU");
	pmu_claim(a);
	cr_assert_eq(fake_pmu.traps, 0);
	cr_assert_eq(pmu_traps(a), 0);
	/* While it counts the system, the others are counted with EL2. */
	cr_assert_eq(pmu_traps(b), PMU_TRAP_ACCESS);
	pmu_claim(b);
	cr_assert_eq(pmu_traps(b), PMU_TRAP_ACCESS | PMU_HIDE_EL2);
	cr_assert_eq(pmu_traps(a), PMU_TRAP_ACCESS | PMU_HIDE_EL2);
}

Test(pmu, a_guest_counting_claims_on_entry)
{
	cr_assert_not(pmu_claims_on_entry(a), "never touched");
	a->pmu.pmcr = PMCR_E;
	cr_assert_not(pmu_claims_on_entry(a), "no counter enabled");
	a->pmu.cnten = PMCNTEN_C;
	cr_assert(pmu_claims_on_entry(a));
	pmu_claim(a);
	cr_assert_not(pmu_claims_on_entry(a), "owns it already");
	fake_pmu.regs.pmcr = 0;              /* it turned them off */
	pmu_claim(b);
	cr_assert_not(pmu_claims_on_entry(a), "PMCR_EL0.E clear");
	cr_assert_eq(pmu_all_counters(COUNTERS), PMCNTEN_C | 0x3f);
}
