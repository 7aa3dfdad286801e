/*
 * vtimer: the virtual timer as an interrupt (EL2 posts EXO_VTIMER_INTID
 * when the running vCPU's own timer fires, masking it; el2/vtimer.c).
 * vCPU 0 arms its timer 1 ms ahead and waits in WFI: the interrupt comes
 * no earlier, with ISTATUS and IMASK set; its handler re-arms ten times
 * (a periodic tick); a timer armed then stopped stays quiet. vCPU 1 arms
 * its own, shorter, and polls for it with IRQs masked: each vCPU gets
 * its own timer's interrupt only. With `--quiet` (a second guest beside
 * it, its timer never armed) it yields for as long as vtimer runs and
 * must get no timer interrupt at all.
 */
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <el1/gic_cpu.h>
#include <el1/smp.h>
#include <el1/timer.h>
#include <exo/hvc.h>
#include <exo/hypercall.h>
#include <string.h>

#include "../tap.h"

#define TICKS 10u
#define STACK_BYTES 8192
#define WAIT_SPINS 200000u
#define MS_PER_S 1000u

static uint8_t stack[STACK_BYTES] __attribute__((aligned(16)));
static uint64_t ms, armed_at, fired_at, ctl_seen;
static unsigned ticks;
static unsigned cpu1_got_timer, cpu1_got_other;

static void wfi(void)
{
	__asm__ volatile("wfi" : : : "memory");   /* traps: EL2 runs another */
}

/* The periodic tick: re-armed until TICKS. */
static void on_timer(void)
{
	if (!fired_at) {
		fired_at = el1_timer_now();
		ctl_seen = read_sysreg(cntv_ctl_el0);
	}
	if (++ticks < TICKS)
		el1_timer_arm(el1_timer_now() + ms);
	else
		el1_timer_stop();
}

static bool wait_count(unsigned long count)
{
	for (unsigned spins = 0; el1_timer_count() < count; spins++) {
		if (spins > WAIT_SPINS)
			return false;
		wfi();
	}
	return true;
}

/* vCPU 1: its own timer, half a millisecond, polled with IRQs masked. */
static void cpu1(unsigned cpu, void *arg)
{
	uint64_t deadline;

	(void)cpu;
	(void)arg;
	el1_gic_cpu_init();
	deadline = el1_timer_now() + ms / 2;
	el1_timer_arm(deadline);
	for (unsigned spins = 0; spins < WAIT_SPINS && !cpu1_got_timer;
	     spins++) {
		uint32_t intid = el1_irq_poll();

		if (intid == EXO_VTIMER_INTID && el1_timer_now() >= deadline)
			cpu1_got_timer++;
		else if (intid != EL1_IRQ_NONE)
			cpu1_got_other++;
		else
			wfi();
	}
	el1_timer_stop();
}

EL1_GUEST_OPTIONS("--quiet");

static int quiet(void)
{
	while (exo_vm_lookup("vtimer").status == EXO_OK)
		wfi();
	TAP_CHECK(el1_timer_count() == 0,
		  "quiet: no timer interrupt while vtimer's fired (%lu)",
		  el1_timer_count());
	return tap_done();
}

int main(int argc, char **argv)
{
	uint64_t quiet_until;

	if (argc > 1 && !strcmp(argv[1], "--quiet"))
		return quiet();
	ms = el1_timer_hz() / MS_PER_S;
	el1_set_timer_handler(on_timer);
	armed_at = el1_timer_now();
	el1_timer_arm(armed_at + ms);
	TAP_CHECK(wait_count(1), "the timer's interrupt arrives");
	TAP_CHECK(fired_at >= armed_at + ms,
		  "not before its deadline (%lu ticks after arming, %lu asked)",
		  (unsigned long)(fired_at - armed_at), (unsigned long)ms);
	TAP_CHECK((ctl_seen & (CNT_CTL_ISTATUS | CNT_CTL_IMASK |
			       CNT_CTL_ENABLE)) ==
			  (CNT_CTL_ISTATUS | CNT_CTL_IMASK | CNT_CTL_ENABLE),
		  "its handler finds it enabled, expired and masked by EL2");
	TAP_CHECK(wait_count(TICKS) && ticks == TICKS,
		  "re-armed from its handler: %u ticks", TICKS);
	el1_timer_arm(el1_timer_now() + ms);
	el1_timer_stop();
	quiet_until = el1_timer_now() + 3 * ms;
	while (el1_timer_now() < quiet_until)
		wfi();
	TAP_CHECK(el1_timer_count() == TICKS,
		  "armed then stopped: no interrupt");
	TAP_CHECK(el1_cpu_start(1, cpu1, NULL, stack + STACK_BYTES) == 0,
		  "vCPU 1 started");
	while (el1_cpu_state(1) != EXO_PSCI_AFF_OFF)
		wfi();
	TAP_CHECK(cpu1_got_timer == 1 && cpu1_got_other == 0,
		  "vCPU 1 got its own timer's interrupt, nothing else");
	TAP_CHECK(el1_timer_count() == TICKS,
		  "and vCPU 0 none of vCPU 1's");
	return tap_done();
}
