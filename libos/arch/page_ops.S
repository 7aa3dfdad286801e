/*
 * Whole-page zeroing and copying for libos's fault paths (libos/arch.h):
 * DC ZVA where the CPU allows it (DCZID_EL0.DZP clear): a 4 KiB page of
 * 64-byte blocks straight-line (64 DC ZVA, 63 address steps, no loop),
 * other sizes sixteen blocks a step; else 32 bytes of stores per step.
 * Copies 512 bytes per step through eight general registers, 16 bytes a
 * load or store (never FP/SIMD: EL1 saves none of them, they may hold an
 * EL0 task's values; 4 KiB is then 256 LDP + 256 STP at least). Sizes are whole pages: multiples of 512
 * bytes (the smallest granule is 4 KiB). Leaf functions, no stack.
 */
#define DCZID_DZP 4		/* DC ZVA prohibited */
#define DCZID_BS_MASK 0xf	/* log2 of the block size in words */

#define ZERO_STEP_SHIFT 4	/* 16 blocks a step */
#define ZERO_STEP_BLOCKS 16
/* The common case, straight-line: a 4 KiB page of 64-byte blocks. */
#define DCZID_ZVA_64B 4		/* DZP clear, BS = log2(64 / 4) */
#define DCZID_ZVA_FIELDS 0x1f	/* DZP and BS */
#define ZERO_4K 4096
#define ZERO_4K_BLOCK 64
#define ZERO_4K_BLOCKS 64
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

/* Zeroes [x0, x0 + x1), x1 a whole page; x0 and x9-x12 clobbered, x1-x8
 * kept (libos_arch_zero_page_map's entry and descriptor wait in x2, x3). */
	.macro	zero_range
	mrs	x10, dczid_el0
	and	x11, x10, #DCZID_ZVA_FIELDS
	cmp	x11, #DCZID_ZVA_64B
	b.ne	6f
	cmp	x1, #ZERO_4K
	b.ne	6f
	.rept	ZERO_4K_BLOCKS - 1
	dc	zva, x0
	add	x0, x0, #ZERO_4K_BLOCK
	.endr
	dc	zva, x0
	b	5f
6:	add	x9, x0, x1		/* end */
	tbnz	x10, #DCZID_DZP, 2f
	and	x10, x10, #DCZID_BS_MASK
	mov	x11, #4
	lsl	x11, x11, x10		/* block bytes */
	/* Sixteen blocks a step while sixteen whole blocks are left, then
	 * one. */
	/* the last start of a whole step */
	sub	x12, x9, x11, lsl #ZERO_STEP_SHIFT
	cmp	x0, x12
	b.hi	3f
4:	.rept	ZERO_STEP_BLOCKS
	dc	zva, x0
	add	x0, x0, x11
	.endr
	cmp	x0, x12
	b.ls	4b
3:	cmp	x0, x9
	b.hs	5f
1:	dc	zva, x0
	add	x0, x0, x11
	cmp	x0, x9
	b.lo	1b
	b	5f
2:	stp	xzr, xzr, [x0], #16
	stp	xzr, xzr, [x0], #16
	cmp	x0, x9
	b.lo	2b
5:
	.endm

/* void libos_arch_zero_page(void *va, uint64_t size) */
	.global	libos_arch_zero_page
	.type	libos_arch_zero_page, %function
libos_arch_zero_page:
	zero_range
	ret
	.size	libos_arch_zero_page, . - libos_arch_zero_page

/* bool libos_arch_zero_page_map(void *va, uint64_t size, uint64_t *ptep,
 *				 uint64_t desc): the page zeroed, then the
 * entry stored (one STR), then DSB ISHST; returns true (the fault fast
 * path's tail call). */
	.global	libos_arch_zero_page_map
	.type	libos_arch_zero_page_map, %function
libos_arch_zero_page_map:
	zero_range
	str	x3, [x2]
	dsb	ishst
	mov	w0, #1
	ret
	.size	libos_arch_zero_page_map, . - libos_arch_zero_page_map

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
