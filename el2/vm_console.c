/*
 * Guest console lines and their budget (vm_console.h).
 */
#include <el2/arch.h>
#include <el2/timing.h>
#include <el2/vm.h>
#include <el2/vm_console.h>
#include <lib/fmt.h>
#include <lib/print.h>

/* "\xNN": what a byte outside printable ASCII becomes. */
#define ESCAPED_LEN 4
#define ASCII_DEL 0x7f

static void print_prefixed(const struct vm *vm, const char *s, size_t n)
{
	char prefix[VM_NAME_MAX + 4];

	fmt_snprintf(prefix, sizeof(prefix), "[%s] ", vm->name);
	print_line(prefix, s, n);
}

/* Prints how many lines the budget dropped since the last count: the
 * guest's own as "[name] (N lines dropped: ...)", EL2's reports about it
 * as an EL2 line. */
static void report_dropped(struct vm *vm, struct line_budget *b)
{
	char note[VM_NAME_MAX + 80];
	int n;

	if (!b->dropped)
		return;
	if (b == &vm->console.lines) {
		n = fmt_snprintf(note, sizeof(note),
				 "(%lu line%s dropped: over the console "
				 "budget)", (unsigned long)b->dropped,
				 b->dropped == 1 ? "" : "s");
		print_prefixed(vm, note, (size_t)n);
	} else {
		kprintf("guest '%s': %lu report%s about it dropped: over its "
			"report budget\n", vm->name, (unsigned long)b->dropped,
			b->dropped == 1 ? "" : "s");
	}
	b->dropped = 0;
}

/* Lines the budget gained since it was last refilled; the remainder of a
 * line's worth of ticks is kept, so the rate holds over any period. */
static void refill(struct line_budget *b, uint64_t burst, uint64_t per_s)
{
	uint64_t now = arch_counter();
	uint64_t per_line = arch_timer_freq() / per_s;
	uint64_t gained;

	if (!b->started || !per_line) {
		b->started = true;
		b->lines_left = burst;
		b->refilled_at = now;
		return;
	}
	gained = (now - b->refilled_at) / per_line;
	if (gained >= burst - b->lines_left) {
		b->lines_left = burst;
		b->refilled_at = now;
	} else {
		b->lines_left += gained;
		b->refilled_at += gained * per_line;
	}
}

/* Whether a line may be printed. Past its budget a source stays muted
 * until half the burst has come back, so a steady flood prints in bursts
 * with one count between them, not a count before every line. */
static bool may_print(struct line_budget *b, uint64_t burst, uint64_t per_s)
{
	refill(b, burst, per_s);
	if (b->muted && b->lines_left >= burst / 2)
		b->muted = false;
	if (!b->lines_left)
		b->muted = true;
	return !b->muted;
}

/* One line from the budget: the count of lines dropped before it first
 * (a line of the budget too); counted instead when the budget is spent.
 * One refill per line: the counter is read once. */
static bool charge_line(struct vm *vm, struct line_budget *b,
			uint64_t burst, uint64_t per_s)
{
	if (!may_print(b, burst, per_s)) {
		b->dropped++;
		return false;
	}
	if (b->dropped) {
		b->lines_left--;
		report_dropped(vm, b);
		if (!b->lines_left) {	/* the count took the last line */
			b->muted = true;
			b->dropped++;
			return false;
		}
	}
	b->lines_left--;
	return true;
}

/* The line built so far, if the guest's budget allows it. */
static void emit_line(struct vm *vm)
{
	struct vm_console *c = &vm->console;

	if (charge_line(vm, &c->lines, VM_CONSOLE_BURST_LINES,
			VM_CONSOLE_LINES_PER_S)) {
		timing_guest_line();
		print_prefixed(vm, c->line, c->line_len);
	}
	c->line_len = 0;
}

bool vm_console_report_allowed(struct vm *vm)
{
	return charge_line(vm, &vm->console.reports, VM_REPORT_BURST_LINES,
			   VM_REPORT_LINES_PER_S);
}

static void append(struct vm *vm, const char *s, unsigned n)
{
	struct vm_console *c = &vm->console;

	if (c->line_len + n > VM_CONSOLE_LINE)
		emit_line(vm);
	for (unsigned i = 0; i < n; i++)
		c->line[c->line_len++] = s[i];
}

static void put_byte(struct vm *vm, unsigned char b)
{
	char escaped[ESCAPED_LEN + 1];

	if (b == '\n') {
		if (!vm->console.line_len)
			append(vm, " ", 1);
		emit_line(vm);
		return;
	}
	if (b == '\r')
		return;
	if ((b >= ' ' && b < ASCII_DEL) || b == '\t') {
		char c = (char)b;

		append(vm, &c, 1);
		return;
	}
	fmt_snprintf(escaped, sizeof(escaped), "\\x%02x", b);
	append(vm, escaped, ESCAPED_LEN);
}

void vm_console_put(struct vm *vm, const char *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put_byte(vm, (unsigned char)s[i]);
}

void vm_console_flush(struct vm *vm)
{
	struct vm_console *c = &vm->console;

	if (c->line_len)
		emit_line(vm);
	report_dropped(vm, &c->lines);
	report_dropped(vm, &c->reports);
}
