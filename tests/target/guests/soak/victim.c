/*
 * soak --victim: reads its virtual counter back to back until every storm
 * guest has ended, and reports the longest gap between two reads. The
 * loop never gives the CPU away, so a gap is time it was kept from
 * running: the other guests' slices plus whatever EL2 did meanwhile
 * (hypercalls, invariant checks, teardowns, scrubbing). Under -icount the
 * counter follows instructions, so the figure is the same on every run.
 *
 * Owns: the worst-gap measurement and its report line.
 * Never: makes a memory hypercall (it must not disturb what it measures).
 */
#include <exo/hypercall.h>
#include <lib/print.h>

#include "soak.h"

#define READS_PER_CHECK 4096	/* counter reads between liveness checks */

struct gaps {
	uint64_t worst, worst_at, prev, reads, waits;
	uint64_t wait_ticks;	/* a gap this long means another guest ran */
};

static void read_counter(struct gaps *g)
{
	for (unsigned i = 0; i < READS_PER_CHECK; i++) {
		uint64_t t = soak_now(), d = t - g->prev;

		if (d > g->worst) {
			g->worst = d;
			g->worst_at = g->prev;
		}
		g->waits += d >= g->wait_ticks;
		g->prev = t;
	}
	g->reads += READS_PER_CHECK;
}

static bool storms_alive(const struct soak_args *a)
{
	char name[8];

	for (unsigned i = 1; i <= a->storms; i++) {
		soak_storm_name(i, name);
		if (exo_vm_lookup(name).status == EXO_OK)
			return true;
	}
	return false;
}

int soak_victim(const struct soak_args *a)
{
	uint64_t slice = soak_freq() * a->slice_us / 1000000u;
	uint64_t start = soak_now(), worst_us;
	struct gaps g = { .prev = start, .wait_ticks = slice / 2 };

	while (storms_alive(a))
		read_counter(&g);
	worst_us = soak_ticks_to_us(g.worst);
	kprintf("soak: victim: worst gap %lu ticks = %lu us = %lu.%02lu slices "
		"of %lu us\n", (unsigned long)g.worst, (unsigned long)worst_us,
		(unsigned long)(worst_us / a->slice_us),
		(unsigned long)(worst_us % a->slice_us * 100 / a->slice_us),
		a->slice_us);
	kprintf("soak: victim: worst gap at %lu us, elapsed %lu us; %lu reads, "
		"%lu waits\n",
		(unsigned long)soak_ticks_to_us(g.worst_at - start),
		(unsigned long)soak_ticks_to_us(g.prev - start),
		(unsigned long)g.reads, (unsigned long)g.waits);
	return 0;
}
