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
 * With ARCH_SCRUB_ICACHE in the third argument (the CPU may fetch stale
 * instructions: CTR_EL0.DIC 0), both also invalidate the frames'
 * instruction-cache lines to the point of unification (IC IVAU), in the
 * same loop when the I-cache line (CTR_EL0.IminLine) is the step: one
 * instruction a line, found at the first call with the step (scrub_ic,
 * zero_ic); otherwise arch_icache_inval_frames after the passes. The IC
 * IVAU needs no DSB after the clean of its line: no translation lets an
 * instruction fetch reach a frame being scrubbed (unmapped from every
 * stage 2, XN in EL2's), so no line can be refilled before the final DSB
 * ISH, which completes both, on every CPU of the domain; the next owner
 * enters by an ERET (docs/memory-model.md, "Scrubbing").
 * Leaf functions, no stack (arch_scrub_frames and arch_zero_frames keep
 * their return address in x16 around the calls, which touch x0-x3 only).
 */
#define DCZID_DZP 4		/* DC ZVA prohibited */
#define DCZID_BS_MASK 0xf	/* log2 of the block size in words */
#define FRAME_SHIFT 12		/* EXO_FRAME_SHIFT */
#define UNROLL 8		/* blocks a step */
#define UNROLL_MAX_BLOCK 512	/* UNROLL blocks still divide a frame */
#define CTR_DMINLINE_SHIFT 16	/* log2 of the smallest D-cache line in words */
#define CTR_IMINLINE_SHIFT 0	/* log2 of the smallest I-cache line in words */
#define CTR_LINE_BITS 4
#define WORD_BYTES 4
#define ICACHE_BIT 0		/* ARCH_SCRUB_ICACHE (el2/arch.h) */

	/* DC <op> on every x2-byte step from x0 to x1 (x2 a power of two
	 * dividing a frame), UNROLL steps a loop when UNROLL of them still
	 * divide a frame; then DSB ISH. Clobbers x0. */
	.macro	dc_each_step op, kind=dc
	cmp	x2, #UNROLL_MAX_BLOCK
	b.ls	1f
3:	\kind	\op, x0			/* steps too large to unroll */
	add	x0, x0, x2
	cmp	x0, x1
	b.lo	3b
	b	4f
1:
	.rept	UNROLL
	\kind	\op, x0
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

/* void arch_icache_inval_frames(uint64_t pa, uint64_t count): x0-x3 only. */
	.global	arch_icache_inval_frames
	.type	arch_icache_inval_frames, %function
arch_icache_inval_frames:
	cbz	x1, 9f
	add	x1, x0, x1, lsl #FRAME_SHIFT	/* end */
	mrs	x2, ctr_el0
	ubfx	x2, x2, #CTR_IMINLINE_SHIFT, #CTR_LINE_BITS
	mov	x3, #WORD_BYTES
	lsl	x2, x3, x2			/* line bytes */
	dc_each_step ivau, ic
9:	ret
	.size	arch_icache_inval_frames, . - arch_icache_inval_frames

	/* x4 = 1 when CTR_EL0's smallest I-cache line is x5 (log2 of the
	 * step in words), else 0. Clobbers x6. */
	.macro	icache_line_is_step
	mrs	x6, ctr_el0
	ubfx	x6, x6, #CTR_IMINLINE_SHIFT, #CTR_LINE_BITS
	cmp	x6, x5
	cset	x4, eq
	.endm

	/* The passes in turn, from x0 for x1 frames: \first, then
	 * arch_clean_frames when \clean, then arch_icache_inval_frames when
	 * bit ICACHE_BIT of x2 is set; the return address kept in x16. */
	.macro	passes first, clean
	mov	x16, x30
	mov	x7, x0
	mov	x8, x1
	mov	x9, x2
	bl	\first
	.if	\clean
	mov	x0, x7
	mov	x1, x8
	bl	arch_clean_frames
	.endif
	tbz	x9, #ICACHE_BIT, 8f
	mov	x0, x7
	mov	x1, x8
	bl	arch_icache_inval_frames
8:	ret	x16
	.endm

/* scrub_step: 0 until the first scrub finds out; then the one pass's
 * step (the block = line size, at least 16 bytes), or TWO_PASSES. The
 * same value whichever CPU finds it, so a race only stores it twice.
 * scrub_ic, beside it (the pair 16-byte aligned: one page, one ADRP):
 * 1 when the one pass's step is also the I-cache line, so that IC IVAU
 * joins its loop. Stored before the step, which says both are known. */
#define TWO_PASSES 1
#define SCRUB_UNROLL 16		/* blocks a step of the one pass */
#define SCRUB_UNROLL_MAX_BLOCK 256	/* SCRUB_UNROLL blocks divide a frame */

	.bss
	.balign	16
scrub_step:
	.quad	0
scrub_ic:
	.quad	0

	.text
/* void arch_scrub_frames(uint64_t pa, uint64_t count, unsigned icache) */
	.global	arch_scrub_frames
	.type	arch_scrub_frames, %function
arch_scrub_frames:
	cbz	x1, 9f
	adrp	x3, scrub_step
	ldr	x4, [x3, :lo12:scrub_step]
	cmp	x4, #TWO_PASSES
	b.ls	5f				/* unknown yet, or two passes */
	tbnz	x2, #ICACHE_BIT, 2f
	add	x1, x0, x1, lsl #FRAME_SHIFT	/* end */
1:
	.rept	SCRUB_UNROLL
	dc	zva, x0
	dc	civac, x0
	add	x0, x0, x4
	.endr
	cmp	x0, x1
	b.lo	1b
	dsb	ish
9:	ret
2:	ldr	x5, [x3, :lo12:scrub_ic]
	cbz	x5, 6f				/* I-cache line not the step */
	add	x1, x0, x1, lsl #FRAME_SHIFT	/* end */
3:
	.rept	SCRUB_UNROLL
	dc	zva, x0
	dc	civac, x0
	ic	ivau, x0
	add	x0, x0, x4
	.endr
	cmp	x0, x1
	b.lo	3b
	dsb	ish
	ret
5:	cbnz	x4, 6f
	/* The first scrub: one pass where the DC ZVA block is the line. */
	mov	x4, #TWO_PASSES
	mrs	x5, dczid_el0
	mrs	x6, ctr_el0
	tbnz	x5, #DCZID_DZP, 7f
	and	x5, x5, #DCZID_BS_MASK
	ubfx	x6, x6, #CTR_DMINLINE_SHIFT, #CTR_LINE_BITS
	cmp	x5, x6
	b.ne	7f				/* block != line: two passes */
	mov	x6, #WORD_BYTES
	lsl	x6, x6, x5			/* block (= line) bytes */
	cmp	x6, #SCRUB_UNROLL_MAX_BLOCK
	b.hi	7f
	mov	x7, x6
	icache_line_is_step
	str	x4, [x3, :lo12:scrub_ic]
	mov	x4, x7
7:	str	x4, [x3, :lo12:scrub_step]
	b	arch_scrub_frames
6:	passes	zero_frames_general, 1
	.size	arch_scrub_frames, . - arch_scrub_frames

/* zero_step: 0 until the first arch_zero_frames finds out; then the DC
 * ZVA block (at most SCRUB_UNROLL_MAX_BLOCK bytes, so that SCRUB_UNROLL
 * blocks divide a frame), or ZERO_GENERAL: DC ZVA prohibited or a larger
 * block, zero_frames_general every call. A race only stores it twice.
 * zero_ic: as scrub_ic, for the DC ZVA block. */
#define ZERO_GENERAL 1

	.bss
	.balign	16
zero_step:
	.quad	0
zero_ic:
	.quad	0

	.text
/* void arch_zero_frames(uint64_t pa, uint64_t count, unsigned icache) */
	.global	arch_zero_frames
	.type	arch_zero_frames, %function
arch_zero_frames:
	cbz	x1, 9f
	adrp	x3, zero_step
	ldr	x4, [x3, :lo12:zero_step]
	cmp	x4, #ZERO_GENERAL
	b.ls	5f				/* unknown yet, or general */
	tbnz	x2, #ICACHE_BIT, 2f
	add	x1, x0, x1, lsl #FRAME_SHIFT	/* end */
1:
	.rept	SCRUB_UNROLL
	dc	zva, x0
	add	x0, x0, x4
	.endr
	cmp	x0, x1
	b.lo	1b
	dsb	ish
9:	ret
2:	ldr	x5, [x3, :lo12:zero_ic]
	cbz	x5, 6f				/* I-cache line not the block */
	add	x1, x0, x1, lsl #FRAME_SHIFT	/* end */
3:
	.rept	SCRUB_UNROLL
	dc	zva, x0
	ic	ivau, x0
	add	x0, x0, x4
	.endr
	cmp	x0, x1
	b.lo	3b
	dsb	ish
	ret
5:	cbnz	x4, 6f
	/* The first call: DC ZVA allowed and its block small enough. */
	mov	x4, #ZERO_GENERAL
	mrs	x5, dczid_el0
	tbnz	x5, #DCZID_DZP, 7f
	and	x5, x5, #DCZID_BS_MASK
	mov	x6, #WORD_BYTES
	lsl	x6, x6, x5			/* block bytes */
	cmp	x6, #SCRUB_UNROLL_MAX_BLOCK
	b.hi	7f
	mov	x7, x6
	icache_line_is_step
	str	x4, [x3, :lo12:zero_ic]
	mov	x4, x7
7:	str	x4, [x3, :lo12:zero_step]
	b	arch_zero_frames
6:	passes	zero_frames_general, 0
	.size	arch_zero_frames, . - arch_zero_frames
