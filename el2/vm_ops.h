/*
 * How a VM's life ends or starts again. Each scrubs and returns every frame
 * the VM held (el2/mem.c, in bounded steps) and records why, for the
 * summary. Telling the VM's peers is the caller's (system_notify_peers),
 * when its end begins and again after its last teardown step.
 */
#ifndef EXO_EL2_VM_OPS_H
#define EXO_EL2_VM_OPS_H

#include <el2/vm.h>

struct manifest_guest;

/* Builds a VM from a valid manifest entry and queues its vCPUs: vCPU 0
 * runnable at the entry, the others (`extra`, g->cpus - 1 of them, the
 * caller's storage; NULL when g->cpus is 1) off until the guest starts
 * them (PSCI CPU_ON). Returns an EXO_E* error (EXO_ENOMEM, EXO_EQUOTA,
 * ...) with nothing left allocated. */
int64_t vm_create(struct vm *vm, unsigned id, const struct manifest_guest *g,
		  uint64_t timer_freq, struct vcpu *extra);

/* Where every VM's stage-2 root lives (EL2's BSS): [*start, *end). */
void vm_s2_roots(uint64_t *start, uint64_t *end);

/* The guest asked to stop (EXIT, PSCI SYSTEM_OFF), saying why: status,
 * cause and address as EXIT carries them (exo/exit_status.h), kept for the
 * summary whatever they are. */
bool vm_exit(struct vm *vm, int64_t status, uint64_t cause, uint64_t addr);
/* EL2 stops the guest: violations past its limit, a fault it cannot take,
 * its CPU limit. Never affects another VM. Both return true when the VM
 * ended here (false: it had already ended). */
bool vm_kill(struct vm *vm, const char *reason);
/* PSCI SYSTEM_RESET: its old life ends now (state VM_RESTARTING); once
 * its frames are all scrubbed and back (vm_reap_step) it boots the same
 * image with fresh frames, or is killed if it cannot be rebuilt. */
void vm_restart(struct vm *vm);

/* An ended VM's frames go back a bounded part at a time
 * (MEM_TEARDOWN_STEP_FRAMES scrubbed per step), steps at each of its turns
 * in the run queue (el2/sched.c through el2/system.c), so no end holds EL2
 * for long; its vCPU is VCPU_REAPING until then and VM_LOOKUP still finds
 * it. Returns true when this step was the last: the VM stopped, or booted
 * again (its vCPU runnable with a fresh state, not yet loaded), or was
 * killed because it could not be. A no-op (false) for a vCPU that is not
 * reaping. */
bool vm_reap_step(struct vm *vm);

/* Records that VM `from` notified vm, and wakes the first of its vCPUs
 * that waits, with the lowest window of notifiers (as WAIT returns them). */
void vm_notify(struct vm *vm, unsigned from);
/* WAIT: takes the lowest window of notifiers pending (mask 0: none). */
struct vm_notified vm_notified_take(struct vm *vm);

#endif
