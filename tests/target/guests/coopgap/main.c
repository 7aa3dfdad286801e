/*
 * coopgap: how long can one guest keep another off the CPU? Three roles,
 * chosen by the manifest's args (tests/target/test_coop_bounded.py):
 *   --victim --slice-us=U --watch=NAME...
 *             reads its virtual counter back to back until every watched
 *             guest is gone and reports the longest gap between two
 *             reads, in ticks, microseconds and time slices of U us. The
 *             loop never gives the CPU away, so a gap is the other guests'
 *             slices plus whatever EL2 did meanwhile (their hypercalls,
 *             teardowns, scrubbing).
 *   --spin --ms=M
 *             spins for M ms of counter time, then exits: the baseline.
 *   --hog --frames=N --rounds=R --lives=L
 *             in each of L lives, R times: FRAME_ALLOC a run of N frames,
 *             FRAME_FREE it; then allocates N frames again and, holding
 *             them, restarts (SYSTEM_RESET) or, in its last life, exits:
 *             every heavy path of EL2 with a large quota. Reports the
 *             longest time one of its calls took, by kind.
 * Under -icount the counter follows instructions, so every figure is the
 * same on every run of one build.
 *
 * Owns: the three roles and their report lines ("coopgap: ...").
 * Never: gives the CPU away in the victim's loop.
 */
#include <el1/el1.h>
#include <exo/hvc.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <libos/mm/mm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../restarts.h"

#define WATCH_MAX 4
#define READS_PER_CHECK 4096	/* counter reads between liveness checks */
#define US_PER_S 1000000u
#define MS_PER_S 1000u
#define EXIT_USAGE 2
#define EXIT_CALL_FAILED 3

struct args {
	bool victim, spin, hog;
	unsigned long slice_us, ms, frames, rounds, lives;
	unsigned nr_watch;
	const char *watch[WATCH_MAX];
};

static uint64_t now(void)
{
	uint64_t v;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
}

static uint64_t freq(void)
{
	uint64_t f;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
}

static uint64_t ticks_to_us(uint64_t ticks)
{
	return ticks * US_PER_S / freq();
}

/* --- victim --------------------------------------------------------------- */

static bool any_watched_alive(const struct args *a)
{
	for (unsigned i = 0; i < a->nr_watch; i++) {
		if (exo_vm_lookup(a->watch[i]).status == EXO_OK)
			return true;
	}
	return false;
}

static int victim(const struct args *a)
{
	uint64_t start = now(), prev = start, worst = 0, worst_at = 0, us;

	while (any_watched_alive(a)) {
		for (unsigned i = 0; i < READS_PER_CHECK; i++) {
			uint64_t t = now();

			if (t - prev > worst) {
				worst = t - prev;
				worst_at = prev;
			}
			prev = t;
		}
	}
	us = ticks_to_us(worst);
	kprintf("coopgap: victim: worst gap %lu ticks = %lu us = %lu.%02lu "
		"slices of %lu us, at %lu us of %lu us\n", (unsigned long)worst,
		(unsigned long)us, (unsigned long)(us / a->slice_us),
		(unsigned long)(us % a->slice_us * 100 / a->slice_us),
		a->slice_us, (unsigned long)ticks_to_us(worst_at - start),
		(unsigned long)ticks_to_us(prev - start));
	return 0;
}

/* --- spin ----------------------------------------------------------------- */

static int spin(const struct args *a)
{
	uint64_t end = now() + freq() * a->ms / MS_PER_S;

	while (now() < end)
		;
	kprintf("coopgap: spin: %lu ms done\n", a->ms);
	return 0;
}

/* --- hog ------------------------------------------------------------------ */

struct worst {
	uint64_t alloc, free;
};

static void note(uint64_t *worst, uint64_t since)
{
	uint64_t d = now() - since;

	if (d > *worst)
		*worst = d;
}

/* FRAME_ALLOC of n frames, the whole run however many calls it takes:
 * the first call returns the run's address and how many frames it mapped
 * (x2); FRAME_ALLOC_AT maps the rest, a bounded part per call (x1). */
static int64_t alloc_run(uint64_t n, uint64_t *pa, struct worst *w)
{
	uint64_t t = now();
	struct exo_ret r = exo_frame_alloc(n, 0);
	uint64_t done;

	note(&w->alloc, t);
	if (r.status != EXO_OK)
		return r.status;
	*pa = r.x1;
	done = r.x2;
	while (done < n) {
		t = now();
		r = exo_hvc(EXO_HVC_FRAME_ALLOC_AT, *pa + done * EXO_FRAME_SIZE,
			    n - done, 0, 0, 0, 0, 0);
		note(&w->alloc, t);
		if (r.status != EXO_OK)
			return r.status;
		done += r.x1;
	}
	return EXO_OK;
}

/* FRAME_FREE of n frames: a bounded part per call (x1 says how many). */
static int64_t free_run(uint64_t pa, uint64_t n, struct worst *w)
{
	uint64_t done = 0;

	while (done < n) {
		uint64_t t = now();
		struct exo_ret r = exo_hvc(EXO_HVC_FRAME_FREE,
					   pa + done * EXO_FRAME_SIZE, n - done,
					   0, 0, 0, 0, 0);

		note(&w->free, t);
		if (r.status != EXO_OK)
			return r.status;
		done += r.x1;
	}
	return EXO_OK;
}

static int hog(const struct args *a)
{
	uint32_t life = restarts();
	struct worst w = { 0, 0 };
	uint64_t pa = 0;
	int64_t rc = EXO_OK;

	for (unsigned long r = 0; r < a->rounds && !rc; r++) {
		rc = alloc_run(a->frames, &pa, &w);
		if (!rc)
			rc = free_run(pa, a->frames, &w);
	}
	if (!rc)
		rc = alloc_run(a->frames, &pa, &w);
	kprintf("coopgap: hog: life %u: %lu rounds of %lu frames, status %ld; "
		"longest call: alloc %lu us, free %lu us\n", (unsigned)life,
		a->rounds, a->frames, (long)rc,
		(unsigned long)ticks_to_us(w.alloc),
		(unsigned long)ticks_to_us(w.free));
	if (rc)
		return EXIT_CALL_FAILED;
	if (life + 1 < a->lives)
		exo_call0(EXO_PSCI_SYSTEM_RESET);
	return 0;	/* exits holding its frames: the teardown scrubs them */
}

/* --- arguments ------------------------------------------------------------ */

/* "--key=value" -> value, or NULL when arg is another option. */
static const char *option(const char *arg, const char *key)
{
	size_t n = strlen(key);

	return strncmp(arg, key, n) ? NULL : arg + n;
}

static bool parse_one(struct args *a, const char *arg)
{
	const char *v;

	if (!strcmp(arg, "--victim"))
		a->victim = true;
	else if (!strcmp(arg, "--spin"))
		a->spin = true;
	else if (!strcmp(arg, "--hog"))
		a->hog = true;
	else if ((v = option(arg, "--slice-us=")))
		a->slice_us = strtoul(v, NULL, 0);
	else if ((v = option(arg, "--ms=")))
		a->ms = strtoul(v, NULL, 0);
	else if ((v = option(arg, "--frames=")))
		a->frames = strtoul(v, NULL, 0);
	else if ((v = option(arg, "--rounds=")))
		a->rounds = strtoul(v, NULL, 0);
	else if ((v = option(arg, "--lives=")))
		a->lives = strtoul(v, NULL, 0);
	else if ((v = option(arg, "--watch=")) && a->nr_watch < WATCH_MAX)
		a->watch[a->nr_watch++] = v;
	else
		return false;
	return true;
}

static bool args_valid(const struct args *a)
{
	if (a->victim + a->spin + a->hog != 1)
		return false;
	if (a->victim)
		return a->slice_us && a->nr_watch;
	if (a->spin)
		return a->ms;
	return a->frames && a->lives;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	bool ok = true;

	for (int i = 1; i < argc; i++)
		ok &= parse_one(&a, argv[i]);
	if (!ok || !args_valid(&a)) {
		kprintf("coopgap: FAIL usage: --victim --slice-us=U --watch=NAME"
			"... | --spin --ms=M | --hog --frames=N --rounds=R "
			"--lives=L\n");
		return EXIT_USAGE;
	}
	if (a.victim)
		return victim(&a);
	return a.spin ? spin(&a) : hog(&a);
}

EL1_GUEST_OPTIONS("--victim", "--spin", "--hog", "--slice-us=", "--ms=",
		  "--frames=", "--rounds=", "--lives=", "--watch=");
