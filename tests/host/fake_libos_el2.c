/*
 * Host implementation of libos/el2.h over a simulated EL2 (see
 * fake_libos_el2.h). Owns the arena and its ledger; never frees the arena
 * (the tests run in one process and reuse it).
 */
#include "fake_libos_el2.h"

#include <criterion/criterion.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <libos/el2.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define FRAME	    EXO_FRAME_SIZE
#define ARENA_ALIGN (2u << 20)

struct fake_el2 fake_el2;

void fake_el2_reset(uint64_t quota)
{
	uint8_t *arena = fake_el2.arena;

	if (!arena)
		arena =
		    aligned_alloc(ARENA_ALIGN, (size_t)FAKE_EL2_FRAMES * FRAME);
	cr_assert_not_null(arena);
	memset(&fake_el2, 0, sizeof(fake_el2));
	fake_el2.arena = arena;
	fake_el2.quota = quota;
}

static uint64_t pa_of(uint64_t i)
{
	return (uint64_t)(uintptr_t)fake_el2.arena + i * FRAME;
}

static bool index_of(uint64_t pa, uint64_t count, uint64_t *i)
{
	uint64_t base = pa_of(0);

	if (pa < base || pa % FRAME || count > FAKE_EL2_FRAMES ||
	    (pa - base) / FRAME + count > FAKE_EL2_FRAMES)
		return false;
	*i = (pa - base) / FRAME;
	return true;
}

bool fake_el2_owns(uint64_t pa, uint64_t count)
{
	uint64_t first;

	if (!index_of(pa, count, &first))
		return false;
	for (uint64_t i = first; i < first + count; i++)
		if (!fake_el2.owned[i])
			return false;
	return true;
}

static bool run_free(uint64_t first, uint64_t count)
{
	for (uint64_t i = first; i < first + count; i++)
		if (fake_el2.owned[i])
			return false;
	return true;
}

int64_t libos_el2_frame_alloc(uint64_t count, unsigned align_log2, uint64_t *pa)
{
	uint64_t step = (uint64_t)1 << align_log2;

	fake_el2.alloc_calls++;
	if (count == 0 || align_log2 > 18)
		return EXO_EINVAL;
	if (fake_el2.charged + count > fake_el2.quota) {
		fake_el2.refused++;
		return EXO_EQUOTA;
	}
	for (uint64_t i = 0; i + count <= FAKE_EL2_FRAMES; i += step) {
		if (!run_free(i, count))
			continue;
		memset(fake_el2.arena + i * FRAME, 0, count * FRAME);
		for (uint64_t j = i; j < i + count; j++)
			fake_el2.owned[j] = true;
		fake_el2.charged += count;
		*pa = pa_of(i);
		return EXO_OK;
	}
	fake_el2.refused++;
	return EXO_ENOMEM;
}

int64_t libos_el2_frame_free(uint64_t pa, uint64_t count)
{
	uint64_t first;

	fake_el2.free_calls++;
	if (!fake_el2_owns(pa, count) || !index_of(pa, count, &first)) {
		fake_el2.bad_frees++;
		return EXO_EPERM;
	}
	if (fake_el2.want) {
		fake_el2.given += count;
		if (fake_el2.given >= fake_el2.want)
			fake_el2.want = 0;
	}
	/* Scrubbed, as EL2 does, so a use after return shows. */
	memset(fake_el2.arena + first * FRAME, 0x5a, count * FRAME);
	for (uint64_t i = first; i < first + count; i++)
		fake_el2.owned[i] = false;
	fake_el2.charged -= count;
	return EXO_OK;
}

int64_t libos_el2_vm_info(struct libos_vm_info *info)
{
	info->vmid = 1;
	info->quota = fake_el2.quota;
	info->charged = fake_el2.charged;
	return EXO_OK;
}

void fake_el2_ask(uint64_t count)
{
	fake_el2.want = count;
	fake_el2.given = 0;
	fake_el2.events |= EXO_EVENT_REVOKE_REQUEST;
}

void fake_el2_take(uint64_t pa, uint64_t count)
{
	uint64_t first;

	cr_assert(fake_el2_owns(pa, count) && index_of(pa, count, &first));
	cr_assert(fake_el2.nr_taken < 16);
	memset(fake_el2.arena + first * FRAME, 0x5a, count * FRAME);
	for (uint64_t i = first; i < first + count; i++)
		fake_el2.owned[i] = false;
	fake_el2.charged -= count;
	fake_el2.taken[fake_el2.nr_taken].pa = pa;
	fake_el2.taken[fake_el2.nr_taken++].count = count;
	fake_el2.want = 0;
	fake_el2.events |= EXO_EVENT_REVOKED;
}

int64_t libos_el2_events(struct libos_events *ev)
{
	ev->pending = fake_el2.events;
	ev->want = fake_el2.want ? fake_el2.want - fake_el2.given : 0;
	ev->left_us = fake_el2.want ? 1000 : 0;
	fake_el2.events = 0;
	return EXO_OK;
}

int64_t libos_el2_revoked(uint64_t index, uint64_t *pa, uint64_t *count)
{
	if (index >= fake_el2.nr_taken)
		return EXO_ENOENT;
	*pa = fake_el2.taken[index].pa;
	*count = fake_el2.taken[index].count;
	return EXO_OK;
}

int64_t libos_el2_revoked_ack(void)
{
	fake_el2.nr_taken = 0;
	fake_el2.acks++;
	return EXO_OK;
}

void fake_el2_reclaim(uint64_t pa, uint64_t count)
{
	cr_assert(fake_el2.nr_lost < 16);
	fake_el2.lost[fake_el2.nr_lost].pa = pa;
	fake_el2.lost[fake_el2.nr_lost++].count = count;
	fake_el2.generation++;
	fake_el2.events |= EXO_EVENT_RECLAIMED;
}

int64_t libos_el2_reclaimed(uint64_t index, uint64_t *pa, uint64_t *count,
			    uint64_t *generation)
{
	if (index >= fake_el2.nr_lost)
		return EXO_ENOENT;
	*pa = fake_el2.lost[index].pa;
	*count = fake_el2.lost[index].count;
	*generation = fake_el2.generation;
	return EXO_OK;
}

int64_t libos_el2_reclaimed_ack(uint64_t generation)
{
	if (fake_el2.late_count) {   /* a run comes after the guest read */
		fake_el2_reclaim(fake_el2.late_pa, fake_el2.late_count);
		fake_el2.late_count = 0;
	}
	if (generation != fake_el2.generation) {
		fake_el2.stale_acks++;
		return EXO_ESTATE;
	}
	fake_el2.nr_lost = 0;
	fake_el2.reclaim_acks++;
	return EXO_OK;
}

/* Between guests: the host has one guest (VM 1) and a peer "peer" (VM 2)
 * that shares nothing; tests of libos/chan drive the ring through their
 * own struct chan_env instead. */
int64_t libos_el2_vm_lookup(const char *name, uint64_t *vmid)
{
	if (strcmp(name, "peer"))
		return EXO_ENOENT;
	*vmid = 2;
	return EXO_OK;
}

int64_t libos_el2_frame_query(uint64_t pa, uint64_t *state, uint64_t *access)
{
	(void)pa;
	*state = 0;
	*access = 0;
	return EXO_ERANGE;
}

int64_t libos_el2_frame_share(uint64_t pa, uint64_t count, uint64_t vm,
			      unsigned perm)
{
	(void)vm, (void)perm;
	return fake_el2_owns(pa, count) ? EXO_OK : EXO_EPERM;
}

int64_t libos_el2_frame_unshare(uint64_t pa, uint64_t count, uint64_t vm)
{
	(void)vm;
	return fake_el2_owns(pa, count) ? EXO_OK : EXO_EPERM;
}

int64_t libos_el2_frame_offer(uint64_t index, struct libos_offer *o)
{
	if (index >= fake_el2.nr_offers)
		return EXO_ENOENT;
	*o = fake_el2.offers[index];
	return EXO_OK;
}

static bool same_offer(const struct libos_offer *o, uint64_t pa,
		       uint64_t count, uint64_t sender, unsigned kind)
{
	return o->pa == pa && o->count == count && o->sender == sender &&
	       o->kind == kind;
}

/* An accepted offer leaves the list, as EL2 consumes it. */
int64_t libos_el2_frame_accept(uint64_t pa, uint64_t count, uint64_t sender,
			       unsigned kind)
{
	for (unsigned i = 0; i < fake_el2.nr_offers; i++) {
		if (!same_offer(&fake_el2.offers[i], pa, count, sender, kind))
			continue;
		fake_el2.offers[i] = fake_el2.offers[--fake_el2.nr_offers];
		fake_el2.accepts++;
		return EXO_OK;
	}
	return EXO_ENOENT;
}

int64_t libos_el2_frame_drop(uint64_t pa, uint64_t count, uint64_t owner)
{
	(void)pa, (void)count, (void)owner;
	fake_el2.drops++;
	return EXO_OK;
}

int64_t libos_el2_notify(uint64_t vm)
{
	(void)vm;
	fake_el2.notifies++;
	return EXO_OK;
}

/* A test thread waiting for libos's lock lets the holder run. */
void libos_el2_yield(void)
{
	__atomic_fetch_add(&fake_el2.yields, 1, __ATOMIC_RELAXED);
	sched_yield();
}

uint64_t libos_el2_wait(void)
{
	fake_el2.waits++;
	if (fake_el2.offer_on_wait &&
	    fake_el2.nr_offers < sizeof(fake_el2.offers) /
					 sizeof(fake_el2.offers[0])) {
		fake_el2.offers[fake_el2.nr_offers++] = fake_el2.on_wait;
		fake_el2.offer_on_wait = false;
	}
	return 0;
}
