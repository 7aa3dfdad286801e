/*
 * The adversarial model checker in `make test` (issue 13; the engine is
 * model_check.c, the properties and what it explores are in
 * docs/testing.md, "Model checker"): every sequence of steps to depth
 * MC_TEST_DEPTH, then the counterexamples kept in model_check_cases.txt.
 * A property today's el2/ breaks is listed once, in model_check.c
 * (expected_failures): it needs a kept case, and every kept case of it
 * must still break it, so the list cannot outlive the fix. Every other
 * property must hold, in the search and in every kept case.
 *
 * EXO_MODEL_REPLAY=<file> replays the steps in <file> (one line a step,
 * as a counterexample prints them; `#` lines are ignored; a first line
 * `case <name> <property> wide` runs them on the fuzz target's wide
 * machine) with every step traced, instead of the kept cases.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "model_check.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MC_TEST_DEPTH 6
#define CASES_FILE "tests/host/model_check_cases.txt"
/* A hang guard, not a deadline (docs/testing.md, "Time in tests"). */
#define HANG_GUARD_S 1800
#define LINE_MAX_LEN 256

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The kinds of step that broke a property, each with its shortest
 * counterexample, for whoever mends it. */
static void print_kinds(const struct mc_result *r, enum mc_prop p)
{
	for (enum mc_kind k = 0; k < MC_NR_KINDS; k++)
		if (r->kinds[p] >> k & 1)
			fprintf(stderr, "%s broken by a %s step:\n%s\n\n",
				mc_prop_name(p), mc_kind_name(k),
				r->kind_example[p][k]);
}

/* Each property not expected to fail today must hold; the others are
 * reported (their kept counterexamples must still break them). */
static void judge(const struct mc_result *r, const char *what)
{
	for (enum mc_prop p = 0; p < MC_NR_PROPS; p++) {
		const char *mended_by = NULL;

		if (!mc_expected_to_fail(p, &mended_by)) {
			cr_expect(!r->violated[p], "%s: %s violated:\n%s", what,
				  mc_prop_name(p), r->example[p]);
			continue;
		}
		fprintf(stderr, "%s: %s is expected to fail until %s%s\n", what,
			mc_prop_name(p), mended_by,
			r->violated[p] ? "; found:" : "");
		print_kinds(r, p);
	}
}

Test(model_check, every_sequence_to_depth_6, .timeout = HANG_GUARD_S)
{
	static struct mc_result r;
	struct timespec t0;

	cr_assert(mc_machine_on(MC_SMALL), "RAM at its PA");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	mc_explore(MC_TEST_DEPTH, &r);
	fprintf(stderr, "model checker: depth %u, %lu states, %lu steps run "
		"(%lu probes, %lu replayed), %.1f s\n", r.depth,
		(unsigned long)r.states, (unsigned long)r.steps,
		(unsigned long)r.probes, (unsigned long)r.replayed,
		seconds_since(&t0));
	cr_expect_eq(r.depth, MC_TEST_DEPTH);
	judge(&r, "exploration");
	mc_machine_off();
}

/* Properties with a kept case. */
static bool kept_for[MC_NR_PROPS];

/* Runs one sequence (a kept case or a replay) and judges it: a case kept
 * for a property expected to fail must still break it; no property that
 * is not expected to fail may break. */
static void run_case(const char *name, enum mc_prop prop,
		     const struct mc_call *calls, unsigned n)
{
	static struct mc_result r;
	const char *mended_by;

	mc_run_calls(calls, n, &r);
	if (prop < MC_NR_PROPS)
		kept_for[prop] = true;
	if (prop < MC_NR_PROPS && mc_expected_to_fail(prop, &mended_by))
		cr_expect(r.violated[prop], "case %s: %s holds now (%s landed?): "
			  "remove it from expected_failures", name,
			  mc_prop_name(prop), mended_by);
	for (enum mc_prop p = 0; p < MC_NR_PROPS; p++)
		cr_expect(!r.violated[p] || mc_expected_to_fail(p, NULL),
			  "case %s: %s violated:\n%s", name, mc_prop_name(p),
			  r.example[p]);
}

/* The machine a case runs on: the one its `case` line names, else the
 * small one. */
static void use_machine(enum mc_machine *on, enum mc_machine want)
{
	if (*on == want)
		return;
	mc_machine_off();
	cr_assert(mc_machine_on(want), "RAM at its PA");
	*on = want;
}

/* The file's cases: `case <name> <property> [small|wide]`, then its
 * steps; `#` lines and blank lines are ignored. Returns the number of
 * cases. */
static unsigned run_file(FILE *f, bool replay)
{
	static struct mc_call calls[MC_MAX_STEPS];
	char line[LINE_MAX_LEN], name[64] = "replay", prop[32] = "";
	char wide[8] = "";
	enum mc_machine on = MC_SMALL;
	unsigned n = 0, cases = 0, lineno = 0;

	cr_assert(mc_machine_on(on), "RAM at its PA");
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (!strncmp(line, "case ", 5)) {
			if (n || cases)
				run_case(name, mc_prop_by_name(prop), calls, n);
			wide[0] = '\0';
			cr_assert(sscanf(line, "case %63s %31s %7s", name, prop,
					 wide) >= 2, "line %u: %s", lineno, line);
			cr_assert(mc_prop_by_name(prop) < MC_NR_PROPS,
				  "line %u: no property %s", lineno, prop);
			cr_assert(!wide[0] || !strcmp(wide, "wide") ||
				  !strcmp(wide, "small"),
				  "line %u: no machine %s", lineno, wide);
			use_machine(&on, strcmp(wide, "wide") ? MC_SMALL
							       : MC_WIDE);
			n = 0;
			cases++;
			continue;
		}
		cr_assert(cases || replay, "line %u: a step before the first "
			  "case line", lineno);
		cr_assert(n < MC_MAX_STEPS, "line %u: too many steps", lineno);
		cr_assert(mc_parse(line, &calls[n]), "line %u: not a step: %s",
			  lineno, line);
		n++;
	}
	if (n || replay)
		run_case(name, mc_prop_by_name(prop), calls, n);
	mc_machine_off();
	return cases;
}

Test(model_check, kept_counterexamples, .timeout = HANG_GUARD_S)
{
	const char *replay = getenv("EXO_MODEL_REPLAY");
	FILE *f = fopen(replay ? replay : CASES_FILE, "r");

	cr_assert(f, "cannot read %s", replay ? replay : CASES_FILE);
	if (replay)
		mc_set_trace(stderr);
	cr_expect(run_file(f, replay != NULL) > 0 || replay,
		  "no cases in " CASES_FILE);
	for (enum mc_prop p = 0; p < MC_NR_PROPS && !replay; p++)
		cr_expect(kept_for[p] || !mc_expected_to_fail(p, NULL),
			  "%s is expected to fail but no case in " CASES_FILE
			  " shows it", mc_prop_name(p));
	fclose(f);
	mc_set_trace(NULL);
}
