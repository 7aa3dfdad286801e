/*
 * A frame's scrub (el2/arch.h), in two loops the caller runs in turn:
 * arch_zero_frames zeroes whole frames with DC ZVA, eight blocks per loop
 * step (two instructions a block: DC ZVA takes only a register address),
 * the block size read from DCZID_EL0 once a call; where DC ZVA is
 * prohibited (DCZID_EL0.DZP), 64 bytes of stores a step. The zeros may
 * stay in dirty cache lines: arch_clean_frames then cleans and invalidates
 * the frames to the point of coherency (DC CIVAC, eight lines a step, the
 * line size from CTR_EL0.DminLine) before they are FREE. Leaf functions,
 * no stack.
 */
#define DCZID_DZP 4		/* DC ZVA prohibited */
#define DCZID_BS_MASK 0xf	/* log2 of the block size in words */
#define FRAME_SHIFT 12		/* EXO_FRAME_SHIFT */
#define UNROLL 8		/* blocks a step */
#define UNROLL_MAX_BLOCK 512	/* UNROLL blocks still divide a frame */
#define CTR_DMINLINE_SHIFT 16	/* log2 of the smallest D-cache line in words */

	/* DC <op> on every x2-byte step from x0 to x1 (x2 a power of two
	 * dividing a frame), UNROLL steps a loop when UNROLL of them still
	 * divide a frame; then DSB ISH. Clobbers x0. */
	.macro	dc_each_step op
	cmp	x2, #UNROLL_MAX_BLOCK
	b.ls	1f
3:	dc	\op, x0			/* steps too large to unroll */
	add	x0, x0, x2
	cmp	x0, x1
	b.lo	3b
	b	4f
1:
	.rept	UNROLL
	dc	\op, x0
	add	x0, x0, x2
	.endr
	cmp	x0, x1
	b.lo	1b
4:	dsb	ish
	.endm

	.text
	.balign	4

/* void arch_zero_frames(uint64_t pa, uint64_t count) */
	.global	arch_zero_frames
	.type	arch_zero_frames, %function
arch_zero_frames:
	cbz	x1, 9f
	add	x1, x0, x1, lsl #FRAME_SHIFT	/* end */
	mrs	x2, dczid_el0
	tbnz	x2, #DCZID_DZP, 5f
	and	x2, x2, #DCZID_BS_MASK
	mov	x3, #4
	lsl	x2, x3, x2			/* block bytes */
	dc_each_step zva
	ret
5:	stp	xzr, xzr, [x0]
	stp	xzr, xzr, [x0, #16]
	stp	xzr, xzr, [x0, #32]
	stp	xzr, xzr, [x0, #48]
	add	x0, x0, #64
	cmp	x0, x1
	b.lo	5b
9:	ret
	.size	arch_zero_frames, . - arch_zero_frames

/* void arch_clean_frames(uint64_t pa, uint64_t count) */
	.global	arch_clean_frames
	.type	arch_clean_frames, %function
arch_clean_frames:
	cbz	x1, 9f
	add	x1, x0, x1, lsl #FRAME_SHIFT	/* end */
	mrs	x2, ctr_el0
	ubfx	x2, x2, #CTR_DMINLINE_SHIFT, #4
	mov	x3, #4
	lsl	x2, x3, x2			/* line bytes */
	dc_each_step civac
9:	ret
	.size	arch_clean_frames, . - arch_clean_frames
