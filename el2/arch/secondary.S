/*
 * A secondary CPU's first instructions (PSCI CPU_ON from el2/cpus.c): EL2,
 * MMU and caches off, x0 = its struct cpu_boot (el2/arch.h). Turns on the
 * boot CPU's translation (same tables, memory types, vectors), takes its
 * own stack, then el2_secondary_main(cpu). With the MMU off every data
 * access is Device memory: the record was cleaned to the point of
 * coherency before CPU_ON, and nothing here writes memory.
 */
#include <el2/trap_layout.h>

	.section .text, "ax"
	.global arch_secondary_entry
	.type arch_secondary_entry, %function
	.balign 4
arch_secondary_entry:
	msr	daifset, #0xf
	ldr	x1, [x0, #CPU_BOOT_MAIR]
	msr	mair_el2, x1
	ldr	x1, [x0, #CPU_BOOT_TCR]
	msr	tcr_el2, x1
	ldr	x1, [x0, #CPU_BOOT_TTBR0]
	msr	ttbr0_el2, x1
	/* Neither TLB nor instruction cache is cleared at reset. */
	dsb	ish
	tlbi	alle2
	ic	iallu
	dsb	ish
	isb
	ldr	x1, [x0, #CPU_BOOT_SCTLR]
	msr	sctlr_el2, x1
	isb
	ldr	x1, [x0, #CPU_BOOT_VBAR]
	msr	vbar_el2, x1
	ldr	x1, [x0, #CPU_BOOT_STACK_TOP]
	mov	sp, x1
	isb
	ldr	x0, [x0, #CPU_BOOT_CPU]
	bl	el2_secondary_main
	/* el2_secondary_main does not return; park if it ever did. */
1:	wfi
	b	1b
	.size arch_secondary_entry, . - arch_secondary_entry
