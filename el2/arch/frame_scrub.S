/*
 * A frame's scrub (el2/arch.h). arch_scrub_frames zeroes whole frames and
 * cleans the zeros to the point of coherency in one pass: per block, DC
 * ZVA then DC CIVAC of the same address, sixteen blocks a loop step, when
 * the DC ZVA block (DCZID_EL0.BS) is the smallest D-cache line
 * (CTR_EL0.DminLine), as on both CPU models. DC ZVA behaves as stores to
 * its block, and a DC by VA is ordered after stores to the same line in
 * program order, so the clean finds the zeros; one address step serves
 * both. Whether the one pass applies, and its step, is found at the first
 * call and kept (scrub_step): every later call pays one load for it, not
 * the two system register reads and their tests. Otherwise it runs the
 * two loops in turn: zero_frames_general (DC ZVA eight blocks a step, the
 * block size read from DCZID_EL0 once a call; where DC ZVA is prohibited,
 * DCZID_EL0.DZP, 64 bytes of stores a step), whose zeros may stay in
 * dirty cache lines, then arch_clean_frames (DC CIVAC, eight lines a
 * step, the line size from CTR_EL0.DminLine). arch_zero_frames, the scrub
 * where stage 2 forces every guest view Write-Back (FEAT_S2FWB: el2/mem.c,
 * scrub_frames), keeps its DC ZVA block the same way (zero_step) and runs
 * sixteen DC ZVA a step: one per block and its address step, the floor.
 * Leaf functions, no stack (arch_scrub_frames keeps its return address in
 * x16 around the two calls, which touch x0-x3 only).
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

/* zero_frames_general(pa, count): x0-x3 only. */
	.type	zero_frames_general, %function
zero_frames_general:
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
	.size	zero_frames_general, . - zero_frames_general

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

/* scrub_step: 0 until the first scrub finds out; then the one pass's
 * step (the block = line size, at least 16 bytes), or TWO_PASSES. The
 * same value whichever CPU finds it, so a race only stores it twice. */
#define TWO_PASSES 1
#define SCRUB_UNROLL 16		/* blocks a step of the one pass */
#define SCRUB_UNROLL_MAX_BLOCK 256	/* SCRUB_UNROLL blocks divide a frame */

	.bss
	.balign	8
scrub_step:
	.quad	0

	.text
/* void arch_scrub_frames(uint64_t pa, uint64_t count) */
	.global	arch_scrub_frames
	.type	arch_scrub_frames, %function
arch_scrub_frames:
	cbz	x1, 9f
	adrp	x3, scrub_step
	ldr	x2, [x3, :lo12:scrub_step]
	cmp	x2, #TWO_PASSES
	b.ls	5f				/* unknown yet, or two passes */
	add	x1, x0, x1, lsl #FRAME_SHIFT	/* end */
1:
	.rept	SCRUB_UNROLL
	dc	zva, x0
	dc	civac, x0
	add	x0, x0, x2
	.endr
	cmp	x0, x1
	b.lo	1b
	dsb	ish
9:	ret
5:	cbnz	x2, 6f
	/* The first scrub: one pass where the DC ZVA block is the line. */
	mov	x2, #TWO_PASSES
	mrs	x4, dczid_el0
	mrs	x5, ctr_el0
	tbnz	x4, #DCZID_DZP, 7f
	and	x4, x4, #DCZID_BS_MASK
	ubfx	x5, x5, #CTR_DMINLINE_SHIFT, #4
	cmp	x4, x5
	b.ne	7f				/* block != line: two passes */
	mov	x5, #4
	lsl	x4, x5, x4			/* block (= line) bytes */
	cmp	x4, #SCRUB_UNROLL_MAX_BLOCK
	csel	x2, x4, x2, ls
7:	str	x2, [x3, :lo12:scrub_step]
	b	arch_scrub_frames
6:	mov	x16, x30
	mov	x4, x0
	mov	x5, x1
	bl	zero_frames_general
	mov	x0, x4
	mov	x1, x5
	bl	arch_clean_frames
	ret	x16
	.size	arch_scrub_frames, . - arch_scrub_frames

/* zero_step: 0 until the first arch_zero_frames finds out; then the DC
 * ZVA block (at most SCRUB_UNROLL_MAX_BLOCK bytes, so that SCRUB_UNROLL
 * blocks divide a frame), or ZERO_GENERAL: DC ZVA prohibited or a larger
 * block, zero_frames_general every call. A race only stores it twice. */
#define ZERO_GENERAL 1

	.bss
	.balign	8
zero_step:
	.quad	0

	.text
/* void arch_zero_frames(uint64_t pa, uint64_t count) */
	.global	arch_zero_frames
	.type	arch_zero_frames, %function
arch_zero_frames:
	cbz	x1, 9f
	adrp	x3, zero_step
	ldr	x2, [x3, :lo12:zero_step]
	cmp	x2, #ZERO_GENERAL
	b.ls	5f				/* unknown yet, or general */
	add	x1, x0, x1, lsl #FRAME_SHIFT	/* end */
1:
	.rept	SCRUB_UNROLL
	dc	zva, x0
	add	x0, x0, x2
	.endr
	cmp	x0, x1
	b.lo	1b
	dsb	ish
9:	ret
5:	cbnz	x2, zero_frames_general
	/* The first call: DC ZVA allowed and its block small enough. */
	mov	x2, #ZERO_GENERAL
	mrs	x4, dczid_el0
	tbnz	x4, #DCZID_DZP, 7f
	and	x4, x4, #DCZID_BS_MASK
	mov	x5, #4
	lsl	x4, x5, x4			/* block bytes */
	cmp	x4, #SCRUB_UNROLL_MAX_BLOCK
	csel	x2, x4, x2, ls
7:	str	x2, [x3, :lo12:zero_step]
	b	arch_zero_frames
	.size	arch_zero_frames, . - arch_zero_frames
