/*
 * EL2's events reach the guest as a virtual interrupt (EXO_EVENT_INTID)
 * through its virtual GICv3 CPU interface (EL2 fills the list registers).
 * el1 turns that interface on (system-register access, priority mask,
 * group 1; el1/gic_cpu.c), acknowledges and ends each interrupt, and hands
 * SGIs to el1/gic_cpu.c, the virtual timer's to el1/timer.c and EL2's
 * events to libos (libos_events_handle), which decides what they mean.
 * IRQs are unmasked from main() on; libos masks them in its critical
 * sections.
 *
 * Order: the interrupt is ended (EOI: priority drop and deactivation)
 * before libos reads EVENTS, so an event EL2 posts while libos works
 * raises the interrupt again rather than finding it active and being
 * missed until the next one.
 */
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <el1/gic_cpu.h>
#include <el1/timer.h>
#include <exo/hvc.h>
#include <libos/libos.h>

static unsigned long other_irqs;

static bool el1_irq(struct el1_frame *f)
{
	(void)f;
	for (;;) {
		uint32_t intid = el1_irq_poll();

		if (intid == EL1_IRQ_NONE)
			return true;
		if (intid == EXO_EVENT_INTID)
			libos_events_handle();
		else if (intid < GIC_SGI_COUNT)
			el1_sgi_received(intid);
		else if (intid == EXO_VTIMER_INTID)
			el1_timer_received();
		else
			other_irqs++;
	}
}

unsigned long el1_other_irqs(void)
{
	return other_irqs;
}

void el1_events_init(void)
{
	el1_gic_cpu_init();
	el1_set_irq_handler(el1_irq);
	__asm__ volatile("msr daifclr, #2" : : : "memory");
}
