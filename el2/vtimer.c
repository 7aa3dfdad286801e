/*
 * The guest's virtual timer as an interrupt (el2/vtimer.h). Never: post
 * the timer to a vCPU whose own timer did not fire.
 */
#include <el2/arch.h>
#include <el2/gic.h>
#include <el2/irq.h>
#include <el2/percpu.h>
#include <el2/vgic_lr.h>
#include <el2/vtimer.h>
#include <exo/hvc.h>

static uint32_t physical_intid;   /* 0: guests get no timer interrupt */

void vtimer_fired(uint32_t intid, void *ctx)
{
	struct vcpu *v = this_cpu()->current;

	(void)intid;
	(void)ctx;
	/* Not its condition (a timer stopped at a switch, re-armed since):
	 * nothing to post; the interrupt is gone with it. */
	if (v && arch_vtimer_take())
		vgic_lr_post(v, EXO_VTIMER_INTID);
}

void vtimer_init(uint32_t timer_intid)
{
	physical_intid = timer_intid;
	irq_register(timer_intid, vtimer_fired, NULL);
	vtimer_cpu_init();
}

void vtimer_cpu_init(void)
{
	if (physical_intid)
		gic_enable_ppi(physical_intid);
}
