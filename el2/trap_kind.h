/*
 * Which vector an exception came through, as el2/arch/vectors.S and
 * el2/arch/guest.S pass it to C: (group << 2) | type. Shared by EL2's own
 * exceptions (el2/hyp_trap.c) and guests' traps (el2/guest_trap.c).
 */
#ifndef EXO_EL2_TRAP_KIND_H
#define EXO_EL2_TRAP_KIND_H

enum trap_group { TRAP_CUR_SP0, TRAP_CUR_SPX, TRAP_LOWER_A64, TRAP_LOWER_A32 };
enum trap_type { TRAP_SYNC, TRAP_IRQ, TRAP_FIQ, TRAP_SERROR };

#endif
