/*
 * IRQ dispatch at EL2. Handlers run with interrupts masked; an interrupt
 * with no handler is ended, never fatal.
 */
#include <arch/sysreg.h>
#include <el2/gic.h>
#include <el2/irq.h>

#define IRQ_TABLE_SIZE 32   /* SGIs and PPIs: all EL2 uses so far */

struct irq_slot {
	irq_handler_fn fn;
	void *ctx;
};

static struct irq_slot irq_table[IRQ_TABLE_SIZE];

void irq_register(uint32_t intid, irq_handler_fn fn, void *ctx)
{
	if (intid < IRQ_TABLE_SIZE)
		irq_table[intid] = (struct irq_slot){ fn, ctx };
}

void irq_handle(void)
{
	uint32_t intid;

	while ((intid = gic_ack()) != GIC_INTID_SPURIOUS) {
		if (intid < IRQ_TABLE_SIZE && irq_table[intid].fn)
			irq_table[intid].fn(intid, irq_table[intid].ctx);
		gic_eoi(intid);
	}
}
