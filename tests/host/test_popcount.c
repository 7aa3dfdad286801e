/* lib/popcount.c (GCC's __popcountdi2 for the -mgeneral-regs-only target
 * builds) against the compiler's builtin, renamed so it cannot stand in
 * for the host's own helper. */
#define __popcountdi2 exo_popcountdi2
#include "../../lib/popcount.c"
#undef __popcountdi2

#include <criterion/criterion.h>

Test(popcount, matches_the_builtin)
{
	uint64_t v = UINT64_C(0x9e3779b97f4a7c15);

	cr_expect_eq(exo_popcountdi2(0), 0);
	cr_expect_eq(exo_popcountdi2(-1), 64);
	cr_expect_eq(exo_popcountdi2(INT64_MIN), 1);
	for (int i = 0; i < 64; i++)
		cr_expect_eq(exo_popcountdi2((int64_t)(UINT64_C(1) << i)), 1);
	for (int i = 0; i < 1000; i++) {
		v ^= v << 13;
		v ^= v >> 7;
		v ^= v << 17;
		cr_expect_eq(exo_popcountdi2((int64_t)v),
			     __builtin_popcountll(v), "0x%016llx",
			     (unsigned long long)v);
	}
}
