/*
 * Helpers for users of include/arch/vcpu_state.def: pick the rows of one
 * `how`, and spell a row's encoding for MRS/MSR.
 */
#ifndef EXO_ARCH_VCPU_STATE_H
#define EXO_ARCH_VCPU_STATE_H

/* VCPU_STATE_IF_EL1(how, text...): text for the rows EL2 switches as EL1
 * system registers, nothing for the others. */
#define VCPU_STATE_IF_EL1(how, ...) VCPU_STATE_IF_EL1_##how(__VA_ARGS__)
#define VCPU_STATE_IF_EL1_EL1(...) __VA_ARGS__
#define VCPU_STATE_IF_EL1_FRAME(...)
#define VCPU_STATE_IF_EL1_FPSIMD(...)
#define VCPU_STATE_IF_EL1_VGIC(...)
#define VCPU_STATE_IF_EL1_LR(...)
#define VCPU_STATE_IF_EL1_ZEROED(...)
#define VCPU_STATE_IF_EL1_TIMER(...)
#define VCPU_STATE_IF_EL1_VDISR(...)
#define VCPU_STATE_IF_EL1_PMU(...)
#define VCPU_STATE_IF_EL1_UNDEF(...)
#define VCPU_STATE_IF_EL1_SGI(...)
#define VCPU_STATE_IF_EL1_EMPTY(...)
#define VCPU_STATE_IF_EL1_RAZWI(...)
#define VCPU_STATE_IF_EL1_FIXED(...)
#define VCPU_STATE_IF_EL1_TIME(...)

/* "s3_0_c1_c0_0": the generic name both assemblers take for any system
 * register, whether or not they know its name. */
#define VCPU_STATE_SYSREG(op0, op1, crn, crm, op2)                           \
	"s" #op0 "_" #op1 "_c" #crn "_c" #crm "_" #op2

#endif
