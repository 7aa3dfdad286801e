/*
 * A stand-in for EL2, only to test el1 before EL2 runs guests: enters one
 * guest at EL1 with no stage 2 and answers its HVCs (stub.c). Not exo's EL2:
 * no isolation, no frame ownership, no scheduling.
 */
#define FRAME_SIZE 256

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
2:	ldr	x0, =stub_vectors
	msr	vbar_el2, x0
	isb
	bl	stub_main
	b	.

/* stub_enter_el1(entry, dtb): EL1h, AArch64, MMU off, DAIF masked. */
	.global stub_enter_el1
stub_enter_el1:
	mov	x2, #(1 << 31)		/* HCR_EL2.RW: EL1 is AArch64 */
	msr	hcr_el2, x2
	mov	x2, #3			/* EL1PCTEN | EL1PCEN */
	msr	cnthctl_el2, x2
	msr	cntvoff_el2, xzr
	ldr	x2, =0x30d00800		/* SCTLR_EL1 RES1 bits, MMU off */
	msr	sctlr_el1, x2
	mov	x2, #0x3c5		/* EL1h, DAIF masked */
	msr	spsr_el2, x2
	msr	elr_el2, x0
	mov	x0, x1
	mov	x1, #0
	isb
	eret

	.macro	ventry kind
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x1, #\kind
	b	stub_trap_common
	.endm

	.text
	.balign	2048
stub_vectors:
	.irp	k, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	ventry	\k
	.endr

stub_trap_common:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	str	x30, [sp, #240]
	mov	x0, sp
	bl	stub_trap
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	add	sp, sp, #FRAME_SIZE
	eret
