/*
 * EL2 exception vectors. Exceptions from EL2 itself save a struct
 * hyp_trap_frame (el2/hyp_trap.h) on the current stack and call
 * hyp_trap_entry(frame, kind); exceptions from a guest go to
 * el2_guest_trap_entry (guest.S).
 * The kind numbers are the vector slots: (group << 2) | type, group 0 =
 * current EL with SP_EL0, 1 = current EL with SP_ELx, 2 = lower EL AArch64,
 * 3 = lower EL AArch32; type 0 sync, 1 IRQ, 2 FIQ, 3 SError.
 */
#define TRAP_FRAME_SIZE 288
#define TF_SP 248
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

	/* Lower-EL entries save straight into the running vCPU. */
	.macro	ventry_guest kind
	.balign	0x80
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
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	add	x1, sp, #TRAP_FRAME_SIZE
	stp	x30, x1, [sp, #240]
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
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	add	sp, sp, #TRAP_FRAME_SIZE
	eret
