/*
 * RAS errors from guests: an SError that a guest's accesses raised is that
 * guest's, whether it is taken while the guest runs or was deferred by the
 * ESB at its exit (docs/security.md, "RAS").
 */
#ifndef EXO_EL2_RAS_H
#define EXO_EL2_RAS_H

#include <stdbool.h>

struct vm;

/* Whether vm's exit brought a deferred SError (then reported, naming vm;
 * the caller ends vm). */
bool ras_guest_error(const struct vm *vm);

#endif
