/*
 * RAS errors from guests: an SError that a guest's accesses raised is that
 * guest's, whether it is taken while the guest runs or was deferred by the
 * ESB at its exit (docs/security.md, "RAS").
 */
#ifndef EXO_EL2_RAS_H
#define EXO_EL2_RAS_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* Whether vm's exit brought a deferred SError: disr is DISR_EL1 as the
 * exit read it after its ESB (el2/arch/guest.S; 0 without FEAT_RAS).
 * Reported, naming vm; the caller ends vm. */
bool ras_guest_error(const struct vm *vm, uint64_t disr);

#endif
