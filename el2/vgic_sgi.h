/*
 * Virtual SGIs between one guest's own vCPUs. A guest's write of
 * ICC_SGI1R_EL1 traps to EL2 (HCR_EL2.IMO); EL2 reads the vCPUs it names
 * among the guest's own (their MPIDRs are the guest's, VMPIDR_EL2) and
 * makes the SGI pending on each (el2/vgic_lr.h), never on another guest's
 * vCPU or a physical CPU. Off (the write undefined) without the
 * maintenance interrupt (vgic_lr_on).
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

/* A trapped system-register access: emulates an MSR ICC_SGI1R_EL1 and
 * returns true; false for any other (the caller's undefined instruction;
 * ICC_SGI0R_EL1 and ICC_ASGI1R_EL1 among them: guests have group 1
 * only), and for every access when vgic_lr_on() is false. */
bool vgic_sgi_emulate(struct vcpu *v, uint64_t esr);

#endif
