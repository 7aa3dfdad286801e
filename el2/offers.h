/*
 * Offers between guests (issue 13, rule 2: consent; docs/memory-model.md,
 * "Rule 2: consent"). FRAME_SHARE, FRAME_LEND and FRAME_DONATE record an
 * offer here; nothing reaches the recipient's stage 2 or quota until it
 * accepts one with its own FRAME_ACCEPT, which performs the transaction
 * then (el2/dispatch.c gives the function that does). Each sender has its
 * own table of EXO_OFFERS_MAX offers: no pool shared between guests, so
 * no guest can use up another's room to offer.
 *
 * Portable: no hardware, no frame DB; host-tested (tests/host/test_offers.c).
 */
#ifndef EXO_EL2_OFFERS_H
#define EXO_EL2_OFFERS_H

#include <stdbool.h>
#include <stdint.h>

/* One offer as the recipient names it (FRAME_OFFER, FRAME_ACCEPT). */
struct offer {
	unsigned from, to;  /* VM ids, 1..EXO_MAX_VMS - 1 */
	unsigned kind;      /* EXO_OFFER_* */
	uint64_t pa, count;
};

/* Forgets every offer (boot; host tests). */
void offers_init(void);

/* Records the offer { from, to, kind, pa, count } (count frames at pa,
 * already checked by the caller for what the sender can be checked for
 * now). EXO_EINVAL: ids out of range, from == to, an unknown kind, no
 * frames or too many; EXO_ERANGE: pa is not frame-aligned; EXO_ESTATE:
 * the range meets an offer from the same sender to the same recipient;
 * EXO_EFULL: the sender's table is full. Scalars, not a struct offer: the
 * caller (a hypercall) keeps no offer in memory. */
int64_t offers_make(unsigned from, unsigned to, unsigned kind, uint64_t pa,
		    uint64_t count);

/* The sender takes back its offer of exactly [pa, +count) to `to`, of a
 * share (share true) or of a loan or donation (share false): EXO_OK, or
 * EXO_ENOENT when there is none. */
int64_t offers_withdraw(unsigned from, unsigned to, uint64_t pa,
			uint64_t count, bool share);

/* The index-th offer made to `to` (senders by id, then in the order they
 * offered): EXO_OK and *o, or EXO_ENOENT past the last. */
int64_t offers_list(unsigned to, uint64_t index, struct offer *o);

/* Performs an accepted offer (the transaction itself); returns its status. */
typedef int64_t (*offers_perform_fn)(void *ctx, const struct offer *o);

/* The recipient want->to accepts the offer equal to *want (sender, range
 * and kind): EXO_ENOENT when there is none, else perform's status. The
 * offer is consumed unless that status is EXO_EQUOTA or EXO_ENOMEM (the
 * recipient's shortage: it may make room and accept again); an offer whose
 * frames are no longer as offered fails for good and goes. */
int64_t offers_accept(const struct offer *want, offers_perform_fn perform,
		      void *ctx);

/* A guest's life ended (exit, kill, restart): every offer it made and
 * every offer made to it is gone. */
void offers_vm_end(unsigned vm);

/* Offers a sender has outstanding (tests, reports). */
unsigned offers_pending(unsigned from);

#endif
