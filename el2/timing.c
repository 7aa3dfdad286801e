/*
 * Boot milestones (el2/timing.h). Under QEMU -icount shift=0 the counter
 * advances once per 1e9/freq instructions, so tools/bench turns these
 * ticks into instruction counts; anywhere else they are time.
 */
#include <el2/arch.h>
#include <el2/timing.h>
#include <lib/print.h>

static uint64_t boot_start, first_line, all_entered;
static unsigned entered, expected;

void timing_boot_start(void)
{
	boot_start = arch_counter();
}

void timing_expect_guests(unsigned n)
{
	expected = n;
}

void timing_vcpu_entered(struct vcpu *v)
{
	if (v->entered || all_entered)
		return;
	v->entered = true;
	if (++entered == expected)
		all_entered = arch_counter();
}

void timing_guest_line(void)
{
	if (!first_line)
		first_line = arch_counter();
}

void timing_print(uint64_t freq)
{
	if (!first_line && !all_entered)
		return;
	kprintf("timing: first guest line after %lu ticks, all %u guests "
		"entered after %lu ticks (counter at %lu Hz)\n",
		(unsigned long)(first_line ? first_line - boot_start : 0),
		expected,
		(unsigned long)(all_entered ? all_entered - boot_start : 0),
		(unsigned long)freq);
}
