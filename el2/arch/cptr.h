/*
 * CPTR_EL2 while a guest runs. SVE and SME are trapped (EL2 does not save
 * their state, so a guest that uses them gets an undefined instruction),
 * as are trace register accesses and the activity monitors. FP/SIMD is
 * trapped (TFP) for every vCPU but the owner of the registers: the lazy
 * switch of el2/arch/vcpu_switch.c.
 */
#ifndef EXO_EL2_ARCH_CPTR_H
#define EXO_EL2_ARCH_CPTR_H

#include <arch/sysreg.h>

#define EL2_CPTR_TRAPS                                                       \
	(CPTR_EL2_RES1 | CPTR_EL2_TZ | CPTR_EL2_TSM | CPTR_EL2_TTA |         \
	 CPTR_EL2_TAM)

#endif
