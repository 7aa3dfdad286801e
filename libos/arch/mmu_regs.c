/*
 * AArch64 implementation of the MMU parts of libos/arch.h: ID registers,
 * TCR/TTBR/SCTLR access, PSTATE.PAN, local TLB and cache maintenance for
 * the boot switch. Only instructions: the values
 * written are computed by libos/mm/boot.c. Not built for the host.
 */
#include <arch/sysreg.h>
#include <libos/arch.h>

#ifndef EXO_HOST

uint64_t libos_arch_read_mmfr0(void)
{
	return read_sysreg(id_aa64mmfr0_el1);
}

uint64_t libos_arch_read_mmfr1(void)
{
	return read_sysreg(id_aa64mmfr1_el1);
}

uint64_t libos_arch_read_tcr(void)
{
	return read_sysreg(tcr_el1);
}

void libos_arch_write_tcr(uint64_t tcr)
{
	write_sysreg(tcr, tcr_el1);
	isb();
}

void libos_arch_write_ttbr0(uint64_t ttbr)
{
	write_sysreg(ttbr, ttbr0_el1);
	isb();
}

uint64_t libos_arch_read_ttbr1(void)
{
	return read_sysreg(ttbr1_el1);
}

uint64_t libos_arch_read_sctlr(void)
{
	return read_sysreg(sctlr_el1);
}

bool libos_arch_pan_get(void)
{
	return (read_sysreg(SYSREG_PAN) & PSTATE_PAN) != 0;
}

void libos_arch_pan_set(bool on)
{
	/* MSR PAN, Xt: the system-register form needs no ARMv8.1 assembler.
	 * Writes to PSTATE fields need no ISB for the next access. */
	write_sysreg(on ? PSTATE_PAN : 0, SYSREG_PAN);
}

void libos_arch_tlbi_vmalle1_local(void)
{
	__asm__ volatile("dsb nshst\n"
			 "tlbi vmalle1\n"
			 "dsb nsh\n"
			 "isb" : : : "memory");
}

void libos_arch_dcache_inval_poc(uint64_t pa, uint64_t size)
{
	uint64_t ctr = read_sysreg(ctr_el0);
	uint64_t line = UINT64_C(4) << FIELD_GET(ctr, CTR_EL0_DMINLINE_SHIFT, 4);
	uint64_t end = pa + size;

	/* Only whole lines of memory libos owns are ever passed in: the
	 * ranges are granule-aligned, so no neighbour's data is dropped. */
	dsb(sy);
	for (uint64_t a = pa & ~(line - 1); a < end; a += line)
		__asm__ volatile("dc ivac, %0" : : "r"(a) : "memory");
	dsb(sy);
}

#endif

void libos_arch_dcache_clean_poc(const void *va, uint64_t size)
{
	uint64_t ctr = read_sysreg(ctr_el0);
	uint64_t line = UINT64_C(4) << FIELD_GET(ctr, CTR_EL0_DMINLINE_SHIFT, 4);
	uint64_t start = (uint64_t)(uintptr_t)va, end = start + size;

	for (uint64_t a = start & ~(line - 1); a < end; a += line)
		__asm__ volatile("dc cvac, %0" : : "r"(a) : "memory");
	dsb(sy);
}
