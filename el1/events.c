/*
 * EL2's events reach the guest as a virtual interrupt (EXO_EVENT_INTID)
 * through its virtual GICv3 CPU interface (EL2 fills the list registers).
 * el1 turns that interface on (system-register access, priority mask,
 * group 1), acknowledges and ends each interrupt, and hands EL2's events
 * to libos (libos_events_handle), which decides what they mean. IRQs are
 * unmasked from main() on; libos masks them in its critical sections.
 *
 * Order: the interrupt is ended (EOI: priority drop and deactivation)
 * before libos reads EVENTS, so an event EL2 posts while libos works
 * raises the interrupt again rather than finding it active and being
 * missed until the next one.
 */
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <exo/hvc.h>
#include <libos/libos.h>

#define INTID_SPURIOUS_FIRST 1020u	/* 1020-1023: no interrupt */
#define PRIORITY_MASK_ALL 0xffu		/* every priority gets through */

static unsigned long other_irqs;

static bool el1_irq(struct el1_frame *f)
{
	(void)f;
	for (;;) {
		uint32_t intid = (uint32_t)read_sysreg(SYSREG_ICC_IAR1_EL1) &
				 ICC_IAR_INTID_MASK;

		if (intid >= INTID_SPURIOUS_FIRST)
			return true;
		write_sysreg(intid, SYSREG_ICC_EOIR1_EL1);
		isb();
		if (intid == EXO_EVENT_INTID)
			libos_events_handle();
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
	write_sysreg(read_sysreg(SYSREG_ICC_SRE_EL1) | ICC_SRE_SRE,
		     SYSREG_ICC_SRE_EL1);
	isb();
	write_sysreg(PRIORITY_MASK_ALL, SYSREG_ICC_PMR_EL1);
	write_sysreg(0, SYSREG_ICC_BPR1_EL1);
	write_sysreg(0, SYSREG_ICC_CTLR_EL1);	/* EOImode 0: EOI deactivates */
	write_sysreg(1, SYSREG_ICC_IGRPEN1_EL1);
	isb();
	el1_set_irq_handler(el1_irq);
	__asm__ volatile("msr daifclr, #2" : : : "memory");
}
