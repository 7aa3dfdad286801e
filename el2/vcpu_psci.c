/*
 * PSCI's CPU calls for a guest's own vCPUs (el2/vcpu_psci.h). A vCPU is
 * named by its MPIDR affinity, which is its index in Aff0 (vcpu_mpidr):
 * any other bit set (another affinity level, or bits that are not
 * affinity at all), or an index past the VM's vCPUs, names nothing.
 */
#include <el2/arch.h>
#include <el2/sched.h>
#include <el2/vcpu_psci.h>
#include <exo/hvc.h>

#define MPIDR_AFF0_MASK UINT64_C(0xff)
/* AFFINITY_INFO's lowest_affinity_level: EL2 answers for single vCPUs. */
#define PSCI_AFF_LEVEL_CPU 0

struct vcpu *vcpu_psci_target(const struct vcpu *v, uint64_t mpidr)
{
	const struct vm *vm = v->vm;
	uint64_t index = mpidr & MPIDR_AFF0_MASK;

	if (mpidr != index || index >= vm->nr_vcpus)
		return NULL;
	return vm->vcpus[index];
}

/* On: runnable, blocked, or in the middle of anything else but off. */
static bool vcpu_on(const struct vcpu *v)
{
	return v->state != VCPU_OFF;
}

int64_t vcpu_psci_cpu_on(struct vcpu *v, uint64_t mpidr, uint64_t entry,
			 uint64_t context)
{
	struct vcpu *t = vcpu_psci_target(v, mpidr);

	if (!t)
		return EXO_PSCI_INVALID_PARAMETERS;
	if (vcpu_on(t))
		return EXO_PSCI_ALREADY_ON;
	/* As at power-on: nothing of its last life (registers, EL1 state,
	 * FP/SIMD) survives; the stage 2 is its VM's. */
	vcpu_reset(t, entry, context, v->vttbr);
	arch_fp_forget(t);
	sched_kick(t);   /* its CPU may be idle */
	return 0;
}

int64_t vcpu_psci_cpu_off(struct vcpu *v)
{
	const struct vm *vm = v->vm;
	unsigned on = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		on += vcpu_on(vm->vcpus[i]);
	if (on <= 1)
		return EXO_PSCI_DENIED;
	v->state = VCPU_OFF;
	return 0;
}

int64_t vcpu_psci_affinity_info(const struct vcpu *v, uint64_t mpidr,
				uint64_t level)
{
	const struct vcpu *t = vcpu_psci_target(v, mpidr);

	if (!t || level != PSCI_AFF_LEVEL_CPU)
		return EXO_PSCI_INVALID_PARAMETERS;
	return vcpu_on(t) ? EXO_PSCI_AFF_ON : EXO_PSCI_AFF_OFF;
}
