/*
 * libos/consent.c over the simulated EL2 (fake_libos_el2.c): finding an
 * offer by sender and kind, waiting for one (and not for a guest that does
 * not run), accepting exactly one.
 */
#include "fake_libos_el2.h"

#include <criterion/criterion.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <libos/consent.h>

#define PEER 2u   /* the fake's VM_LOOKUP("peer") */
#define OTHER 3u

static const struct libos_offer share = { PEER, EXO_OFFER_SHARE_RW, 0x1000,
					  2 };
static const struct libos_offer gift = { OTHER, EXO_OFFER_DONATE, 0x8000, 1 };

static void setup(void)
{
	fake_el2_reset(64);
}

TestSuite(libos_offers, .init = setup);

Test(libos_offers, find_goes_by_sender_and_kind)
{
	struct libos_offer o;

	fake_el2.offers[fake_el2.nr_offers++] = gift;
	fake_el2.offers[fake_el2.nr_offers++] = share;
	cr_assert_eq(libos_offer_find(PEER, LIBOS_OFFER_ANY_KIND, &o), EXO_OK);
	cr_assert(o.sender == PEER && o.pa == share.pa && o.count == 2);
	cr_assert_eq(libos_offer_find(OTHER, EXO_OFFER_DONATE, &o), EXO_OK);
	cr_assert_eq(o.pa, gift.pa);
	cr_assert_eq(libos_offer_find(PEER, EXO_OFFER_LEND, &o), EXO_ENOENT,
		     "no loan from the peer");
	cr_assert_eq(libos_offer_find(7, LIBOS_OFFER_ANY_KIND, &o), EXO_ENOENT);
	cr_assert_eq(fake_el2.accepts, 0, "finding accepts nothing");
}

Test(libos_offers, wait_blocks_until_the_offer_comes)
{
	struct libos_offer o;

	fake_el2.offers[fake_el2.nr_offers++] = gift;
	fake_el2.on_wait = share;
	fake_el2.offer_on_wait = true;
	cr_assert_eq(libos_offer_wait("peer", EXO_OFFER_SHARE_RW, &o), EXO_OK);
	cr_assert_eq(fake_el2.waits, 1);
	cr_assert(o.sender == PEER && o.kind == EXO_OFFER_SHARE_RW);
	cr_assert_eq(fake_el2.accepts, 0, "waiting accepts nothing");
}

Test(libos_offers, wait_for_a_guest_that_does_not_run_returns_at_once)
{
	struct libos_offer o;

	cr_assert_eq(libos_offer_wait("nobody", LIBOS_OFFER_ANY_KIND, &o),
		     EXO_ENOENT);
	cr_assert_eq(fake_el2.waits, 0);
}

Test(libos_offers, accept_takes_exactly_the_offer)
{
	struct libos_offer o;

	fake_el2.offers[fake_el2.nr_offers++] = share;
	cr_assert_eq(libos_accept(PEER, share.pa, share.count,
				  EXO_OFFER_SHARE_R), EXO_ENOENT,
		     "another kind");
	cr_assert_eq(libos_accept(PEER, share.pa, share.count,
				  EXO_OFFER_SHARE_RW), EXO_OK);
	cr_assert_eq(fake_el2.accepts, 1);
	cr_assert_eq(libos_offer_find(PEER, LIBOS_OFFER_ANY_KIND, &o),
		     EXO_ENOENT, "consumed");
}
