/*
 * A guest's console (el2/vm_console.c): whole lines with the guest's
 * prefix, bytes outside printable ASCII escaped, and a line budget (a
 * burst, then a steady rate of counter time) with dropped lines counted
 * and reported (issue 13, rule 6).
 */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/vm.h>
#include <el2/vm_console.h>
#include <lib/print.h>
#include <string.h>

#define TAIL_MAX 4096

static struct vm vm;
/* What was printed: every line counted, the last TAIL_MAX - 1 bytes kept
 * (a flood is longer than any console buffer). */
static unsigned lines_printed;
static char tail[TAIL_MAX];
static size_t tail_len;

static void counting_console(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		lines_printed += s[i] == '\n';
		if (tail_len == TAIL_MAX - 1) {
			memmove(tail, tail + TAIL_MAX / 2, tail_len - TAIL_MAX / 2);
			tail_len -= TAIL_MAX / 2;
		}
		tail[tail_len++] = s[i];
		tail[tail_len] = '\0';
	}
}

static void guest(const char *name)
{
	fake_reset();
	print_set_console(counting_console, "");
	lines_printed = 0;
	tail_len = 0;
	tail[0] = '\0';
	memset(&vm, 0, sizeof(vm));
	strcpy(vm.name, name);
	fake.counter = 1000;
}

static void say(const char *s)
{
	vm_console_put(&vm, s, (unsigned)strlen(s));
}

static uint64_t ticks_per_line(void)
{
	return arch_timer_freq() / VM_CONSOLE_LINES_PER_S;
}

Test(vm_console, whole_lines_with_the_guest_prefix)
{
	guest("alpha");
	say("hel");
	cr_assert_eq(tail_len, 0, "half a line is held back");
	say("lo\r\nworld");
	cr_assert_str_eq(tail, "[alpha] hello\n");
	vm_console_flush(&vm);
	cr_assert_str_eq(tail, "[alpha] hello\n[alpha] world\n");
}

Test(vm_console, bytes_outside_printable_ascii_are_escaped)
{
	guest("beta");
	/* ESC [2J (clear screen), a C1 CSI (0x9b), UTF-8, DEL, tab. */
	say("a\x1b[2J\x9b" "1m\xc3\xa9\x7f\tz\n");
	cr_assert_str_eq(tail,
			 "[beta] a\\x1b[2J\\x9b1m\\xc3\\xa9\\x7f\tz\n");
}

Test(vm_console, a_long_line_is_cut_not_lost)
{
	char line[VM_CONSOLE_LINE * 2 + 2];

	guest("gamma");
	memset(line, 'x', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	say(line);
	cr_assert_eq(lines_printed, 2, "%s", tail);
	/* An escape is never split across two lines. */
	guest("gamma");
	memset(line, 'x', VM_CONSOLE_LINE - 2);
	line[VM_CONSOLE_LINE - 2] = '\x01';
	line[VM_CONSOLE_LINE - 1] = '\n';
	line[VM_CONSOLE_LINE] = '\0';
	say(line);
	cr_assert(strstr(tail, "\n[gamma] \\x01\n"), "%s",
		  tail);
}

/* A flood: the burst is printed, the rest counted; the guest stays muted
 * until half the burst has come back, then the count comes first. */
Test(vm_console, a_flood_is_cut_to_the_budget_and_counted)
{
	unsigned extra = 300;

	guest("flood");
	for (unsigned i = 0; i < VM_CONSOLE_BURST_LINES + extra; i++)
		say("spam\n");
	cr_assert_eq(lines_printed, VM_CONSOLE_BURST_LINES);
	fake.counter += (VM_CONSOLE_BURST_LINES / 2 - 1) * ticks_per_line();
	say("muted\n");
	cr_assert_eq(lines_printed, VM_CONSOLE_BURST_LINES, "%s", tail);
	fake.counter += ticks_per_line();
	say("after\n");
	say("again\n");
	cr_assert(strstr(tail, "[flood] spam\n[flood] (301 lines dropped: over "
			 "the console budget)\n[flood] after\n[flood] again\n"),
		  "%s", tail);
	cr_assert_eq(lines_printed, VM_CONSOLE_BURST_LINES + 3);
}

/* Time just over half a line at each call: the remainder is kept, so the
 * budget comes back at the rate (dropping it would never refill). */
Test(vm_console, the_rate_holds_over_any_period)
{
	unsigned calls = 0;

	guest("steady");
	for (unsigned i = 0; i < VM_CONSOLE_BURST_LINES; i++)
		say("burst\n");
	while (lines_printed == VM_CONSOLE_BURST_LINES &&
	       calls < 4 * VM_CONSOLE_BURST_LINES) {
		fake.counter += ticks_per_line() / 2 + 1;
		say("tick\n");
		calls++;
	}
	/* Half the burst back takes a line's time per line, two calls each. */
	cr_assert_eq(calls, VM_CONSOLE_BURST_LINES, "unmuted after %u calls",
		     calls);
	cr_assert(strstr(tail, "[steady] burst\n[steady] (1023 lines dropped: "
			 "over the console budget)\n[steady] tick\n"), "%s", tail);
	/* A long silence refills only up to the burst. */
	fake.counter += 1000 * VM_CONSOLE_BURST_LINES * ticks_per_line();
	lines_printed = 0;
	for (unsigned i = 0; i < VM_CONSOLE_BURST_LINES + 1; i++)
		say("again\n");
	cr_assert_eq(lines_printed, VM_CONSOLE_BURST_LINES);
	cr_assert_eq(vm.console.lines.dropped, 1);
}

Test(vm_console, the_end_reports_what_was_dropped)
{
	guest("quiet");
	for (unsigned i = 0; i < VM_CONSOLE_BURST_LINES + 5; i++)
		say("x\n");
	say("unfinished");
	vm_console_flush(&vm);
	cr_assert(strstr(tail, "[quiet] x\n[quiet] (6 lines dropped: over the "
			 "console budget)\n"), "%s", tail);
	cr_assert_eq(vm.console.lines.dropped, 0);
	/* A restart does not refill the budget. */
	say("next life\n");
	cr_assert_eq(vm.console.lines.dropped, 1);
}

/* EL2's reports about a guest (aborts on frames it took back, not
 * counted) have their own, smaller budget: a flood of them is cut and
 * counted, and the guest's own lines are not silenced by it. */
Test(vm_console, reports_about_a_guest_have_their_own_budget)
{
	unsigned allowed = 0;

	guest("toucher");
	for (unsigned i = 0; i < 1000; i++)
		allowed += vm_console_report_allowed(&vm);
	cr_assert_eq(allowed, VM_REPORT_BURST_LINES);
	cr_assert_eq(vm.console.reports.dropped,
		     1000 - VM_REPORT_BURST_LINES);
	say("still here\n");
	cr_assert(strstr(tail, "[toucher] still here\n"), "%s", tail);
	/* Half the burst back: the count, as an EL2 line, then the report. */
	fake.counter += VM_REPORT_BURST_LINES / 2 * (arch_timer_freq() /
						   VM_REPORT_LINES_PER_S);
	cr_assert(vm_console_report_allowed(&vm));
	cr_assert(strstr(tail, "guest 'toucher': 936 reports about it "
			 "dropped: over its report budget\n"), "%s", tail);
	cr_assert_eq(vm.console.reports.dropped, 0);
}
