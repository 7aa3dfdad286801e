/* ESR_ELx: exception classes and the syndrome fields exo decodes. */
#ifndef EXO_ARCH_ESR_H
#define EXO_ARCH_ESR_H

#include <arch/sysreg.h>

#define ESR_EC_SHIFT 26
#define ESR_EC_WIDTH 6
#define ESR_IL BIT(25)
#define ESR_ISS_MASK (BIT(25) - 1)
#define ESR_EC(esr) FIELD_GET(esr, ESR_EC_SHIFT, ESR_EC_WIDTH)
#define ESR_ISS(esr) ((esr) & ESR_ISS_MASK)

#define ESR_EC_UNKNOWN 0x00
#define ESR_EC_WFX 0x01
#define ESR_EC_FP_ASIMD 0x07
#define ESR_EC_ILLEGAL_STATE 0x0e
#define ESR_EC_SVC64 0x15
#define ESR_EC_HVC64 0x16
/* The whole syndrome of HVC #0 from AArch64 (ISS: the immediate, 0). */
#define ESR_HVC64_IMM0 (((uint64_t)ESR_EC_HVC64 << ESR_EC_SHIFT) | ESR_IL)
#define ESR_EC_SMC64 0x17
#define ESR_EC_SYSREG 0x18
#define ESR_EC_SVE 0x19
#define ESR_EC_IABT_LOWER 0x20
#define ESR_EC_IABT_CUR 0x21
#define ESR_EC_PC_ALIGN 0x22
#define ESR_EC_DABT_LOWER 0x24
#define ESR_EC_DABT_CUR 0x25
#define ESR_EC_SP_ALIGN 0x26
#define ESR_EC_SERROR 0x2f
#define ESR_EC_BRK64 0x3c

/* Data/instruction abort ISS */
#define ESR_ABT_FSC_SHIFT 0
#define ESR_ABT_FSC_WIDTH 6
#define ESR_DABT_WNR BIT(6)
#define ESR_DABT_S1PTW BIT(7)
#define ESR_DABT_SRT_SHIFT 16
#define ESR_DABT_SRT_WIDTH 5
#define ESR_DABT_SAS_SHIFT 22
#define ESR_DABT_SAS_WIDTH 2
#define ESR_DABT_ISV BIT(24)

/* Trapped MSR/MRS (EC 0x18) ISS: the register's encoding, the general
 * register and the direction. */
#define ESR_SYSREG_READ BIT(0)          /* MRS; MSR when clear */
#define ESR_SYSREG_CRM(iss) FIELD_GET(iss, 1, 4)
#define ESR_SYSREG_RT(iss) FIELD_GET(iss, 5, 5)
#define ESR_SYSREG_RT_XZR 31u        /* Rt == 31 names XZR in MSR/MRS */
/* An A64 instruction: what ELR moves by to step over a trapped one. */
#define A64_INSN_SIZE 4u
#define ESR_SYSREG_CRN(iss) FIELD_GET(iss, 10, 4)
#define ESR_SYSREG_OP1(iss) FIELD_GET(iss, 14, 3)
#define ESR_SYSREG_OP2(iss) FIELD_GET(iss, 17, 3)
#define ESR_SYSREG_OP0(iss) FIELD_GET(iss, 20, 2)
/* Op0 == 2: the debug system registers (breakpoints, watchpoints, MDSCR,
 * the OS lock, the debug communications channel, claim tags). */
#define SYSREG_OP0_DEBUG 2

/* Fault status codes (FSC bits [5:2] give the kind, [1:0] the level). */
#define FSC_KIND(fsc) ((fsc) & 0x3c)
#define FSC_LEVEL(fsc) ((fsc) & 0x3)
#define FSC_ADDR_SIZE 0x00
#define FSC_TRANSLATION 0x04
#define FSC_ACCESS_FLAG 0x08
#define FSC_PERMISSION 0x0c
#define FSC_SYNC_EXTERNAL 0x10
#define FSC_ALIGNMENT 0x21

#endif
