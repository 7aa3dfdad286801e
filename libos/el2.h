/*
 * The hypercalls libos makes, as plain functions: libos/arch/el2_call.c issues
 * them on AArch64 (through include/exo/hypercall.h), the host tests replace
 * them with a simulated EL2 (tests/host/fake_libos_el2.c). Statuses are
 * EXO_OK or a negative exo error (include/exo/errors.h).
 *
 * Owns: nothing but the calls. Never: decides anything (libos/pool does).
 */
#ifndef EXO_LIBOS_EL2_H
#define EXO_LIBOS_EL2_H

#include <stdint.h>

/* FRAME_ALLOC: count frames aligned to 2^align_log2 frames -> *pa. */
int64_t libos_el2_frame_alloc(uint64_t count, unsigned align_log2,
			      uint64_t *pa);
/* FRAME_FREE: count frames at pa back to EL2 (scrubbed there). */
int64_t libos_el2_frame_free(uint64_t pa, uint64_t count);

struct libos_vm_info {
	uint64_t vmid, quota, charged; /* charged: frames, tables included */
};
/* VM_INFO. */
int64_t libos_el2_vm_info(struct libos_vm_info *info);

/* EVENTS: pending EXO_EVENT_* (cleared by the call), frames EL2 still asks
 * back, CPU time left before it takes them (microseconds). */
struct libos_events {
	uint64_t pending, want, left_us;
};
int64_t libos_el2_events(struct libos_events *ev);
/* REVOKED: the index-th run EL2 took by force; EXO_ENOENT past the last. */
int64_t libos_el2_revoked(uint64_t index, uint64_t *pa, uint64_t *count);
/* REVOKED_ACK: the guest has repaired its structures. */
int64_t libos_el2_revoked_ack(void);

/* RECLAIMED: the index-th run an owner took back from this guest (with
 * the list's generation); EXO_ENOENT past the last. */
int64_t libos_el2_reclaimed(uint64_t index, uint64_t *pa, uint64_t *count,
			    uint64_t *generation);
/* RECLAIMED_ACK: forgets those runs if still at generation; EXO_ESTATE if
 * one came since (read them again). */
int64_t libos_el2_reclaimed_ack(uint64_t generation);

/* Between guests (libos/chan). VM_LOOKUP: a guest's VM id by name. */
int64_t libos_el2_vm_lookup(const char *name, uint64_t *vmid);
/* FRAME_QUERY: *state (enum exo_frame_state), *access (1: may touch). */
int64_t libos_el2_frame_query(uint64_t pa, uint64_t *state, uint64_t *access);
int64_t libos_el2_frame_share(uint64_t pa, uint64_t count, uint64_t vm,
			      unsigned perm);
int64_t libos_el2_frame_unshare(uint64_t pa, uint64_t count, uint64_t vm);
/* Consent (docs/abi.md, "Consent"). FRAME_OFFER: the index-th offer made
 * to this guest; EXO_ENOENT past the last. */
struct libos_offer {
	uint64_t sender, kind, pa, count; /* kind: EXO_OFFER_* */
};
int64_t libos_el2_frame_offer(uint64_t index, struct libos_offer *o);
/* FRAME_ACCEPT of exactly that offer; FRAME_DROP of a view accepted. */
int64_t libos_el2_frame_accept(uint64_t pa, uint64_t count, uint64_t sender,
			       unsigned kind);
int64_t libos_el2_frame_drop(uint64_t pa, uint64_t count, uint64_t owner);
int64_t libos_el2_notify(uint64_t vm);
/* WAIT: blocks until notified (or an event); nonzero if a guest
 * notified (its window's mask: exo/hvc.h). */
uint64_t libos_el2_wait(void);
/* YIELD: the rest of this vCPU's slice to the next runnable vCPU (a
 * waiter for libos's lock whose holder may not be running). */
void libos_el2_yield(void);

#endif
