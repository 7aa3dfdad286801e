/*
 * EL1 exception vectors. Every entry saves a struct el1_frame (el1/trap.h),
 * general and FP/SIMD registers both, because handlers are C that may use
 * SIMD, on SP_EL1 and calls el1_trap(frame); the C side dispatches.
 * The kind is the vector slot: (group << 2) | type, group 0 = current EL
 * with SP_EL0, 1 = current EL with SP_EL1, 2 = lower EL AArch64, 3 = lower
 * EL AArch32; type 0 sync, 1 IRQ, 2 FIQ, 3 SError.
 */
#define FRAME_SIZE 832
#define F_X30 240
#define F_ELR 256
#define F_ESR 272
#define F_KIND 288
#define F_Q 304

	.macro	ventry kind
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	el1_trap_common
	.endm

	.text
	.balign	2048
	.global	el1_vectors
el1_vectors:
	ventry	0
	ventry	1
	ventry	2
	ventry	3
	ventry	4
	ventry	5
	ventry	6
	ventry	7
	ventry	8
	ventry	9
	ventry	10
	ventry	11
	ventry	12
	ventry	13
	ventry	14
	ventry	15

el1_trap_common:
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
	add	x1, sp, #FRAME_SIZE
	stp	x30, x1, [sp, #F_X30]
	mrs	x1, elr_el1
	mrs	x2, spsr_el1
	stp	x1, x2, [sp, #F_ELR]
	mrs	x1, esr_el1
	mrs	x2, far_el1
	stp	x1, x2, [sp, #F_ESR]
	mrs	x1, sp_el0
	stp	x0, x1, [sp, #F_KIND]

	add	x1, sp, #F_Q
	stp	q0, q1, [x1], #32
	stp	q2, q3, [x1], #32
	stp	q4, q5, [x1], #32
	stp	q6, q7, [x1], #32
	stp	q8, q9, [x1], #32
	stp	q10, q11, [x1], #32
	stp	q12, q13, [x1], #32
	stp	q14, q15, [x1], #32
	stp	q16, q17, [x1], #32
	stp	q18, q19, [x1], #32
	stp	q20, q21, [x1], #32
	stp	q22, q23, [x1], #32
	stp	q24, q25, [x1], #32
	stp	q26, q27, [x1], #32
	stp	q28, q29, [x1], #32
	stp	q30, q31, [x1], #32
	mrs	x2, fpsr
	mrs	x3, fpcr
	stp	x2, x3, [x1]		/* x1 = sp + F_FPSR: past q31 */

	mov	x0, sp
	bl	el1_trap

	/* el1/task_entry.S enters EL0 here with a frame of its own on SP. */
	.global	el1_trap_return
el1_trap_return:
	/* A handler may have changed any of these: restore them all. */
	add	x1, sp, #F_Q
	ldp	q0, q1, [x1], #32
	ldp	q2, q3, [x1], #32
	ldp	q4, q5, [x1], #32
	ldp	q6, q7, [x1], #32
	ldp	q8, q9, [x1], #32
	ldp	q10, q11, [x1], #32
	ldp	q12, q13, [x1], #32
	ldp	q14, q15, [x1], #32
	ldp	q16, q17, [x1], #32
	ldp	q18, q19, [x1], #32
	ldp	q20, q21, [x1], #32
	ldp	q22, q23, [x1], #32
	ldp	q24, q25, [x1], #32
	ldp	q26, q27, [x1], #32
	ldp	q28, q29, [x1], #32
	ldp	q30, q31, [x1], #32
	ldp	x2, x3, [x1]		/* x1 = sp + F_FPSR */
	msr	fpsr, x2
	msr	fpcr, x3
	ldr	x1, [sp, #F_KIND + 8]
	msr	sp_el0, x1
	ldp	x1, x2, [sp, #F_ELR]
	msr	elr_el1, x1
	msr	spsr_el1, x2
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
	ldr	x30, [sp, #F_X30]
	add	sp, sp, #FRAME_SIZE
	eret
