/*
 * The virtual GIC CPU interface and SGIs (el1/gic_cpu.h).
 */
#include <arch/sysreg.h>
#include <el1/gic_cpu.h>

#define PRIORITY_MASK_ALL 0xffu		/* every priority gets through */
#define INTID_SPURIOUS_FIRST 1020u	/* 1020-1023: no interrupt */

static el1_sgi_fn sgi_handler;
static unsigned long sgi_counts[GIC_SGI_COUNT];

void el1_gic_cpu_init(void)
{
	write_sysreg(read_sysreg(SYSREG_ICC_SRE_EL1) | ICC_SRE_SRE,
		     SYSREG_ICC_SRE_EL1);
	isb();
	write_sysreg(PRIORITY_MASK_ALL, SYSREG_ICC_PMR_EL1);
	write_sysreg(0, SYSREG_ICC_BPR1_EL1);
	write_sysreg(0, SYSREG_ICC_CTLR_EL1);	/* EOImode 0: EOI deactivates */
	write_sysreg(1, SYSREG_ICC_IGRPEN1_EL1);
	isb();
}

uint32_t el1_irq_poll(void)
{
	uint32_t intid = (uint32_t)read_sysreg(SYSREG_ICC_IAR1_EL1) &
			 ICC_IAR_INTID_MASK;

	if (intid >= INTID_SPURIOUS_FIRST)
		return EL1_IRQ_NONE;
	write_sysreg(intid, SYSREG_ICC_EOIR1_EL1);
	isb();
	return intid;
}

static void sgi_write(uint64_t value)
{
	/* The write traps to EL2, which reads it from the register named in
	 * the syndrome: no barrier needed before, but the stores the SGI
	 * announces must be visible to the other vCPUs first. */
	__asm__ volatile("dsb ishst" : : : "memory");
	write_sysreg(value, SYSREG_ICC_SGI1R_EL1);
	isb();
}

void el1_sgi_send(uint32_t vcpus, unsigned intid)
{
	sgi_write(((uint64_t)(intid & ICC_SGI1R_INTID_MASK)
		   << ICC_SGI1R_INTID_SHIFT) |
		  (vcpus & ICC_SGI1R_TARGET_LIST_MASK));
}

void el1_sgi_send_others(unsigned intid)
{
	sgi_write(((uint64_t)(intid & ICC_SGI1R_INTID_MASK)
		   << ICC_SGI1R_INTID_SHIFT) | ICC_SGI1R_IRM);
}

void el1_set_sgi_handler(el1_sgi_fn fn)
{
	sgi_handler = fn;
}

void el1_sgi_received(unsigned intid)
{
	__atomic_fetch_add(&sgi_counts[intid], 1, __ATOMIC_RELAXED);
	if (sgi_handler)
		sgi_handler(intid);
}

unsigned long el1_sgi_count(unsigned intid)
{
	return intid < GIC_SGI_COUNT
		       ? __atomic_load_n(&sgi_counts[intid], __ATOMIC_RELAXED)
		       : 0;
}
