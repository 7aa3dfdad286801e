/*
 * Fault injection for test manifests (manifest root `exo,testing`, guest
 * property `fault-inject`): EL2 makes hypercalls fail, drops revocation
 * notices, injects spurious aborts and interrupts, and corrupts a guest's
 * registers or its own memory, all from a seeded generator so that a run
 * replays exactly (`exo.fault-seed=` on the QEMU command line).
 * A guest without fault-inject is never touched.
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
/* Before the guest resumes from any trap: spurious abort or interrupt. */
void faultinject_before_resume(struct vcpu *v);
/* Is this revocation notice to be dropped? */
bool faultinject_drops_revoke(const struct vm *vm);
/* How long (ms of the guest's CPU time) this notice is held back; 0: none. */
uint32_t faultinject_revoke_delay_ms(const struct vm *vm);

#endif
