/*
 * What fault.c keeps and the fault fast path (vmfault.c, libos_fault_fast)
 * must keep the same way: the fault counters and the flag that says a
 * fault is being handled. Internal to libos/mm; readers outside use
 * libos_fault_stats.
 */
#ifndef EXO_LIBOS_MM_FAULT_STATE_H
#define EXO_LIBOS_MM_FAULT_STATE_H

#include <libos/lock.h>
#include <libos/mm/mm.h>
#include <stdbool.h>

/* Hidden: one image holds them, so the fast path reaches them PC-relative
 * (no GOT load in the PIE). The counters change under libos's lock, or
 * on the fast path while one vCPU runs; the flag is each vCPU's (a fault
 * on one is never nested in another's), and the fast path, which runs
 * only while the boot vCPU runs alone, reads vCPU 0's. */
#define FAULT_STATE_LOCAL __attribute__((visibility("hidden")))
extern FAULT_STATE_LOCAL struct libos_fault_stats libos_fault_counters;
extern FAULT_STATE_LOCAL bool libos_fault_busy[LIBOS_CPUS_MAX];
#define LIBOS_FAULT_FAST_CPU 0	/* the boot vCPU: the fast path's */

#endif
