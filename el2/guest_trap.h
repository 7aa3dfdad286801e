/*
 * Traps from guests (el2/arch/guest.S): synchronous exceptions, IRQs and
 * SErrors of the running vCPU. EL2's own exceptions: el2/hyp_trap.h.
 */
#ifndef EXO_EL2_GUEST_TRAP_H
#define EXO_EL2_GUEST_TRAP_H

#include <el2/vcpu.h>
#include <stdbool.h>
#include <stdint.h>

/* Handles one trap of v (kind: el2/trap_kind.h) and returns the vCPU to
 * resume; never returns when no guest is left (system_finish). */
struct vcpu *guest_trap_handle(struct vcpu *v, uint64_t kind);

/* Reflects a synchronous external abort into the running guest, as a
 * stage-2 violation is; esr supplies WnR for data. */
void guest_reflect_abort(struct vcpu *v, bool data, uint64_t esr,
			 uint64_t far);

#endif
