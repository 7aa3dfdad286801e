/*
 * EL2 exception vectors. Exceptions from EL2 itself save a struct
 * hyp_trap_frame (el2/hyp_trap.h) on the current stack and call
 * hyp_trap_entry(frame, kind); exceptions from a guest go to
 * el2_guest_trap_entry (guest.S).
 * The kind numbers are the vector slots: (group << 2) | type, group 0 =
 * current EL with SP_EL0, 1 = current EL with SP_ELx, 2 = lower EL AArch64,
 * 3 = lower EL AArch32; type 0 sync, 1 IRQ, 2 FIQ, 3 SError.
 */
#include <arch/vector_frame.h>

#define TRAP_FRAME_SIZE 288
#define TF_ELR 256
#define TF_SPSR 264
#define TF_ESR 272
#define TF_FAR 280

	.macro	ventry kind
	.balign	0x80
	sub	sp, sp, #TRAP_FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	el2_trap_common
	.endm

	/* Lower-EL entries save straight into the running vCPU. ESB first:
	 * with FEAT_RAS an SError the guest's accesses raised and not yet
	 * taken is deferred into DISR_EL1 now, so it is the guest's, not the
	 * next one's (el2/ras.c); without FEAT_RAS it is a NOP. */
	.macro	ventry_guest kind
	.balign	0x80
	hint	#16                       /* ESB */
	stp	x0, x1, [sp, #-16]!
	mov	x1, #\kind
	b	el2_guest_trap_entry
	.endm

	.text
	.balign	2048
	.global	el2_vectors
el2_vectors:
	ventry	0
	ventry	1
	ventry	2
	ventry	3
	ventry	4
	ventry	5
	ventry	6
	ventry	7
	ventry_guest	8
	ventry_guest	9
	ventry_guest	10
	ventry_guest	11
	ventry_guest	12
	ventry_guest	13
	ventry_guest	14
	ventry_guest	15

el2_trap_common:
	vframe_save_x2_x29
	vframe_save_x30_sp TRAP_FRAME_SIZE
	mrs	x1, elr_el2
	mrs	x2, spsr_el2
	stp	x1, x2, [sp, #TF_ELR]
	mrs	x1, esr_el2
	mrs	x2, far_el2
	stp	x1, x2, [sp, #TF_ESR]

	mov	x1, x0
	mov	x0, sp
	bl	hyp_trap_entry

	ldp	x1, x2, [sp, #TF_ELR]
	msr	elr_el2, x1
	msr	spsr_el2, x2
	vframe_restore_x0_x30
	add	sp, sp, #TRAP_FRAME_SIZE
	eret
