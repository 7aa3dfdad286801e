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

static void report_dropped(struct vm *vm)
{
	char note[64];
	int n;

	if (!vm->console.dropped)
		return;
	n = fmt_snprintf(note, sizeof(note),
			 "(%lu line%s dropped: over the console budget)",
			 (unsigned long)vm->console.dropped,
			 vm->console.dropped == 1 ? "" : "s");
	print_prefixed(vm, note, (size_t)n);
	vm->console.dropped = 0;
}

/* Lines the budget gained since it was last refilled; the remainder of a
 * line's worth of ticks is kept, so the rate holds over any period. */
static void refill(struct vm_console *c)
{
	uint64_t now = arch_counter();
	uint64_t per_line = arch_timer_freq() / VM_CONSOLE_LINES_PER_S;
	uint64_t gained;

	if (!c->budget_started || !per_line) {
		c->budget_started = true;
		c->lines_left = VM_CONSOLE_BURST_LINES;
		c->refilled_at = now;
		return;
	}
	gained = (now - c->refilled_at) / per_line;
	if (gained >= VM_CONSOLE_BURST_LINES - c->lines_left) {
		c->lines_left = VM_CONSOLE_BURST_LINES;
		c->refilled_at = now;
	} else {
		c->lines_left += gained;
		c->refilled_at += gained * per_line;
	}
}

/* Whether the line may be printed. A guest past its budget stays muted
 * until half the burst has come back, so a steady flood prints in bursts
 * with one count between them, not a count before every line. */
static bool may_print(struct vm_console *c)
{
	refill(c);
	if (c->muted && c->lines_left >= VM_CONSOLE_BURST_LINES / 2)
		c->muted = false;
	if (!c->lines_left)
		c->muted = true;
	return !c->muted;
}

/* The line built so far, if the budget allows it (the count of dropped
 * lines first, from the same budget); counted otherwise. */
static void emit_line(struct vm *vm)
{
	struct vm_console *c = &vm->console;

	if (may_print(c) && c->dropped) {
		c->lines_left--;
		report_dropped(vm);
	}
	if (may_print(c)) {
		c->lines_left--;
		timing_guest_line();
		print_prefixed(vm, c->line, c->line_len);
	} else {
		c->dropped++;
	}
	c->line_len = 0;
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
	report_dropped(vm);
}
