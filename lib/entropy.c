/*
 * entropy_mix (lib/entropy.h): the CPU's random number register when it
 * has one, else a counter, mixed. Target only (inline assembly).
 */
#include <arch/sysreg.h>
#include <lib/entropy.h>

#define RNDR_TRIES 8

__attribute__((no_stack_protector)) bool entropy_has_rndr(void)
{
	return FIELD_GET(read_sysreg(id_aa64isar0_el1),
			 ID_AA64ISAR0_RNDR_SHIFT, 4) != 0;
}

__attribute__((no_stack_protector)) uint64_t entropy_mix(uint64_t v)
{
	if (entropy_has_rndr()) {
		uint64_t r, ok;

		/* RNDR sets NZCV.Z on failure; retry a few times. */
		for (int i = 0; i < RNDR_TRIES; i++) {
			__asm__ volatile("mrs %0, " __stringify(SYSREG_RNDR) "\n"
					 "cset %1, ne"
					 : "=r"(r), "=r"(ok) : : "cc");
			if (ok)
				return r ^ v;
		}
	}
	v ^= v >> 29;
	v *= UINT64_C(0xbf58476d1ce4e5b9);
	return v ^ (v >> 32);
}
