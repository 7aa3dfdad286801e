/*
 * A guest's stage-2 abort at EL2 (el2/guest_trap.c, stage2_abort), through
 * guest_trap_handle and the fake arch's syndrome and injection: a
 * violation is counted, its line kept with its number, PA, ELR, access
 * and fault status, and a synchronous external abort reflected to the
 * vector of the mode that faulted (ESR class, WnR, FAR, the return
 * address and PSTATE in ELR_EL1/SPSR_EL1); the console's window is
 * emulated, not counted; a touch of a frame taken back is excused (not
 * counted as a violation, reflected); the limit's violation is counted
 * and logged but reflects nothing.
 */
#include "fake_arch.h"

#include <arch/esr.h>
#include <arch/sysreg.h>
#include <criterion/criterion.h>
#include <el2/guest_trap.h>
#include <el2/lost.h>
#include <el2/trap_kind.h>
#include <el2/vm.h>
#include <exo/hvc.h>
#include <string.h>

#define GUEST_PC UINT64_C(0xffff800000081234)
#define FAULT_PAGE UINT64_C(0x48765000)
#define FAULT_OFFSET UINT64_C(0x238)
#define FAULT_VA (UINT64_C(0xffff000008765000) | FAULT_OFFSET)
#define SPSR_EL1H_NZCV (SPSR_M_EL1H | (UINT64_C(0x9) << 28))
#define SPSR_EL0T (UINT64_C(0))
#define SPSR_GUEST_ENTRY (SPSR_M_EL1H | SPSR_D | SPSR_A | SPSR_I | SPSR_F)
#define LIMIT 5u
#define VECTOR_CUR_SPX 0x200
#define VECTOR_LOWER_A64 0x400
#define DABT_SRT(n) ((uint64_t)(n) << ESR_DABT_SRT_SHIFT)
#define HPFAR_OF(ipa) (((ipa) >> HPFAR_IPA_SHIFT) << HPFAR_FIPA_SHIFT)

static struct vm vm;

static struct vcpu *guest(uint64_t spsr)
{
	struct vcpu *v = &vm.vcpu;

	fake_reset();
	memset(&vm, 0, sizeof(vm));
	strcpy(vm.name, "s2");
	vm.state = VM_RUNNING;
	vm.config.violation_limit = LIMIT;
	vm.config.excused_touch_limit = LIMIT;
	v->vm = &vm;
	v->state = VCPU_RUNNABLE;
	v->elr = GUEST_PC;
	v->spsr = spsr;
	return v;
}

static uint64_t abort_esr(unsigned ec, uint64_t iss)
{
	return ((uint64_t)ec << ESR_EC_SHIFT) | ESR_IL | iss;
}

/* One exit with this syndrome, at IPA page | FAULT_OFFSET. */
static void trap(struct vcpu *v, uint64_t esr, uint64_t page)
{
	fake.syndrome = (struct guest_syndrome){
		.esr = esr, .far = (FAULT_VA & ~HPFAR_IPA_OFFSET_MASK) |
				   FAULT_OFFSET,
		.hpfar = HPFAR_OF(page),
	};
	cr_assert_eq(guest_trap_handle(v, TRAP_SYNC, 0, esr), v);
}

static void assert_reflected(const struct vcpu *v, uint64_t ec, uint64_t wnr,
			     uint64_t spsr, uint64_t vector)
{
	cr_assert_eq(fake.injected_esr,
		     abort_esr((unsigned)ec, FSC_SYNC_EXTERNAL | wnr),
		     "ESR_EL1 0x%lx", (unsigned long)fake.injected_esr);
	cr_assert_eq(fake.injected_far, FAULT_VA);
	cr_assert_eq(fake.injected_elr, GUEST_PC, "ELR_EL1: where it faulted");
	cr_assert_eq(fake.injected_spsr, spsr, "SPSR_EL1: its PSTATE");
	cr_assert_eq(v->elr, FAKE_VBAR_EL1 + vector, "resumes at the vector");
	cr_assert_eq(v->spsr, SPSR_GUEST_ENTRY, "EL1h, all masked");
}

Test(stage2_abort, a_read_from_el1_is_counted_logged_and_reflected)
{
	struct vcpu *v = guest(SPSR_EL1H_NZCV);
	const struct violation_entry *e = &vm.violations.e[0];

	trap(v, abort_esr(ESR_EC_DABT_LOWER, FSC_TRANSLATION | 1), FAULT_PAGE);

	cr_assert_eq(vm.stats.violations, 1);
	cr_assert_eq(vm.violations.count, 1);
	cr_assert_eq(e->number, 1);
	cr_assert_eq(e->pa, FAULT_PAGE | FAULT_OFFSET);
	cr_assert_eq(e->elr, GUEST_PC);
	cr_assert_eq(e->access, VIOLATION_READ);
	cr_assert_eq(e->fsc, FSC_TRANSLATION | 1);
	cr_assert_eq(fake.injected, 1);
	assert_reflected(v, ESR_EC_DABT_CUR, 0, SPSR_EL1H_NZCV, VECTOR_CUR_SPX);
}

Test(stage2_abort, a_write_from_el0_keeps_wnr_and_takes_the_lower_vector)
{
	struct vcpu *v = guest(SPSR_EL0T);

	trap(v, abort_esr(ESR_EC_DABT_LOWER, ESR_DABT_WNR | FSC_TRANSLATION),
	     FAULT_PAGE);

	cr_assert_eq(vm.violations.e[0].access, VIOLATION_WRITE);
	assert_reflected(v, ESR_EC_DABT_LOWER, ESR_DABT_WNR, SPSR_EL0T,
			 VECTOR_LOWER_A64);
}

Test(stage2_abort, an_instruction_abort_is_an_exec_violation)
{
	struct vcpu *v = guest(SPSR_EL1H_NZCV);

	/* WnR's bit in an instruction abort's ISS means nothing: not kept. */
	trap(v, abort_esr(ESR_EC_IABT_LOWER, ESR_DABT_WNR | FSC_PERMISSION),
	     FAULT_PAGE);

	cr_assert_eq(vm.stats.violations, 1);
	cr_assert_eq(vm.violations.e[0].access, VIOLATION_EXEC);
	cr_assert_eq(vm.violations.e[0].fsc, FSC_PERMISSION);
	assert_reflected(v, ESR_EC_IABT_CUR, 0, SPSR_EL1H_NZCV, VECTOR_CUR_SPX);
}

Test(stage2_abort, each_violation_is_numbered_and_the_limit_reflects_none)
{
	struct vcpu *v = guest(SPSR_EL1H_NZCV);

	for (unsigned i = 1; i < LIMIT; i++) {
		v->elr = GUEST_PC;
		v->spsr = SPSR_EL1H_NZCV;
		trap(v, abort_esr(ESR_EC_DABT_LOWER, FSC_TRANSLATION), FAULT_PAGE);
		cr_assert_eq(vm.violations.e[i - 1].number, i);
		cr_assert_eq(fake.injected, i);
	}
	/* The teardown a kill starts is el2/vm.c's (it needs a stage 2 this
	 * guest has not): stopped already, vm_kill has nothing to do. */
	vm.state = VM_KILLED;
	v->elr = GUEST_PC;
	trap(v, abort_esr(ESR_EC_DABT_LOWER, FSC_TRANSLATION), FAULT_PAGE);
	cr_assert_eq(vm.stats.violations, LIMIT, "the last one counted");
	cr_assert_eq(vm.violations.count, LIMIT, "and logged");
	cr_assert_eq(fake.injected, LIMIT - 1, "but not reflected");
	cr_assert_eq(v->elr, GUEST_PC);
}

Test(stage2_abort, the_console_window_is_emulated_not_counted)
{
	struct vcpu *v = guest(SPSR_EL1H_NZCV);
	uint64_t load = abort_esr(ESR_EC_DABT_LOWER,
				  ESR_DABT_ISV | DABT_SRT(21) | FSC_TRANSLATION);

	v->x[21] = UINT64_MAX;
	trap(v, load, EXO_CONSOLE_IPA);
	cr_assert_eq(v->x[21], 0, "FR reads 0: never full");
	cr_assert_eq(v->elr, GUEST_PC + 4, "past the load");
	cr_assert_eq(vm.stats.violations, 0);
	cr_assert_eq(fake.injected, 0);
}

Test(stage2_abort, the_console_window_without_a_syndrome_is_a_violation)
{
	struct vcpu *v = guest(SPSR_EL1H_NZCV);

	trap(v, abort_esr(ESR_EC_DABT_LOWER, FSC_TRANSLATION), EXO_CONSOLE_IPA);
	cr_assert_eq(vm.stats.violations, 1);
	cr_assert_eq(fake.injected, 1);
}

Test(stage2_abort, a_touch_of_a_frame_taken_back_is_excused_and_reflected)
{
	struct vcpu *v = guest(SPSR_EL1H_NZCV);

	lost_note(&vm.lost, FAULT_PAGE, 1);
	trap(v, abort_esr(ESR_EC_DABT_LOWER, FSC_TRANSLATION), FAULT_PAGE);
	cr_assert_eq(vm.stats.violations, 0);
	cr_assert_eq(vm.stats.excused_touches, 1);
	cr_assert_eq(vm.violations.count, 0);
	assert_reflected(v, ESR_EC_DABT_CUR, 0, SPSR_EL1H_NZCV, VECTOR_CUR_SPX);

	/* Another page of the same guest is still a violation. */
	v->elr = GUEST_PC;
	v->spsr = SPSR_EL1H_NZCV;
	trap(v, abort_esr(ESR_EC_DABT_LOWER, FSC_TRANSLATION),
	     FAULT_PAGE + EXO_FRAME_SIZE);
	cr_assert_eq(vm.stats.violations, 1);
	cr_assert_eq(vm.stats.excused_touches, 1);
	cr_assert_eq(fake.injected, 2);
}
