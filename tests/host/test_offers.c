/*
 * Offers between guests (el2/offers.c; issue 13, rule 2: consent): every
 * error of make, withdraw, list and accept; a full table is the sender's
 * own (another sender still offers); an accept performs once and consumes
 * the offer, except after the recipient's shortage; a guest's end drops
 * what it offered and what it was offered.
 */
#include <criterion/criterion.h>
#include <el2/offers.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>

#define A 1u
#define B 2u
#define C 3u
#define PA(i) (0x40000000ull + (uint64_t)(i) * EXO_FRAME_SIZE)

static struct offer offer(unsigned from, unsigned to, unsigned kind,
			  uint64_t pa, uint64_t count)
{
	return (struct offer){ from, to, kind, pa, count };
}

static int64_t make(unsigned from, unsigned to, unsigned kind, uint64_t pa,
		    uint64_t count)
{
	return offers_make(from, to, kind, pa, count);
}

/* A transaction that records what it was asked and answers `answer`. */
struct performer {
	int64_t answer;
	unsigned calls;
	struct offer seen;
};

static int64_t perform(void *ctx, const struct offer *o)
{
	struct performer *p = ctx;

	p->calls++;
	p->seen = *o;
	return p->answer;
}

static int64_t accept(unsigned from, unsigned to, unsigned kind, uint64_t pa,
		      uint64_t count, struct performer *p)
{
	struct offer want = offer(from, to, kind, pa, count);

	return offers_accept(&want, perform, p);
}

static void setup(void)
{
	offers_init();
}

TestSuite(offers, .init = setup);

Test(offers, make_refuses_bad_arguments)
{
	cr_assert_eq(make(0, B, EXO_OFFER_LEND, PA(0), 1), EXO_EINVAL,
		     "from EL2");
	cr_assert_eq(make(A, 0, EXO_OFFER_LEND, PA(0), 1), EXO_EINVAL, "to EL2");
	cr_assert_eq(make(EXO_MAX_VMS, B, EXO_OFFER_LEND, PA(0), 1),
		     EXO_EINVAL, "from past the table");
	cr_assert_eq(make(A, EXO_MAX_VMS, EXO_OFFER_LEND, PA(0), 1),
		     EXO_EINVAL, "to past the table");
	cr_assert_eq(make(A, A, EXO_OFFER_LEND, PA(0), 1), EXO_EINVAL,
		     "to itself");
	cr_assert_eq(make(A, B, 0, PA(0), 1), EXO_EINVAL, "kind 0");
	cr_assert_eq(make(A, B, EXO_OFFER_DONATE + 1, PA(0), 1), EXO_EINVAL,
		     "kind past donate");
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(0), 0), EXO_EINVAL,
		     "no frames");
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(0), EXO_FRAME_MAX_COUNT + 1),
		     EXO_EINVAL, "too many frames");
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(0) + 8, 1), EXO_ERANGE,
		     "unaligned");
	cr_assert_eq(offers_pending(A), 0, "nothing recorded");
}

Test(offers, an_offer_is_listed_for_its_recipient_only)
{
	struct offer o;

	cr_assert_eq(make(A, B, EXO_OFFER_SHARE_RW, PA(4), 3), EXO_OK);
	cr_assert_eq(offers_list(B, 0, &o), EXO_OK);
	cr_assert_eq(o.from, A);
	cr_assert_eq(o.to, B);
	cr_assert_eq(o.kind, EXO_OFFER_SHARE_RW);
	cr_assert_eq(o.pa, PA(4));
	cr_assert_eq(o.count, 3);
	cr_assert_eq(offers_list(B, 1, &o), EXO_ENOENT, "past the last");
	cr_assert_eq(offers_list(C, 0, &o), EXO_ENOENT, "not C's");
	cr_assert_eq(offers_list(A, 0, &o), EXO_ENOENT, "not the sender's");
	cr_assert_eq(offers_list(B, UINT64_MAX, &o), EXO_ENOENT);
}

Test(offers, listing_goes_by_sender_then_order)
{
	struct offer o;

	cr_assert_eq(make(C, B, EXO_OFFER_DONATE, PA(0), 1), EXO_OK);
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(8), 1), EXO_OK);
	cr_assert_eq(make(A, B, EXO_OFFER_SHARE_R, PA(9), 1), EXO_OK);
	cr_assert_eq(offers_list(B, 0, &o), EXO_OK);
	cr_assert(o.from == A && o.pa == PA(8));
	cr_assert_eq(offers_list(B, 1, &o), EXO_OK);
	cr_assert(o.from == A && o.pa == PA(9));
	cr_assert_eq(offers_list(B, 2, &o), EXO_OK);
	cr_assert(o.from == C && o.kind == EXO_OFFER_DONATE);
	cr_assert_eq(offers_list(B, 3, &o), EXO_ENOENT);
}

Test(offers, overlapping_offers_to_one_recipient_are_refused)
{
	cr_assert_eq(make(A, B, EXO_OFFER_SHARE_R, PA(4), 4), EXO_OK);
	cr_assert_eq(make(A, B, EXO_OFFER_SHARE_R, PA(4), 4), EXO_ESTATE,
		     "the same offer twice");
	cr_assert_eq(make(A, B, EXO_OFFER_DONATE, PA(7), 2), EXO_ESTATE,
		     "meets the last frame");
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(0), 5), EXO_ESTATE,
		     "meets the first frame");
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(8), 1), EXO_OK,
		     "the next frame is free to offer");
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(0), 4), EXO_OK,
		     "so is the one before");
	cr_assert_eq(make(A, C, EXO_OFFER_SHARE_R, PA(4), 4), EXO_OK,
		     "the same frames to another recipient");
	cr_assert_eq(offers_pending(A), 4);
}

Test(offers, a_full_table_is_the_senders_own)
{
	for (unsigned i = 0; i < EXO_OFFERS_MAX; i++)
		cr_assert_eq(make(A, B, EXO_OFFER_SHARE_R, PA(i), 1), EXO_OK);
	cr_assert_eq(make(A, B, EXO_OFFER_SHARE_R, PA(100), 1), EXO_EFULL);
	cr_assert_eq(make(A, C, EXO_OFFER_SHARE_R, PA(100), 1), EXO_EFULL,
		     "full whatever the recipient");
	cr_assert_eq(make(C, B, EXO_OFFER_SHARE_R, PA(100), 1), EXO_OK,
		     "another sender is not held up");
	cr_assert_eq(offers_withdraw(A, B, PA(3), 1, true), EXO_OK);
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(100), 1), EXO_OK,
		     "a withdrawn offer frees its slot");
	cr_assert_eq(offers_pending(A), EXO_OFFERS_MAX);
}

Test(offers, withdraw_takes_exactly_the_range_and_family)
{
	struct offer o;

	cr_assert_eq(make(A, B, EXO_OFFER_SHARE_RW, PA(0), 2), EXO_OK);
	cr_assert_eq(make(A, B, EXO_OFFER_DONATE, PA(4), 2), EXO_OK);
	cr_assert_eq(offers_withdraw(A, B, PA(0), 1, true), EXO_ENOENT,
		     "part of an offer");
	cr_assert_eq(offers_withdraw(A, B, PA(0), 2, false), EXO_ENOENT,
		     "a share is not withdrawn by RECLAIM");
	cr_assert_eq(offers_withdraw(A, B, PA(4), 2, true), EXO_ENOENT,
		     "a donation is not withdrawn by UNSHARE");
	cr_assert_eq(offers_withdraw(A, C, PA(0), 2, true), EXO_ENOENT,
		     "another recipient");
	cr_assert_eq(offers_withdraw(C, B, PA(0), 2, true), EXO_ENOENT,
		     "another sender");
	cr_assert_eq(offers_withdraw(A, B, PA(0), 2, true), EXO_OK);
	cr_assert_eq(offers_withdraw(A, B, PA(0), 2, true), EXO_ENOENT,
		     "gone");
	cr_assert_eq(offers_withdraw(A, B, PA(4), 2, false), EXO_OK);
	cr_assert_eq(offers_list(B, 0, &o), EXO_ENOENT);
	cr_assert_eq(offers_withdraw(0, B, PA(0), 2, true), EXO_ENOENT,
		     "from EL2");
	cr_assert_eq(offers_withdraw(A, EXO_MAX_VMS, PA(0), 2, true),
		     EXO_ENOENT, "to past the table");
}

Test(offers, accept_performs_exactly_the_offer_once)
{
	struct performer p = { .answer = EXO_OK };

	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(2), 3), EXO_OK);
	cr_assert_eq(accept(A, B, EXO_OFFER_LEND, PA(2), 3, &p), EXO_OK);
	cr_assert_eq(p.calls, 1);
	cr_assert(p.seen.from == A && p.seen.to == B &&
		  p.seen.kind == EXO_OFFER_LEND && p.seen.pa == PA(2) &&
		  p.seen.count == 3);
	cr_assert_eq(accept(A, B, EXO_OFFER_LEND, PA(2), 3, &p), EXO_ENOENT,
		     "consumed");
	cr_assert_eq(p.calls, 1, "not performed twice");
	cr_assert_eq(offers_pending(A), 0);
}

Test(offers, accept_must_name_the_offer_exactly)
{
	struct performer p = { .answer = EXO_OK };

	cr_assert_eq(make(A, B, EXO_OFFER_SHARE_R, PA(2), 3), EXO_OK);
	cr_assert_eq(accept(A, B, EXO_OFFER_DONATE, PA(2), 3, &p), EXO_ENOENT,
		     "another kind");
	cr_assert_eq(accept(A, B, EXO_OFFER_SHARE_RW, PA(2), 3, &p),
		     EXO_ENOENT, "more permission");
	cr_assert_eq(accept(A, B, EXO_OFFER_SHARE_R, PA(2), 2, &p), EXO_ENOENT,
		     "part of it");
	cr_assert_eq(accept(A, B, EXO_OFFER_SHARE_R, PA(3), 3, &p), EXO_ENOENT,
		     "another address");
	cr_assert_eq(accept(C, B, EXO_OFFER_SHARE_R, PA(2), 3, &p), EXO_ENOENT,
		     "another sender");
	cr_assert_eq(accept(A, C, EXO_OFFER_SHARE_R, PA(2), 3, &p), EXO_ENOENT,
		     "someone else's offer");
	cr_assert_eq(accept(0, B, EXO_OFFER_SHARE_R, PA(2), 3, &p), EXO_ENOENT,
		     "from EL2");
	cr_assert_eq(accept(A, EXO_MAX_VMS, EXO_OFFER_SHARE_R, PA(2), 3, &p),
		     EXO_ENOENT, "to past the table");
	cr_assert_eq(p.calls, 0, "nothing performed");
	cr_assert_eq(offers_pending(A), 1, "the offer stays");
}

Test(offers, a_recipients_shortage_keeps_the_offer)
{
	struct performer p = { .answer = EXO_EQUOTA };

	cr_assert_eq(make(A, B, EXO_OFFER_DONATE, PA(0), 8), EXO_OK);
	cr_assert_eq(accept(A, B, EXO_OFFER_DONATE, PA(0), 8, &p), EXO_EQUOTA);
	cr_assert_eq(offers_pending(A), 1, "kept after EQUOTA");
	p.answer = EXO_ENOMEM;
	cr_assert_eq(accept(A, B, EXO_OFFER_DONATE, PA(0), 8, &p), EXO_ENOMEM);
	cr_assert_eq(offers_pending(A), 1, "kept after ENOMEM");
	p.answer = EXO_OK;
	cr_assert_eq(accept(A, B, EXO_OFFER_DONATE, PA(0), 8, &p), EXO_OK);
	cr_assert_eq(p.calls, 3);
	cr_assert_eq(offers_pending(A), 0);
}

Test(offers, frames_no_longer_as_offered_end_the_offer)
{
	static const int64_t gone[] = { EXO_EPERM, EXO_ESTATE, EXO_ESHARED,
					EXO_ELENT, EXO_ENOENT };

	for (unsigned i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		struct performer p = { .answer = gone[i] };

		cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(0), 1), EXO_OK);
		cr_assert_eq(accept(A, B, EXO_OFFER_LEND, PA(0), 1, &p),
			     gone[i]);
		cr_assert_eq(offers_pending(A), 0, "error %ld ends it",
			     (long)gone[i]);
	}
}

Test(offers, an_end_drops_what_a_guest_offered_and_was_offered)
{
	struct offer o;

	cr_assert_eq(make(A, B, EXO_OFFER_SHARE_R, PA(0), 1), EXO_OK);
	cr_assert_eq(make(B, A, EXO_OFFER_SHARE_R, PA(1), 1), EXO_OK);
	cr_assert_eq(make(C, B, EXO_OFFER_LEND, PA(2), 1), EXO_OK);
	cr_assert_eq(make(C, A, EXO_OFFER_LEND, PA(3), 1), EXO_OK);
	offers_vm_end(B);
	cr_assert_eq(offers_pending(B), 0, "what B offered");
	cr_assert_eq(offers_list(B, 0, &o), EXO_ENOENT, "what B was offered");
	cr_assert_eq(offers_pending(A), 0, "A's offer to B");
	cr_assert_eq(offers_pending(C), 1, "C's offer to A stays");
	cr_assert_eq(offers_list(A, 0, &o), EXO_OK);
	cr_assert(o.from == C && o.pa == PA(3));
	cr_assert_eq(offers_list(A, 1, &o), EXO_ENOENT, "B's offer to A gone");
	offers_vm_end(0);
	offers_vm_end(EXO_MAX_VMS);
	cr_assert_eq(offers_pending(C), 1, "ids out of range change nothing");
	cr_assert_eq(offers_pending(0), 0);
	cr_assert_eq(offers_pending(EXO_MAX_VMS), 0);
}

/* Only a sender's own offers are looked at (a mask of its used slots):
 * after withdrawals and accepts in the middle of its table, a new offer
 * takes the lowest free slot (listed in slot order), an overlap with an
 * offer in a higher slot is still refused, and the count stays exact. */
Test(offers, slots_freed_in_the_middle_are_reused_lowest_first)
{
	struct performer p = { .answer = EXO_OK };
	struct offer o;

	for (unsigned i = 0; i < 6; i++)
		cr_assert_eq(make(A, B, EXO_OFFER_SHARE_R, PA(10 * i), 1),
			     EXO_OK);
	cr_assert_eq(offers_withdraw(A, B, PA(10), 1, true), EXO_OK);
	o = offer(A, B, EXO_OFFER_SHARE_R, PA(30), 1);
	cr_assert_eq(offers_accept(&o, perform, &p), EXO_OK);
	cr_assert_eq(offers_pending(A), 4);
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(50), 1), EXO_ESTATE,
		     "overlaps the offer in slot 5");
	cr_assert_eq(make(A, B, EXO_OFFER_LEND, PA(7), 1), EXO_OK);
	cr_assert_eq(offers_list(B, 1, &o), EXO_OK);
	cr_assert(o.pa == PA(7) && o.kind == EXO_OFFER_LEND,
		  "in slot 1, listed second");
	cr_assert_eq(make(A, B, EXO_OFFER_DONATE, PA(8), 1), EXO_OK);
	cr_assert_eq(offers_list(B, 3, &o), EXO_OK);
	cr_assert(o.pa == PA(8), "in slot 3, listed fourth");
	cr_assert_eq(offers_pending(A), 6);
	cr_assert_eq(offers_withdraw(A, B, PA(7), 1, true), EXO_ENOENT,
		     "a loan is not withdrawn by UNSHARE");
	cr_assert_eq(offers_withdraw(A, B, PA(7), 1, false), EXO_OK);
	cr_assert_eq(offers_pending(A), 5);
}
