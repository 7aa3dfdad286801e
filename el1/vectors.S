/*
 * EL1 exception vectors. Every entry saves a struct el1_frame (el1/trap.h;
 * the general registers as include/arch/vector_frame.h lays them out, with
 * EL2's vectors) on SP_EL1 and calls el1_trap(frame); the C side
 * dispatches. No FP/SIMD register is saved: EL1's C is built with
 * -mgeneral-regs-only, so a handler leaves them as they were (an EL0
 * task's stay live in the registers; el1/el0_task.c switches them).
 * The kind is the vector slot: (group << 2) | type, group 0 = current EL
 * with SP_EL0, 1 = current EL with SP_EL1, 2 = lower EL AArch64, 3 = lower
 * EL AArch32; type 0 sync, 1 IRQ, 2 FIQ, 3 SError.
 */
#include <arch/vector_frame.h>

#define FRAME_SIZE 304
#define F_ELR 256
#define F_ESR 272
#define F_KIND 288

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

	mov	x0, sp
	bl	el1_trap

	/* el1/task_entry.S enters EL0 here with a frame of its own on SP. */
	.global	el1_trap_return
el1_trap_return:
	/* A handler may have changed any of these: restore them all. */
	ldr	x1, [sp, #F_KIND + 8]
	msr	sp_el0, x1
	ldp	x1, x2, [sp, #F_ELR]
	msr	elr_el1, x1
	msr	spsr_el1, x2
	vframe_restore_x0_x30
	add	sp, sp, #FRAME_SIZE
	eret
