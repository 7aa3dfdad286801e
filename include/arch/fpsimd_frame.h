/*
 * FP/SIMD state to memory and back, as EL2 switches a vCPU's
 * (el2/arch/guest.S) and libos an EL0 task's (el1/fp_regs.S): q0-q31
 * from offset 0, then FPSR and FPCR, FPSIMD_FRAME_BYTES in all. Assembler
 * macros for leaf functions with the area in x0; both layers are built
 * general-registers-only, so these loads and stores (and the zeroing,
 * which needs the assembler told FP exists) are their only FP/SIMD
 * instructions.
 *
 * Owns: that layout and the three sequences. Never: decides when a
 * switch happens (each layer's lazy trap does).
 */
#ifndef EXO_ARCH_FPSIMD_FRAME_H
#define EXO_ARCH_FPSIMD_FRAME_H

#define FPSIMD_Q_BYTES 512	/* q0-q31 */
#define FPSIMD_FRAME_BYTES (FPSIMD_Q_BYTES + 16)

#ifdef __ASSEMBLY__
/* q0-q31, FPSR, FPCR to [x0]. Clobbers x0-x2. */
	.macro	fpsimd_save_x0
	stp	q0, q1, [x0, #0]
	stp	q2, q3, [x0, #32]
	stp	q4, q5, [x0, #64]
	stp	q6, q7, [x0, #96]
	stp	q8, q9, [x0, #128]
	stp	q10, q11, [x0, #160]
	stp	q12, q13, [x0, #192]
	stp	q14, q15, [x0, #224]
	stp	q16, q17, [x0, #256]
	stp	q18, q19, [x0, #288]
	stp	q20, q21, [x0, #320]
	stp	q22, q23, [x0, #352]
	stp	q24, q25, [x0, #384]
	stp	q26, q27, [x0, #416]
	stp	q28, q29, [x0, #448]
	stp	q30, q31, [x0, #480]
	mrs	x1, fpsr
	mrs	x2, fpcr
	add	x0, x0, #FPSIMD_Q_BYTES	/* past stp's reach */
	stp	x1, x2, [x0]
	.endm

/* Every register from [x0], so nothing of the previous owner's is left
 * in them. Clobbers x0-x2. */
	.macro	fpsimd_load_x0
	ldp	q0, q1, [x0, #0]
	ldp	q2, q3, [x0, #32]
	ldp	q4, q5, [x0, #64]
	ldp	q6, q7, [x0, #96]
	ldp	q8, q9, [x0, #128]
	ldp	q10, q11, [x0, #160]
	ldp	q12, q13, [x0, #192]
	ldp	q14, q15, [x0, #224]
	ldp	q16, q17, [x0, #256]
	ldp	q18, q19, [x0, #288]
	ldp	q20, q21, [x0, #320]
	ldp	q22, q23, [x0, #352]
	ldp	q24, q25, [x0, #384]
	ldp	q26, q27, [x0, #416]
	ldp	q28, q29, [x0, #448]
	ldp	q30, q31, [x0, #480]
	add	x0, x0, #FPSIMD_Q_BYTES	/* past ldp's reach */
	ldp	x1, x2, [x0]
	msr	fpsr, x1
	msr	fpcr, x2
	.endm

/* Zeros in every register, FPSR and FPCR. */
	.macro	fpsimd_zero
	.arch_extension fp
	.irp	n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	fmov	d\n, xzr		/* writes the whole register */
	.endr
	msr	fpsr, xzr
	msr	fpcr, xzr
	.endm
#endif

#endif
