/*
 * Test-only EL2 entry (linked into exo-el2-debug.elf, never the normal
 * image): breaks one of EL2's own protections, chosen by
 * "exo.test=<name>" in /chosen/bootargs, so the on-target tests can check
 * that the fault is taken and reported.
 */
#include <el2/arch.h>
#include <el2/main.h>
#include <el2/gic.h>
#include <el2/irq.h>
#include <lib/print.h>
#include <string.h>

static const unsigned int ret_insn = 0xd65f03c0; /* RET: would run if fetched */
static unsigned int data_insn[4];

static void write_text(void)
{
	volatile unsigned int *text = (volatile unsigned int *)(uintptr_t)el2_main;

	kprintf("selftest: writing EL2 text at %p\n", (void *)text);
	*text = 0;
}

static void write_rodata(void)
{
	volatile unsigned int *ro = (volatile unsigned int *)&ret_insn;

	kprintf("selftest: writing EL2 rodata at %p\n", (void *)ro);
	*ro = 0;
}

static void exec_data(void)
{
	void (*fn)(void);

	data_insn[0] = ret_insn;
	fn = (void (*)(void))(uintptr_t)data_insn;
	kprintf("selftest: executing EL2 data at %p\n", (void *)data_insn);
	fn();
}

static void __attribute__((noinline)) smash(volatile char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = 'A';
}

static void stack_smash(void)
{
	char buf[16];

	kprintf("selftest: overflowing a stack buffer\n");
	smash(buf, 64);
	kprintf("selftest: buffer %c\n", buf[0]);
}

static void undef(void)
{
	kprintf("selftest: executing an undefined instruction\n");
	__asm__ volatile("udf #0");
}

#define TIMER_TEST_TICKS 5
#define TIMER_TEST_PERIOD_US 1000

static volatile unsigned timer_ticks;

/* The test's period in counter ticks. */
static uint64_t timer_period(void)
{
	return arch_timer_freq() * TIMER_TEST_PERIOD_US / 1000000;
}

static void timer_tick(uint32_t intid, void *ctx)
{
	(void)ctx;
	timer_ticks++;
	kprintf("selftest: tick %u (INTID %u)\n", timer_ticks, intid);
	if (timer_ticks < TIMER_TEST_TICKS)
		arch_hyp_timer_arm_at(arch_counter() + timer_period());
	else
		arch_hyp_timer_stop();
}

/* The EL2 physical timer interrupt reaches EL2 through the GIC. */
static void hyp_timer(void)
{
	extern const struct platform *selftest_platform;
	uint32_t intid = selftest_platform->timer_intid[TIMER_HYP_PHYS];

	irq_register(intid, timer_tick, NULL);
	gic_enable_ppi(intid);
	arch_hyp_timer_arm_at(arch_counter() + timer_period());
	arch_irq_enable();
	while (timer_ticks < TIMER_TEST_TICKS)
		arch_wait_for_interrupt();
	arch_irq_disable();
	kprintf("selftest: hyp timer ok after %u ticks\n", timer_ticks);
}

static const struct {
	const char *name;
	void (*run)(void);
} selftests[] = {
	{ "write-text", write_text },
	{ "write-rodata", write_rodata },
	{ "exec-data", exec_data },
	{ "stack-smash", stack_smash },
	{ "undef", undef },
	{ "hyp-timer", hyp_timer },
};

const struct platform *selftest_platform;

void el2_test_hook(const struct platform *p)
{
	const char *arg = strstr(p->bootargs, "exo.test=");

	if (!arg)
		return;
	selftest_platform = p;
	arg += strlen("exo.test=");
	for (size_t i = 0; i < sizeof(selftests) / sizeof(*selftests); i++) {
		size_t n = strlen(selftests[i].name);

		if (!strncmp(arg, selftests[i].name, n) &&
		    (arg[n] == '\0' || arg[n] == ' ')) {
			selftests[i].run();
			if (selftests[i].run != hyp_timer)
				kprintf("selftest: %s did not fault\n",
					selftests[i].name);
			return;
		}
	}
	kprintf("selftest: unknown test in bootargs '%s'\n", p->bootargs);
}
