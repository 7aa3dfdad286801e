/*
 * What a borrower lost through its owner (issue 13, rule 3): the runs an
 * owner took back (UNSHARE, RECLAIM), or that went with the owner's end or
 * its forced revocation. The borrower is told (EXO_EVENT_RECLAIMED), reads
 * the runs (EXO_HVC_RECLAIMED) and acknowledges them (RECLAIMED_ACK);
 * until then its touches of them are excused: reflected as aborts, never
 * counted as violations (el2/guest_trap.c counts them apart, with their
 * own limit). docs/abi.md, "Revocation".
 */
#ifndef EXO_EL2_LOST_H
#define EXO_EL2_LOST_H

#include <el2/vm.h>
#include <stdbool.h>
#include <stdint.h>

/* Records that vm lost [pa, +count) through its owner: into the bounded
 * list (when full, merged with the run it lies closest to), a new
 * generation, and EXO_EVENT_RECLAIMED raised. */
void lost_tell(struct vm *vm, uint64_t pa, uint64_t count);
/* The list alone, without the event (host tests, and lost_tell). */
void lost_note(struct vm_lost *l, uint64_t pa, uint64_t count);
/* Is pa inside a run the guest lost and has not acknowledged? */
bool lost_covers(const struct vm_lost *l, uint64_t pa);
/* RECLAIMED: the i-th run and the list's generation, or EXO_ENOENT past
 * the last. */
int64_t lost_run(const struct vm_lost *l, uint64_t i, struct vm_run *run,
		 uint64_t *generation);
/* RECLAIMED_ACK: forgets the runs if the list is still at generation
 * (EXO_OK); else EXO_ESTATE, nothing forgotten (a run came since the
 * guest read them: it reads again). */
int64_t lost_ack(struct vm_lost *l, uint64_t generation);
/* A restart: nothing lost in the new life, the event not pending. */
void lost_new_life(struct vm *vm);

#endif
