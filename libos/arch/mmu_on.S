/*
 * libos_arch_mmu_on(regs): stage-1 MMU off -> on at EL1. Called with the
 * MMU off from code that TTBR0 maps at its physical address (the identity
 * map libos/mm/boot.c builds for the switch), so the instruction after the
 * SCTLR write is fetched through the new tables. Touches no memory but the
 * register block, and no stack. The caller then branches to its virtual
 * address. Offsets follow struct libos_mmu_regs (libos/arch.h).
 */
#define R_MAIR 0
#define R_TCR 8
#define R_TTBR0 16
#define R_TTBR1 24
#define R_SCTLR 32

	.text
	.global	libos_arch_mmu_on
	.type	libos_arch_mmu_on, %function
libos_arch_mmu_on:
	ldp	x1, x2, [x0, #R_MAIR]
	ldp	x3, x4, [x0, #R_TTBR0]
	ldr	x5, [x0, #R_SCTLR]
	msr	mair_el1, x1
	msr	tcr_el1, x2
	msr	ttbr0_el1, x3
	msr	ttbr1_el1, x4
	isb
	/* Nothing cached for this VMID may survive from before (a reset
	 * guest, stale walks): local, since no other CPU runs us yet. */
	dsb	nshst
	tlbi	vmalle1
	dsb	nsh
	isb
	msr	sctlr_el1, x5
	isb
	ic	iallu			/* no stale instructions from MMU-off */
	dsb	nsh
	isb
	ret
	.size	libos_arch_mmu_on, . - libos_arch_mmu_on
