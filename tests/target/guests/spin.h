/*
 * A test guest that must let its own CPU time run (revocation deadlines
 * count the guest's CPU time, not the wall's): computes until a condition
 * holds or SPIN_S seconds of virtual time have passed.
 */
#ifndef EXO_TESTS_SPIN_H
#define EXO_TESTS_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#define SPIN_S 5   /* seconds of virtual time a spin lasts at most */

static inline uint64_t spin_now_ticks(void)
{
	uint64_t v;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
}

static inline uint64_t spin_freq(void)
{
	uint64_t f;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
}

static volatile uint64_t spin_sink;

/* Computes (keeps the CPU, so its CPU time runs) until done() or SPIN_S;
 * done()'s last answer. */
static inline bool spin_until(bool (*done)(void))
{
	uint64_t end = spin_now_ticks() + SPIN_S * spin_freq();

	while (!done() && spin_now_ticks() < end)
		for (unsigned i = 0; i < 10000; i++)
			spin_sink += i * spin_sink + 1;
	return done();
}

#endif
