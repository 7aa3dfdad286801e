/* Boot-time entropy for the stack guard, shared by EL2 and EL1. */
#ifndef EXO_LIB_ENTROPY_H
#define EXO_LIB_ENTROPY_H

#include <stdbool.h>
#include <stdint.h>

/* RNDR where the CPU has it (mixed with counter), else counter itself,
 * mixed so nearby boots differ in every byte. Runs before the stack guard
 * is seeded: never instrumented. AArch64 only. */
uint64_t entropy_mix(uint64_t counter);
/* Whether entropy_mix uses RNDR on this CPU (FEAT_RNG). */
bool entropy_has_rndr(void);

#endif
