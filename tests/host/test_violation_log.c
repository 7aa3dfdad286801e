/*
 * Stage-2 violation reports printed later (el2/violation_log.c): in order,
 * each with its number, the log emptied by printing, and a guest that
 * faults faster than its ticks loses lines (said, with how many) but no
 * count.
 */
#include "console_capture.h"
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/violation_log.h>
#include <el2/vm.h>
#include <lib/print.h>
#include <string.h>

static struct vm vm;

static void guest(void)
{
	fake_reset();
	print_set_console(capture_console, "");
	capture_len = 0;
	capture_out[0] = '\0';
	memset(&vm, 0, sizeof(vm));
	strcpy(vm.name, "v");
	vm.config.violation_limit = 1000;
}

static void fault(uint64_t n)
{
	violation_log_add(&vm.violations, (struct violation_entry){
		.number = n, .pa = 0x20000000 + n * 0x1000, .elr = 0x4000 + n,
		.access = n % 2 ? VIOLATION_WRITE : VIOLATION_READ,
		.fsc = 0x07 });
}

static unsigned lines(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < capture_len; i++)
		n += capture_out[i] == '\n';
	return n;
}

Test(violation_log, nothing_printed_until_asked_then_each_line_in_order)
{
	guest();
	fault(1);
	fault(2);
	cr_assert_eq(capture_len, 0, "recording prints nothing");
	violation_log_print(&vm);
	cr_assert_str_eq(capture_out,
			 "guest 'v': stage-2 violation 1/1000: write of PA "
			 "0x20001000 (translation fault, level 3) at ELR 0x4001\n"
			 "guest 'v': stage-2 violation 2/1000: read of PA "
			 "0x20002000 (translation fault, level 3) at ELR 0x4002\n");
	capture_len = 0;
	capture_out[0] = '\0';
	violation_log_print(&vm);
	cr_assert_eq(capture_len, 0, "printed once");
}

Test(violation_log, a_full_log_drops_lines_and_says_how_many)
{
	guest();
	for (uint64_t n = 1; n <= VIOLATION_LOG_ENTRIES + 5; n++)
		fault(n);
	violation_log_print(&vm);
	cr_assert_eq(lines(), VIOLATION_LOG_ENTRIES + 1, "%s", capture_out);
	cr_assert(strstr(capture_out, "guest 'v': 5 stage-2 violation lines "
			 "dropped (faster than its ticks; all counted)\n"),
		  "%s", capture_out);
	cr_assert(strstr(capture_out, "violation 16/1000"));
	cr_assert_null(strstr(capture_out, "violation 17/1000"));
	/* Room again once printed. */
	capture_len = 0;
	fault(22);
	violation_log_print(&vm);
	cr_assert_eq(lines(), 1);
}
