/*
 * Fault injection for test manifests (manifest root `exo,testing`, guest
 * property `fault-inject`): EL2 makes hypercalls fail, drops revocation
 * notices, injects spurious aborts and interrupts, and corrupts a guest's
 * registers or its own memory, all from a seeded generator so that a run
 * replays exactly (`exo.fault-seed=` on the QEMU command line).
 * A guest without fault-inject is never touched. The injector decides;
 * what acts on the guest's traps (el2/guest_trap.c) does the injecting.
 */
#ifndef EXO_EL2_FAULTINJECT_H
#define EXO_EL2_FAULTINJECT_H

#include <el2/vm.h>
#include <stdbool.h>
#include <stdint.h>

struct manifest_guest;

void faultinject_init(struct vm *vm, const struct manifest_guest *g,
		      uint64_t seed);
/* Should this hypercall fail? Then *status is what the guest gets. */
bool faultinject_hvc_fails(struct vm *vm, uint64_t fid, int64_t *status);
/* After a hypercall returned: corruption at the chosen one. */
void faultinject_after_hvc(struct vcpu *v);
/* What to inject before the guest resumes from a trap (the trap code does
 * it): a bit set of the below, 0 for nothing. */
enum faultinject_resume {
	FAULTINJECT_EVENT_IRQ = 1u << 0,       /* the event interrupt, no event */
	FAULTINJECT_EXTERNAL_ABORT = 1u << 1,  /* a data abort no access caused,
						* at the next instruction */
};
unsigned faultinject_before_resume(struct vcpu *v);
/* Does this guest inject faults at all? Inline, so the trap path pays one
 * test for a guest that does not. */
static inline bool faultinject_on(const struct vm *vm)
{
	return vm->faultinject.faults != 0;
}
/* Does any guest inject faults? The trap path's one check for every hook
 * of the injector (system.c sets it at boot, with the vector table). */
extern bool faultinject_any;
static inline bool faultinject_hooks(void)
{
	return faultinject_any;
}
/* Is this revocation notice to be dropped? */
bool faultinject_drops_revoke(const struct vm *vm);
/* How long (ms of the guest's CPU time) this notice is held back; 0: none. */
uint32_t faultinject_revoke_delay_ms(const struct vm *vm);

#endif
