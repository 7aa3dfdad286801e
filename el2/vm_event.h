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
/* The events posted since the last take, cleared. */
uint64_t vm_event_take(struct vm *vm);

#endif
