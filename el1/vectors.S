/*
 * EL1 exception vectors. Every entry saves a struct el1_frame (el1/trap.h;
 * the general registers as include/arch/vector_frame.h lays them out, with
 * EL2's vectors), general and FP/SIMD registers both, because handlers are
 * C that may use SIMD, on SP_EL1 and calls el1_trap(frame); the C side
 * dispatches.
 * The kind is the vector slot: (group << 2) | type, group 0 = current EL
 * with SP_EL0, 1 = current EL with SP_EL1, 2 = lower EL AArch64, 3 = lower
 * EL AArch32; type 0 sync, 1 IRQ, 2 FIQ, 3 SError.
 */
#include <arch/vector_frame.h>

#define FRAME_SIZE 832
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
	vframe_save_x2_x29
	vframe_save_x30_sp FRAME_SIZE
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
	vframe_restore_x0_x30
	add	sp, sp, #FRAME_SIZE
	eret
