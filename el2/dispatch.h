/* Hypercalls from guests (HVC #0), see include/exo/hvc.h and docs/abi.md. */
#ifndef EXO_EL2_DISPATCH_H
#define EXO_EL2_DISPATCH_H

#include <el2/vcpu.h>

/* Handles the call in v->x[0..7] and leaves the results in v->x[0..3]. */
void dispatch_hypercall(struct vcpu *v);

#endif
