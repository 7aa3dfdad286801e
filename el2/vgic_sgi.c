/*
 * Virtual SGIs between one guest's own vCPUs (el2/vgic_sgi.h). Never:
 * name a vCPU outside the writer's VM, or send a physical SGI.
 */
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <el2/sched.h>
#include <el2/vgic_lr.h>
#include <el2/vgic_sgi.h>
#include <el2/vm.h>
#include <exo/errors.h>

static unsigned sgi_field(uint64_t value, unsigned shift, uint64_t mask)
{
	return (unsigned)((value >> shift) & mask);
}

uint32_t vgic_sgi_targets(uint64_t value, unsigned self, unsigned nr_vcpus)
{
	uint32_t all = (UINT32_C(1) << nr_vcpus) - 1;
	unsigned base;

	if (value & ICC_SGI1R_IRM)
		return all & ~(UINT32_C(1) << self);
	if (sgi_field(value, ICC_SGI1R_AFF1_SHIFT, ICC_SGI1R_AFF_MASK) ||
	    sgi_field(value, ICC_SGI1R_AFF2_SHIFT, ICC_SGI1R_AFF_MASK) ||
	    sgi_field(value, ICC_SGI1R_AFF3_SHIFT, ICC_SGI1R_AFF_MASK))
		return 0;   /* another cluster: the guest has none */
	base = sgi_field(value, ICC_SGI1R_RS_SHIFT, ICC_SGI1R_RS_MASK) *
	       ICC_SGI1R_TARGETS_PER_RANGE;
	if (base >= nr_vcpus)
		return 0;
	return ((uint32_t)(value & ICC_SGI1R_TARGET_LIST_MASK) << base) & all;
}

/* A WAIT ends for an interrupt as for an event (x1 = 0: no notifier). */
static void sgi_wake(struct vcpu *t)
{
	if (t->state != VCPU_BLOCKED)
		return;
	t->x[0] = EXO_OK;
	t->x[1] = 0;
	t->state = VCPU_RUNNABLE;
	sched_kick(t);
}

static void sgi_post(struct vcpu *t, unsigned intid)
{
	vgic_lr_post(t, intid);
	sgi_wake(t);
}

static bool is_sgi1r_write(uint64_t esr)
{
	uint64_t iss = ESR_ISS(esr);

	return ESR_EC(esr) == ESR_EC_SYSREG && !(iss & ESR_SYSREG_READ) &&
	       ESR_SYSREG_OP0(iss) == ICC_SGI1R_OP0 &&
	       ESR_SYSREG_OP1(iss) == ICC_SGI1R_OP1 &&
	       ESR_SYSREG_CRN(iss) == ICC_SGI1R_CRN &&
	       ESR_SYSREG_CRM(iss) == ICC_SGI1R_CRM &&
	       ESR_SYSREG_OP2(iss) == ICC_SGI1R_OP2;
}

bool vgic_sgi_emulate(struct vcpu *v, uint64_t esr)
{
	unsigned rt = (unsigned)ESR_SYSREG_RT(ESR_ISS(esr));
	uint64_t value;
	uint32_t targets;
	struct vm *vm = v->vm;

	if (!vgic_lr_on() || !is_sgi1r_write(esr))
		return false;
	value = vcpu_msr_value(v, rt);
	targets = vgic_sgi_targets(value, v->index, vm->nr_vcpus);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if ((targets & (UINT32_C(1) << i)) &&
		    vm->vcpus[i]->state != VCPU_OFF)
			sgi_post(vm->vcpus[i],
				 sgi_field(value, ICC_SGI1R_INTID_SHIFT,
					   ICC_SGI1R_INTID_MASK));
	v->elr += A64_INSN_SIZE;
	return true;
}
