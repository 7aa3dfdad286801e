/*
 * The few hardware operations libos needs: descriptor stores, barriers and
 * TLB maintenance. Declarations only: libos/arch/ implements them for
 * AArch64, tests/host/fake_libos_arch.c records them on the host. Nothing
 * here decides policy; callers own the ordering (break-before-make).
 */
#ifndef EXO_LIBOS_ARCH_H
#define EXO_LIBOS_ARCH_H

#include <stdint.h>

/* A single-copy-atomic 64-bit store of a translation table descriptor. */
void libos_arch_write_pte(uint64_t *ptep, uint64_t desc);

void libos_arch_dsb_ishst(void);    /* DSB ISHST: stores before TLBIs */
void libos_arch_dsb_ish(void);      /* DSB ISH: TLBIs complete */
void libos_arch_isb(void);

/*
 * TLBI operands as the instructions take them: VA[55:12] in bits 43:0 and,
 * for the by-ASID forms, the ASID in bits 63:48 (see libos_tlbi_operand).
 */
void libos_arch_tlbi_vae1is(uint64_t op);    /* every level, one ASID */
void libos_arch_tlbi_vale1is(uint64_t op);   /* last level, one ASID */
void libos_arch_tlbi_vaae1is(uint64_t op);   /* every level, all ASIDs */
void libos_arch_tlbi_vaale1is(uint64_t op);  /* last level, all ASIDs */
void libos_arch_tlbi_aside1is(uint64_t op);  /* everything of one ASID */

#define LIBOS_TLBI_VA_SHIFT 12
#define LIBOS_TLBI_VA_MASK ((UINT64_C(1) << 44) - 1)
#define LIBOS_TLBI_ASID_SHIFT 48

/*
 * The operand is always VA >> 12, whatever the granule: with 16K and 64K
 * granules the low 2 or 4 bits of the field are RES0, and a page-aligned VA
 * leaves them clear.
 */
static inline uint64_t libos_tlbi_operand(uint64_t va, uint16_t asid)
{
	return ((va >> LIBOS_TLBI_VA_SHIFT) & LIBOS_TLBI_VA_MASK) |
	       ((uint64_t)asid << LIBOS_TLBI_ASID_SHIFT);
}

#endif
