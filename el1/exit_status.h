/*
 * Exit statuses el1 reports to EL2 when the guest cannot go on. Plain
 * numbers so el1/start.S can use them too. A guest's own main() returns
 * its status; these stay clear of the small values main usually returns.
 */
#ifndef EXO_EL1_EXIT_STATUS_H
#define EXO_EL1_EXIT_STATUS_H

/* panic() (lib/panic.c) exits with 1, or with 2 if it panics again. */
#define EL1_EXIT_PANIC 1
#define EL1_EXIT_PANIC_NESTED 2
/* Loaded at an address that is not page-aligned: adrp cannot work. */
#define EL1_EXIT_BAD_LOAD 120
/* The library OS could not turn the MMU on (the reason is printed first):
 * a granule the CPU lacks, an image it cannot map. */
#define EL1_EXIT_MMU 122
/* An exception while reporting an unhandled exception. */
#define EL1_EXIT_NESTED_FAULT 121
/* The library OS refused to start (unknown heap policy, bad libos option);
 * libos printed why. */
#define EL1_EXIT_LIBOS 122
/* Unhandled synchronous exception: this plus ESR_EL1.EC (128..191). */
#define EL1_EXIT_SYNC_BASE 128
/* Unhandled IRQ, FIQ, SError: this plus the vector type (193..195). */
#define EL1_EXIT_ASYNC_BASE 192

/* EXO_HVC_EXIT as a plain number for assembly (exo/hvc.h uses C suffixes);
 * el1/arch.c checks that the two agree. */
#define EL1_ASM_HVC_EXIT 0xc6000008

#endif
