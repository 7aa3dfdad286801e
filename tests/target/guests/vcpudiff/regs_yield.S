/*
 * regs_yield(in, out): loads x0 (in[0], YIELD's function ID), x4-x30, q0-q31, NZCV, FPCR and FPSR from in[],
 * yields (HVC #0 with x0 = YIELD), and stores what the same registers
 * then hold, and x1-x3, into out[] -- nothing compiled sits in between, so
 * whatever comes back is what EL2 restored.
 *
 * in[]/out[] layout (uint64_t): [0..30] x0-x30 (in: x1-x3 ignored),
 * [31..94] q0-q31 (low, high), [95] NZCV, [96] FPCR, [97] FPSR.
 */
#define SLOT_Q 31
#define SLOT_NZCV 95
#define SLOT_FPCR 96
#define SLOT_FPSR 97
#define FRAME 128		/* x19-x30 (96), in and out (16), x30 back */

	.text
	.global regs_yield
	.type regs_yield, %function
regs_yield:
	sub	sp, sp, #FRAME
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	x0, x1, [sp, #96]

	ldr	x2, [x0, #SLOT_NZCV * 8]
	msr	nzcv, x2
	ldr	x2, [x0, #SLOT_FPCR * 8]
	msr	fpcr, x2
	ldr	x2, [x0, #SLOT_FPSR * 8]
	msr	fpsr, x2
	add	x1, x0, #SLOT_Q * 8
	ldp	q0, q1, [x1, #0]
	ldp	q2, q3, [x1, #32]
	ldp	q4, q5, [x1, #64]
	ldp	q6, q7, [x1, #96]
	ldp	q8, q9, [x1, #128]
	ldp	q10, q11, [x1, #160]
	ldp	q12, q13, [x1, #192]
	ldp	q14, q15, [x1, #224]
	ldp	q16, q17, [x1, #256]
	ldp	q18, q19, [x1, #288]
	ldp	q20, q21, [x1, #320]
	ldp	q22, q23, [x1, #352]
	ldp	q24, q25, [x1, #384]
	ldp	q26, q27, [x1, #416]
	ldp	q28, q29, [x1, #448]
	ldp	q30, q31, [x1, #480]
	ldp	x4, x5, [x0, #32]
	ldp	x6, x7, [x0, #48]
	ldp	x8, x9, [x0, #64]
	ldp	x10, x11, [x0, #80]
	ldp	x12, x13, [x0, #96]
	ldp	x14, x15, [x0, #112]
	ldp	x16, x17, [x0, #128]
	ldp	x18, x19, [x0, #144]
	ldp	x20, x21, [x0, #160]
	ldp	x22, x23, [x0, #176]
	ldp	x24, x25, [x0, #192]
	ldp	x26, x27, [x0, #208]
	ldp	x28, x29, [x0, #224]
	ldr	x30, [x0, #240]
	ldr	x0, [x0]		/* in[0]: the function ID (YIELD) */
	hvc	#0

	str	x30, [sp, #112]		/* x30 came back: keep it, use the reg */
	ldr	x30, [sp, #104]		/* out */
	stp	x0, x1, [x30, #0]
	stp	x2, x3, [x30, #16]
	stp	x4, x5, [x30, #32]
	stp	x6, x7, [x30, #48]
	stp	x8, x9, [x30, #64]
	stp	x10, x11, [x30, #80]
	stp	x12, x13, [x30, #96]
	stp	x14, x15, [x30, #112]
	stp	x16, x17, [x30, #128]
	stp	x18, x19, [x30, #144]
	stp	x20, x21, [x30, #160]
	stp	x22, x23, [x30, #176]
	stp	x24, x25, [x30, #192]
	stp	x26, x27, [x30, #208]
	stp	x28, x29, [x30, #224]
	mrs	x2, nzcv
	str	x2, [x30, #SLOT_NZCV * 8]
	mrs	x2, fpcr
	str	x2, [x30, #SLOT_FPCR * 8]
	mrs	x2, fpsr
	str	x2, [x30, #SLOT_FPSR * 8]
	add	x1, x30, #SLOT_Q * 8
	stp	q0, q1, [x1, #0]
	stp	q2, q3, [x1, #32]
	stp	q4, q5, [x1, #64]
	stp	q6, q7, [x1, #96]
	stp	q8, q9, [x1, #128]
	stp	q10, q11, [x1, #160]
	stp	q12, q13, [x1, #192]
	stp	q14, q15, [x1, #224]
	stp	q16, q17, [x1, #256]
	stp	q18, q19, [x1, #288]
	stp	q20, q21, [x1, #320]
	stp	q22, q23, [x1, #352]
	stp	q24, q25, [x1, #384]
	stp	q26, q27, [x1, #416]
	stp	q28, q29, [x1, #448]
	stp	q30, q31, [x1, #480]
	ldr	x2, [sp, #112]		/* the x30 that came back */
	str	x2, [x30, #240]

	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	add	sp, sp, #FRAME
	ret
	.size regs_yield, . - regs_yield
