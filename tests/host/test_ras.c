/*
 * el2/ras.c: an SError the ESB of a guest's exit deferred (DISR_EL1.A set,
 * as el2/arch/guest.S passes it) is reported as that guest's.
 */
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
	cr_assert_not(ras_guest_error(&vm, 0), "nothing deferred: no error");
	cr_assert(ras_guest_error(&vm, DISR_A | 0x11));
	cr_assert(strstr(fake.console, "guest 'clumsy': SError synchronised at "
				       "its exit (DISR 0x80000011)"),
		  "%s", fake.console);
}

Test(ras, a_syndrome_without_the_a_bit_is_no_error)
{
	fake_reset();
	cr_assert_not(ras_guest_error(&vm, 0x11));
	cr_assert_eq(fake.console_len, 0);
}
