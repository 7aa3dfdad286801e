/*
 * libFuzzer target: the adversarial model checker's deeper runs (issue 13;
 * tests/host/model_check.c, docs/testing.md "Model checker"). The input is
 * a sequence of steps, one byte each (an index into the checker's whole
 * alphabet, modulo its size: every guest's and every pair's steps,
 * including single-frame allocations and teardowns the exhaustive search
 * in `make test` leaves out), up to MC_MAX_STEPS of them, run on the
 * checker's wide machine (three 2 MiB blocks) from a fresh boot: every property after every step,
 * the owners' take-back probed at every state. A property that breaks is
 * a finding (its counterexample printed as replayable lines), unless it is
 * listed as expected to fail today in tests/host/model_check.c.
 */
#include "fuzz_common.h"

#include "../host/model_check.h"

static struct mc_result result;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	FUZZ_CHECK(mc_machine_on(MC_WIDE), "the model checker's RAM is not at its PA");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned n = size < MC_MAX_STEPS ? (unsigned)size : MC_MAX_STEPS;

	mc_run_steps(data, n, &result);
	for (enum mc_prop p = 0; p < MC_NR_PROPS; p++) {
		FUZZ_CHECK(!result.violated[p] || mc_expected_to_fail(p, NULL),
			   "model checker: %s violated:\n%s\n(replay: put the "
			   "lines in a file after `case x %s wide`, "
			   "EXO_MODEL_REPLAY=<file> "
			   "build/host/exo-host-tests --filter "
			   "'model_check/kept*')", mc_prop_name(p),
			   result.example[p], mc_prop_name(p));
	}
	return 0;
}
