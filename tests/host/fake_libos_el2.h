/*
 * A simulated EL2 behind libos/el2.h for the host tests: a 16 MiB arena of
 * frames (2 MiB-aligned, so any natural alignment the pool asks for can be
 * met), ownership per frame, a quota, and counters. FRAME_FREE checks the
 * frames are owned, as EL2 does; a misuse is counted, never fatal, so a
 * test can assert on it.
 */
#ifndef EXO_TESTS_FAKE_LIBOS_EL2_H
#define EXO_TESTS_FAKE_LIBOS_EL2_H

#include <libos/el2.h>
#include <stdbool.h>
#include <stdint.h>

#define FAKE_EL2_FRAMES 4096

struct fake_el2 {
	uint8_t *arena; /* FAKE_EL2_FRAMES frames; PA == host address */
	bool owned[FAKE_EL2_FRAMES];
	uint64_t quota;	  /* frames the guest may hold */
	uint64_t charged; /* frames it holds */
	uint64_t alloc_calls, free_calls, refused, bad_frees;
	/* Revocation: events pending, frames asked back, runs taken */
	uint64_t events, want, given, acks;
	struct {
		uint64_t pa, count;
	} taken[16];
	unsigned nr_taken;
	/* What owners took back (RECLAIMED), its generation, and a run that
	 * arrives between the guest's read and its ack (once). */
	struct {
		uint64_t pa, count;
	} lost[16];
	unsigned nr_lost;
	uint64_t generation, reclaim_acks, stale_acks;
	uint64_t late_pa, late_count;
	uint64_t notifies, waits;
	uint64_t yields;        /* libos_el2_yield: a lock waiter */
	/* Consent: offers made to the guest (FRAME_OFFER lists them), one
	 * more that appears when it WAITs, accepts and drops made. */
	struct libos_offer offers[8];
	unsigned nr_offers;
	struct libos_offer on_wait;
	bool offer_on_wait;
	uint64_t accepts, drops;
};

extern struct fake_el2 fake_el2;

/* Forgets every frame (the arena stays) and sets the quota. */
void fake_el2_reset(uint64_t quota);
/* Whether [pa, pa + count frames) lies in the arena and is all owned. */
bool fake_el2_owns(uint64_t pa, uint64_t count);

/* EL2 asks for count frames back (EXO_EVENT_REVOKE_REQUEST). */
void fake_el2_ask(uint64_t count);
/* EL2 takes [pa, pa + count frames) by force (EXO_EVENT_REVOKED): the
 * frames are no longer owned, scrubbed, and listed for REVOKED. */
void fake_el2_take(uint64_t pa, uint64_t count);
/* An owner takes back [pa, +count frames) it shared or lent
 * (EXO_EVENT_RECLAIMED). */
void fake_el2_reclaim(uint64_t pa, uint64_t count);

#endif
