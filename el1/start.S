/*
 * Guest entry. EL2 enters _start at EL1h with the MMU off, x0 = IPA of the
 * guest DTB, the image loaded at any page-aligned address. _start relocates
 * the image, clears BSS, sets the boot stack, enables FP/SIMD, installs
 * VBAR_EL1, seeds the stack guard and calls el1_main(dtb).
 * Until the relocations are applied only PC-relative addressing works: no
 * literal-pool addresses, no C that reads a pointer from .got or .data.
 * No function built with a stack guard may run before stack_guard_seed.
 */
#include <el1/exit_status.h>

#define PAGE_OFFSET_MASK 0xfff	/* 4 KiB pages */
#define R_AARCH64_RELATIVE 1027	/* ELF r_info of a RELATIVE entry (sym 0) */
#define RELA_SIZE 24		/* sizeof(Elf64_Rela) */
#define RELA_ADDEND 16		/* offsetof(Elf64_Rela, r_addend) */

	.section .text.boot, "ax"
	.global _start
_start:
	msr	daifset, #0xf
	mov	x19, x0			/* guest DTB, kept for el1_main */
	adr	x20, _start		/* load bias: _start is linked at 0 */
	tst	x20, #PAGE_OFFSET_MASK
	b.ne	bad_load		/* adrp (here and in C) needs it */

	/* .rela.dyn: for each RELATIVE entry, *(bias + offset) = bias +
	 * addend. Other types are counted and reported once C runs. */
	adrp	x1, __rela_start
	add	x1, x1, :lo12:__rela_start
	adrp	x2, __rela_end
	add	x2, x2, :lo12:__rela_end
	mov	x21, #0
1:	cmp	x1, x2
	b.hs	3f
	ldp	x3, x4, [x1]		/* r_offset, r_info */
	ldr	x5, [x1, #RELA_ADDEND]
	add	x1, x1, #RELA_SIZE
	cmp	x4, #R_AARCH64_RELATIVE
	b.ne	2f
	add	x5, x5, x20
	str	x5, [x20, x3]
	b	1b
2:	add	x21, x21, #1
	b	1b
3:
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

	adrp	x1, __stack_top
	add	x1, x1, :lo12:__stack_top
	mov	sp, x1
	mov	x29, #0			/* end of the frame-pointer chain */
	mov	x30, #0

	bl	el1_cpu_init		/* FP/SIMD on, VBAR_EL1 */
	bl	el1_entropy
	bl	stack_guard_seed
	mov	x0, x19
	bl	el1_main
	mov	x1, #EL1_EXIT_PANIC	/* el1_main does not return */
	b	exit_now

	/* Exit without C, stack or relocations: the stack may be unset. */
bad_load:
	mov	x1, #EL1_EXIT_BAD_LOAD
exit_now:
	ldr	x0, =EL1_ASM_HVC_EXIT	/* a constant, not an address */
	hvc	#0
	b	.
