/*
 * The guests' view of the self-hosted debug registers (issue 14, item 4).
 * Breakpoints, watchpoints, single-step, the OS lock and the debug
 * communications channel are CPU state that would pass from guest to guest
 * (a guest enabling self-hosted debug would take another's breakpoint), so
 * EL2 traps every access (MDCR_EL2.TDA, TDOSA, TDRA) and emulates the
 * whole debug register space (Op0 == 2) as read-as-zero, writes ignored:
 * to a guest the CPU has no debug state it can set. The host's debugger
 * (QEMU's gdb stub, `make debug`) does not use these registers.
 *
 * Owns: the decision for a trapped MSR/MRS. Never: lets a write reach a
 * debug register, or reads one back.
 */
#ifndef EXO_EL2_DEBUG_REGS_H
#define EXO_EL2_DEBUG_REGS_H

#include <el2/vcpu.h>
#include <stdbool.h>
#include <stdint.h>

/* A trapped MSR/MRS (ESR_EL2 with EC 0x18): true when it named a debug
 * register and was emulated (a read gives 0, a write is dropped, the
 * guest resumes after it); false for any other register. */
bool debug_regs_emulate(struct vcpu *v, uint64_t esr);

#endif
