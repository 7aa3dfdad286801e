/*
 * AArch64 implementation of libos/arch.h: descriptor stores, barriers and
 * TLB maintenance by VA and ASID. Only instructions: never any ordering
 * policy (libos/mmu/pgtable.c decides when each runs). Not built for the
 * host.
 */
#include <libos/arch.h>

#ifndef EXO_HOST

void libos_arch_write_pte(uint64_t *ptep, uint64_t desc)
{
	/* One str: the table walker must never see a torn descriptor. */
	__asm__ volatile("str %1, %0" : "=m"(*ptep) : "r"(desc) : "memory");
}

void libos_arch_dsb_ishst(void)
{
	__asm__ volatile("dsb ishst" : : : "memory");
}

void libos_arch_dsb_ish(void)
{
	__asm__ volatile("dsb ish" : : : "memory");
}

void libos_arch_isb(void)
{
	__asm__ volatile("isb" : : : "memory");
}

void libos_arch_tlbi_vae1is(uint64_t op)
{
	__asm__ volatile("tlbi vae1is, %0" : : "r"(op) : "memory");
}

void libos_arch_tlbi_vale1is(uint64_t op)
{
	__asm__ volatile("tlbi vale1is, %0" : : "r"(op) : "memory");
}

void libos_arch_tlbi_vaae1is(uint64_t op)
{
	__asm__ volatile("tlbi vaae1is, %0" : : "r"(op) : "memory");
}

void libos_arch_tlbi_vaale1is(uint64_t op)
{
	__asm__ volatile("tlbi vaale1is, %0" : : "r"(op) : "memory");
}

void libos_arch_tlbi_aside1is(uint64_t op)
{
	__asm__ volatile("tlbi aside1is, %0" : : "r"(op) : "memory");
}

void libos_arch_tlbi_vmalle1is(void)
{
	__asm__ volatile("dsb ishst\n"
			 "tlbi vmalle1is\n"
			 "dsb ish\n"
			 "isb" : : : "memory");
}

#endif
