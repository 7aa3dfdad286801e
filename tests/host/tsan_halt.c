/*
 * arch_halt for `make tsan-test`, which links libos and lib without EL2's
 * host fakes (tests/host/fake_arch.c has the full binary's): a panic in
 * the threaded tests stops the test process, which the test reports.
 * Defined in the full binary by fake_arch.c, so built only there.
 */
#include <lib/panic.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef EXO_TSAN_TESTS
void arch_halt(int status)
{
	fprintf(stderr, "tsan tests: halted (status %d)\n", status);
	abort();
}
#endif
