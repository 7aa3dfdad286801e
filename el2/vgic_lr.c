/*
 * A vCPU's own virtual SGIs and PPIs through list register 1
 * (el2/vgic_lr.h). Never: post to a vCPU of another VM on a guest's
 * behalf (the callers choose the vCPU: el2/vgic_sgi.c among the writer's
 * siblings, el2/vtimer.c the running vCPU).
 */
#include <arch/sysreg.h>
#include <el2/arch.h>
#include <el2/gic.h>
#include <el2/irq.h>
#include <el2/percpu.h>
#include <el2/sched.h>
#include <el2/vgic_lr.h>

#define VGIC_LR_PRIORITY 0xa0u   /* the event interrupt's: guests cannot
				  * set priorities (no distributor) */

static uint32_t maintenance;   /* its INTID; 0: off */

/* An interrupt pending in a list register; with more waiting, its
 * deactivation raises the maintenance interrupt. */
static uint64_t lr_for(unsigned intid, bool more)
{
	return ICH_LR_STATE_PENDING | ICH_LR_GROUP1 |
	       ((uint64_t)VGIC_LR_PRIORITY << ICH_LR_PRIORITY_SHIFT) |
	       (more ? ICH_LR_EOI : 0) | intid;
}

uint64_t vgic_lr_refilled(uint64_t lr, uint32_t *pending)
{
	unsigned intid;

	if (lr & ICH_LR_STATE_MASK)
		return *pending ? lr | ICH_LR_EOI : lr;
	if (!*pending)
		return 0;   /* also ends a spent EOI request */
	intid = (unsigned)__builtin_ctz(*pending);
	*pending &= ~(UINT32_C(1) << intid);
	return lr_for(intid, *pending != 0);
}

uint64_t vgic_lr_posted(uint64_t lr, uint32_t *pending, unsigned intid)
{
	/* The same interrupt in flight: pending again (and still active if
	 * the guest is handling it), as the GIC merges a repeat. */
	if ((lr & ICH_LR_STATE_MASK) && (lr & ICH_LR_VINTID_MASK) == intid)
		return lr | ICH_LR_STATE_PENDING;
	*pending |= UINT32_C(1) << intid;
	return vgic_lr_refilled(lr, pending);
}

void vgic_lr_post(struct vcpu *v, unsigned intid)
{
	struct vcpu_vgic *g = &v->vgic;

	if (this_cpu()->current == v) {
		arch_vgic_lr1_write(vgic_lr_posted(arch_vgic_lr1_read(),
						   &g->lr1_pending, intid));
		return;
	}
	/* Live on another CPU: that CPU puts it in, kicked. */
	if (percpu_of(v->cpu)->current == v)
		g->posted_lr1 |= UINT32_C(1) << intid;
	else
		g->lr1 = vgic_lr_posted(g->lr1, &g->lr1_pending, intid);
	sched_kick(v);
}

void vgic_lr_take_posted(struct vcpu *v)
{
	struct vcpu_vgic *g = &v->vgic;
	uint64_t lr;

	if (!g->posted_lr1)
		return;
	lr = arch_vgic_lr1_read();
	while (g->posted_lr1) {
		unsigned intid = (unsigned)__builtin_ctz(g->posted_lr1);

		g->posted_lr1 &= ~(UINT32_C(1) << intid);
		lr = vgic_lr_posted(lr, &g->lr1_pending, intid);
	}
	arch_vgic_lr1_write(lr);
}

void vgic_lr_maintenance(uint32_t intid, void *ctx)
{
	struct vcpu *v = this_cpu()->current;
	uint32_t none = 0;

	(void)intid;
	(void)ctx;
	arch_vgic_lr1_write(vgic_lr_refilled(arch_vgic_lr1_read(),
					     v ? &v->vgic.lr1_pending : &none));
}

bool vgic_lr_init(uint32_t maintenance_intid)
{
	if (!maintenance_intid || !arch_vgic_has_lr1())
		return false;
	maintenance = maintenance_intid;
	irq_register(maintenance, vgic_lr_maintenance, NULL);
	vgic_lr_cpu_init();
	return true;
}

void vgic_lr_cpu_init(void)
{
	if (maintenance)
		gic_enable_ppi(maintenance);
}

bool vgic_lr_on(void)
{
	return maintenance != 0;
}
