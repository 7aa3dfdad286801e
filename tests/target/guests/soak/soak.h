/*
 * soak: a long-running churn of frame hypercalls between guests, for
 * `make soak` (tools/soak) and its short version in make test
 * (tests/target/test_soak.py). Two roles, chosen by the manifest's args:
 *   --storm   seeded storms of FRAME_ALLOC/FREE, SHARE/UNSHARE,
 *             LEND/RECLAIM and DONATE with the other storm guests, each
 *             status checked against a model of what it holds, and
 *             SYSTEM_RESET restarts (each life a new seed);
 *   --victim  reads its own counter in a loop until every storm guest is
 *             gone and reports the worst gap between two reads: how long
 *             it waited for the CPU.
 * Every line tools/soak reads starts "soak: " (formats in docs/testing.md).
 *
 * Owns: the arguments and the clock shared by both roles.
 * Never: prints a line tools/soak cannot parse with "soak: " in front.
 */
#ifndef EXO_TESTS_SOAK_H
#define EXO_TESTS_SOAK_H

#include <stdbool.h>
#include <stdint.h>

#define SOAK_STORMS_MAX 9	/* storm guests are named storm1..storm9 */

struct soak_args {
	bool storm, victim;
	uint64_t seed;		/* --seed=: the boot's seed, same for all */
	unsigned long rounds;	/* --rounds=: hypercalls per life */
	unsigned lives;		/* --lives=: boots of each storm guest */
	unsigned storms;	/* --storms=: storm1..stormN exist */
	unsigned long slice_us;	/* --slice-us=: the manifest's timeslice */
	const char *name;	/* argv[0], the guest's manifest name */
};

/* The guest's name for storm i (1-based): "storm<i>". */
void soak_storm_name(unsigned i, char name[8]);

static inline uint64_t soak_now(void)
{
	uint64_t v;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
}

static inline uint64_t soak_freq(void)
{
	uint64_t f;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
}

static inline uint64_t soak_ticks_to_us(uint64_t ticks)
{
	return ticks * 1000000u / soak_freq();
}

int soak_storm(const struct soak_args *a, unsigned life);
int soak_victim(const struct soak_args *a);

#endif
