/*
 * el2/ras.c: an SError the ESB of a guest's exit deferred is reported as
 * that guest's, once.
 */
#include "console_capture.h"
#include "fake_arch.h"

#include <arch/sysreg.h>
#include <criterion/criterion.h>
#include <el2/ras.h>
#include <el2/vm.h>
#include <string.h>

static struct vm vm = { .name = "clumsy" };

Test(ras, a_deferred_serror_is_the_exiting_guests)
{
	fake_reset();
	cr_assert_not(ras_guest_error(&vm), "nothing deferred: no error");
	fake.disr = DISR_A | 0x11;
	cr_assert(ras_guest_error(&vm));
	cr_assert(strstr(fake.console, "guest 'clumsy': SError synchronised at "
				       "its exit (DISR 0x80000011)"),
		  "%s", fake.console);
	cr_assert_not(ras_guest_error(&vm), "reported once: DISR was cleared");
}

Test(ras, a_syndrome_without_the_a_bit_is_no_error)
{
	fake_reset();
	fake.disr = 0x11;
	cr_assert_not(ras_guest_error(&vm));
	cr_assert_eq(fake.console_len, 0);
}
