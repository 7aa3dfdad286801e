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

/* HVC #0 when no test hook is armed (el2/arch/guest.S): the guest's
 * x19-x29 are not saved, they are still in the registers (C keeps them),
 * so nothing here may read or write them in v: the dispatcher reads x0-x7
 * and writes x0-x3 of the caller, and a call that ends or restarts it
 * only marks it (vm_restart reaps, and the fresh state is written later,
 * in the scheduler). The entry then tests sched_keeps itself; when v does
 * not run on, it saves x19-x29 and guest_hvc_reschedule picks the vCPU to
 * run. With one CPU online, and no EL2 lock to take (el2/hyp_lock.h). */
void guest_hvc(struct vcpu *v);
/* The same with several CPUs online, the one-frame memory calls under
 * mem's own locks alone (dispatch_memory_unlocked), every other call under the
 * EL2 lock: returns v when it runs on (sched_keeps), with the EL2 lock
 * let go (or never taken); NULL when it does not, with
 * the lock still held on to guest_hvc_reschedule_locked's return, so no other
 * CPU changes v between the two (a PSCI CPU_ON of a vCPU that has just
 * turned itself off would be lost). */
struct vcpu *guest_hvc_locked(struct vcpu *v);
/* The switch after guest_hvc; after guest_hvc_locked, the same and the
 * EL2 lock let go. */
struct vcpu *guest_hvc_reschedule(struct vcpu *v);
struct vcpu *guest_hvc_reschedule_locked(struct vcpu *v);

#endif
