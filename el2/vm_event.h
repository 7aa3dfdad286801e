/*
 * Events EL2 posts to a guest (EXO_EVENT_*, docs/abi.md "Events"): a
 * pending bit each, and the guest's event interrupt, which says there are
 * some. The guest reads and clears them with EVENTS.
 */
#ifndef EXO_EL2_VM_EVENT_H
#define EXO_EL2_VM_EVENT_H

#include <el2/vm.h>
#include <stdint.h>

/* Posts events (0: only the interrupt) and raises the event interrupt; a
 * vCPU blocked in WAIT returns from it (x1 = 0). */
void vm_event_raise(struct vm *vm, uint64_t events);
/* v is this CPU's running vCPU: the event interrupt another CPU raised
 * while v ran here (posted_event) goes into its live list register. */
void vm_event_take_posted(struct vcpu *v);
/* The events posted since the last take, cleared. */
uint64_t vm_event_take(struct vm *vm);

#endif
