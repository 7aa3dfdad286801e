/*
 * EL2 entry from QEMU (MMU off, x0-x3 = 0 for an ELF). Sets a stack, clears
 * BSS, installs the vectors, seeds the stack-protector guard, then el2_main.
 * Nothing here may call a function built with a stack guard before the seed.
 */
	.section .text.boot, "ax"
	.global _start
_start:
	msr	daifset, #0xf
	ldr	x0, =__stack_top
	mov	sp, x0

	ldr	x0, =__bss_start
	ldr	x1, =__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:
	ldr	x0, =el2_vectors
	msr	vbar_el2, x0
	isb

	bl	arch_entropy
	bl	stack_guard_seed
	bl	el2_main
	mov	x0, #0
	bl	arch_halt
