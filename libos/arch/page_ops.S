/*
 * Whole-page zeroing and copying for libos's fault paths (libos/arch.h):
 * DC ZVA four blocks a step where the CPU allows it (DCZID_EL0.DZP clear),
 * else 32 bytes of stores per step; copies 64 bytes per step through four
 * SIMD registers (FP/SIMD is on at EL1, and the el1 vectors save q0-q31
 * around a fault handler). Sizes are whole pages: multiples of 64 bytes.
 * Leaf functions, no stack.
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
1:	ldp	q0, q1, [x1], #32
	ldp	q2, q3, [x1], #32
	stp	q0, q1, [x0], #32
	stp	q2, q3, [x0], #32
	cmp	x0, x2
	b.lo	1b
	ret
	.size	libos_arch_copy_page, . - libos_arch_copy_page
