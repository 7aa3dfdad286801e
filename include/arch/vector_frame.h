/*
 * The start of every exception frame the EL1 and EL2 vectors save
 * (el1/vectors.S: struct el1_frame; el2/arch/vectors.S: struct
 * trap_frame): x0-x30 from offset 0, then the stack pointer before the
 * exception. The general-register save and restore sequences both vectors
 * use, as assembler macros; C checks its frame struct against the offsets.
 *
 * Owns: those offsets and sequences. Never: touches a system register
 * (each vector saves its own ELR, SPSR, ESR, FAR and what else it keeps).
 */
#ifndef EXO_ARCH_VECTOR_FRAME_H
#define EXO_ARCH_VECTOR_FRAME_H

#define VFRAME_X30 240 /* x[30] */
#define VFRAME_SP 248  /* the stack pointer before the exception */

#ifdef __ASSEMBLY__
/* x2-x19 at their offsets: what C may clobber (x2-x18), x19 as x18's
 * pair. A path that calls C and returns keeps x20-x29 in the registers. */
	.macro	vframe_save_x2_x19
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	.endm

/* x2-x29 at their offsets (the vector entry itself saved x0 and x1). */
	.macro	vframe_save_x2_x29
	vframe_save_x2_x19
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	.endm

/* x30 and the stack pointer before the exception (sp + frame_size, the
 * frame having been taken off it). Clobbers x1. */
	.macro	vframe_save_x30_sp frame_size
	add	x1, sp, #\frame_size
	stp	x30, x1, [sp, #VFRAME_X30]
	.endm

/* x0-x17 back from their offsets. */
	.macro	vframe_restore_x0_x17
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	.endm

/* x0-x18 back: vframe_save_x2_x19's registers but x19, which C kept. */
	.macro	vframe_restore_x0_x18
	vframe_restore_x0_x17
	ldr	x18, [sp, #144]
	.endm

/* x0-x30 back from their offsets. */
	.macro	vframe_restore_x0_x30
	vframe_restore_x0_x17
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #VFRAME_X30]
	.endm
#endif

#endif
