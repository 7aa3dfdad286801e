/* Hypercalls from guests (HVC #0), see include/exo/hvc.h and docs/abi.md. */
#ifndef EXO_EL2_DISPATCH_H
#define EXO_EL2_DISPATCH_H

#include <el2/vcpu.h>

/* Handles the call in v->x[0..7] and leaves the results in v->x[0..3];
 * the fault injector sees it when a guest injects faults. */
void dispatch_hypercall(struct vcpu *v);
/* The same where no hook can be armed: the fast path's tables, which EL2
 * runs on only when no guest injects faults (hvc_fast_path_set). */
void dispatch_hypercall_unhooked(struct vcpu *v);

#endif
