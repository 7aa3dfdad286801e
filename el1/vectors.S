/*
 * EL1 exception vectors. Every entry saves a struct el1_frame (el1/trap.h;
 * the general registers as include/arch/vector_frame.h lays them out, with
 * EL2's vectors) on SP_EL1; a synchronous exception from EL0 or EL1 goes
 * straight to its class's handler (el1_sync_handlers[ESR.EC]), anything
 * else to el1_trap(frame), which dispatches the rest and reports. No
 * FP/SIMD register is saved: EL1's C is built with -mgeneral-regs-only,
 * so a handler leaves them as they were (an EL0 task's stay live in the
 * registers; el1/el0_task.c switches them).
 * The kind is the vector slot: (group << 2) | type, group 0 = current EL
 * with SP_EL0, 1 = current EL with SP_EL1, 2 = lower EL AArch64, 3 = lower
 * EL AArch32; type 0 sync, 1 IRQ, 2 FIQ, 3 SError.
 */
#include <arch/vector_frame.h>

#define FRAME_SIZE 304
#define F_ELR 256
#define F_ESR 272
#define F_KIND 288

/* Vector kinds ((group << 2) | type, el1/trap.h) and the limits the
 * dispatch below checks (el1/trap.c asserts they match). */
#define KIND_CUR_SYNC 4		/* EL1 with SP_EL1, synchronous */
#define KIND_LOWER_SYNC 8	/* EL0 AArch64, synchronous */
#define ESR_EC_SHIFT 26
#define ESR_EC_WIDTH 6
#define ESR_EC_DABT_CUR 0x25	/* data abort from EL1 (arch/esr.h) */
#define ESR_FSC_MASK 0x3f
#define FSC_PERM_BIT 0x08	/* FSC_PERMISSION ^ FSC_TRANSLATION */
#define FSC_PERMISSION_L3 0x0f
#define FSC_EXTERNAL_ANY 0x18	/* FSC_SYNC_EXTERNAL | FSC_PERM_BIT */
#define F_SP_EL0 (F_KIND + 8)
#define EL1_MAX_HANDLER_DEPTH 4
#define EL1_PCPU_DEPTH 0	/* struct el1_percpu, behind TPIDR_EL1 */

/* A handler returned: one nesting level less on this vCPU (clobbers x4,
 * x5; the handler may have clobbered any register C may). */
	.macro	handler_depth_leave
	mrs	x4, tpidr_el1
	ldr	w5, [x4, #EL1_PCPU_DEPTH]
	sub	w5, w5, #1
	str	w5, [x4, #EL1_PCPU_DEPTH]
	.endm

	.macro	ventry kind
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	el1_trap_common
	.endm

/* Synchronous from EL1 (SP_EL1): a data abort that is a level-3
 * translation or permission fault tries the fault fast path first
 * (el1_dabt_fast, below), a synchronous external abort (what EL2
 * reflects for a touch stage 2 refuses) goes to el1_abort with a light
 * frame (el1_abort_light); every other synchronous exception from EL1
 * pays these tests (eight instructions; a data abort taken by neither,
 * twelve). */
	.macro	ventry_cur_sync
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mrs	x0, esr_el1
	ubfx	x1, x0, #ESR_EC_SHIFT, #ESR_EC_WIDTH
	cmp	x1, #ESR_EC_DABT_CUR
	b.ne	1f
	and	x1, x0, #ESR_FSC_MASK
	orr	x1, x1, #FSC_PERM_BIT	/* translation or permission */
	cmp	x1, #FSC_PERMISSION_L3
	b.eq	el1_dabt_fast
	cmp	x1, #FSC_EXTERNAL_ANY	/* external, or its parity/ECC twin */
	b.eq	el1_abort_light
1:	mov	x0, #KIND_CUR_SYNC
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
	ventry_cur_sync
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

/*
 * A data abort from EL1, x0 = ESR (x0, x1 saved): libos_fault_fast
 * (libos/mm/mm.h) resolves a demand-zero or copy-on-write fault in its
 * common case with only what C may clobber saved (x2-x18, x30), and only
 * while el1_abort is the class's handler (el1_dabt_fast_ok, el1/trap.c:
 * a handler put in its place sees every abort). ELR and SPSR stay in
 * their registers: the fast path touches only libos's data and the direct
 * map (mapped with the Access flag set), so an exception inside it is a
 * bug that is reported and ends the guest, never one that returns.
 * Anything it does not take it leaves unchanged, and the frame is
 * completed for the usual path: x19-x29 still hold the interrupted values
 * (C keeps them).
 */
el1_dabt_fast:
	adrp	x1, el1_dabt_fast_ok
	ldrb	w1, [x1, :lo12:el1_dabt_fast_ok]
	cbz	w1, 1f
	vframe_save_x2_x19
	vframe_save_x30_sp FRAME_SIZE
	mrs	x1, far_el1
	stp	x0, x1, [sp, #F_ESR]
	bl	libos_fault_fast
	cbz	w0, 2f
	vframe_restore_x0_x18
	ldr	x30, [sp, #VFRAME_X30]
	add	sp, sp, #FRAME_SIZE
	eret
1:	mov	x0, #KIND_CUR_SYNC	/* el1_abort replaced: usual path */
	b	el1_trap_common
2:	mrs	x1, elr_el1		/* not taken: complete frame */
	mrs	x2, spsr_el1
	stp	x1, x2, [sp, #F_ELR]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mov	x0, #KIND_CUR_SYNC
	mrs	x2, sp_el0
	stp	x0, x2, [sp, #F_KIND]
	ldr	x1, [sp, #F_ESR]
	b	el1_trap_dispatch

/*
 * A synchronous external abort from EL1, x0 = ESR (x0, x1 saved): the
 * class's handler's answer, el1_abort_external(frame, ESR, FAR) (libos's
 * refusal route), called the way el1_trap_dispatch would call el1_abort
 * (the nesting count around it), but with only what C may clobber saved
 * (x2-x18, x30) besides ELR, SPSR, ESR and FAR, which is all it reads and
 * writes: x19-x29 are kept by C and SP_EL0 by any exception nested in the
 * handler. Only while el1_abort is the class's handler (el1_dabt_fast_ok)
 * and below the nesting limit; else, and for an abort it declines, the
 * usual path: the frame completed (the kind, SP_EL0 and x20-x29),
 * el1_trap_declined reports it with every register.
 */
el1_abort_light:
	adrp	x1, el1_dabt_fast_ok
	ldrb	w1, [x1, :lo12:el1_dabt_fast_ok]
	cbz	w1, 1f
	mrs	x1, tpidr_el1
	ldr	w1, [x1, #EL1_PCPU_DEPTH]
	cmp	w1, #EL1_MAX_HANDLER_DEPTH
	b.hs	1f
	vframe_save_x2_x19
	add	w2, w1, #1
	mrs	x3, tpidr_el1
	str	w2, [x3, #EL1_PCPU_DEPTH]
	vframe_save_x30_sp FRAME_SIZE
	mrs	x2, far_el1
	stp	x0, x2, [sp, #F_ESR]
	mrs	x3, elr_el1
	mrs	x4, spsr_el1
	stp	x3, x4, [sp, #F_ELR]
	mov	x1, x0
	mov	x0, sp
	bl	el1_abort_external
	handler_depth_leave
	cbz	w0, 2f
	ldp	x1, x2, [sp, #F_ELR]
	msr	elr_el1, x1
	msr	spsr_el1, x2
	vframe_restore_x0_x18
	ldr	x30, [sp, #VFRAME_X30]
	add	sp, sp, #FRAME_SIZE
	eret
1:	mov	x0, #KIND_CUR_SYNC	/* usual path */
	b	el1_trap_common
2:	stp	x20, x21, [sp, #160]	/* declined: complete the frame */
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mov	x1, #KIND_CUR_SYNC
	mrs	x2, sp_el0
	stp	x1, x2, [sp, #F_KIND]
	mov	x0, sp
	bl	el1_trap_declined
	b	el1_trap_return

el1_trap_common:
	vframe_save_x2_x29
	vframe_save_x30_sp FRAME_SIZE
	mrs	x1, elr_el1
	mrs	x2, spsr_el1
	stp	x1, x2, [sp, #F_ELR]
	mrs	x1, esr_el1
	mrs	x2, far_el1
	stp	x1, x2, [sp, #F_ESR]
	mrs	x2, sp_el0
	stp	x0, x2, [sp, #F_KIND]
el1_trap_dispatch:		/* x0 = kind, x1 = ESR, the frame saved */

	/*
	 * Synchronous from EL0 or from EL1 (SP_EL1), the common case (system
	 * calls, demand-zero and copy-on-write faults): the handler of the
	 * class, straight from el1_sync_handlers[ESR.EC]. Anything else, a
	 * class without a handler or a handler nested too deep, goes to
	 * el1_trap, which dispatches the rest and reports.
	 */
	ubfx	x1, x1, #ESR_EC_SHIFT, #ESR_EC_WIDTH	/* not ISS2 above */
	adrp	x3, el1_sync_handlers
	add	x3, x3, :lo12:el1_sync_handlers
	ldr	x3, [x3, x1, lsl #3]
	cbz	x3, 9f
	mrs	x4, tpidr_el1		/* this vCPU's struct el1_percpu */
	cmp	x0, #KIND_LOWER_SYNC
	b.ne	1f
	/* From EL0 nothing is nested in an EL1 handler, and a handler that
	 * kills a task does not come back to its decrement: start again. */
	str	wzr, [x4, #EL1_PCPU_DEPTH]
	mov	x0, sp
	blr	x3
	cbz	w0, 8f
	b	el1_trap_return
1:	cmp	x0, #KIND_CUR_SYNC
	b.ne	9f
	/* Handlers may take an exception themselves; past the limit el1_trap
	 * reports the nesting. */
	ldr	w5, [x4, #EL1_PCPU_DEPTH]
	cmp	w5, #EL1_MAX_HANDLER_DEPTH
	b.hs	9f
	add	w5, w5, #1
	str	w5, [x4, #EL1_PCPU_DEPTH]
	mov	x0, sp
	blr	x3
	handler_depth_leave
	cbz	w0, 8f
	b	el1_trap_return
8:	mov	x0, sp			/* the handler said "not mine" */
	bl	el1_trap_declined
	b	el1_trap_return
9:	mov	x0, sp
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
