/* el2/hyp_trap.c: exception decoding for reports. */
#include "fake_arch.h"

#include <arch/esr.h>
#include <criterion/criterion.h>
#include <el2/hyp_trap.h>
#include <lib/esr_names.h>
#include <signal.h>
#include <string.h>

Test(hyp_trap, class_names)
{
	cr_assert_str_eq(esr_ec_name(ESR_EC_DABT_CUR), "data abort (same EL)");
	cr_assert_str_eq(esr_ec_name(ESR_EC_HVC64), "HVC (AArch64)");
	cr_assert_str_eq(esr_ec_name(0x3f), "unrecognised exception class");
	cr_assert_str_eq(esr_fsc_name(0x0f), "permission fault");
	cr_assert_str_eq(esr_fsc_name(0x07), "translation fault");
	cr_assert_str_eq(esr_fsc_name(FSC_ALIGNMENT), "alignment fault");
}

Test(hyp_trap, abort_syndrome)
{
	char buf[96];

	/* What QEMU reported for a write to EL2 text. */
	esr_describe_iss(0x979f004f, buf, sizeof(buf));
	cr_assert_str_eq(buf, "permission fault, level 3, write");
	esr_describe_iss(0x8600000f, buf, sizeof(buf));
	cr_assert_str_eq(buf, "permission fault, level 3, instruction fetch");
	esr_describe_iss(0x92000086 | ESR_DABT_S1PTW, buf, sizeof(buf));
	cr_assert_str_eq(buf, "translation fault, level 2, read, on a table walk");
	esr_describe_iss(0x5a000000 | 7, buf, sizeof(buf));
	cr_assert_str_eq(buf, "ISS 0x7");
}

Test(hyp_trap, report_is_complete)
{
	struct hyp_trap_frame f = { .esr = 0x979f004f, .far = 0x40200338,
				.elr = 0x402035f0, .spsr = 0x3c9 };

	fake_reset();
	hyp_trap_report(&f, (TRAP_CUR_SPX << 2) | TRAP_SYNC);
	cr_assert(strstr(fake.console, "synchronous from EL2 with SP_EL2"));
	cr_assert(strstr(fake.console, "EC 0x25 data abort (same EL)"));
	cr_assert(strstr(fake.console, "FAR 0x0000000040200338"));
	cr_assert(strstr(fake.console, "ELR 0x00000000402035f0"), "%s",
		  fake.console);
	cr_assert(strstr(fake.console, "SPSR 0x000003c9"));
}

Test(hyp_trap, unexpected_trap_reports_then_halts, .signal = SIGABRT)
{
	struct hyp_trap_frame f = { 0 };

	fake_reset();
	hyp_trap_entry(&f, 0);
}
