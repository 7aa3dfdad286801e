/*
 * Offers other guests make to this one (docs/abi.md, "Consent"): a share,
 * loan or donation reaches this guest's memory only when it accepts it.
 * Which offers to accept is the guest's policy: these helpers find, wait
 * for and accept one offer at a time; nothing here accepts by itself.
 *
 * Owns: nothing but the looking. Never: accepts an offer it was not asked
 * to, or waits for a sender that has ended.
 */
#ifndef EXO_LIBOS_CONSENT_H
#define EXO_LIBOS_CONSENT_H

#include <libos/el2.h>
#include <stdint.h>

#define LIBOS_OFFER_ANY_KIND 0u

/* The first offer from guest `sender` of that kind (EXO_OFFER_*, or
 * LIBOS_OFFER_ANY_KIND): EXO_OK and *o, or EXO_ENOENT. */
int64_t libos_offer_find(uint64_t sender, unsigned kind,
			 struct libos_offer *o);
/* Blocks (WAIT) until the guest named `sender` makes such an offer:
 * EXO_OK and *o, or EXO_ENOENT once that guest has ended (or never
 * existed). An offer, a notification and a peer's end all wake WAIT. */
int64_t libos_offer_wait(const char *sender, unsigned kind,
			 struct libos_offer *o);
/* Accepts exactly the offer (sender, [pa, +count), kind): the frames are
 * this guest's to map (or own) from now on, charged to it. */
int64_t libos_accept(uint64_t sender, uint64_t pa, uint64_t count,
		     unsigned kind);

#endif
