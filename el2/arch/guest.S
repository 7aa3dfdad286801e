/*
 * Guest entry and exit. A trap from a lower EL saves the guest's x0-x30,
 * ELR_EL2 and SPSR_EL2 into the running vCPU (percpu->current), calls
 * guest_trap_handle(vcpu, kind, disr, esr) on the EL2 stack, and resumes
 * the vCPU it returns, which may be another one (the C side then already
 * switched the EL1, FP and stage-2 state). HVC #0 with no test hook armed
 * saves x19-x29 only when its caller does not run on
 * (el2_guest_hvc_entry_*).
 */
#include <el2/hvc_fast.h>
#include <el2/spectre_steps.h>
#include <el2/trap_layout.h>
#include <arch/fpsimd_frame.h>

#define DISR_EL1_A_BIT 31                 /* an SError was deferred */

	/* x2 = the SError the vector's ESB deferred into DISR_EL1 (FEAT_RAS
	 * only: the register is undefined without it), 0 if none; DISR_EL1
	 * cleared (el2/ras.c). Clobbers x4. */
	.macro	exit_disr
	mov	x2, xzr
	adrp	x4, ras_present
	ldr	w4, [x4, :lo12:ras_present]
	cbz	w4, 1f
	mrs	x2, s3_0_c12_c1_1             /* DISR_EL1 */
	tbz	x2, #DISR_EL1_A_BIT, 2f       /* none deferred */
	msr	s3_0_c12_c1_1, xzr
	b	1f
2:	mov	x2, xzr
1:
	.endm

	/* Speculation: before any indirect branch EL2 takes, the steps the
	 * boot policy chose (el2/spectre.c; usually none: one load). They
	 * clobber x0-x5: x0-x2 are kept on the stack around them, and
	 * x19-x29 are not touched (the guest's, on the HVC path). */
	.macro	exit_spectre
	adrp	x4, spectre_exit_steps
	ldr	w4, [x4, :lo12:spectre_exit_steps]
	cbz	w4, 1f
	stp	x0, x1, [sp, #-16]!
	str	x2, [sp, #-16]!
	bl	spectre_exit_mitigate
	ldr	x2, [sp], #16
	ldp	x0, x1, [sp], #16
1:
	.endm

#define TRAP_KIND_LOWER_SYNC 8

	/* Into the running vCPU, x0 = it after: what C may clobber (AAPCS64),
	 * x0-x18, x30, ELR and SPSR; guest x0, x1 were pushed by the vector. */
	.macro	save_clobbered
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_CURRENT]
	stp	x2, x3, [x0, #16]
	stp	x4, x5, [x0, #32]
	stp	x6, x7, [x0, #48]
	stp	x8, x9, [x0, #64]
	stp	x10, x11, [x0, #80]
	stp	x12, x13, [x0, #96]
	stp	x14, x15, [x0, #112]
	stp	x16, x17, [x0, #128]
	str	x18, [x0, #VCPU_X18]
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0, #0]
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x30, x2, [x0, #VCPU_X30]
	str	x3, [x0, #VCPU_SPSR]
	.endm

	/* x19-x29, which C keeps, into the vCPU at x0. */
	.macro	save_kept
	str	x19, [x0, #VCPU_X19]
	stp	x20, x21, [x0, #160]
	stp	x22, x23, [x0, #176]
	stp	x24, x25, [x0, #192]
	stp	x26, x27, [x0, #208]
	stp	x28, x29, [x0, #224]
	.endm

	/* The vCPU at x0's x0-x18, x30, ELR and SPSR back, and ERET. */
	.macro	restore_clobbered_eret
	ldp	x2, x3, [x0, #VCPU_ELR]
	msr	elr_el2, x2
	msr	spsr_el2, x3
	ldp	x2, x3, [x0, #16]
	ldp	x4, x5, [x0, #32]
	ldp	x6, x7, [x0, #48]
	ldp	x8, x9, [x0, #64]
	ldp	x10, x11, [x0, #80]
	ldp	x12, x13, [x0, #96]
	ldp	x14, x15, [x0, #112]
	ldp	x16, x17, [x0, #128]
	ldr	x18, [x0, #VCPU_X18]
	ldr	x30, [x0, #VCPU_X30]
	ldp	x0, x1, [x0, #VCPU_REGS]
	eret
	.endm

	.text
	/* In: guest x0, x1 pushed on the EL2 stack, x1 = vector kind. The
	 * exit of the table without the fast path; the fast path's tables
	 * have their own (guest_entries). */
	.global el2_guest_trap_entry
el2_guest_trap_entry:
	save_clobbered
	save_kept
	/* RAS: what the vector's ESB deferred is this guest's: x2 for
	 * guest_trap_handle. */
	exit_disr
	exit_spectre
trap_handle_esr:
	mrs	x3, esr_el2               /* the syndrome, for a sync trap */
trap_handle:
	bl	guest_trap_handle
	/* fall through: x0 = vCPU to run */
	.global el2_guest_resume
el2_guest_resume:
	ldr	x19, [x0, #VCPU_X19]
	ldp	x20, x21, [x0, #160]
	ldp	x22, x23, [x0, #176]
	ldp	x24, x25, [x0, #192]
	ldp	x26, x27, [x0, #208]
	ldp	x28, x29, [x0, #224]
	restore_clobbered_eret

	/* An HVC #0 whose exit found an SError deferred (x2 = DISR_EL1, the
	 * register cleared): the full path, which ends the guest. */
hvc_deferred_serror_clear:
	msr	s3_0_c12_c1_1, xzr           /* DISR_EL1 */
hvc_deferred_serror:
	save_kept
	exit_spectre
	mov	x1, #TRAP_KIND_LOWER_SYNC
	mrs	x3, esr_el2
	b	trap_handle

	/* The exit checks of an HVC #0, as the boot chose them for this CPU
	 * (arch_vectors_set): instead of testing ras_present and
	 * spectre_exit_steps on every call, each table of the fast path
	 * comes with entries that test only what applies, as Linux's
	 * alternatives patch its entry code, without writing to the text.
	 *   generic: both flags tested (exit_disr, exit_spectre);
	 *   ras:     FEAT_RAS, no speculation steps: DISR_EL1 read at once;
	 *   noras:   neither: nothing to check. */
	.macro	hvc_exit_checks variant
	.ifc	\variant, generic
	exit_disr
	cbnz	x2, hvc_deferred_serror
	exit_spectre
	.endif
	.ifc	\variant, ras
	mrs	x2, s3_0_c12_c1_1             /* DISR_EL1 */
	tbnz	x2, #DISR_EL1_A_BIT, hvc_deferred_serror_clear
	.endif
	.endm

	/* The same for any other exit: x2 = what exit_disr gives. */
	.macro	trap_exit_checks variant
	.ifc	\variant, generic
	exit_disr
	exit_spectre
	.endif
	.ifc	\variant, ras
	mrs	x2, s3_0_c12_c1_1             /* DISR_EL1 */
	tbz	x2, #DISR_EL1_A_BIT, 1f
	msr	s3_0_c12_c1_1, xzr
	b	2f
1:	mov	x2, xzr
2:
	.endif
	.ifc	\variant, noras
	mov	x2, xzr
	.endif
	.endm

	/* The entries of one variant, from the slots of its table (vectors.S,
	 * el2/hvc_fast.h), guest x0, x1 pushed: el2_guest_sync_entry_<variant>
	 * sends HVC #0 to el2_guest_hvc_entry_<variant>, any other exit to
	 * el2_guest_trap_entry_<variant> (x1 = vector kind), which the other
	 * slots take too.
	 *
	 * The HVC entry saves what C may clobber, not x19-x29: C keeps them,
	 * so they are still the guest's when guest_hvc returns. Nothing
	 * guest_hvc runs reads or writes the running vCPU's x19-x29
	 * (el2/guest_trap.h). The vCPU runs on when it is still runnable and
	 * nothing is pending on this CPU (sched_keeps, el2/sched.h, tested
	 * here: guest_hvc returns nothing); otherwise x19-x29 are saved
	 * before anything else runs, then the scheduler. */
	.macro	guest_entries variant
	.global el2_guest_trap_entry_\variant
el2_guest_trap_entry_\variant:
	save_clobbered
	save_kept
	trap_exit_checks \variant
	b	trap_handle_esr

	guest_sync_entry \variant, \variant

el2_guest_hvc_entry_\variant:
	save_clobbered
	hvc_exit_checks \variant
	bl	guest_hvc
	mrs	x1, tpidr_el2
	ldr	x0, [x1, #PERCPU_CURRENT]
	ldr	w2, [x1, #PERCPU_SCHED_PENDING]
	ldr	w3, [x0, #VCPU_STATE_OFFSET]
	orr	w2, w2, w3
	cbnz	w2, 1f
	restore_clobbered_eret
1:	save_kept
	bl	guest_hvc_reschedule
	b	el2_guest_resume
	.endm

	/* The synchronous exit of table `name`: HVC #0 to its HVC entry, the
	 * rest to the variant's trap entry. */
	.macro	guest_sync_entry name, variant
	.global el2_guest_sync_entry_\name
el2_guest_sync_entry_\name:
	mrs	x1, esr_el2
	movz	x0, #(HVC_FAST_ESR >> 16), lsl #16
	cmp	x1, x0
	b.eq	el2_guest_hvc_entry_\name
	mov	x1, #TRAP_KIND_LOWER_SYNC
	b	el2_guest_trap_entry_\variant
	.endm

	/* The same variant's HVC entry with several CPUs online (the tables
	 * <variant>_locked, chosen at boot once a second CPU is online, so
	 * one CPU pays no test for it): guest_hvc_locked takes the EL2 lock
	 * and makes the runs-on test itself (it returns the vCPU, or NULL
	 * holding the lock), so no other CPU changes the vCPU between the
	 * test and the switch. The trap entry is the variant's own (C takes
	 * the lock there, el2/guest_trap.c). */
	.macro	guest_entries_locked variant
	guest_sync_entry \variant\()_locked, \variant

el2_guest_hvc_entry_\variant\()_locked:
	save_clobbered
	hvc_exit_checks \variant
	bl	guest_hvc_locked
	cbz	x0, 1f
	restore_clobbered_eret
1:	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_CURRENT]
	save_kept
	bl	guest_hvc_reschedule_locked
	b	el2_guest_resume
	.endm

	guest_entries generic
	guest_entries ras
	guest_entries noras
	guest_entries_locked generic
	guest_entries_locked ras
	guest_entries_locked noras

	/* w4 = SPECTRE_STEP_* bits (el2/spectre.h). Clobbers x0-x5. */
/* exo/hvc.h's EXO_SMCCC_ARCH_WORKAROUND_3 and _1 (SMCCC, DEN0028). */
#define SMCCC_ARCH_WORKAROUND_3 0x80003fff
#define SMCCC_ARCH_WORKAROUND_1 0x80008000
spectre_exit_mitigate:
	tbz	w4, #SPECTRE_STEP_BHB_LOOP_BIT, 2f
	adrp	x5, spectre_loop_k
	ldr	w5, [x5, :lo12:spectre_loop_k]
1:	b	. + 4
	subs	w5, w5, #1
	b.ne	1b
	dsb	nsh
	isb
2:	tbz	w4, #SPECTRE_STEP_CLRBHB_BIT, 3f
	hint	#22                       /* CLRBHB */
	isb
3:	tbz	w4, #SPECTRE_STEP_FW_WA3_BIT, 4f
	mov	w0, #(SMCCC_ARCH_WORKAROUND_3 & 0xffff)
	movk	w0, #(SMCCC_ARCH_WORKAROUND_3 >> 16), lsl #16
	smc	#0
4:	tbz	w4, #SPECTRE_STEP_FW_WA1_BIT, 5f
	mov	w0, #(SMCCC_ARCH_WORKAROUND_1 & 0xffff)
	movk	w0, #(SMCCC_ARCH_WORKAROUND_1 >> 16), lsl #16
	smc	#0
5:	ret

	/* arch_guest_enter(vcpu, stack_top): first entry, from el2_main. */
	.global arch_guest_enter
arch_guest_enter:
	mov	sp, x1
	b	el2_guest_resume

	/* arch_fpsimd_save(struct vcpu_fpsimd *), arch_fpsimd_load(...),
	 * arch_fpsimd_zero(): nothing of the last owner left in the
	 * registers (include/arch/fpsimd_frame.h). */
	.global arch_fpsimd_save
arch_fpsimd_save:
	fpsimd_save_x0
	ret

	.global arch_fpsimd_zero
arch_fpsimd_zero:
	fpsimd_zero
	ret

	.global arch_fpsimd_load
arch_fpsimd_load:
	fpsimd_load_x0
	ret
