/*
 * Reads the ID registers struct cpu_ids holds (include/arch/cpu_features.h)
 * on this CPU: EL2 and a guest alike (HCR_EL2.TID3 is clear). Target only.
 * The counts outside the ID registers are the caller's to fill.
 */
#ifndef EXO_ARCH_CPU_IDS_H
#define EXO_ARCH_CPU_IDS_H

#include <arch/cpu_features.h>
#include <arch/sysreg.h>

static inline void cpu_ids_read(struct cpu_ids *id)
{
	id->pfr0 = read_sysreg(id_aa64pfr0_el1);
	id->pfr1 = read_sysreg(id_aa64pfr1_el1);
	id->dfr0 = read_sysreg(id_aa64dfr0_el1);
	id->isar1 = read_sysreg(id_aa64isar1_el1);
	id->isar2 = read_sysreg(SYSREG_ID_AA64ISAR2_EL1);
	id->mmfr1 = read_sysreg(id_aa64mmfr1_el1);
	id->mmfr2 = read_sysreg(id_aa64mmfr2_el1);
}

#endif
