/*
 * Boot milestones (el2/timing.h), in milliseconds for people and in raw
 * counter ticks for tools/bench: under QEMU -icount shift=0 the counter
 * advances once per 1e9/freq instructions, so tools/bench turns the ticks
 * into instruction counts; anywhere else they are time.
 */
#include <el2/arch.h>
#include <el2/timing.h>
#include <lib/print.h>

#define US_PER_S 1000000u
#define US_PER_MS 1000u

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

static uint64_t ticks_to_us(uint64_t ticks, uint64_t freq)
{
	return freq ? ticks / freq * US_PER_S + ticks % freq * US_PER_S / freq
		    : 0;
}

void timing_print(uint64_t freq)
{
	uint64_t first = first_line ? first_line - boot_start : 0;
	uint64_t all = all_entered ? all_entered - boot_start : 0;
	uint64_t first_us = ticks_to_us(first, freq);
	uint64_t all_us = ticks_to_us(all, freq);

	if (!first_line && !all_entered)
		return;
	kprintf("timing: first guest line after %lu.%03lu ms, all %u guests "
		"entered after %lu.%03lu ms (%lu and %lu ticks at %lu Hz)\n",
		(unsigned long)(first_us / US_PER_MS),
		(unsigned long)(first_us % US_PER_MS), expected,
		(unsigned long)(all_us / US_PER_MS),
		(unsigned long)(all_us % US_PER_MS), (unsigned long)first,
		(unsigned long)all, (unsigned long)freq);
}
