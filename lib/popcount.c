/*
 * __popcountdi2, the run-time helper GCC calls for __builtin_popcountll
 * when it may not use the SIMD CNT instruction (-mgeneral-regs-only: EL2,
 * and EL1 since its exception path saves no FP/SIMD register). Clang
 * expands the builtin inline and never calls it. The usual bit-parallel
 * sum: pairs, nibbles, bytes, then one multiply adds the bytes.
 */
#include <stdint.h>

int __popcountdi2(int64_t a);

int __popcountdi2(int64_t a)
{
	uint64_t v = (uint64_t)a;

	v -= (v >> 1) & UINT64_C(0x5555555555555555);
	v = (v & UINT64_C(0x3333333333333333)) +
	    ((v >> 2) & UINT64_C(0x3333333333333333));
	v = (v + (v >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
	return (int)((v * UINT64_C(0x0101010101010101)) >> 56);
}
