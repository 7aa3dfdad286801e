/*
 * The vCPU's virtual timer (el1/timer.h).
 */
#include <arch/sysreg.h>
#include <el1/timer.h>

static el1_timer_fn timer_handler;
static unsigned long timer_count;

uint64_t el1_timer_hz(void)
{
	return read_sysreg(cntfrq_el0);
}

uint64_t el1_timer_now(void)
{
	isb();   /* the counter read is not taken early */
	return read_sysreg(cntvct_el0);
}

void el1_timer_arm(uint64_t deadline)
{
	write_sysreg(deadline, cntv_cval_el0);
	write_sysreg(CNT_CTL_ENABLE, cntv_ctl_el0);   /* IMASK clear */
	isb();
}

void el1_timer_stop(void)
{
	write_sysreg(0, cntv_ctl_el0);
	isb();
}

void el1_set_timer_handler(el1_timer_fn fn)
{
	timer_handler = fn;
}

void el1_timer_received(void)
{
	__atomic_fetch_add(&timer_count, 1, __ATOMIC_RELAXED);
	if (timer_handler)
		timer_handler();
}

unsigned long el1_timer_count(void)
{
	return __atomic_load_n(&timer_count, __ATOMIC_RELAXED);
}
