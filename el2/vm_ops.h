/*
 * How a VM's life ends or starts again. Each scrubs and returns every frame
 * the VM held (el2/mem.c) and records why, for the summary. Telling the
 * VM's peers is the caller's (system_notify_peers): a VM knows no other.
 */
#ifndef EXO_EL2_VM_OPS_H
#define EXO_EL2_VM_OPS_H

#include <el2/vm.h>

struct manifest_guest;

/* Builds a VM from a valid manifest entry and queues its vCPU. Returns an
 * EXO_E* error (EXO_ENOMEM, EXO_EQUOTA, ...) with nothing left allocated. */
int64_t vm_create(struct vm *vm, unsigned id, const struct manifest_guest *g,
		  uint64_t timer_freq);

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
/* PSCI SYSTEM_RESET: teardown, then boot the same image with fresh frames.
 * Returns false (and kills the VM) if it cannot be rebuilt; either way its
 * old life ended. */
bool vm_restart(struct vm *vm);

/* Records that VM `from` notified vm, and wakes vm if it waits. */
void vm_notify(struct vm *vm, unsigned from);

#endif
