/*
 * The adversarial model checker of issue 13 (docs/testing.md, "Model
 * checker"): a small machine (one 2 MiB block of RAM and a few frames that
 * run out, or three blocks), three guests whose quotas overcommit it, and
 * every memory step between them (alloc, alloc_at, free, share R/RW,
 * unshare, lend, reclaim, donate, forced revocation, teardown, restart)
 * through the real el2/mem.c, el2/frames.c and el2/s2.c on the fake arch.
 * After every step each property below is checked; at every state reached
 * the owners' take-back is probed from a snapshot of it.
 *
 * Owns: the machine's guests, the step alphabet, the properties, the
 * search. Never: changes el2/; a property is never weakened to pass
 * (expected failures are listed once, in model_check.c).
 */
#ifndef EXO_TESTS_MODEL_CHECK_H
#define EXO_TESTS_MODEL_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MC_GUESTS 3
#define MC_MAX_STEPS 64          /* steps in one sequence */
#define MC_EXAMPLE_MAX 4096      /* a counterexample's text */

/* One function each in model_check.c. */
enum mc_prop {
	MC_NO_PANIC,             /* EL2 never panics or halts */
	MC_STAGE2_IS_DB,         /* mem_check_invariant for every guest */
	MC_WITHIN_QUOTA,         /* used <= quota */
	MC_CHARGE_ACCOUNTED,     /* used == frames owned + table pages held */
	MC_CHARGED_ONLY_ACTORS,  /* no charge grows in a step it took no part in */
	MC_NO_GLOBAL_POOL,       /* share/lend/donate: ENOMEM only without RAM */
	MC_RESERVE_UNTOUCHED,    /* EL2 never draws on a reserve of its own */
	MC_TAKE_BACK,            /* owner's unshare/reclaim (+free) succeed */
	MC_NR_PROPS,
};

enum mc_kind {
	MC_ALLOC, MC_ALLOC_AT, MC_FREE, MC_SHARE, MC_UNSHARE, MC_LEND,
	MC_RECLAIM, MC_DONATE, MC_REVOKE, MC_TEARDOWN, MC_RESTART,
	MC_NR_KINDS,
};

/* A concrete step, as printed and replayed: guests 1..MC_GUESTS, pa as a
 * frame offset from the start of RAM. */
struct mc_call {
	enum mc_kind kind;
	unsigned a, b;
	uint64_t frame, n;
	unsigned align;   /* alloc */
	bool rw;          /* share */
};

struct mc_result {
	uint64_t states;      /* distinct states reached */
	uint64_t steps;       /* steps run, probes included */
	uint64_t replayed;    /* steps run again to reach a state (search) */
	uint64_t probes;
	unsigned depth;
	bool violated[MC_NR_PROPS];
	char example[MC_NR_PROPS][MC_EXAMPLE_MAX];  /* the shortest of each */
	unsigned example_steps[MC_NR_PROPS];
	unsigned kinds[MC_NR_PROPS];  /* bit k: a step of kind k broke it */
	unsigned kind_steps[MC_NR_PROPS][MC_NR_KINDS];
	char kind_example[MC_NR_PROPS][MC_NR_KINDS][MC_EXAMPLE_MAX];
};

const char *mc_prop_name(enum mc_prop p);
const char *mc_kind_name(enum mc_kind k);
enum mc_prop mc_prop_by_name(const char *name);   /* MC_NR_PROPS if none */
/* Is the property broken by today's el2/, and what change mends it? */
bool mc_expected_to_fail(enum mc_prop p, const char **mended_by);

/* The line of a step, and back (false if the line is not one). */
void mc_format(const struct mc_call *c, char *buf, size_t size);
bool mc_parse(const char *line, struct mc_call *c);

/* The machines: MC_SMALL (one 2 MiB block, the exhaustive search's),
 * MC_WIDE (three blocks, for the fuzz target's deeper runs: a guest can
 * split blocks until its cache is empty), MC_THREADS (three blocks, the
 * threaded tests': quotas that overcommit the RAM, one of them small). */
enum mc_machine { MC_SMALL, MC_WIDE, MC_THREADS, MC_NR_MACHINES };

/* One machine mapped at a time (false if its address is taken). */
bool mc_machine_on(enum mc_machine m);
void mc_machine_off(void);

/* Every sequence of alphabet steps up to depth, breadth first, each state
 * explored once (hashed). */
void mc_explore(unsigned depth, struct mc_result *r);
/* One sequence from a fresh machine, every check after every step and the
 * probes at every state. */
void mc_run_calls(const struct mc_call *calls, unsigned n,
		  struct mc_result *r);
/* The state checks (MC_STAGE2_IS_DB, MC_WITHIN_QUOTA,
 * MC_CHARGE_ACCOUNTED) of the machine as it is now, reached by other
 * means than steps (the threaded tests, after each round), into r; a
 * violation is blamed on steps of kind `by`. */
void mc_check_now(enum mc_kind by, struct mc_result *r);
/* Each step of the runs below, its status and the charges, to out (NULL:
 * quiet). */
void mc_set_trace(FILE *out);
/* The same for steps of the alphabet (the fuzz target's decoding). */
unsigned mc_alphabet_size(void);
void mc_run_steps(const uint8_t *steps, unsigned n, struct mc_result *r);

#endif
