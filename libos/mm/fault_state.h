/*
 * What fault.c keeps and the fault fast path (vmfault.c, libos_fault_fast)
 * must keep the same way: the fault counters and the flag that says a
 * fault is being handled. Internal to libos/mm; readers outside use
 * libos_fault_stats.
 */
#ifndef EXO_LIBOS_MM_FAULT_STATE_H
#define EXO_LIBOS_MM_FAULT_STATE_H

#include <libos/mm/mm.h>
#include <stdbool.h>

/* Hidden: one image holds them, so the fast path reaches them PC-relative
 * (no GOT load in the PIE). */
#define FAULT_STATE_LOCAL __attribute__((visibility("hidden")))
extern FAULT_STATE_LOCAL struct libos_fault_stats libos_fault_counters;
extern FAULT_STATE_LOCAL bool libos_fault_busy;

#endif
