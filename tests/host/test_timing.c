/* el2/timing.c: the boot milestones line in milliseconds, with the raw
 * counter ticks tools/bench reads (its TIMING regex). */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/timing.h>
#include <string.h>

#define FREQ 62500000u	/* QEMU virt's counter: 62500 ticks per ms */

Test(timing, milliseconds_and_the_raw_ticks)
{
	struct vcpu a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fake_reset();
	fake.counter = 1000;
	timing_boot_start();
	timing_expect_guests(2);
	fake.counter = 1000 + 62500;		/* 1 ms */
	timing_vcpu_entered(&a);
	timing_vcpu_entered(&a);		/* once per vCPU */
	timing_guest_line();
	fake.counter = 1000 + 2 * 62500 + 31;	/* 2.000496 ms */
	timing_guest_line();			/* only the first counts */
	timing_vcpu_entered(&b);
	timing_print(FREQ);
	cr_assert_str_eq(fake.console,
			 "timing: first guest line after 1.000 ms, all 2 "
			 "guests entered after 2.000 ms (62500 and 125031 "
			 "ticks at 62500000 Hz)\n");
}

Test(timing, fractions_of_a_millisecond_and_no_frequency)
{
	struct vcpu a;

	memset(&a, 0, sizeof(a));
	fake_reset();
	timing_boot_start();
	timing_expect_guests(1);
	fake.counter = 62500 * 1234 + 62500 / 4;	/* 1234.250 ms */
	timing_vcpu_entered(&a);
	timing_guest_line();
	timing_print(FREQ);
	cr_assert(strstr(fake.console, "after 1234.250 ms, all 1 guests "
				       "entered after 1234.250 ms"),
		  "%s", fake.console);
	fake_reset();
	timing_print(0);
	cr_assert(strstr(fake.console, "after 0.000 ms"), "%s", fake.console);
}

Test(timing, silent_when_no_guest_ran)
{
	fake_reset();
	timing_boot_start();
	timing_expect_guests(3);
	timing_print(FREQ);
	cr_assert_str_eq(fake.console, "");
}
