/*
 * el1's exits for assembly: the statuses are the ABI's (exo/exit_status.h,
 * the one list both el1 and EL2's summary use); EXO_HVC_EXIT as a plain
 * number (exo/hvc.h uses C suffixes), checked against it by el1/arch.c.
 */
#ifndef EXO_EL1_EXIT_ASM_H
#define EXO_EL1_EXIT_ASM_H

#include <exo/exit_status.h>

#define EL1_ASM_HVC_EXIT 0xc6000008

#endif
