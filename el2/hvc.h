/* Hypercalls from guests (HVC #0), see include/exo/hvc.h and docs/abi.md. */
#ifndef EXO_EL2_HVC_H
#define EXO_EL2_HVC_H

#include <el2/vcpu.h>

/* Handles the call in v->x[0..7] and leaves the results in v->x[0..3]. */
void hvc_handle(struct vcpu *v);

#endif
