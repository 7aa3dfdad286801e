/*
 * What a guest's exit status means, for the guest runtime that exits with
 * it and for EL2, whose summary decodes it (lib/exit_describe.c; docs/abi.md,
 * "Exit statuses"). Plain numbers so el1/start.S can use them too.
 *
 * A guest's main() returns its own status: 0 is success, and the values
 * below EXO_EXIT_RUNTIME_MIN are the guest's to give a meaning (1 is the
 * usual "something failed"). From EXO_EXIT_RUNTIME_MIN up, statuses are
 * the runtime's.
 *
 * EXIT (include/exo/hvc.h) also carries a cause (x2, EXO_EXIT_CAUSE_*) and
 * an address (x3): what the runtime knows of why. EL2 prints them as the
 * guest gave them and trusts none of it.
 */
#ifndef EXO_EXIT_STATUS_H
#define EXO_EXIT_STATUS_H

#define EXO_EXIT_SUCCESS 0

#define EXO_EXIT_RUNTIME_MIN 119
/* The quota cannot hold what the library OS needs to start (libos printed
 * "start-up needs N frames, quota Q (...)" first). */
#define EXO_EXIT_STARTUP_QUOTA 119
/* Loaded at an address that is not page-aligned: adrp cannot work. */
#define EXO_EXIT_BAD_LOAD 120
/* An exception while reporting an unhandled exception, handlers that
 * fault again and again, or a panic while reporting a panic. */
#define EXO_EXIT_NESTED_FAULT 121
/* The library OS could not turn the MMU on (the reason is printed first):
 * a granule the CPU lacks, an image it cannot map. */
#define EXO_EXIT_MMU 122
/* The guest DTB (/memory, /chosen) cannot be read. */
#define EXO_EXIT_BAD_DTB 123
/* The library OS refused to start: the heap policy is not one it knows. */
#define EXO_EXIT_HEAP_POLICY 124
/* ... a libos option has a malformed value (--pool-high-water=lots). */
#define EXO_EXIT_BAD_OPTION 125
/* ... an option ("--name") in args is neither libos's nor the guest's. */
#define EXO_EXIT_UNKNOWN_OPTION 126
/* panic() or a failed CHECK() (lib/panic.c); the PANIC line says why. */
#define EXO_EXIT_PANIC 127

/* Unhandled synchronous exception: this plus ESR_EL1.EC (128..191). */
#define EXO_EXIT_SYNC_BASE 128
/* Unhandled IRQ, FIQ, SError: this plus the vector type (193..195). */
#define EXO_EXIT_ASYNC_BASE 192
#define EXO_EXIT_ASYNC_IRQ 1
#define EXO_EXIT_ASYNC_FIQ 2
#define EXO_EXIT_ASYNC_SERROR 3

/* Causes (EXIT x2): why an unhandled abort could not be resolved, as the
 * library OS decided. The address (x3) is the fault address (FAR). */
#define EXO_EXIT_CAUSE_NONE 0
/* A stack touched its guard page at its growth limit, or el1's boot
 * stack ran into the guard page below it. */
#define EXO_EXIT_CAUSE_STACK_OVERFLOW 1
/* A guard region, or below a stack's guard page. */
#define EXO_EXIT_CAUSE_GUARD 2
/* An access the region does not allow (a write to read-only, ...). */
#define EXO_EXIT_CAUSE_NOT_ALLOWED 3
/* The address is in no region: nothing should be there. */
#define EXO_EXIT_CAUSE_NO_REGION 4
/* A page the region should map could not be had: no frames left. */
#define EXO_EXIT_CAUSE_NO_MEMORY 5
#define EXO_EXIT_CAUSES 6

#endif
