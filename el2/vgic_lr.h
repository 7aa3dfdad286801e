/*
 * A vCPU's own virtual interrupts below the SPIs (SGIs from its sibling
 * vCPUs, el2/vgic_sgi.c; its virtual timer, el2/vtimer.c): list register
 * 1 holds the one in flight, a 32-bit mask the others waiting, one bit per
 * INTID (0-31). While others wait, the one in flight carries ICH_LR_EOI,
 * so its deactivation raises the GIC's maintenance interrupt, whose
 * handler puts in the next (lowest INTID first). List register 0 stays the
 * event interrupt's (el2/vm_event.c). The list-register arithmetic is
 * plain C (host tests).
 */
#ifndef EXO_EL2_VGIC_LR_H
#define EXO_EL2_VGIC_LR_H

#include <el2/vcpu.h>
#include <stdbool.h>
#include <stdint.h>

#define VGIC_LR_INTIDS 32u   /* SGIs and PPIs */

/* LR1 after intid is posted to a vCPU whose LR1 was lr and whose waiting
 * interrupts are *pending. */
uint64_t vgic_lr_posted(uint64_t lr, uint32_t *pending, unsigned intid);
/* LR1 once free again (its interrupt deactivated): the next waiting
 * interrupt, or 0; a busy LR1 is kept (asking for maintenance if others
 * wait). */
uint64_t vgic_lr_refilled(uint64_t lr, uint32_t *pending);

/* Makes intid (below VGIC_LR_INTIDS) pending on v: live when v is the
 * running vCPU of this CPU; when v is live on another CPU, in its
 * posted_lr1, and that CPU is kicked; else in its saved LR1 (its CPU
 * kicked too, in case it idles). */
void vgic_lr_post(struct vcpu *v, unsigned intid);
/* v is this CPU's running vCPU: what other CPUs posted it while it ran
 * (posted_lr1) goes into its live LR1, as vgic_lr_post would have put
 * it. */
void vgic_lr_take_posted(struct vcpu *v);

/* The maintenance interrupt (its PPI from the host DTB): registered and
 * enabled on this CPU by vgic_lr_init, on the others by
 * vgic_lr_cpu_init. Returns false when the GIC has no LR1 or the DTB no
 * maintenance interrupt: then nothing may be posted (vgic_lr_on). */
bool vgic_lr_init(uint32_t maintenance_intid);
void vgic_lr_cpu_init(void);
bool vgic_lr_on(void);
void vgic_lr_maintenance(uint32_t intid, void *ctx);

#endif
