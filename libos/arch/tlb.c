/*
 * AArch64 implementation of libos/arch.h: TLB maintenance by VA and ASID
 * (descriptor stores and barriers are inline in libos/arch.h). Only
 * instructions: never any ordering policy (libos/mmu/pgtable.c decides
 * when each runs). Not built for the host.
 */
#include <libos/arch.h>

#ifndef EXO_HOST

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
