/*
 * A guest's console: bytes from CONSOLE_WRITE or the emulated PL011 become
 * whole lines "[name] ...", so guests' output never interleaves mid-line.
 * The console is shared by every guest, so each has a line budget: a
 * burst, refilled at a steady rate of counter time; lines past it are
 * dropped and counted, and the count is printed as a line of its own when
 * the guest may print again (once half the burst has come back) or ends;
 * the count is a line of the budget too. Bytes outside printable ASCII (and
 * tab) are shown escaped, so a guest cannot drive the host terminal.
 *
 * Owns: struct vm_console (the line being built, the budgets of the
 * guest's lines and of EL2's reports about it, the counts dropped). Never: blocks or fails the guest's call (a dropped line
 * is silently counted), or prints part of a line.
 */
#ifndef EXO_EL2_VM_CONSOLE_H
#define EXO_EL2_VM_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#define VM_CONSOLE_LINE 120
/* The budget: a guest may print this many lines at once... */
#define VM_CONSOLE_BURST_LINES 1024u
/* ...and this many more per second of counter time. */
#define VM_CONSOLE_LINES_PER_S 512u
/* EL2's reports about a guest that do not end it (aborts on frames EL2
 * took back, not counted as violations) have a budget of their own, so a
 * guest cannot flood the console through EL2 either, nor silence itself. */
#define VM_REPORT_BURST_LINES 64u
#define VM_REPORT_LINES_PER_S 16u

/* A number of lines at once, refilled at a steady rate; past it, muted
 * until half the burst has come back, the lines counted. */
struct line_budget {
	bool started;
	bool muted;
	uint64_t lines_left;		/* it may print these now */
	uint64_t refilled_at;		/* counter value lines_left is as of */
	uint64_t dropped;		/* lines not printed, not yet reported */
};

struct vm_console {
	char line[VM_CONSOLE_LINE];	/* console bytes until a newline */
	unsigned line_len;
	struct line_budget lines;	/* the guest's own lines */
	struct line_budget reports;	/* EL2's reports about it */
};

struct vm;

/* n bytes a guest wrote. */
void vm_console_put(struct vm *vm, const char *s, unsigned n);
/* Whether EL2 may print one more report about the guest now (true: the
 * line is charged; a count of reports dropped before it is printed
 * first). */
bool vm_console_report_allowed(struct vm *vm);
/* The guest ends or restarts: its unfinished line, then how many lines
 * and reports were dropped, if any. The budget is the guest's, not its life's: a
 * restart does not refill it. */
void vm_console_flush(struct vm *vm);

#endif
