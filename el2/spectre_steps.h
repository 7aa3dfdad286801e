/*
 * The steps EL2 runs on every exit from a guest against speculation
 * (el2/spectre.h), as bit numbers that el2/arch/guest.S tests too.
 */
#ifndef EXO_EL2_SPECTRE_STEPS_H
#define EXO_EL2_SPECTRE_STEPS_H

#define SPECTRE_STEP_BHB_LOOP_BIT 0  /* k taken branches, then DSB; ISB */
#define SPECTRE_STEP_CLRBHB_BIT 1    /* CLRBHB; ISB */
#define SPECTRE_STEP_FW_WA3_BIT 2    /* firmware ARCH_WORKAROUND_3 */
#define SPECTRE_STEP_FW_WA1_BIT 3    /* firmware ARCH_WORKAROUND_1 */

#endif
