/*
 * The switch of the hypercall fast path (el2/hvc_fast.h) and the checks
 * that the assembler's spelling of its numbers is include/exo/'s.
 *
 * Owns: whether the vector may answer. Never: answers anything itself
 * (el2/arch/vectors.S does).
 */
#include <arch/esr.h>
#include <el2/arch.h>
#include <el2/hvc_fast.h>
#include <el2/hyp_lock.h>
#include <exo/hvc.h>
#include <stdint.h>

_Static_assert(HVC_FAST_ESR == ((ESR_EC_HVC64 << ESR_EC_SHIFT) | ESR_IL),
	       "HVC #0 from AArch64");
_Static_assert((uint32_t)HVC_FAST_VERSION_FID_HI << 16 == EXO_HVC_VERSION,
	       "VERSION's function ID");
_Static_assert(((uint32_t)HVC_FAST_ABI_VERSION_HI << 16 |
		HVC_FAST_ABI_VERSION_LO) == EXO_ABI_VERSION,
	       "the ABI version");

/* The table every CPU runs on, as the boot CPU chose it. */
static enum arch_vectors chosen = ARCH_VECTORS_FULL;

void hvc_fast_path_set(bool on)
{
	if (!on)
		chosen = ARCH_VECTORS_FULL;
	else
		chosen = hyp_lock_on ? ARCH_VECTORS_FAST_HVC_LOCKED
				     : ARCH_VECTORS_FAST_HVC;
	arch_vectors_set(chosen);
}

void hvc_fast_path_cpu_init(void)
{
	arch_vectors_set(chosen);
}
