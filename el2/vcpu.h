/*
 * A guest's virtual CPU: what EL2 saves when the guest stops running and
 * restores when it runs again. General registers, PC and PSTATE are saved on
 * every trap (el2/arch/guest.S); EL1 system registers, FP/SIMD and timer
 * state only when another vCPU is chosen (a full switch).
 */
#ifndef EXO_EL2_VCPU_H
#define EXO_EL2_VCPU_H

#include <arch/esr.h>
#include <arch/sysreg.h>
#include <arch/vcpu_state.h>
#include <el2/pmu.h>
#include <el2/trap_layout.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* el2/trap_layout.h: the offsets the assembly uses; checked below. */

/* The EL1 and EL0 system registers EL2 switches: the rows of
 * include/arch/vcpu_state.def whose `how` is EL1, one field each, named
 * after the register. */
struct vcpu_el1_regs {
#define VCPU_STATE(name, access, op0, op1, crn, crm, op2, group, feature,   \
		   how, marker, reset, note)                                 \
	VCPU_STATE_IF_EL1(how, uint64_t name;)
#include <arch/vcpu_state.def>
#undef VCPU_STATE
};

struct vcpu_timer {
	uint64_t cntv_ctl, cntv_cval;
};

/* The guest's virtual GIC CPU interface: one list register is all exo
 * uses (the event interrupt), plus the guest's own settings (VMCR) and its
 * active-priority bits. */
/* The virtual CPU interface: list register 0 (the one EL2 uses; the
 * others stay zero), the VMCR (priority mask, binary points, enables) and
 * every implemented active-priority register of both groups, which a
 * guest writes through ICC_AP0R<n>/AP1R<n>: left behind, a guest's active
 * priority would mask every later guest's interrupts. */
struct vcpu_vgic {
	uint64_t lr0, vmcr;
	/* List register 1: the SGI or PPI in flight (el2/vgic_lr.c); the
	 * others posted wait in lr1_pending, one bit per INTID. */
	uint64_t lr1;
	uint32_t lr1_pending;
	/* Posted by another CPU while this vCPU's list registers were live on
	 * its own: one bit per INTID of list register 1, and the event
	 * interrupt; its CPU, kicked, puts them in (vgic_lr_take_posted,
	 * vm_event_take_posted). */
	uint32_t posted_lr1;
	bool posted_event;
	uint64_t ap0r[ICH_APR_MAX], ap1r[ICH_APR_MAX];
};

struct vcpu_fpsimd {
	uint64_t v[64];        /* q0-q31, low half first */
	uint64_t fpsr, fpcr;
};

enum vcpu_state {
	VCPU_RUNNABLE,
	VCPU_BLOCKED,          /* in EXO_HVC_WAIT until notified */
	VCPU_STOPPED,          /* its VM has exited or was torn down */
	VCPU_REAPING,          /* its VM's end began: at its turn EL2 scrubs
				* a bounded part of its frames (el2/vm.c) */
	VCPU_OFF,              /* a guest's other vCPU, not started or after
				* PSCI CPU_OFF (el2/vcpu_psci.c) */
};

struct vcpu {
	uint64_t x[31];        /* general registers x0-x30 */
	uint64_t elr;          /* guest PC (ELR_EL2 while trapped) */
	uint64_t spsr;         /* guest PSTATE (SPSR_EL2 while trapped) */
	enum vcpu_state state;
	struct vcpu_fpsimd fp __attribute__((aligned(16)));
	struct vcpu_el1_regs el1;
	struct vcpu_timer timer;
	struct vcpu_vgic vgic;
	uint64_t vdisr;        /* VDISR_EL2: the guest's DISR_EL1 (FEAT_RAS) */
	uint64_t hcr;          /* HCR_EL2 while this vCPU runs */
	uint64_t vttbr;        /* stage-2 root; the VMID is its VM's lease,
				* added as it is loaded (el2/vmid.h) */
	bool entered;          /* has run once (boot timing) */
	struct vm *vm;
	unsigned cpu;          /* the CPU it runs on, whose queue holds it */
	unsigned slot;         /* index in that run queue */
	uint64_t run_start;    /* counter when last entered */
	struct vcpu_pmu pmu;   /* its PMU while another guest owns the CPU's */
	unsigned index;        /* in its VM: 0 boots, the others by CPU_ON */
	uint64_t vmpidr;       /* the MPIDR_EL1 the guest reads */
	uint64_t hypercalls;   /* calls through EL2's C from boot, restarts
				* included (vm_hypercalls sums them): one
				* count per vCPU, as only its CPU writes it,
				* with or without the EL2 lock */
};

_Static_assert(offsetof(struct vcpu, x) == VCPU_REGS &&
		       offsetof(struct vcpu, x[18]) == VCPU_X18 &&
		       offsetof(struct vcpu, x[19]) == VCPU_X19 &&
		       offsetof(struct vcpu, x[30]) == VCPU_X30,
	       "guest.S layout");
_Static_assert(offsetof(struct vcpu, elr) == VCPU_ELR, "guest.S layout");
_Static_assert(offsetof(struct vcpu, spsr) == VCPU_SPSR, "guest.S layout");
_Static_assert(offsetof(struct vcpu, state) == VCPU_STATE_OFFSET &&
		       sizeof(enum vcpu_state) == 4 && VCPU_RUNNABLE == 0,
	       "guest.S: a 32-bit state, zero when it runs on");

/* Architectural state of a vCPU that has never run: EL1h, interrupts
 * masked, MMU off, entry at pc with x0 = arg (Linux arm64 boot protocol). */
/* The vCPU as at power-on: PC, x0 = arg, EL1h with the MMU off, stage 2
 * vttbr. Keeps what outlives it (its VM, index, MPIDR, CPU and run-queue
 * slot). */
void vcpu_reset(struct vcpu *v, uint64_t pc, uint64_t arg, uint64_t vttbr);
/* What vCPU `index` of a VM with `nr` vCPUs reads in MPIDR_EL1: affinity
 * `index` in Aff0; a VM of one vCPU is a uniprocessor (the U bit). */
uint64_t vcpu_mpidr(unsigned index, unsigned nr);

/* The value a trapped MSR writes: register rt of the syndrome, XZR 0. */
static inline uint64_t vcpu_msr_value(const struct vcpu *v, unsigned rt)
{
	return rt == ESR_SYSREG_RT_XZR ? 0 : v->x[rt];
}

#endif
