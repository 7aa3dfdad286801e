/*
 * VMSAv8-64 translation table descriptors (4 KiB granule where it matters),
 * stage 1 and stage 2. Bit names follow the Arm ARM.
 */
#ifndef EXO_ARCH_PTE_H
#define EXO_ARCH_PTE_H

#include <arch/sysreg.h>

/* The 4 KiB translation granule (TCR TG0/TG1/VTCR TG0) of EL2's own stage
 * 1 and of every stage 2: an architectural choice of those tables, not the
 * ABI's frame (include/exo/frame.h), which el2/s2.c asserts it equals. */
#define GRANULE_4K_SHIFT 12
#define GRANULE_4K_SIZE (UINT64_C(1) << GRANULE_4K_SHIFT)
#define PTES_PER_TABLE 512
#define LEVEL_SHIFT(level) (GRANULE_4K_SHIFT + 9 * (3 - (level)))
#define LEVEL_SIZE(level) (UINT64_C(1) << LEVEL_SHIFT(level))

#define PTE_VALID BIT(0)
#define PTE_TABLE BIT(1)         /* at levels 0-2: next-level table */
#define PTE_PAGE BIT(1)          /* at level 3: page descriptor */
#define PTE_BLOCK UINT64_C(0)    /* at levels 1-2, with bit 1 clear */
#define PTE_ADDR_MASK (((UINT64_C(1) << 48) - 1) & ~(GRANULE_4K_SIZE - 1))
#define PTE_TYPE_MASK UINT64_C(3)   /* bits 1:0: valid + table/page */
/* Output address bits 47:shift, for any granule (no FEAT_LPA / LPA2). */
#define PTE_OA_BITS 48
#define PTE_OA_MASK(shift) \
	(((UINT64_C(1) << PTE_OA_BITS) - 1) & ~((UINT64_C(1) << (shift)) - 1))

/* Stage-1 lower attributes */
#define PTE_ATTRINDX_SHIFT 2
#define PTE_ATTRINDX_MASK (UINT64_C(7) << PTE_ATTRINDX_SHIFT)
#define PTE_ATTRINDX(idx) ((uint64_t)(idx) << PTE_ATTRINDX_SHIFT)
#define PTE_NS BIT(5)
#define PTE_AP_RW_EL0 BIT(6)     /* AP[1]: EL0 access */
#define PTE_AP_RO BIT(7)         /* AP[2]: read-only */
#define PTE_SH_SHIFT 8
#define PTE_SH_MASK (UINT64_C(3) << PTE_SH_SHIFT)
#define PTE_SH_INNER (UINT64_C(3) << PTE_SH_SHIFT)
#define PTE_AF BIT(10)
#define PTE_NG BIT(11)
/* Stage-1 upper attributes */
#define PTE_DBM BIT(51)
#define PTE_CONT BIT(52)
#define PTE_PXN BIT(53)
#define PTE_UXN BIT(54)
#define PTE_XN BIT(54)           /* EL2 (single VA range): execute-never */

/* Stage-2 attributes */
#define S2_MEMATTR(a) ((uint64_t)(a) << 2)
#define S2_MEMATTR_DEVICE_nGnRE 0x1
#define S2_MEMATTR_NORMAL_WB 0xf
/* With HCR_EL2.FWB set (FEAT_S2FWB) MemAttr[3] is RES0 and MemAttr[2:0]
 * names the result, not stage 2's half of a combination: 0b0xx Device of
 * type [1:0] (0b001 nGnRE, as above), 0b110 Normal Write-Back whatever
 * stage 1 says (Device and Non-cacheable included), 0b111 stage 1's type
 * (Arm ARM DDI 0487, D8.6.6 "Stage 2 memory type and Cacheability
 * attributes when FEAT_S2FWB is enabled"). */
#define S2_MEMATTR_FWB_NORMAL_WB 0x6
#define S2_MEMATTR_MASK S2_MEMATTR(0xf)
#define S2_AP_R BIT(6)
#define S2_AP_W BIT(7)
#define S2_XN BIT(54)           /* XN[1]: no execution at EL1 or EL0 */
/* SH[1:0] and AF sit where stage 1 has them. */
#define S2_SH_INNER PTE_SH_INNER
#define S2_AF PTE_AF
/* A leaf's attribute bits: everything but the output address and type. */
#define PTE_ATTR_MASK (~(PTE_ADDR_MASK | PTE_VALID | PTE_TABLE))

#endif
