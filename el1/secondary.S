/*
 * A started vCPU's first instructions (el1/smp.c): EL1h, MMU and caches
 * off, at the load address, x0 = its struct el1_cpu_start's physical
 * address. It reads the whole record first (nothing but the text is
 * mapped at its physical address once the MMU is on), turns the MMU on
 * with the boot vCPU's registers (el1_mmu_regs: TTBR0 is the identity map
 * of the text libos kept, libos_mm_boot's keep_idmap), branches to the
 * high VA, takes its stack and vectors and calls el1_secondary_main.
 * PC-relative addressing only until the branch; no stack before it.
 */
#define START_MMU_REGS 0
#define START_IMAGE_PA 8
#define START_IMAGE_VA 16
#define START_STACK 24
#define START_FN 32
#define START_ARG 40
#define START_CPU 48

	.text
	.global	el1_secondary_entry
	.type	el1_secondary_entry, %function
	.balign	4
el1_secondary_entry:
	msr	daifset, #0xf
	ldr	x19, [x0, #START_MMU_REGS]
	ldp	x20, x21, [x0, #START_IMAGE_PA]	/* image PA, image VA */
	ldr	x22, [x0, #START_STACK]
	ldp	x23, x24, [x0, #START_FN]	/* fn, arg */
	ldr	x25, [x0, #START_CPU]
	mov	x0, x19
	bl	libos_arch_mmu_on
	adr	x0, 1f
	sub	x0, x0, x20
	add	x0, x0, x21
	br	x0
1:	mov	sp, x22
	mov	x29, #0
	mov	x30, #0
	bl	el1_cpu_init		/* FP/SIMD untrapped, VBAR_EL1 virtual */
	mov	x0, x25
	mov	x1, x23
	mov	x2, x24
	bl	el1_secondary_main
2:	wfi				/* el1_secondary_main does not return */
	b	2b
	.size	el1_secondary_entry, . - el1_secondary_entry
