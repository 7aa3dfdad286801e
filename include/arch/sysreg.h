/*
 * AArch64 system registers: accessors and the fields exo uses, named after
 * the Arm ARM (DDI 0487). Only definitions: no state, no policy.
 */
#ifndef EXO_ARCH_SYSREG_H
#define EXO_ARCH_SYSREG_H

#include <stdint.h>

#define BIT(n) (UINT64_C(1) << (n))
#define FIELD_GET(v, shift, width) (((v) >> (shift)) & (BIT(width) - 1))

#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)

/* reg may be a name or a SYSREG_* encoding macro (expanded first). */
#define read_sysreg(reg)                                                     \
	({                                                                   \
		uint64_t v_;                                                 \
		__asm__ volatile("mrs %0, " __stringify(reg) : "=r"(v_));    \
		v_;                                                          \
	})
#define write_sysreg(val, reg)                                               \
	__asm__ volatile("msr " __stringify(reg) ", %0"                      \
			 : : "r"((uint64_t)(val)) : "memory")

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

/* VTCR_EL2: stage-2 translation control (4 KiB granule encodings). */
#define VTCR_EL2_T0SZ_SHIFT 0
#define VTCR_EL2_SL0_SHIFT 6
#define VTCR_EL2_SL0_4K_L1 UINT64_C(1)   /* 4 KiB granule: start at level 1 */
#define VTCR_EL2_IRGN0_WBWA (UINT64_C(1) << 8)
#define VTCR_EL2_ORGN0_WBWA (UINT64_C(1) << 10)
#define VTCR_EL2_SH0_INNER (UINT64_C(3) << 12)
#define VTCR_EL2_TG0_4K (UINT64_C(0) << 14)
#define VTCR_EL2_PS_SHIFT 16
#define VTCR_EL2_VS_8BIT (UINT64_C(0) << 19)
#define VTCR_EL2_VS_16BIT (UINT64_C(1) << 19)
#define VTCR_EL2_RES1 BIT(31)

/* VTTBR_EL2: table base (BADDR) and VMID (bits 63:48 with 16-bit VMIDs,
 * VTCR_EL2.VS == 1; 55:48 with 8, the rest RES0). */
#define VTTBR_VMID_SHIFT 48
#define VTTBR_VMID_MASK (UINT64_C(0xffff) << VTTBR_VMID_SHIFT)
/* TTBR0_EL1/TTBR1_EL1: the ASID (16 bits; 8 when ID_AA64MMFR0_EL1.ASIDBits
 * says so, the upper eight then read as zero). */
#define TTBR_ASID_SHIFT 48
#define TTBR_ASID_MASK (UINT64_C(0xffff) << TTBR_ASID_SHIFT)

/* HPFAR_EL2.FIPA (bits 39:4) holds IPA[51:12] of a stage-2 fault, in 4 KiB
 * units whatever the granule; FAR_EL2 gives the bits below. */
#define HPFAR_FIPA_SHIFT 4
#define HPFAR_IPA_SHIFT 12
#define HPFAR_IPA_OFFSET_MASK ((UINT64_C(1) << HPFAR_IPA_SHIFT) - 1)

/* TLBI IPAS2E1IS operand: IPA[47:12] in Xt[35:0]. */
#define TLBI_IPA_ARG(ipa) ((ipa) >> 12)

/* MAIR attribute encodings (one byte per index). */
#define MAIR_ATTR_DEVICE_nGnRnE UINT64_C(0x00)
#define MAIR_ATTR_DEVICE_nGnRE UINT64_C(0x04)
#define MAIR_ATTR_NORMAL_NC UINT64_C(0x44)
#define MAIR_ATTR_NORMAL_WB UINT64_C(0xff)
#define MAIR_ATTR(idx, attr) ((uint64_t)(attr) << ((idx) * 8))

/* SCTLR_EL1 fields beyond the common ones (FEAT_PAN: SPAN). */
#define SCTLR_EL1_NTWI BIT(16)  /* EL0 WFI not trapped */
#define SCTLR_EL1_NTWE BIT(18)  /* EL0 WFE not trapped */
#define SCTLR_EL1_SPAN BIT(23)  /* 0: PSTATE.PAN set on exception entry */

/* TCR_EL1: both halves (the TTBR0 fields share TCR_EL2's positions). */
#define TCR_EL1_T0SZ_SHIFT 0
#define TCR_EL1_EPD0 BIT(7)     /* no walks for TTBR0 misses */
#define TCR_EL1_IRGN0_WBWA (UINT64_C(1) << 8)
#define TCR_EL1_ORGN0_WBWA (UINT64_C(1) << 10)
#define TCR_EL1_SH0_INNER (UINT64_C(3) << 12)
#define TCR_EL1_TG0_SHIFT 14
#define TCR_EL1_TG0_4K UINT64_C(0)
#define TCR_EL1_TG0_64K UINT64_C(1)
#define TCR_EL1_TG0_16K UINT64_C(2)
#define TCR_EL1_T1SZ_SHIFT 16
#define TCR_EL1_A1 BIT(22)      /* ASID from TTBR1 (we use TTBR0's) */
#define TCR_EL1_EPD1 BIT(23)
#define TCR_EL1_IRGN1_WBWA (UINT64_C(1) << 24)
#define TCR_EL1_ORGN1_WBWA (UINT64_C(1) << 26)
#define TCR_EL1_SH1_INNER (UINT64_C(3) << 28)
#define TCR_EL1_TG1_SHIFT 30
#define TCR_EL1_TG1_16K UINT64_C(1)
#define TCR_EL1_TG1_4K UINT64_C(2)
#define TCR_EL1_TG1_64K UINT64_C(3)
#define TCR_EL1_IPS_SHIFT 32    /* PARange encoding */
#define TCR_EL1_AS BIT(36)      /* 16-bit ASIDs */
#define TCR_EL1_HA BIT(39)      /* hardware Access flag (FEAT_HAFDBS) */
#define TCR_EL1_HD BIT(40)      /* hardware dirty state (FEAT_HAFDBS) */

/* PSTATE.PAN as a system register (FEAT_PAN): op0 3, op1 0, CRn 4, CRm 2,
 * op2 3. Bit 22 of the value. */
#define SYSREG_PAN s3_0_c4_c2_3
#define PSTATE_PAN BIT(22)
/* CTR_EL0.DminLine: log2 of the smallest D-cache line, in words. */
#define CTR_EL0_DMINLINE_SHIFT 16

/* ID_AA64MMFR0_EL1 */
#define ID_AA64MMFR0_PARANGE_SHIFT 0
#define ID_AA64MMFR0_ASIDBITS_SHIFT 4
#define ID_AA64MMFR0_TGRAN16_SHIFT 20
#define ID_AA64MMFR0_TGRAN64_SHIFT 24
#define ID_AA64MMFR0_TGRAN4_SHIFT 28
#define ID_AA64MMFR0_FGT_SHIFT 56     /* fine-grained traps */
/* TGran4/TGran64: 0 supported, 0xf not; TGran16: 0 not, 1 (or 2) yes. */
#define ID_AA64MMFR0_TGRAN_NONE 0xf
#define ID_AA64MMFR0_ASIDBITS_16 2

/* ID_AA64ISAR0_EL1 */
#define ID_AA64ISAR0_RNDR_SHIFT 60

/* Speculation (el2/spectre.c): ID_AA64PFR0_EL1.CSV2 (branch targets not
 * shared across contexts; 3 = nor branch history), ID_AA64PFR1_EL1.SSBS,
 * ID_AA64MMFR1_EL1.ECBHB (branch history not exploitable), and
 * ID_AA64ISAR2_EL1.CLRBHB (the CLRBHB instruction). MIDR_EL1 names the
 * core: implementer and part number. */
#define ID_AA64PFR0_CSV2_SHIFT 56
/* RAS (el2/ras.c): ID_AA64PFR0_EL1.RAS; an SError ESB defers at EL2 lands
 * in DISR_EL1, its A bit set. */
#define ID_AA64PFR0_RAS_SHIFT 28
#define SYSREG_DISR_EL1 s3_0_c12_c1_1
/* A guest's DISR_EL1 while HCR_EL2.AMO is set (switched with the vCPU). */
#define SYSREG_VDISR_EL2 s3_4_c12_c1_1
#define DISR_A BIT(31)
#define ID_AA64PFR0_CSV2_3 3
#define ID_AA64PFR1_SSBS_SHIFT 4
#define ID_AA64MMFR1_ECBHB_SHIFT 60
#define ID_AA64ISAR2_CLRBHB_SHIFT 28
#define SYSREG_ID_AA64ISAR2_EL1 s3_0_c0_c6_2
#define MIDR_IMPLEMENTER_SHIFT 24
#define MIDR_IMPLEMENTER_ARM 0x41
#define MIDR_PARTNUM_SHIFT 4
#define MIDR_PARTNUM_MASK 0xfff

/* ID_AA64MMFR1_EL1 */
#define ID_AA64MMFR1_HAFDBS_SHIFT 0
#define ID_AA64MMFR1_VMIDBITS_SHIFT 4
#define ID_AA64MMFR1_VMIDBITS_16 2    /* 16-bit VMIDs (VTCR_EL2.VS) */
#define ID_AA64MMFR1_PAN_SHIFT 20
#define ID_AA64MMFR1_LO_SHIFT 16      /* limited ordering regions */
#define ID_AA64MMFR1_HCX_SHIFT 40     /* HCRX_EL2 */
#define ID_AA64MMFR1_HAFDBS_AF 1      /* hardware Access flag */
#define ID_AA64MMFR1_HAFDBS_DIRTY 2   /* and dirty state */

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
#define CPACR_EL1_FPEN_TRAP_EL0 (UINT64_C(1) << CPACR_EL1_FPEN_SHIFT)

/* PMU: PMCR_EL0, MDCR_EL2 and the event filters (PMCCFILTR_EL0,
 * PMEVTYPER<n>_EL0). The filter's P/U bits exclude EL1/EL0; NSH includes
 * EL2, which is otherwise never counted. */
#define PMCR_E BIT(0)           /* enable the counters */
#define PMCR_P BIT(1)           /* reset the event counters */
#define PMCR_C BIT(2)           /* reset the cycle counter */
#define PMCR_LC BIT(6)          /* cycle counter is 64 bits */
#define PMCR_N(pmcr) FIELD_GET(pmcr, 11, 5)   /* event counters */
#define PMCNTEN_C BIT(31)       /* PMCNTENSET/CLR_EL0: cycle counter */
#define PMU_FILTER_P BIT(31)    /* do not count at EL1 */
#define PMU_FILTER_U BIT(30)    /* do not count at EL0 */
#define PMU_FILTER_NSH BIT(27)  /* count at EL2 */
#define PMU_EVENT_INST_RETIRED 0x08
#define MDCR_EL2_HPMN_MASK 0x1f /* counters EL1 and EL0 may use */
#define MDCR_EL2_TPMCR BIT(5)   /* trap PMCR_EL0 accesses to EL2 */
#define MDCR_EL2_TPM BIT(6)     /* trap all PMU accesses to EL2 */
#define MDCR_EL2_HPMD BIT(17)   /* no counting at EL2 */
#define MDCR_EL2_TDA BIT(9)     /* trap debug register accesses to EL2 */
#define MDCR_EL2_TDOSA BIT(10)  /* trap the OS lock and power-down regs */
#define MDCR_EL2_TDRA BIT(11)   /* trap the debug ROM address register */
#define MDCR_EL2_TPMS BIT(14)   /* trap the statistical profiling controls */
#define MDCR_EL2_TTRF BIT(19)   /* trap the trace filter control */
/* MDCR_EL2.E2PB (bits 13:12) 0b00: the profiling buffer is EL2's, EL1
 * accesses to PMB* trap: the value EL2 leaves there. */

#endif

/* GICv3 CPU interface system registers (encodings, for old assemblers). */
#define SYSREG_ICC_IAR1_EL1 s3_0_c12_c12_0
#define SYSREG_ICC_EOIR1_EL1 s3_0_c12_c12_1
#define SYSREG_ICC_PMR_EL1 s3_0_c4_c6_0
#define SYSREG_ICC_BPR1_EL1 s3_0_c12_c12_3
#define SYSREG_ICC_CTLR_EL1 s3_0_c12_c12_4
#define SYSREG_ICC_SRE_EL1 s3_0_c12_c12_5
#define SYSREG_ICC_IGRPEN1_EL1 s3_0_c12_c12_7
#define SYSREG_ICC_SGI1R_EL1 s3_0_c12_c11_5
#define SYSREG_ICC_SRE_EL2 s3_4_c12_c9_5
#define SYSREG_ICH_HCR_EL2 s3_4_c12_c11_0
#define SYSREG_ICH_VMCR_EL2 s3_4_c12_c11_7
#define ICC_SRE_SRE BIT(0)
#define ICC_SRE_DFB BIT(1)
#define ICC_SRE_DIB BIT(2)
#define ICC_SRE_EL2_ENABLE BIT(3)
#define ICC_IAR_INTID_MASK 0xffffffu
#define GIC_INTID_SPURIOUS 1023u
#define ICH_HCR_EN BIT(0)
#define SYSREG_ICH_LR0_EL2 s3_4_c12_c12_0
#define SYSREG_ICH_VTR_EL2 s3_4_c12_c11_1
/* ICH_VTR_EL2: ListRegs (number of list registers - 1) and PREbits
 * (preemption bits - 1): 5, 6 or 7 bits need 1, 2 or 4 registers of each
 * of ICH_AP0R<n>_EL2 and ICH_AP1R<n>_EL2. */
#define ICH_VTR_LISTREGS_MASK 0x1fu
#define ICH_VTR_PREBITS_SHIFT 26
#define ICH_VTR_PREBITS_MASK 0x7u
#define GIC_MIN_PREEMPTION_BITS 5u
#define ICH_APR_MAX 4u
#define ICH_LR_MAX 16u
/* Guest-side names of the virtual active-priority registers (ICV_*). */
#define SYSREG_ICC_AP0R0_EL1 s3_0_c12_c8_4
#define SYSREG_ICC_AP1R0_EL1 s3_0_c12_c9_0
#define ICH_LR_STATE_PENDING (UINT64_C(1) << 62)
#define ICH_LR_STATE_MASK (UINT64_C(3) << 62)
#define ICH_LR_GROUP1 BIT(60)
#define ICH_LR_PRIORITY_SHIFT 48
#define ICH_LR_VINTID_MASK UINT64_C(0xffffffff)
#define ICH_LR_EOI BIT(41)      /* maintenance interrupt at its deactivation */
#define SYSREG_ICH_LR1_EL2 s3_4_c12_c12_1
/* ICC_SGI1R_EL1 (the GICv3 architecture specification's register): SGI INTID,
 * the target list of Aff0 values (16 bits, offset by RS * 16) under
 * Aff3.Aff2.Aff1, or with IRM every PE but the writer. */
#define ICC_SGI1R_OP0 3u
#define ICC_SGI1R_OP1 0u
#define ICC_SGI1R_CRN 12u
#define ICC_SGI1R_CRM 11u
#define ICC_SGI1R_OP2 5u
#define ICC_SGI1R_TARGET_LIST_MASK 0xffffu
#define ICC_SGI1R_TARGETS_PER_RANGE 16u
#define ICC_SGI1R_AFF1_SHIFT 16
#define ICC_SGI1R_INTID_SHIFT 24
#define ICC_SGI1R_INTID_MASK 0xfu
#define ICC_SGI1R_AFF2_SHIFT 32
#define ICC_SGI1R_IRM BIT(40)
#define ICC_SGI1R_RS_SHIFT 44
#define ICC_SGI1R_RS_MASK 0xfu
#define ICC_SGI1R_AFF3_SHIFT 48
#define ICC_SGI1R_AFF_MASK 0xffu
#define GIC_SGI_COUNT 16u        /* INTIDs 0-15 */

/* Generic timer control (CNTx_CTL) */
#define CNT_CTL_ENABLE BIT(0)
#define CNT_CTL_IMASK BIT(1)
#define CNT_CTL_ISTATUS BIT(2)
/* CNTHCTL_EL2 (E2H == 0) */
#define CNTHCTL_EL1PCTEN BIT(0)
#define CNTHCTL_EL1PCEN BIT(1)

/* HCR_EL2 */
#define HCR_VM BIT(0)
#define HCR_SWIO BIT(1)
#define HCR_FMO BIT(3)
#define HCR_IMO BIT(4)
#define HCR_AMO BIT(5)
#define HCR_FB BIT(9)
#define HCR_BSU_INNER (UINT64_C(1) << 10)
#define HCR_TWI BIT(13)
#define HCR_TSC BIT(19)
#define HCR_TIDCP BIT(20)
#define HCR_TACR BIT(21)
#define HCR_TSW BIT(22)
#define HCR_RW BIT(31)
#define HCR_TLOR (UINT64_C(1) << 35)  /* trap LOR registers */
#define HCR_TERR (UINT64_C(1) << 36)  /* trap RAS error records */

/* Registers that exist only with their feature (ID fields above); each
 * resets to an UNKNOWN value, and 0 means "no extra trap or control".
 * VPIDR/VMPIDR_EL2: what a guest reads as MIDR_EL1 and MPIDR_EL1. */
#define SYSREG_HCRX_EL2 s3_4_c1_c2_2
#define SYSREG_HFGRTR_EL2 s3_4_c1_c1_4
#define SYSREG_HFGWTR_EL2 s3_4_c1_c1_5
#define SYSREG_HFGITR_EL2 s3_4_c1_c1_6
#define SYSREG_HDFGRTR_EL2 s3_4_c3_c1_4
#define SYSREG_HDFGWTR_EL2 s3_4_c3_c1_5
#define MPIDR_RES1 BIT(31)
/* MPIDR_EL1's affinity fields (Aff0 in bits 7:0). */
#define MPIDR_AFF_MASK 0xffu
#define MPIDR_AFF1_SHIFT 8
#define MPIDR_AFF2_SHIFT 16
#define MPIDR_AFF3_SHIFT 32
#define MPIDR_UNIPROCESSOR BIT(30)

/* CPTR_EL2 (E2H == 0) */
#define CPTR_EL2_RES1 (UINT64_C(0xff) | BIT(9) | BIT(13))
#define CPTR_EL2_TZ BIT(8)
#define CPTR_EL2_TFP BIT(10)
#define CPTR_EL2_TSM BIT(12)
#define CPTR_EL2_TTA BIT(20)
#define CPTR_EL2_TAM BIT(30)    /* trap activity monitors (AMU) */

/* SCTLR_EL1 bits that are RES1 (ARMv8.0 view), MMU and caches off. */
#define SCTLR_EL1_RES1                                                       \
	(BIT(11) | BIT(20) | BIT(22) | BIT(23) | BIT(28) | BIT(29))

/* Stage-2 forced write-back (issue 14, el2/arch/s2fwb.c):
 * ID_AA64MMFR2_EL1.FWB says FEAT_S2FWB is there; HCR_EL2.FWB turns it on
 * (stage-2 MemAttr then names the final memory type: include/arch/pte.h). */
#define SYSREG_ID_AA64MMFR2_EL1 s3_0_c0_c7_2
#define ID_AA64MMFR2_FWB_SHIFT 40
#define HCR_FWB (UINT64_C(1) << 46)
/* PMU (issue 14): the PMU's version (MDCR_EL2.HPMD from PMUv3p1) and the
 * registers old assemblers do not name. */
#define ID_AA64DFR0_PMUVER_SHIFT 8
#define SYSREG_PMMIR_EL1 s3_0_c9_c14_6
