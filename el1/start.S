/*
 * Guest entry. EL2 enters _start at EL1h with the MMU off, x0 = IPA of the
 * guest DTB, the image loaded at any granule-aligned address. _start:
 *   1. relocates the image for its load address, clears BSS, sets the boot
 *      stack, enables FP/SIMD, installs VBAR_EL1, seeds the stack guard;
 *   2. calls el1_mmu_prepare(dtb) (C, MMU off): libos builds the stage-1
 *      tables and returns the image's virtual address;
 *   3. relocates the image again, for that virtual address (from here on
 *      no C runs until the MMU is on: every absolute pointer is virtual);
 *   4. libos_arch_mmu_on (TTBR0 maps this text at its physical address),
 *      then jumps to the virtual address, resets SP and VBAR_EL1 there and
 *      calls el1_main(dtb).
 * Until the first relocation only PC-relative addressing works: no
 * literal-pool addresses, no C that reads a pointer from .got or .data.
 * No function built with a stack guard may run before stack_guard_seed.
 */
#include <el1/exit_asm.h>
#include <exo/frame.h>

/* EL2 loads the image at a frame boundary; adrp needs a 4 KiB one. */
#define ADRP_PAGE_SIZE 4096
#if EXO_FRAME_SIZE % ADRP_PAGE_SIZE
#error "a frame must be a multiple of adrp's 4 KiB page"
#endif
#define R_AARCH64_RELATIVE 1027	/* ELF r_info of a RELATIVE entry (sym 0) */
#define RELA_SIZE 24		/* sizeof(Elf64_Rela) */
#define RELA_ADDEND 16		/* offsetof(Elf64_Rela, r_addend) */

	.section .text.boot, "ax"
	.global _start
_start:
	msr	daifset, #0xf
	mov	x19, x0			/* guest DTB, kept for el1_main */
	adr	x20, _start		/* load bias: _start is linked at 0 */
	tst	x20, #EXO_FRAME_OFFSET_MASK
	b.ne	bad_load		/* adrp (here and in C) needs it */

	mov	x0, x20
	mov	x1, x20
	bl	relocate
	mov	x21, x0

	/* BSS: 16-byte aligned at both ends by el1/el1.ld. */
	adrp	x1, __bss_start
	add	x1, x1, :lo12:__bss_start
	adrp	x2, __bss_end
	add	x2, x2, :lo12:__bss_end
4:	cmp	x1, x2
	b.hs	5f
	stp	xzr, xzr, [x1], #16
	b	4b
5:
	adrp	x1, el1_bad_relocs
	str	x21, [x1, :lo12:el1_bad_relocs]
	adrp	x1, el1_image_pa
	str	x20, [x1, :lo12:el1_image_pa]

	adrp	x1, __stack_top
	add	x1, x1, :lo12:__stack_top
	mov	sp, x1
	mov	x29, #0			/* end of the frame-pointer chain */
	mov	x30, #0

	bl	el1_cpu_init		/* FP/SIMD on, VBAR_EL1 */
	bl	el1_entropy
	bl	stack_guard_seed

	/* Stage-1 tables (or an exit with the reason printed). */
	mov	x0, x19
	bl	el1_mmu_prepare
	mov	x22, x0			/* virtual address of offset 0 */

	/* Every absolute pointer now points at the virtual image. */
	mov	x0, x20
	mov	x1, x22
	bl	relocate

	adrp	x0, el1_mmu_regs
	add	x0, x0, :lo12:el1_mmu_regs
	bl	libos_arch_mmu_on
	adr	x0, 6f
	sub	x0, x0, x20
	add	x0, x0, x22
	br	x0
6:	/* At the virtual address: adrp/adr now give virtual addresses. */
	adrp	x1, __stack_top
	add	x1, x1, :lo12:__stack_top
	mov	sp, x1
	mov	x29, #0
	mov	x30, #0
	bl	el1_cpu_init		/* VBAR_EL1 at the virtual vectors */
	mov	x0, x19
	bl	el1_main
	mov	x1, #EXO_EXIT_PANIC	/* el1_main does not return */
	b	exit_now

	/* relocate(x0 = where the image is now, x1 = the address it is
	 * relocated for): for each RELATIVE entry of .rela.dyn,
	 * *(x0 + offset) = x1 + addend. Returns in x0 the number of other
	 * entries (not applied; el1_main reports them). x0-x7 only, no
	 * stack, no memory but the image's. */
relocate:
	adrp	x2, __rela_start
	add	x2, x2, :lo12:__rela_start
	adrp	x3, __rela_end
	add	x3, x3, :lo12:__rela_end
	mov	x7, #0
1:	cmp	x2, x3
	b.hs	3f
	ldp	x4, x5, [x2]		/* r_offset, r_info */
	ldr	x6, [x2, #RELA_ADDEND]
	add	x2, x2, #RELA_SIZE
	cmp	x5, #R_AARCH64_RELATIVE
	b.ne	2f
	add	x6, x6, x1
	str	x6, [x0, x4]
	b	1b
2:	add	x7, x7, #1
	b	1b
3:	mov	x0, x7
	ret

	/* Exit without C, stack or relocations: the stack may be unset. */
bad_load:
	mov	x1, #EXO_EXIT_BAD_LOAD
exit_now:
	ldr	x0, =EL1_ASM_HVC_EXIT	/* a constant, not an address */
	mov	x2, #EXO_EXIT_CAUSE_NONE	/* no cause, no address */
	mov	x3, #0
	hvc	#0
	b	.
