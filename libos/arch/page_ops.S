/*
 * Whole-page zeroing and copying for libos's fault paths (libos/arch.h):
 * DC ZVA sixteen blocks a step where the CPU allows it (DCZID_EL0.DZP clear),
 * else 32 bytes of stores per step; copies 512 bytes per step through
 * eight general registers, 16 bytes a load or store (never FP/SIMD: EL1
 * saves none of them, they may hold an EL0 task's values; 4 KiB is then
 * 256 LDP + 256 STP at least). Sizes are whole pages: multiples of 512
 * bytes (the smallest granule is 4 KiB). Leaf functions, no stack.
 */
#define DCZID_DZP 4		/* DC ZVA prohibited */
#define DCZID_BS_MASK 0xf	/* log2 of the block size in words */

#define ZERO_STEP_SHIFT 4	/* 16 blocks a step */
#define ZERO_STEP_BLOCKS 16
#define COPY_HALF 256		/* half a loop step: LDP's post-index reach */

/* 64 bytes at offset off of x1 to x0: four pairs loaded, then stored. */
	.macro	copy_group off
	ldp	x3, x4, [x1, #\off]
	ldp	x5, x6, [x1, #\off + 16]
	ldp	x7, x8, [x1, #\off + 32]
	ldp	x9, x10, [x1, #\off + 48]
	stp	x3, x4, [x0, #\off]
	stp	x5, x6, [x0, #\off + 16]
	stp	x7, x8, [x0, #\off + 32]
	stp	x9, x10, [x0, #\off + 48]
	.endm

/* 256 bytes from x1 to x0, both stepped past them: the group at offset 0
 * last, its post-indexed pairs doing the steps (no separate add). */
	.macro	copy_half
	copy_group 64
	copy_group 128
	copy_group 192
	ldp	x5, x6, [x1, #16]
	ldp	x7, x8, [x1, #32]
	ldp	x9, x10, [x1, #48]
	ldp	x3, x4, [x1], #COPY_HALF
	stp	x5, x6, [x0, #16]
	stp	x7, x8, [x0, #32]
	stp	x9, x10, [x0, #48]
	stp	x3, x4, [x0], #COPY_HALF
	.endm

	.text
	.balign	4

/* void libos_arch_zero_page(void *va, uint64_t size) */
	.global	libos_arch_zero_page
	.type	libos_arch_zero_page, %function
libos_arch_zero_page:
	add	x1, x0, x1		/* end */
	mrs	x2, dczid_el0
	tbnz	x2, #DCZID_DZP, 2f
	and	x2, x2, #DCZID_BS_MASK
	mov	x3, #4
	lsl	x3, x3, x2		/* block bytes */
	/* Sixteen blocks a step while sixteen whole blocks are left (a 4 KiB
	 * page of 64-byte blocks: four steps, each DC ZVA and its address
	 * step, the compare and branch amortised), then one. */
	/* the last start of a whole step */
	sub	x4, x1, x3, lsl #ZERO_STEP_SHIFT
	cmp	x0, x4
	b.hi	3f
4:	.rept	ZERO_STEP_BLOCKS
	dc	zva, x0
	add	x0, x0, x3
	.endr
	cmp	x0, x4
	b.ls	4b
3:	cmp	x0, x1
	b.hs	5f
1:	dc	zva, x0
	add	x0, x0, x3
	cmp	x0, x1
	b.lo	1b
5:	ret
2:	stp	xzr, xzr, [x0], #16
	stp	xzr, xzr, [x0], #16
	cmp	x0, x1
	b.lo	2b
	ret
	.size	libos_arch_zero_page, . - libos_arch_zero_page

/* void libos_arch_copy_page(void *dst, const void *src, uint64_t size) */
	.global	libos_arch_copy_page
	.type	libos_arch_copy_page, %function
libos_arch_copy_page:
	add	x2, x0, x2		/* end of dst */
1:	copy_half
	copy_half
	cmp	x0, x2
	b.lo	1b
	ret
	.size	libos_arch_copy_page, . - libos_arch_copy_page
