/*
 * A guest as EL2 knows it: identity, configuration from the manifest, its
 * vCPU, its stage 2, and what the summary reports. VM ids are also VMIDs
 * and frame-DB owner ids (1..EXO_MAX_VMS-1; 0 is EL2).
 */
#ifndef EXO_EL2_VM_H
#define EXO_EL2_VM_H

#include <el2/s2.h>
#include <el2/vcpu.h>
#include <el2/violation_log.h>
#include <el2/vm_console.h>
#include <exo/hvc.h>
#include <lib/spinlock.h>
#include <stdbool.h>
#include <stdint.h>

#define VM_NAME_MAX (EXO_VM_NAME_MAX + 1) /* with its NUL */
#define VM_POLICY_MAX 16

enum vm_state {
	VM_UNUSED,
	VM_RUNNING,
	VM_EXITED,        /* exit hypercall or PSCI SYSTEM_OFF */
	VM_KILLED,        /* torn down by EL2: violations, fault, CPU limit */
	VM_FAILED,        /* never started: bad manifest entry or image */
	VM_RESTARTING,    /* SYSTEM_RESET: its old frames are being scrubbed,
			   * it boots again when they are all back */
};

struct vm_stats {
	uint64_t violations;      /* stage-2 faults that were not emulation */
	uint64_t frames_peak;
	uint64_t restarts;
	uint64_t frames_revoked;  /* taken by force */
	uint64_t excused_touches; /* touches of frames taken back, not
				   * violations (excused-touch-limit) */
	uint64_t invariant_rounds;  /* debug: its memory hypercalls after which
				     * every stage 2 was checked */
};

#define VM_REVOKED_MAX 16   /* runs EL2 remembers taking by force */

struct vm_run {
	uint64_t pa, count;
};

/* Visible revocation (el2/revoke.c, the only file that reads or writes
 * it): what EL2 asked back, and what it took when the guest did not give
 * it in time. Times are the guest's own CPU
 * time, in counter ticks. */
struct vm_revoke {
	bool active;              /* a request is outstanding */
	bool schedule_fired;
	uint64_t want;            /* frames asked back */
	uint64_t target;          /* met when the guest owns this few frames */
	uint64_t deadline;        /* vCPU run_ticks at which EL2 takes them */
	uint64_t notice_at;       /* injected delay: run_ticks to notify at */
	bool notice_pending;
	unsigned nr_taken;
	struct vm_run taken[VM_REVOKED_MAX];
};

#define VM_LOST_MAX 16      /* runs a borrower remembers losing */

/* The guests that notified a VM and that its WAIT has not returned yet:
 * a bit per VM id, EXO_WAIT_WINDOW of them to a word (one word is one
 * answer of WAIT). 128 bytes for 1,024 ids. */
#define VM_NOTIFY_WORDS (EXO_MAX_VMS / EXO_WAIT_WINDOW)
_Static_assert(EXO_MAX_VMS % EXO_WAIT_WINDOW == 0, "whole WAIT windows");
_Static_assert(EXO_WAIT_WINDOW == 64, "a window is one 64-bit word");

struct vm_notifiers {
	uint64_t word[VM_NOTIFY_WORDS];
};

/* WAIT's answer: the lowest window with notifiers (exo/hvc.h). */
struct vm_notified {
	uint64_t mask, base, more;
};

/* What a borrower lost through its owner, not acknowledged yet
 * (el2/lost.c, the only file that writes it). */
struct vm_lost {
	unsigned nr;
	uint64_t generation;      /* changes with every run recorded */
	struct vm_run runs[VM_LOST_MAX];
};

/* A teardown in slices (el2/vm.c): from the moment the VM's end begins
 * until its frames are all scrubbed and back, the scheduler gives it a
 * bounded step of EL2 work at each of its turns. */
/* Where a teardown in steps is (el2/mem.c's, opaque above it): the frame
 * DB's cursor, and the part of the run being freed that is left. */
struct mem_teardown {
	uint64_t cursor, pa, left;
};

struct vm_reap {
	bool restart;             /* boot again when done (SYSTEM_RESET) */
	struct mem_teardown at;   /* mem_vm_teardown_step's */
	uint64_t steps;           /* taken so far, for the tests */
};

/* Fault injection state (el2/faultinject.c); all zero for a normal guest. */
struct vm_faultinject {
	uint32_t faults;          /* bit f: enum manifest_fault */
	uint32_t param[8];
	uint64_t rng;
	uint64_t hypercalls;      /* counted from boot, for corrupt-* */
	uint64_t injected;
};

struct vm_config {
	uint64_t timeslice_ticks;
	uint64_t cpu_limit_ticks; /* 0: unlimited */
	uint32_t violation_limit;
	uint32_t excused_touch_limit; /* el2/guest_trap.c */
	char heap_policy[VM_POLICY_MAX];
	/* revoke-schedule: after this much CPU time, ask for frames back */
	uint64_t revoke_after_ticks, revoke_frames, revoke_deadline_ticks;
	bool pmu_system;          /* pmu = "system": counts EL2 (el2/pmu.h) */
	uint32_t cpu_affinity;    /* the CPUs it may run on; 0: any */
};

struct vm {
	unsigned id;
	char name[VM_NAME_MAX];
	enum vm_state state;
	int64_t exit_status;
	uint64_t exit_cause, exit_addr; /* EXIT x2, x3 (exo/exit_status.h) */
	const char *stop_reason;
	struct vm_config config;
	struct vm_stats stats;
	struct vcpu vcpu;               /* vCPU 0, the one that boots */
	/* vcpus[0] is &vcpu, the others el2/system.c's, allotted at boot
	 * (manifest `cpus`); vCPU n has MPIDR affinity n (vcpu_mpidr). */
	struct vcpu *vcpus[EXO_VM_MAX_VCPUS];
	unsigned nr_vcpus;
	/* Counter ticks its vCPUs ran, all of them, for its life (restarts
	 * included): one sum kept as each vCPU is accounted (sched_account),
	 * so a VM's time costs one load whatever its vCPUs. */
	uint64_t run_ticks;
	struct s2 s2;
	struct s2_page_cache s2_cache;  /* table pages charged to this VM */
	/* Over s2 and s2_cache while the one-frame memory calls of its
	 * vCPUs run on several CPUs at once (el2/mem.c, past the gate of
	 * el2/mem_gate.h); every other memory call closes the gate. */
	struct spinlock s2_lock;
	const void *manifest_entry;     /* struct manifest_guest, for restart */
	struct vm_notifiers notified;   /* not yet returned by WAIT */
	uint64_t events;                /* EXO_EVENT_* not yet read
					 * (el2/vm_event.c) */
	struct vm_revoke revoke;
	struct vm_lost lost;            /* el2/lost.c */
	struct vm_reap reap;
	struct vm_faultinject faultinject;
	struct vm_run boot_run;         /* guaranteed: never revoked */
	struct vm_console console;    /* el2/vm_console.c */
	struct violation_log violations; /* el2/violation_log.c */
};

/* The VM's CPU time: all its vCPUs' (its CPU limit, revocation's clock and
 * the summary count it). */
static inline uint64_t vm_run_ticks(const struct vm *vm)
{
	return vm->run_ticks;
}

/* The calls through EL2's C its vCPUs made, from boot (the summary's
 * column): vCPU 0 is vm->vcpu, the others vcpus[1..nr_vcpus). */
static inline uint64_t vm_hypercalls(const struct vm *vm)
{
	uint64_t n = vm->vcpu.hypercalls;

	for (unsigned i = 1; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i]->hypercalls;
	return n;
}

#endif
