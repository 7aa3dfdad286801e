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
#include <lib/print.h>

#define EVENT_PRIORITY 0xa0u

#ifdef EXO_DEBUG
/* Debug builds name the first few posts, enough to show them happen
 * without a line per event (a storm of offers posts hundreds). */
#define POSTS_NAMED 8u
static unsigned posts_named;   /* under the EL2 lock */
#endif

/* v's list registers are live on another CPU: kept for that CPU, which
 * the kick below brings to vm_event_take_posted. */
static void post_elsewhere(struct vcpu *v, uint64_t events)
{
	v->vgic.posted_event = true;
#ifdef EXO_DEBUG
	if (posts_named < POSTS_NAMED)
		kprintf("debug: guest '%s': events 0x%lx posted from cpu %u to "
			"its vCPU 0 running on cpu %u%s\n", v->vm->name,
			(unsigned long)events, this_cpu()->cpu, v->cpu,
			posts_named + 1 == POSTS_NAMED
				? " (later posts not named)"
				: "");
	posts_named++;
#else
	(void)events;
#endif
}

void vm_event_raise(struct vm *vm, uint64_t events)
{
	struct vcpu *v = &vm->vcpu;
	struct percpu *home = percpu_of(v->cpu);
	bool elsewhere = home != this_cpu();

	vm->events |= events;
	if (home->current != v)
		arch_vgic_raise_saved(v, EXO_EVENT_INTID, EVENT_PRIORITY);
	else if (!elsewhere)
		arch_vgic_raise(EXO_EVENT_INTID, EVENT_PRIORITY);
	else
		post_elsewhere(v, events);
	if (v->state == VCPU_BLOCKED) {   /* WAIT returns, x1 = 0 */
		v->x[0] = EXO_OK;
		v->x[1] = 0;
		v->state = VCPU_RUNNABLE;
	}
	if (elsewhere)
		sched_kick_other(v);
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
