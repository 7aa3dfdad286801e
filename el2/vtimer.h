/*
 * The guest's virtual timer as an interrupt. Each vCPU's CNTV_CTL_EL0 and
 * CNTV_CVAL_EL0 are switched with it (el2/arch/vcpu_switch.c, which stops
 * the timer of a vCPU it saves), so when the physical virtual-timer PPI
 * reaches EL2 (HCR_EL2.IMO) it is the running vCPU's own timer that fired:
 * EL2 masks it (CNTV_CTL_EL0.IMASK, what the guest's own handler would do:
 * the level-triggered interrupt stops) and posts EXO_VTIMER_INTID on that
 * vCPU (el2/vgic_lr.h). The guest re-arms by writing CNTV_CTL_EL0 (or the
 * compare value and then CNTV_CTL_EL0) with IMASK clear. A vCPU whose
 * timer expires while it is not running gets it when it next runs.
 */
#ifndef EXO_EL2_VTIMER_H
#define EXO_EL2_VTIMER_H

#include <stdint.h>

/* Registers the handler of the physical virtual-timer PPI (its INTID from
 * the host DTB) and enables it on this CPU; vtimer_cpu_init on the
 * others. Only once vgic_lr_init succeeded. */
void vtimer_init(uint32_t timer_intid);
void vtimer_cpu_init(void);
void vtimer_fired(uint32_t intid, void *ctx);

#endif
