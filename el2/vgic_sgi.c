/*
 * Virtual SGIs between one guest's own vCPUs (el2/vgic_sgi.h). Never:
 * name a vCPU outside the writer's VM, or send a physical SGI.
 */
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <el2/arch.h>
#include <el2/irq.h>
#include <el2/percpu.h>
#include <el2/vgic_sgi.h>
#include <el2/vm.h>
#include <exo/errors.h>

#define INSN_SIZE 4
#define XZR 31                /* Rt == 31 names XZR in MSR */
#define SGI_PRIORITY 0xa0u    /* the event interrupt's: guests cannot set it */

static bool sgi_on;           /* the platform gave a maintenance interrupt */

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

/* An SGI pending in a list register; with more waiting, its deactivation
 * raises the maintenance interrupt. */
static uint64_t sgi_lr(unsigned intid, bool more)
{
	return ICH_LR_STATE_PENDING | ICH_LR_GROUP1 |
	       ((uint64_t)SGI_PRIORITY << ICH_LR_PRIORITY_SHIFT) |
	       (more ? ICH_LR_EOI : 0) | intid;
}

uint64_t vgic_sgi_lr_refill(uint64_t lr, uint16_t *pending)
{
	unsigned intid;

	if (lr & ICH_LR_STATE_MASK)
		return *pending ? lr | ICH_LR_EOI : lr;
	if (!*pending)
		return 0;   /* also ends a spent EOI request */
	intid = (unsigned)__builtin_ctz(*pending);
	*pending &= (uint16_t)~(1u << intid);
	return sgi_lr(intid, *pending != 0);
}

uint64_t vgic_sgi_lr_post(uint64_t lr, uint16_t *pending, unsigned intid)
{
	/* The same SGI in flight: pending again (and still active if the
	 * guest is handling it), as the GIC merges a repeat. */
	if ((lr & ICH_LR_STATE_MASK) && (lr & ICH_LR_VINTID_MASK) == intid)
		return lr | ICH_LR_STATE_PENDING;
	*pending |= (uint16_t)(1u << intid);
	return vgic_sgi_lr_refill(lr, pending);
}

/* A WAIT ends for an interrupt as for an event (x1 = 0: no notifier). */
static void sgi_wake(struct vcpu *t)
{
	if (t->state != VCPU_BLOCKED)
		return;
	t->x[0] = EXO_OK;
	t->x[1] = 0;
	t->state = VCPU_RUNNABLE;
}

static void sgi_post(struct vcpu *t, unsigned intid)
{
	struct vcpu_vgic *g = &t->vgic;

	if (this_cpu()->current == t)
		arch_vgic_lr1_write(vgic_sgi_lr_post(arch_vgic_lr1_read(),
						     &g->sgi_pending, intid));
	else
		g->lr1 = vgic_sgi_lr_post(g->lr1, &g->sgi_pending, intid);
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

	if (!sgi_on || !is_sgi1r_write(esr))
		return false;
	value = rt == XZR ? 0 : v->x[rt];
	targets = vgic_sgi_targets(value, v->index, vm->nr_vcpus);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if ((targets & (UINT32_C(1) << i)) &&
		    vm->vcpus[i]->state != VCPU_OFF)
			sgi_post(vm->vcpus[i],
				 sgi_field(value, ICC_SGI1R_INTID_SHIFT,
					   ICC_SGI1R_INTID_MASK));
	v->elr += INSN_SIZE;
	return true;
}

void vgic_sgi_maintenance(uint32_t intid, void *ctx)
{
	struct vcpu *v = this_cpu()->current;
	uint16_t none = 0;

	(void)intid;
	(void)ctx;
	arch_vgic_lr1_write(vgic_sgi_lr_refill(arch_vgic_lr1_read(),
					       v ? &v->vgic.sgi_pending : &none));
}

void vgic_sgi_init(uint32_t maintenance_intid)
{
	irq_register(maintenance_intid, vgic_sgi_maintenance, NULL);
	sgi_on = true;
}
