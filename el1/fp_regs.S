/*
 * An EL0 task's FP/SIMD state to memory and back (el1/el0_task.c switches
 * it lazily): q0-q31 then FPSR and FPCR, 528 bytes, the layout of struct
 * libos_task_regs from q on. EL1's compiled C never touches these
 * registers (-mgeneral-regs-only), so only this file and the EL0 task
 * that owns them do. Leaf functions, no stack.
 */
#include <arch/fpsimd_frame.h>

	.text
	.balign	4

/* void el1_fp_save(void *area) */
	.global	el1_fp_save
	.type	el1_fp_save, %function
el1_fp_save:
	fpsimd_save_x0
	ret
	.size	el1_fp_save, . - el1_fp_save

/* void el1_fp_load(const void *area): every register, so nothing of the
 * previous owner's is left in them. */
	.global	el1_fp_load
	.type	el1_fp_load, %function
el1_fp_load:
	fpsimd_load_x0
	ret
	.size	el1_fp_load, . - el1_fp_load

/* void el1_fp_zero(void): what an ended task left is wiped. */
	.global	el1_fp_zero
	.type	el1_fp_zero, %function
el1_fp_zero:
	fpsimd_zero
	ret
	.size	el1_fp_zero, . - el1_fp_zero
