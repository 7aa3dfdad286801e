/*
 * AArch64 system registers: accessors and the fields exo uses, named after
 * the Arm ARM (DDI 0487). Only definitions: no state, no policy.
 */
#ifndef EXO_ARCH_SYSREG_H
#define EXO_ARCH_SYSREG_H

#include <stdint.h>

#define BIT(n) (UINT64_C(1) << (n))
#define FIELD_GET(v, shift, width) (((v) >> (shift)) & (BIT(width) - 1))

#define read_sysreg(reg)                                                     \
	({                                                                   \
		uint64_t v_;                                                 \
		__asm__ volatile("mrs %0, " #reg : "=r"(v_));                \
		v_;                                                          \
	})
#define write_sysreg(val, reg)                                               \
	__asm__ volatile("msr " #reg ", %0" : : "r"((uint64_t)(val)) : "memory")

#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)

#define isb() __asm__ volatile("isb" : : : "memory")
#define dsb(opt) __asm__ volatile("dsb " #opt : : : "memory")

/* Encodings the assembler may not know by name. */
#define SYSREG_RNDR s3_3_c2_c4_0

/* SCTLR_ELx (common fields) */
#define SCTLR_M BIT(0)          /* stage-1 MMU enable */
#define SCTLR_A BIT(1)          /* alignment check */
#define SCTLR_C BIT(2)          /* data cacheability */
#define SCTLR_SA BIT(3)         /* SP alignment check */
#define SCTLR_I BIT(12)         /* instruction cacheability */
#define SCTLR_WXN BIT(19)       /* writable implies execute-never */
#define SCTLR_EE BIT(25)        /* big-endian data at this EL */
/* SCTLR_EL2 bits that are RES1 when HCR_EL2.E2H == 0. */
#define SCTLR_EL2_RES1                                                       \
	(BIT(4) | BIT(5) | BIT(11) | BIT(16) | BIT(18) | BIT(22) | BIT(23) | \
	 BIT(28) | BIT(29))

/* TCR_EL2 (E2H == 0) */
#define TCR_T0SZ_SHIFT 0
#define TCR_IRGN0_WBWA (UINT64_C(1) << 8)
#define TCR_ORGN0_WBWA (UINT64_C(1) << 10)
#define TCR_SH0_INNER (UINT64_C(3) << 12)
#define TCR_TG0_4K (UINT64_C(0) << 14)
#define TCR_EL2_PS_SHIFT 16
#define TCR_EL2_RES1 (BIT(23) | BIT(31))

/* MAIR attribute encodings (one byte per index). */
#define MAIR_ATTR_DEVICE_nGnRnE UINT64_C(0x00)
#define MAIR_ATTR_DEVICE_nGnRE UINT64_C(0x04)
#define MAIR_ATTR_NORMAL_NC UINT64_C(0x44)
#define MAIR_ATTR_NORMAL_WB UINT64_C(0xff)
#define MAIR_ATTR(idx, attr) ((uint64_t)(attr) << ((idx) * 8))

/* ID_AA64MMFR0_EL1 */
#define ID_AA64MMFR0_PARANGE_SHIFT 0
#define ID_AA64MMFR0_ASIDBITS_SHIFT 4
#define ID_AA64MMFR0_TGRAN16_SHIFT 20
#define ID_AA64MMFR0_TGRAN64_SHIFT 24
#define ID_AA64MMFR0_TGRAN4_SHIFT 28

/* ID_AA64ISAR0_EL1 */
#define ID_AA64ISAR0_RNDR_SHIFT 60

/* ID_AA64MMFR1_EL1 */
#define ID_AA64MMFR1_HAFDBS_SHIFT 0
#define ID_AA64MMFR1_VMIDBITS_SHIFT 4
#define ID_AA64MMFR1_PAN_SHIFT 20

/* SPSR_ELx / PSTATE */
#define SPSR_M_MASK UINT64_C(0xf)
#define SPSR_M_EL0T UINT64_C(0x0)
#define SPSR_M_EL1T UINT64_C(0x4)
#define SPSR_M_EL1H UINT64_C(0x5)
#define SPSR_M_EL2T UINT64_C(0x8)
#define SPSR_M_EL2H UINT64_C(0x9)
#define SPSR_F BIT(6)
#define SPSR_I BIT(7)
#define SPSR_A BIT(8)
#define SPSR_D BIT(9)

/* PARange encodings -> physical address bits. */
static inline unsigned parange_bits(uint64_t parange)
{
	static const unsigned char bits[] = { 32, 36, 40, 42, 44, 48, 52 };

	return parange < sizeof(bits) ? bits[parange] : 48;
}

/* CPACR_EL1: EL1/EL0 access to FP/SIMD (FPEN, bits [21:20]). */
#define CPACR_EL1_FPEN_SHIFT 20
#define CPACR_EL1_FPEN_MASK (UINT64_C(3) << CPACR_EL1_FPEN_SHIFT)
#define CPACR_EL1_FPEN_NO_TRAP (UINT64_C(3) << CPACR_EL1_FPEN_SHIFT)

#endif
