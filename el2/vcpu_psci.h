/*
 * A guest's PSCI calls on its own vCPUs (exo/hvc.h, docs/abi.md "vCPUs"):
 * CPU_ON, CPU_OFF and AFFINITY_INFO over the vCPUs its manifest gave it.
 * Owns the vCPU's power state (VCPU_OFF and back). Never: another VM's
 * vCPUs (a target is found among the caller's own only), the run queue's
 * order (el2/sched.c).
 */
#ifndef EXO_EL2_VCPU_PSCI_H
#define EXO_EL2_VCPU_PSCI_H

#include <el2/vm.h>
#include <stdint.h>

/* The vCPU of v's VM with this MPIDR affinity, or NULL. */
struct vcpu *vcpu_psci_target(const struct vcpu *v, uint64_t mpidr);
/* Each returns what PSCI puts in x0. */
int64_t vcpu_psci_cpu_on(struct vcpu *v, uint64_t mpidr, uint64_t entry,
			 uint64_t context);
/* The caller stops (its state VCPU_OFF: no return) unless it is the VM's
 * last vCPU on: EXO_PSCI_DENIED. */
int64_t vcpu_psci_cpu_off(struct vcpu *v);
int64_t vcpu_psci_affinity_info(const struct vcpu *v, uint64_t mpidr,
				uint64_t level);

#endif
