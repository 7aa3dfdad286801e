/*
 * Visible revocation with an abort protocol (exokernel style): EL2 asks a
 * guest for frames back through an event; a guest that does not give them
 * within its deadline loses them by force, and can read which.
 */
#ifndef EXO_EL2_REVOKE_H
#define EXO_EL2_REVOKE_H

#include <el2/vm.h>
#include <stdbool.h>
#include <stdint.h>

/* Asks vm for `frames` back within `deadline` ticks of its CPU time. */
void revoke_request(struct vm *vm, uint64_t frames, uint64_t deadline);
/* Called whenever the vCPU stops running: fires the manifest's schedule,
 * and takes frames by force when a deadline has passed. */
void revoke_tick(struct vm *vm);
/* The guest freed count frames: counts towards an outstanding request. */
void revoke_note_free(struct vm *vm, uint64_t count);
/* Did EL2 take pa from vm (and the guest not acknowledge it yet)? */
bool revoke_taken(const struct vm *vm, uint64_t pa);
/* Posts events and raises the guest's event interrupt. */
void vm_raise_event(struct vm *vm, uint64_t events);

#endif
