/*
 * libos/consent.h: finding, waiting for and accepting an offer. Owns: the
 * scan of FRAME_OFFER's list. Never: accepts on its own (consent is the
 * caller's choice), or blocks without first checking the sender runs.
 */
#include "libos/consent.h"

#include <exo/errors.h>
#include <stdbool.h>

static bool matches(const struct libos_offer *o, uint64_t sender,
		    unsigned kind)
{
	return o->sender == sender &&
	       (kind == LIBOS_OFFER_ANY_KIND || o->kind == kind);
}

int64_t libos_offer_find(uint64_t sender, unsigned kind,
			 struct libos_offer *o)
{
	int64_t rc;

	for (uint64_t i = 0;; i++) {
		rc = libos_el2_frame_offer(i, o);
		if (rc || matches(o, sender, kind))
			return rc;
	}
}

int64_t libos_offer_wait(const char *sender, unsigned kind,
			 struct libos_offer *o)
{
	uint64_t id;

	for (;;) {
		if (libos_el2_vm_lookup(sender, &id) != EXO_OK)
			return EXO_ENOENT;
		if (libos_offer_find(id, kind, o) == EXO_OK)
			return EXO_OK;
		libos_el2_wait();
	}
}

int64_t libos_accept(uint64_t sender, uint64_t pa, uint64_t count,
		     unsigned kind)
{
	return libos_el2_frame_accept(pa, count, sender, kind);
}
