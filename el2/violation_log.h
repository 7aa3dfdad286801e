/*
 * A guest's stage-2 violation reports, printed later (issue 15: the report
 * left the synchronous path, where its console line was 8,000 of the
 * 8,700 instructions a reflected fault took). The trap code counts a
 * violation and ends the guest at its limit at once, as before; the line
 * that names it is kept here, raw, and printed at the guest's next tick,
 * or when it ends or restarts (before the line that says so). A guest
 * that faults faster than its ticks fill the log loses lines, never
 * counts: the number of lines dropped is printed, and each line carries
 * its violation's number.
 *
 * Owns: struct violation_log. Never: counts or judges a violation (the
 * trap code does), or prints on the path that records.
 */
#ifndef EXO_EL2_VIOLATION_LOG_H
#define EXO_EL2_VIOLATION_LOG_H

#include <stdint.h>

#define VIOLATION_LOG_ENTRIES 16u

enum violation_access { VIOLATION_READ, VIOLATION_WRITE, VIOLATION_EXEC };

struct violation_entry {
	uint64_t number;        /* the guest's count, this one included */
	uint64_t pa;
	uint64_t elr;
	uint8_t access;         /* enum violation_access */
	uint8_t fsc;            /* ESR_EL2's fault status code */
};

struct violation_log {
	struct violation_entry e[VIOLATION_LOG_ENTRIES];
	unsigned count;         /* entries waiting, oldest first */
	uint64_t dropped;       /* lines lost to a full log, not yet said */
};

struct vm;

/* Keeps a violation's line for later (a full log counts it dropped).
 * Inline and by value: on the fault path it is a few stores, not a call
 * with the entry built on a protected stack. */
static inline void violation_log_add(struct violation_log *log,
				     struct violation_entry e)
{
	if (log->count == VIOLATION_LOG_ENTRIES) {
		log->dropped++;
		return;
	}
	log->e[log->count++] = e;
}
/* Prints what waits: each line, then how many were dropped. */
void violation_log_print(struct vm *vm);

#endif
