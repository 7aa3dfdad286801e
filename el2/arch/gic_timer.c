/*
 * AArch64 side of the GICv3 CPU interface and the EL2 physical timer.
 */
#include <arch/sysreg.h>
#include <el2/arch.h>

uint64_t arch_mpidr(void)
{
	return read_sysreg(mpidr_el1);
}

void arch_gic_cpu_init(void)
{
	write_sysreg(ICC_SRE_SRE | ICC_SRE_DFB | ICC_SRE_DIB | ICC_SRE_EL2_ENABLE,
		     SYSREG_ICC_SRE_EL2);
	isb();
	write_sysreg(ICC_SRE_SRE | ICC_SRE_DFB | ICC_SRE_DIB, SYSREG_ICC_SRE_EL1);
	isb();
	write_sysreg(0xff, SYSREG_ICC_PMR_EL1);   /* unmask every priority */
	write_sysreg(0, SYSREG_ICC_BPR1_EL1);
	write_sysreg(0, SYSREG_ICC_CTLR_EL1);     /* EOImode 0: EOI deactivates */
	write_sysreg(1, SYSREG_ICC_IGRPEN1_EL1);
	isb();
}

uint32_t arch_gic_ack(void)
{
	uint32_t intid = (uint32_t)read_sysreg(SYSREG_ICC_IAR1_EL1);

	dsb(sy);
	return intid & ICC_IAR_INTID_MASK;
}

void arch_gic_eoi(uint32_t intid)
{
	write_sysreg(intid, SYSREG_ICC_EOIR1_EL1);
	isb();
}

uint64_t arch_timer_freq(void)
{
	return read_sysreg(cntfrq_el0);
}

uint64_t arch_counter(void)
{
	isb();
	return read_sysreg(cntpct_el0);
}

void arch_hyp_timer_arm_at(uint64_t at)
{
	write_sysreg(at, cnthp_cval_el2);
	write_sysreg(CNT_CTL_ENABLE, cnthp_ctl_el2);
	isb();
}

void arch_hyp_timer_stop(void)
{
	write_sysreg(0, cnthp_ctl_el2);
	isb();
}

void arch_irq_enable(void)
{
	__asm__ volatile("msr daifclr, #2" : : : "memory");
}

void arch_irq_disable(void)
{
	__asm__ volatile("msr daifset, #2" : : : "memory");
}

void arch_wait_for_interrupt(void)
{
	__asm__ volatile("dsb sy; wfi" : : : "memory");
}

void arch_send_sgi(uint64_t mpidr, unsigned intid)
{
	uint64_t aff0 = mpidr & MPIDR_AFF_MASK;
	uint64_t v = ((uint64_t)(intid & ICC_SGI1R_INTID_MASK)
		      << ICC_SGI1R_INTID_SHIFT) |
		     ((mpidr >> MPIDR_AFF1_SHIFT & MPIDR_AFF_MASK)
		      << ICC_SGI1R_AFF1_SHIFT) |
		     ((mpidr >> MPIDR_AFF2_SHIFT & MPIDR_AFF_MASK)
		      << ICC_SGI1R_AFF2_SHIFT) |
		     ((mpidr >> MPIDR_AFF3_SHIFT & MPIDR_AFF_MASK)
		      << ICC_SGI1R_AFF3_SHIFT) |
		     ((aff0 / ICC_SGI1R_TARGETS_PER_RANGE) << ICC_SGI1R_RS_SHIFT) |
		     (UINT64_C(1) << (aff0 % ICC_SGI1R_TARGETS_PER_RANGE));

	/* The kick follows the stores it announces (the target's
	 * sched_pending, under the EL2 lock): a DSB orders them before the
	 * SGI's generation (GICv3: system-register writes are not ordered
	 * by a DMB). */
	dsb(ish);
	write_sysreg(v, SYSREG_ICC_SGI1R_EL1);
	isb();
}
