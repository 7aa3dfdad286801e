/*
 * Offsets the trap path's assembly (el2/arch/guest.S) reads in struct vcpu
 * and struct percpu, and a secondary CPU's entry (el2/arch/secondary.S) in
 * struct cpu_boot, in one place both it and C include; el2/vcpu.h,
 * el2/percpu.h and el2/arch/cpu.c check each against offsetof.
 */
#ifndef EXO_EL2_TRAP_LAYOUT_H
#define EXO_EL2_TRAP_LAYOUT_H

#define VCPU_REGS 0                /* x0-x30, 8 bytes each */
#define VCPU_X18 (VCPU_REGS + 18 * 8)
#define VCPU_X19 (VCPU_REGS + 19 * 8)
#define VCPU_X30 (VCPU_REGS + 30 * 8)
#define VCPU_ELR 248
#define VCPU_SPSR 256
#define VCPU_STATE_OFFSET 264      /* 32 bits, 0 (VCPU_RUNNABLE): runs on */

#define PERCPU_CURRENT 0           /* the running vCPU */
#define PERCPU_SCHED_PENDING 32    /* 32 bits, 0: nothing to account */

#define CPU_BOOT_MAIR 0            /* struct cpu_boot (el2/arch.h) */
#define CPU_BOOT_TCR 8
#define CPU_BOOT_TTBR0 16
#define CPU_BOOT_SCTLR 24
#define CPU_BOOT_VBAR 32
#define CPU_BOOT_STACK_TOP 40
#define CPU_BOOT_CPU 48

#endif
