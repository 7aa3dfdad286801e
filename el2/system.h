/* Booting the guests of the system manifest, and the end of the run. */
#ifndef EXO_EL2_SYSTEM_H
#define EXO_EL2_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

/* Reads the boot package (at most pkg_max bytes at EXO_BOOT_PKG_ADDR),
 * creates every valid guest and runs them. Never returns: the end of the
 * run is system_finish(). */
_Noreturn void system_start(uint64_t pkg_max, bool have_pkg,
			    const char *bootargs);
/* Another CPU, online: waits for the boot CPU's system_start, then runs
 * the vCPUs placed on it (el2/sched.c) from its first. */
_Noreturn void system_cpu_run(void);

struct vm;

/* The VM with this id, or NULL (not created, or out of range). */
struct vm *system_vm(unsigned id);
/* The VM called name (at most 15 bytes) while it runs, restarts (its id
 * does not change) or is still being scrubbed after its end (el2/vm.c):
 * NULL means everything it held is back. */
struct vm *system_vm_by_name(const char *name);
/* Host harnesses only (tests/fuzz/fuzz_hvc.c): the VMs are table[0, nr),
 * VM id i + 1 at table[i], made by the caller with vm_create (an entry in
 * state VM_FAILED is no VM). */
void system_use_vms(struct vm *table, unsigned nr);
/* Does the manifest let from share, lend, donate and notify to `to`? */
bool system_may_share(const struct vm *from, const struct vm *to);
/* vm has ended (exit, teardown, restart; called by whoever ended it, as
 * vm_ops.h says): every running guest it may
 * share with, or that may share with it, gets a notification from it, so
 * none waits in WAIT for a guest that is gone (docs/abi.md). */
void system_notify_peers(const struct vm *vm);

/* Every guest has ended: print the summary and power off. */
_Noreturn void system_finish(void);

/* Debug builds, after every memory hypercall (by caller): each running
 * guest's stage 2 maps exactly what the frame DB allows it (panics
 * otherwise: an EL2 bug). Counted, and the counts printed at the end. */
void system_check_invariants(struct vm *caller);
/* The same check, not counted as any guest's: after each step of a
 * teardown in slices. */
void system_check_running(void);

struct vcpu;
/* One bounded step of the teardown of v's VM (vm_reap_step; the
 * scheduler's reaper, el2/sched.c), checked in debug builds; after the
 * last, its peers are notified again (all it held is back). */
void system_reap_step(struct vcpu *v);
/* Every remaining step at once: the end of the run and host harnesses. */
void system_reap_finish(struct vm *vm);

#endif
