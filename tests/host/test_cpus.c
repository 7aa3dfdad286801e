/*
 * el2/cpus.c: the boot CPU starts the others through PSCI CPU_ON, whose
 * answer and the "secondary"'s check-in are played by the fake firmware
 * (fake.smc_hook): every CPU up, CPU_ON refused, a CPU that never checks
 * in, one that checks in late, one whose ID registers differ, a CPU the
 * DTB starts some other way, more CPUs than EL2 has room for.
 */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/arch.h>
#include <el2/cpus.h>
#include <el2/percpu.h>
#include <el2/psci.h>
#include <string.h>

/* What the fake firmware does with a CPU_ON for an MPIDR. */
enum fw_answer { FW_CHECKS_IN, FW_REFUSES, FW_SILENT, FW_DIFFERS };

static enum fw_answer answer_for[0x100];
static unsigned cpu_ons;
static const struct cpu_boot *last_boot;

static uint64_t fake_firmware(uint64_t fid, uint64_t mpidr, uint64_t entry,
			      uint64_t context)
{
	const struct cpu_boot *b = (const struct cpu_boot *)(uintptr_t)context;

	cr_assert_eq(fid, PSCI_0_2_FN64_CPU_ON);
	cr_assert_eq(entry, FAKE_SECONDARY_ENTRY);
	/* The record reaches DRAM before the CPU reads it, caches off. */
	cr_assert(fake.cleaned_start <= context &&
		  fake.cleaned_start + fake.cleaned_size >=
			  context + sizeof(*b), "record not cleaned");
	cr_assert_eq(b->mair, 0x11);
	cr_assert_eq(b->vbar, 0x55);
	cpu_ons++;
	last_boot = b;
	switch (answer_for[mpidr]) {
	case FW_REFUSES:
		return (uint64_t)(int64_t)PSCI_RET_INVALID_PARAMETERS;
	case FW_SILENT:
		return PSCI_RET_SUCCESS;
	case FW_DIFFERS:
		fake.signature[3] ^= 1;
		cr_assert(cpus_check_in((unsigned)b->cpu, CPU_DIFFERS,
					cpus_differs_from_boot()));
		fake.signature[3] ^= 1;
		return PSCI_RET_SUCCESS;
	default:
		cr_assert_null(cpus_differs_from_boot());
		cr_assert(cpus_check_in((unsigned)b->cpu, CPU_ONLINE, NULL));
		return PSCI_RET_SUCCESS;
	}
}

static struct platform machine(unsigned n)
{
	struct platform p = { .nr_cpus = n };

	for (unsigned i = 0; i < n; i++)
		p.cpu[i] = (struct platform_cpu){ .mpidr = i, .psci = true };
	return p;
}

static void setup(void)
{
	fake_reset();
	memset(answer_for, 0, sizeof(answer_for));
	cpu_ons = 0;
	fake.smc_hook = fake_firmware;
	fake.counter_step = 1000;   /* time passes while the boot CPU waits */
	for (unsigned i = 0; i < ARCH_CPU_SIGNATURE_REGS; i++)
		fake.signature[i] = 0x1000 + i;
}

TestSuite(cpus, .init = setup);

Test(cpus, every_cpu_checks_in)
{
	struct platform p = machine(4);

	cr_assert_eq(cpus_start(&p), 4);
	cr_assert_eq(cpu_ons, 3, "the boot CPU (MPIDR 0) is not started");
	for (unsigned cpu = 0; cpu < 4; cpu++) {
		cr_assert_eq(cpus_state(cpu), CPU_ONLINE);
		cr_assert_eq(cpus_mpidr(cpu), cpu);
	}
	/* Each CPU its own stack: slot n of the image. */
	cr_assert_eq(last_boot->cpu, 3);
	cr_assert_eq(last_boot->stack_top, 4 * (uint64_t)EL2_STACK_SLOT);
	cr_assert(strstr(fake.console, "cpus: cpu 3 (MPIDR 0x3): online"));
	cr_assert(strstr(fake.console, "cpus: 4 online of 4 listed"),
		  "%s", fake.console);
}

Test(cpus, a_refused_cpu_is_reported_and_the_rest_carry_on)
{
	struct platform p = machine(4);

	answer_for[2] = FW_REFUSES;
	cr_assert_eq(cpus_start(&p), 3);
	cr_assert(strstr(fake.console,
			 "MPIDR 0x2: CPU_ON refused (INVALID_PARAMETERS)"));
	/* It never ran: its number goes to the next CPU. */
	cr_assert_eq(cpus_mpidr(2), 3);
	cr_assert_eq(cpus_state(2), CPU_ONLINE);
	cr_assert_eq(cpus_state(3), CPU_OFF);
}

Test(cpus, a_silent_cpu_is_left_out_and_a_late_check_in_is_refused)
{
	struct platform p = machine(3);

	answer_for[1] = FW_SILENT;
	cr_assert_eq(cpus_start(&p), 2);
	cr_assert_eq(cpus_state(1), CPU_LATE);
	cr_assert(strstr(fake.console, "cpu 1 (MPIDR 0x1): did not check in"));
	/* It may be running on its stack: its number is not given again. */
	cr_assert_eq(cpus_mpidr(2), 2);
	cr_assert_eq(cpus_state(2), CPU_ONLINE);
	/* Coming up after all, it is told to stay parked. */
	cr_assert_not(cpus_check_in(1, CPU_ONLINE, NULL));
	cr_assert_eq(cpus_state(1), CPU_LATE);
	cr_assert_eq(cpus_online(), 2);
}

Test(cpus, the_wait_is_bounded_by_the_counter)
{
	struct platform p = machine(2);
	uint64_t limit = arch_timer_freq() * CPUS_CHECK_IN_MS / 1000;

	answer_for[1] = FW_SILENT;
	cpus_start(&p);
	cr_assert_geq(fake.counter, limit);
	cr_assert_leq(fake.counter, limit + 10 * fake.counter_step);
}

Test(cpus, a_cpu_that_differs_says_which_register)
{
	struct platform p = machine(3);

	answer_for[1] = FW_DIFFERS;
	cr_assert_eq(cpus_start(&p), 2);
	cr_assert_eq(cpus_state(1), CPU_DIFFERS);
	cr_assert(strstr(fake.console, "not the boot CPU's: sig3"), "%s",
		  fake.console);
}

Test(cpus, a_cpu_started_otherwise_is_not_started)
{
	struct platform p = machine(3);

	p.cpu[1].psci = false;
	cr_assert_eq(cpus_start(&p), 2);
	cr_assert_eq(cpu_ons, 1);
	cr_assert(strstr(fake.console,
			 "MPIDR 0x1: its enable-method is not PSCI"));
}

Test(cpus, more_cpus_than_el2_has_room_for)
{
	struct platform p = machine(EL2_MAX_CPUS);

	/* The boot CPU is not among them: one too many to number. */
	for (unsigned i = 0; i < EL2_MAX_CPUS; i++)
		p.cpu[i].mpidr = 0x10 + i;
	p.cpus_beyond = 2;
	cr_assert_eq(cpus_start(&p), EL2_MAX_CPUS);
	cr_assert_eq(cpu_ons, EL2_MAX_CPUS - 1);
	cr_assert(strstr(fake.console, "MPIDR 0x17: beyond EL2's 8 CPUs"));
	cr_assert(strstr(fake.console, "cpus: 8 online of 11 listed"), "%s",
		  fake.console);
}

Test(cpus, a_check_in_for_a_cpu_never_started_is_refused)
{
	cr_assert_not(cpus_check_in(5, CPU_ONLINE, NULL));
	cr_assert_not(cpus_check_in(EL2_MAX_CPUS, CPU_ONLINE, NULL));
	cr_assert_eq(cpus_state(5), CPU_OFF);
}
