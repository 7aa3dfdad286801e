/*
 * EL2's events for the guest (docs/libos.md, "Events and revocation"):
 * frames EL2 asks back are given back from the pool's free frames; frames
 * it took by force are repaired out of the pool, and a heap that was using
 * them is retired, then REVOKED_ACK; frames owners took back from this
 * guest (RECLAIMED) are remembered (libos_frame_reclaimed), then
 * RECLAIMED_ACK. Runs from el1's IRQ handler (or a safe
 * point) with IRQs masked, and never prints: it counts, and
 * libos_events_print reports.
 *
 * Owns: the event counters, the request still open and the runs owners
 * took back. Never: calls EL2
 * except through libos/el2.h, or frees a frame EL2 took.
 */
#include "libos/internal.h"
#include "libos/libos.h"

#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <lib/print.h>
#include <string.h>

/* Runs owners took back that libos remembers; when full, a new run is
 * merged into the last (their hull), so none is forgotten. */
#define RECLAIMED_MAX 16
/* Reads of the RECLAIMED list before giving up until the next event or
 * retry: each refused ack means an owner took more meanwhile. */
#define RECLAIM_READS 4

struct run {
	uint64_t pa, end;
};

static struct {
	struct libos_event_stats ev;
	uint64_t want_left;	/* asked back, not given yet */
	bool reclaim_left;	/* RECLAIMED runs not acknowledged yet */
	struct run reclaimed[RECLAIMED_MAX];
	unsigned nr_reclaimed;
} rv;

void libos_events_reset(void)
{
	memset(&rv, 0, sizeof(rv));
}

/* EL2 asks frames back: the pool gives back free frames (the heaps hand
 * their empty regions to the pool as they empty, so its free frames are
 * also what the heap could release). */
static void give_back(uint64_t want)
{
	uint64_t given = pool_give_back(libos_guest_pool(), want);

	if (!rv.want_left) {   /* a new request, not a retry */
		rv.ev.requests++;
		rv.ev.frames_asked += want;
	}
	rv.ev.frames_given += given;
	rv.want_left = want - given;
}

static void repair(void)
{
	uint64_t pa, count;
	bool heap_hit = false;

	for (uint64_t i = 0; libos_el2_revoked(i, &pa, &count) == EXO_OK;
	     i++) {
		struct pool_repair r;

		pool_revoked(libos_guest_pool(), pa, count, &r);
		rv.ev.runs_revoked++;
		rv.ev.frames_revoked += count;
		rv.ev.dropped_free += r.dropped_free;
		rv.ev.lost_in_use += r.lost_in_use;
		rv.ev.foreign += r.foreign;
		if (r.lost_in_use) {
			if (!rv.ev.first_lost_pa)
				rv.ev.first_lost_pa = r.lost_pa;
			if (libos_heap_lost(r.lost_pa))
				heap_hit = true;
		}
	}
	if (heap_hit && libos_heap_retire())
		rv.ev.heaps_retired++;
	if (libos_el2_revoked_ack() == EXO_OK)
		rv.ev.acks++;
}

static void remember_reclaimed(uint64_t pa, uint64_t count)
{
	struct run r = { pa, pa + count * EXO_FRAME_SIZE };
	struct run *last = &rv.reclaimed[RECLAIMED_MAX - 1];

	for (unsigned i = 0; i < rv.nr_reclaimed; i++) {
		if (r.pa >= rv.reclaimed[i].pa && r.end <= rv.reclaimed[i].end)
			return;   /* read again after a refused ack */
	}
	if (rv.nr_reclaimed < RECLAIMED_MAX) {
		rv.reclaimed[rv.nr_reclaimed++] = r;
		return;
	}
	if (r.pa < last->pa)
		last->pa = r.pa;
	if (r.end > last->end)
		last->end = r.end;
}

/* Reads what owners took back and acknowledges it at the generation read;
 * a refusal (a run came since) means reading again. */
static void forget_reclaimed(void)
{
	for (unsigned round = 0; round < RECLAIM_READS; round++) {
		uint64_t pa, count, gen = 0;

		for (uint64_t i = 0;
		     libos_el2_reclaimed(i, &pa, &count, &gen) == EXO_OK; i++) {
			rv.ev.runs_reclaimed++;
			rv.ev.frames_reclaimed += count;
			remember_reclaimed(pa, count);
		}
		if (libos_el2_reclaimed_ack(gen) == EXO_OK) {
			rv.ev.reclaim_acks++;
			rv.reclaim_left = false;
			return;
		}
		rv.ev.stale_acks++;
	}
	rv.reclaim_left = true;   /* libos_events_retry_locked tries again */
}

bool libos_frame_reclaimed(uint64_t pa)
{
	bool hit = false;

	LIBOS_CRIT_ENTER();
	for (unsigned i = 0; i < rv.nr_reclaimed && !hit; i++)
		hit = pa >= rv.reclaimed[i].pa && pa < rv.reclaimed[i].end;
	LIBOS_CRIT_LEAVE();
	return hit;
}

static void events_locked(void)
{
	struct libos_events e;

	rv.ev.handled++;
	if (libos_el2_events(&e) != EXO_OK)
		return;
	rv.ev.pending_seen |= e.pending;
	if (e.pending & EXO_EVENT_REVOKED)
		repair();
	if ((e.pending & EXO_EVENT_RECLAIMED) || rv.reclaim_left)
		forget_reclaimed();
	if (e.want)   /* 0 once met, or once EL2 has taken them by force */
		give_back(e.want);
	else
		rv.want_left = 0;
}

void libos_events_retry_locked(void)
{
	if (rv.want_left || rv.reclaim_left)
		events_locked();
}

void libos_events_handle(void)
{
	LIBOS_CRIT_ENTER();
	events_locked();
	LIBOS_CRIT_LEAVE();
}

void libos_event_stats(struct libos_event_stats *st)
{
	LIBOS_CRIT_ENTER();
	*st = rv.ev;
	st->retired_frees = libos_heap_retired_frees();
	st->want_left = rv.want_left;
	LIBOS_CRIT_LEAVE();
}

void libos_events_print(void)
{
	struct libos_event_stats e;

	libos_event_stats(&e);
	kprintf("libos: events: %lu handled; %lu request(s) for %lu frames, "
		"%lu given back\n",
		(unsigned long)e.handled, (unsigned long)e.requests,
		(unsigned long)e.frames_asked, (unsigned long)e.frames_given);
	if (e.runs_reclaimed)
		kprintf("libos: events: owners took back %lu frames in %lu "
			"run(s); %lu ack(s), %lu refused\n",
			(unsigned long)e.frames_reclaimed,
			(unsigned long)e.runs_reclaimed,
			(unsigned long)e.reclaim_acks,
			(unsigned long)e.stale_acks);
	if (!e.runs_revoked)
		return;
	kprintf("libos: events: EL2 took %lu frames in %lu run(s): %lu free "
		"in the pool dropped, %lu in use lost, %lu not the pool's; "
		"%lu ack(s)\n",
		(unsigned long)e.frames_revoked, (unsigned long)e.runs_revoked,
		(unsigned long)e.dropped_free, (unsigned long)e.lost_in_use,
		(unsigned long)e.foreign, (unsigned long)e.acks);
	if (e.lost_in_use)
		kprintf("libos: events: frames in use were lost (first at "
			"PA 0x%lx)%s\n",
			(unsigned long)e.first_lost_pa,
			e.heaps_retired ? ": the heap used them and is "
					  "retired; a fresh heap serves"
					: "");
}
