/*
 * A guest's events: the pending bits, and the event interrupt as a virtual
 * PPI through the virtual GIC (el2/arch.h writes the list register, live or
 * saved with the vCPU). Never: decide when to post (revocation and the
 * fault injector do), or touch another guest.
 */
#include <el2/arch.h>
#include <el2/percpu.h>
#include <el2/sched.h>
#include <el2/vm_event.h>
#include <exo/errors.h>
#include <exo/hvc.h>

#define EVENT_PRIORITY 0xa0u

void vm_event_raise(struct vm *vm, uint64_t events)
{
	struct vcpu *v = &vm->vcpu;

	vm->events |= events;
	if (this_cpu()->current == v)
		arch_vgic_raise(EXO_EVENT_INTID, EVENT_PRIORITY);
	else if (percpu_of(v->cpu)->current == v)
		v->vgic.posted_event = true;   /* live on its CPU: kicked */
	else
		arch_vgic_raise_saved(v, EXO_EVENT_INTID, EVENT_PRIORITY);
	if (v->state == VCPU_BLOCKED) {   /* WAIT returns, x1 = 0 */
		v->x[0] = EXO_OK;
		v->x[1] = 0;
		v->state = VCPU_RUNNABLE;
	}
	sched_kick(v);
}

void vm_event_take_posted(struct vcpu *v)
{
	if (!v->vgic.posted_event)
		return;
	v->vgic.posted_event = false;
	arch_vgic_raise(EXO_EVENT_INTID, EVENT_PRIORITY);
}

uint64_t vm_event_take(struct vm *vm)
{
	uint64_t events = vm->events;

	vm->events = 0;
	return events;
}
