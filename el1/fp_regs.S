/*
 * An EL0 task's FP/SIMD state to memory and back (el1/el0_task.c switches
 * it lazily): q0-q31 then FPSR and FPCR, 528 bytes, the layout of struct
 * libos_task_regs from q on. EL1's compiled C never touches these
 * registers (-mgeneral-regs-only), so only this file and the EL0 task
 * that owns them do. Leaf functions, no stack.
 */
#define FP_Q_BYTES 512		/* q0-q31 */

	.text
	.balign	4

/* void el1_fp_save(void *area) */
	.global	el1_fp_save
	.type	el1_fp_save, %function
el1_fp_save:
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
	add	x0, x0, #FP_Q_BYTES	/* past stp's reach */
	stp	x1, x2, [x0]
	ret
	.size	el1_fp_save, . - el1_fp_save

/* void el1_fp_load(const void *area): every register, so nothing of the
 * previous owner's is left in them. */
	.global	el1_fp_load
	.type	el1_fp_load, %function
el1_fp_load:
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
	add	x0, x0, #FP_Q_BYTES	/* past ldp's reach */
	ldp	x1, x2, [x0]
	msr	fpsr, x1
	msr	fpcr, x2
	ret
	.size	el1_fp_load, . - el1_fp_load

/* void el1_fp_zero(void): what an ended task left is wiped. The
 * assembler is told FP exists here (-mgeneral-regs-only withholds it). */
	.arch_extension fp
	.global	el1_fp_zero
	.type	el1_fp_zero, %function
el1_fp_zero:
	.irp	n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	fmov	d\n, xzr		/* writes the whole register */
	.endr
	msr	fpsr, xzr
	msr	fpcr, xzr
	ret
	.size	el1_fp_zero, . - el1_fp_zero
