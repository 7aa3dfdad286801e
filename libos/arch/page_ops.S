/*
 * Whole-page zeroing and copying for libos's fault paths (libos/arch.h):
 * DC ZVA four blocks a step where the CPU allows it (DCZID_EL0.DZP clear),
 * else 32 bytes of stores per step; copies 128 bytes per step through
 * eight general registers (never FP/SIMD: EL1 saves none of them, they may
 * hold an EL0 task's values). Sizes are whole pages: multiples of 128
 * bytes. Leaf functions, no stack.
 */
#define DCZID_DZP 4		/* DC ZVA prohibited */
#define DCZID_BS_MASK 0xf	/* log2 of the block size in words */

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
	/* Four blocks a step while four whole blocks are left, then one. */
	sub	x4, x1, x3, lsl #2	/* last start of four whole blocks */
	cmp	x0, x4
	b.hi	3f
4:	dc	zva, x0
	add	x0, x0, x3
	dc	zva, x0
	add	x0, x0, x3
	dc	zva, x0
	add	x0, x0, x3
	dc	zva, x0
	add	x0, x0, x3
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
1:	ldp	x3, x4, [x1, #0]
	ldp	x5, x6, [x1, #16]
	ldp	x7, x8, [x1, #32]
	ldp	x9, x10, [x1, #48]
	stp	x3, x4, [x0, #0]
	stp	x5, x6, [x0, #16]
	stp	x7, x8, [x0, #32]
	stp	x9, x10, [x0, #48]
	ldp	x3, x4, [x1, #64]
	ldp	x5, x6, [x1, #80]
	ldp	x7, x8, [x1, #96]
	ldp	x9, x10, [x1, #112]
	add	x1, x1, #128
	stp	x3, x4, [x0, #64]
	stp	x5, x6, [x0, #80]
	stp	x7, x8, [x0, #96]
	stp	x9, x10, [x0, #112]
	add	x0, x0, #128
	cmp	x0, x2
	b.lo	1b
	ret
	.size	libos_arch_copy_page, . - libos_arch_copy_page
