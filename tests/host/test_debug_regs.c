/*
 * Guests' trapped debug-register accesses (el2/debug_regs.c): the debug
 * space reads as zero and ignores writes; anything else is not emulated.
 */
#include <arch/esr.h>
#include <criterion/criterion.h>
#include <el2/debug_regs.h>
#include <string.h>

#define ELR 0x40001000u

/* ESR_EL2 of a trapped MSR/MRS of (op0, op1, CRn, CRm, op2) with Rt. */
static uint64_t sysreg_esr(unsigned op0, unsigned op1, unsigned crn,
			   unsigned crm, unsigned op2, unsigned rt, bool read)
{
	uint64_t iss = ((uint64_t)op0 << 20) | ((uint64_t)op2 << 17) |
		       ((uint64_t)op1 << 14) | ((uint64_t)crn << 10) |
		       ((uint64_t)rt << 5) | ((uint64_t)crm << 1) |
		       (read ? ESR_SYSREG_READ : 0);

	return ((uint64_t)ESR_EC_SYSREG << ESR_EC_SHIFT) | ESR_IL | iss;
}

static struct vcpu vcpu_with_marks(void)
{
	struct vcpu v;

	memset(&v, 0, sizeof(v));
	for (unsigned i = 0; i < 31; i++)
		v.x[i] = 0x1111111111111111ull * (i % 15 + 1);
	v.elr = ELR;
	return v;
}

Test(debug_regs, a_read_gives_zero_and_steps_over)
{
	struct vcpu v = vcpu_with_marks(), before = v;

	/* MRS x5, DBGBVR0_EL1 */
	cr_assert(debug_regs_emulate(&v, sysreg_esr(2, 0, 0, 0, 4, 5, true)));
	cr_assert_eq(v.x[5], 0);
	cr_assert_eq(v.elr, ELR + 4);
	v.x[5] = before.x[5];
	v.elr = before.elr;
	cr_assert(!memcmp(&v, &before, sizeof(v)), "only x5 and ELR change");
}

Test(debug_regs, a_write_is_dropped)
{
	struct vcpu v = vcpu_with_marks(), before = v;

	/* MSR MDSCR_EL1, x7; MSR OSLAR_EL1, x1; MSR DBGWCR3_EL1, x30 */
	cr_assert(debug_regs_emulate(&v, sysreg_esr(2, 0, 0, 2, 2, 7, false)));
	cr_assert(debug_regs_emulate(&v, sysreg_esr(2, 0, 1, 0, 4, 1, false)));
	cr_assert(debug_regs_emulate(&v, sysreg_esr(2, 0, 0, 3, 7, 30, false)));
	cr_assert_eq(v.elr, ELR + 12);
	v.elr = before.elr;
	cr_assert(!memcmp(&v, &before, sizeof(v)), "no register changes");
}

Test(debug_regs, a_read_into_xzr_writes_no_register)
{
	struct vcpu v = vcpu_with_marks(), before = v;

	/* MRS xzr, OSLSR_EL1: Rt 31 is not x[31] (there is none). */
	cr_assert(debug_regs_emulate(&v, sysreg_esr(2, 0, 1, 1, 4, 31, true)));
	v.elr = before.elr;
	cr_assert(!memcmp(&v, &before, sizeof(v)));
}

Test(debug_regs, other_registers_and_classes_are_not_emulated)
{
	struct vcpu v = vcpu_with_marks(), before = v;
	/* MRS x0, CNTP_CTL_EL0 (op0 3): trapped for another reason. */
	uint64_t timer = sysreg_esr(3, 3, 14, 2, 1, 0, true);
	uint64_t hvc = ((uint64_t)ESR_EC_HVC64 << ESR_EC_SHIFT) | ESR_IL |
		       (2u << 20);

	cr_assert(!debug_regs_emulate(&v, timer));
	cr_assert(!debug_regs_emulate(&v, hvc), "EC decides, not the ISS");
	cr_assert(!memcmp(&v, &before, sizeof(v)), "nothing changes");
}
