/*
 * A test guest's policy on offers (docs/abi.md, "Consent"): accept what a
 * named sender offers. A guest's choice, never EL2's or libos's: guests
 * that must not be reached (victims) simply do not call these.
 */
#ifndef EXO_TESTS_ACCEPT_H
#define EXO_TESTS_ACCEPT_H

#include <exo/hypercall.h>

/* Accepts every offer `sender` has made to this guest now; returns how
 * many were accepted. An accepted offer leaves the list, so the index
 * moves on only past offers from others or ones that fail. */
static inline unsigned accept_from(uint64_t sender)
{
	unsigned accepted = 0;
	struct exo_ret r;

	for (uint64_t i = 0; (r = exo_frame_offer(i)).status == EXO_OK;) {
		if (EXO_OFFER_SENDER(r.x1) == sender &&
		    exo_frame_accept(r.x2, r.x3, sender,
				     (unsigned)EXO_OFFER_KIND(r.x1)) == EXO_OK)
			accepted++;
		else
			i++;
	}
	return accepted;
}

/* Waits until guest `from` has notified this one. WAIT also ends on an
 * event (an offer raises one) with no notifier: those wakes are skipped,
 * and a notification is latched by EL2 so none is lost. Senders in the
 * tests notify after their offers, so every offer is there by then. */
static inline void wait_notified(uint64_t from)
{
	for (;;) {
		struct exo_ret w = exo_wait();

		if (exo_wait_from(&w, from))
			return;
	}
}

#endif
