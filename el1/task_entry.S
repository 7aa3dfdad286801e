/*
 * Entering EL0 and coming back. el1_task_enter saves the library OS's
 * callee-saved state in a context, puts the task's frame on the stack and
 * leaves through the vectors' restore path (el1_trap_return), so EL0 starts
 * with every register the frame holds. Exceptions from EL0 then stack their
 * frames below; el1_task_leave, called from a handler, drops them and
 * returns from el1_task_enter. No FP/SIMD register is saved or restored:
 * el1's callers keep none in them (-mgeneral-regs-only) and the task's
 * stay live (el1/el0_task.c switches them lazily).
 */
#define FRAME_SIZE 304	/* struct el1_frame */

	.text
	.balign	4

/* void el1_task_enter(struct el1_task_ctx *ctx, const struct el1_frame *f) */
	.global	el1_task_enter
	.type	el1_task_enter, %function
el1_task_enter:
	stp	x19, x20, [x0, #0]
	stp	x21, x22, [x0, #16]
	stp	x23, x24, [x0, #32]
	stp	x25, x26, [x0, #48]
	stp	x27, x28, [x0, #64]
	stp	x29, x30, [x0, #80]
	mov	x9, sp
	mrs	x10, daif
	stp	x9, x10, [x0, #96]
	sub	sp, sp, #FRAME_SIZE
	mov	x2, sp
	mov	x3, #(FRAME_SIZE / 16)
1:	ldp	x4, x5, [x1], #16
	stp	x4, x5, [x2], #16
	subs	x3, x3, #1
	b.ne	1b
	b	el1_trap_return
	.size	el1_task_enter, . - el1_task_enter

/* void el1_task_leave(struct el1_task_ctx *ctx): returns from enter */
	.global	el1_task_leave
	.type	el1_task_leave, %function
el1_task_leave:
	ldp	x19, x20, [x0, #0]
	ldp	x21, x22, [x0, #16]
	ldp	x23, x24, [x0, #32]
	ldp	x25, x26, [x0, #48]
	ldp	x27, x28, [x0, #64]
	ldp	x29, x30, [x0, #80]
	ldp	x9, x10, [x0, #96]
	mov	sp, x9
	msr	daif, x10
	ret
	.size	el1_task_leave, . - el1_task_leave
