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

extern struct libos_fault_stats libos_fault_counters;
extern bool libos_fault_busy;

#endif
