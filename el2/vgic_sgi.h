/*
 * Virtual SGIs between one guest's own vCPUs. A guest's write of
 * ICC_SGI1R_EL1 traps to EL2 (HCR_EL2.IMO); EL2 reads the vCPUs it names
 * among the guest's own (their MPIDRs are the guest's, VMPIDR_EL2) and
 * makes the SGI pending on each, never on another guest's vCPU or a
 * physical CPU. One list register (LR1) holds the SGI in flight per vCPU;
 * the others posted wait in a bitmask, and the deactivation of the one in
 * flight raises the maintenance interrupt that brings the next
 * (ICH_LR_EOI). The list-register arithmetic is plain C (host tests).
 */
#ifndef EXO_EL2_VGIC_SGI_H
#define EXO_EL2_VGIC_SGI_H

#include <el2/vcpu.h>
#include <stdbool.h>
#include <stdint.h>

/* The vCPUs of a guest of nr_vcpus an ICC_SGI1R_EL1 value written by
 * vCPU self names, as a mask by vCPU index (a vCPU's Aff0 is its index,
 * its Aff1-Aff3 zero; a target that does not exist is dropped, as the GIC
 * drops an SGI for a PE that is not there). */
uint32_t vgic_sgi_targets(uint64_t value, unsigned self, unsigned nr_vcpus);

/* LR1 after SGI intid is posted to a vCPU whose LR1 was lr and whose
 * waiting SGIs are *pending. */
uint64_t vgic_sgi_lr_post(uint64_t lr, uint16_t *pending, unsigned intid);
/* LR1 once free again (its SGI deactivated): the next waiting SGI, or 0. */
uint64_t vgic_sgi_lr_refill(uint64_t lr, uint16_t *pending);

/* A trapped system-register access: emulates an MSR ICC_SGI1R_EL1 and
 * returns true; false for any other (the caller's undefined instruction;
 * ICC_SGI0R_EL1 and ICC_ASGI1R_EL1 among them: guests have group 1
 * only). */
bool vgic_sgi_emulate(struct vcpu *v, uint64_t esr);

/* The GIC's maintenance interrupt (its PPI from the DTB; NULL ctx): the
 * running vCPU's LR1 refilled. With no maintenance interrupt the
 * platform leaves vgic_sgi_emulate off (SGI writes undefined). */
void vgic_sgi_init(uint32_t maintenance_intid);
void vgic_sgi_maintenance(uint32_t intid, void *ctx);

#endif
