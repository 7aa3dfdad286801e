/* Hypercalls from guests (HVC #0), see include/exo/hvc.h and docs/abi.md. */
#ifndef EXO_EL2_DISPATCH_H
#define EXO_EL2_DISPATCH_H

#include <el2/vcpu.h>
#include <exo/hvc.h>
#include <stdbool.h>

/* Handles the call in v->x[0..7] and leaves the results in v->x[0..3];
 * the fault injector sees it when a guest injects faults. */
void dispatch_hypercall(struct vcpu *v);
/* The same where no hook can be armed: the fast path's tables, which EL2
 * runs on only when no guest injects faults (hvc_fast_path_set). */
void dispatch_hypercall_unhooked(struct vcpu *v);
/* Several CPUs online, before the EL2 lock is taken: answers the calls
 * that need no lock but mem's own (FRAME_ALLOC and FRAME_FREE of one
 * frame, el2/mem.c's one-frame calls) and returns true, or returns false
 * with nothing done. What those calls touch outside mem: the caller's own
 * registers and call count (its vCPU runs here alone) and the VM's
 * revocation flag, read once (one_frame_free). */
bool dispatch_memory_unlocked(struct vcpu *v);
/* Whether fid may be such a call: the test before dispatch_memory_unlocked,
 * inline, so that every other call pays two compares, not a call. */
static inline bool dispatch_memory_call(uint64_t fid)
{
	return (uint32_t)fid == EXO_HVC_FRAME_ALLOC ||
	       (uint32_t)fid == EXO_HVC_FRAME_FREE;
}

#endif
