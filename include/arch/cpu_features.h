/*
 * Which optional parts of the architecture a CPU has, from its ID
 * registers: the `feature` column of include/arch/vcpu_state.def. Pure
 * functions of register values (the caller reads them: EL2 and a guest
 * both can, HCR_EL2.TID3 is clear), so the host tests run them too.
 */
#ifndef EXO_ARCH_CPU_FEATURES_H
#define EXO_ARCH_CPU_FEATURES_H

#include <arch/sysreg.h>
#include <stdbool.h>
#include <stdint.h>

/* The ID registers (and the two counts outside them) a feature needs. */
struct cpu_ids {
	uint64_t pfr0, pfr1, dfr0, isar1, isar2, mmfr1, mmfr2;
	unsigned gic_aprs;        /* active-priority registers per group */
	unsigned gic_lrs;         /* list registers */
	unsigned pmu_counters;    /* PMCR_EL0.N */
};

#define CPU_FEATURES_0_3(X, p)                                               \
	X(p##0) X(p##1) X(p##2) X(p##3)
#define CPU_FEATURES_0_15(X, p)                                              \
	CPU_FEATURES_0_3(X, p) X(p##4) X(p##5) X(p##6) X(p##7) X(p##8)        \
	X(p##9) X(p##10) X(p##11) X(p##12) X(p##13) X(p##14) X(p##15)
#define CPU_FEATURES_0_30(X, p)                                              \
	CPU_FEATURES_0_15(X, p) X(p##16) X(p##17) X(p##18) X(p##19)           \
	X(p##20) X(p##21) X(p##22) X(p##23) X(p##24) X(p##25) X(p##26)        \
	X(p##27) X(p##28) X(p##29) X(p##30)

#define CPU_FEATURE_LIST(X)                                                  \
	X(ALWAYS) X(FEAT_PAN) X(FEAT_UAO) X(FEAT_DIT) X(FEAT_SSBS)           \
	X(FEAT_MTE) X(FEAT_MTE2) X(FEAT_SVE) X(FEAT_SME) X(FEAT_RAS)          \
	X(FEAT_CSV2_2) X(FEAT_PAUTH) X(FEAT_LOR) X(FEAT_PMU)                  \
	X(FEAT_PMUV3P4) X(FEAT_SPE) X(FEAT_TRF) X(FEAT_AMU)                   \
	CPU_FEATURES_0_3(X, GIC_APR) CPU_FEATURES_0_15(X, GIC_LR)             \
	CPU_FEATURES_0_30(X, PMU_COUNTER) CPU_FEATURES_0_15(X, DEBUG_BRP)     \
	CPU_FEATURES_0_15(X, DEBUG_WRP)

enum cpu_feature {
#define CPU_FEATURE_ENUM(f) CPU_##f,
	CPU_FEATURE_LIST(CPU_FEATURE_ENUM)
#undef CPU_FEATURE_ENUM
	CPU_FEATURES
};

/* ID register fields (Arm ARM D19, "ID_AA64*_EL1"); the others are in
 * arch/sysreg.h. */
#define ID_AA64PFR0_SVE_SHIFT 32
#define ID_AA64PFR0_AMU_SHIFT 44
#define ID_AA64PFR0_DIT_SHIFT 48
#define ID_AA64PFR1_MTE_SHIFT 8
#define ID_AA64PFR1_SME_SHIFT 24
#define ID_AA64PFR1_CSV2_FRAC_SHIFT 32
#define ID_AA64DFR0_BRPS_SHIFT 12
#define ID_AA64DFR0_WRPS_SHIFT 20
#define ID_AA64DFR0_PMSVER_SHIFT 32
#define ID_AA64DFR0_TRACEFILT_SHIFT 40
#define ID_AA64ISAR1_APA_SHIFT 4
#define ID_AA64ISAR1_API_SHIFT 8
#define ID_AA64ISAR1_GPA_SHIFT 24
#define ID_AA64ISAR1_GPI_SHIFT 28
#define ID_AA64ISAR2_GPA3_SHIFT 8
#define ID_AA64ISAR2_APA3_SHIFT 12
#define ID_AA64MMFR2_UAO_SHIFT 4
#define ID_FIELD_WIDTH 4
#define ID_AA64DFR0_PMUVER_IMPDEF 0xf      /* a PMU that is not PMUv3 */
#define ID_AA64DFR0_PMUVER_V3P4 5
#define ID_AA64PFR1_MTE2 2
#define ID_AA64PFR0_CSV2_2 2
#define ID_AA64PFR1_CSV2_1P2 2

static inline unsigned id_field(uint64_t reg, unsigned shift)
{
	return (unsigned)FIELD_GET(reg, shift, ID_FIELD_WIDTH);
}

static inline bool cpu_has_pmuv3(const struct cpu_ids *id, unsigned at_least)
{
	unsigned v = id_field(id->dfr0, ID_AA64DFR0_PMUVER_SHIFT);

	return v >= at_least && v != ID_AA64DFR0_PMUVER_IMPDEF;
}

static inline bool cpu_has_pauth(const struct cpu_ids *id)
{
	return id_field(id->isar1, ID_AA64ISAR1_APA_SHIFT) ||
	       id_field(id->isar1, ID_AA64ISAR1_API_SHIFT) ||
	       id_field(id->isar1, ID_AA64ISAR1_GPA_SHIFT) ||
	       id_field(id->isar1, ID_AA64ISAR1_GPI_SHIFT) ||
	       id_field(id->isar2, ID_AA64ISAR2_APA3_SHIFT) ||
	       id_field(id->isar2, ID_AA64ISAR2_GPA3_SHIFT);
}

/* SCXTNUM_ELx exist with FEAT_CSV2_2, or FEAT_CSV2_1p2 (CSV2 = 1 and
 * CSV2_frac = 2). */
static inline bool cpu_has_scxtnum(const struct cpu_ids *id)
{
	unsigned csv2 = id_field(id->pfr0, ID_AA64PFR0_CSV2_SHIFT);

	return csv2 >= ID_AA64PFR0_CSV2_2 ||
	       (csv2 == 1 && id_field(id->pfr1, ID_AA64PFR1_CSV2_FRAC_SHIFT) >=
				     ID_AA64PFR1_CSV2_1P2);
}

/* Feature f in the range [first, first + count): index below count? */
static inline bool cpu_indexed(enum cpu_feature f, enum cpu_feature first,
			       unsigned count)
{
	return (unsigned)(f - first) < count;
}

static inline bool cpu_feature_in_range(enum cpu_feature f,
					enum cpu_feature first,
					enum cpu_feature last)
{
	return f >= first && f <= last;
}

static inline bool cpu_has(const struct cpu_ids *id, enum cpu_feature f)
{
	if (cpu_feature_in_range(f, CPU_GIC_APR0, CPU_GIC_APR3))
		return cpu_indexed(f, CPU_GIC_APR0, id->gic_aprs);
	if (cpu_feature_in_range(f, CPU_GIC_LR0, CPU_GIC_LR15))
		return cpu_indexed(f, CPU_GIC_LR0, id->gic_lrs);
	if (cpu_feature_in_range(f, CPU_PMU_COUNTER0, CPU_PMU_COUNTER30))
		return cpu_has_pmuv3(id, 1) &&
		       cpu_indexed(f, CPU_PMU_COUNTER0, id->pmu_counters);
	if (cpu_feature_in_range(f, CPU_DEBUG_BRP0, CPU_DEBUG_BRP15))
		return cpu_indexed(f, CPU_DEBUG_BRP0,
				   id_field(id->dfr0, ID_AA64DFR0_BRPS_SHIFT) + 1);
	if (cpu_feature_in_range(f, CPU_DEBUG_WRP0, CPU_DEBUG_WRP15))
		return cpu_indexed(f, CPU_DEBUG_WRP0,
				   id_field(id->dfr0, ID_AA64DFR0_WRPS_SHIFT) + 1);
	switch (f) {
	case CPU_ALWAYS: return true;
	case CPU_FEAT_PAN: return id_field(id->mmfr1, ID_AA64MMFR1_PAN_SHIFT);
	case CPU_FEAT_UAO: return id_field(id->mmfr2, ID_AA64MMFR2_UAO_SHIFT);
	case CPU_FEAT_DIT: return id_field(id->pfr0, ID_AA64PFR0_DIT_SHIFT);
	case CPU_FEAT_SSBS: return id_field(id->pfr1, ID_AA64PFR1_SSBS_SHIFT);
	case CPU_FEAT_MTE: return id_field(id->pfr1, ID_AA64PFR1_MTE_SHIFT);
	case CPU_FEAT_MTE2:
		return id_field(id->pfr1, ID_AA64PFR1_MTE_SHIFT) >=
		       ID_AA64PFR1_MTE2;
	case CPU_FEAT_SVE: return id_field(id->pfr0, ID_AA64PFR0_SVE_SHIFT);
	case CPU_FEAT_SME: return id_field(id->pfr1, ID_AA64PFR1_SME_SHIFT);
	case CPU_FEAT_RAS: return id_field(id->pfr0, ID_AA64PFR0_RAS_SHIFT);
	case CPU_FEAT_CSV2_2: return cpu_has_scxtnum(id);
	case CPU_FEAT_PAUTH: return cpu_has_pauth(id);
	case CPU_FEAT_LOR: return id_field(id->mmfr1, ID_AA64MMFR1_LO_SHIFT);
	case CPU_FEAT_PMU: return cpu_has_pmuv3(id, 1);
	case CPU_FEAT_PMUV3P4:
		return cpu_has_pmuv3(id, ID_AA64DFR0_PMUVER_V3P4);
	case CPU_FEAT_SPE: return id_field(id->dfr0, ID_AA64DFR0_PMSVER_SHIFT);
	case CPU_FEAT_TRF:
		return id_field(id->dfr0, ID_AA64DFR0_TRACEFILT_SHIFT);
	case CPU_FEAT_AMU: return id_field(id->pfr0, ID_AA64PFR0_AMU_SHIFT);
	default: return false;
	}
}

#endif
