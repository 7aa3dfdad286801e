/*
 * Traps from guests (el2/arch/guest.S): synchronous exceptions, IRQs and
 * SErrors of the running vCPU. EL2's own exceptions: el2/hyp_trap.h.
 */
#ifndef EXO_EL2_GUEST_TRAP_H
#define EXO_EL2_GUEST_TRAP_H

#include <el2/vcpu.h>
#include <stdint.h>

/* Handles one trap of v (kind: el2/trap_kind.h; disr: DISR_EL1 as the exit
 * read it, el2/ras.h) and returns the vCPU to resume; never returns when no
 * guest is left (system_finish). */
/* Registers the CPU-time checks with the scheduler (sched_set_due). */
void guest_trap_init(void);
struct vcpu *guest_trap_handle(struct vcpu *v, uint64_t kind, uint64_t disr,
			       uint64_t esr);

#endif
