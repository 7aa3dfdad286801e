/*
 * kprintf: formats into a line buffer and hands whole lines to the layer's
 * console, prefixing each line. Holds the console lock for one call.
 */
#include <lib/fmt.h>
#include <lib/print.h>
#include <lib/spinlock.h>
#include <stdbool.h>

#define PRINT_LINE_MAX 160

static console_write_fn console_write;
static const char *console_prefix = "";
static struct spinlock console_lock = SPINLOCK_INIT;
static bool console_at_line_start = true;
static bool console_panicking;

struct line {
	char buf[PRINT_LINE_MAX];
	size_t len;
};

void print_set_console(console_write_fn write, const char *line_prefix)
{
	console_write = write;
	console_prefix = line_prefix ? line_prefix : "";
}

void print_enter_panic(void)
{
	console_panicking = true;
}

static void flush(struct line *l)
{
	if (l->len && console_write)
		console_write(l->buf, l->len);
	l->len = 0;
}

static void line_put(void *ctx, char c)
{
	struct line *l = ctx;

	if (console_at_line_start) {
		console_at_line_start = false;
		for (const char *p = console_prefix; *p; p++)
			line_put(ctx, *p);
	}
	if (l->len == sizeof(l->buf))
		flush(l);
	l->buf[l->len++] = c;
	if (c == '\n') {
		flush(l);
		console_at_line_start = true;
	}
}

int kprintf(const char *fmt, ...)
{
	struct line l = { .len = 0 };
	bool locked = !console_panicking;
	va_list ap;
	int n;

	if (locked)
		spin_lock(&console_lock);
	va_start(ap, fmt);
	n = fmt_vformat(line_put, &l, fmt, ap);
	va_end(ap);
	flush(&l);
	if (locked)
		spin_unlock(&console_lock);
	return n;
}

void print_line(const char *prefix, const char *s, size_t n)
{
	bool locked = !console_panicking;
	size_t plen = 0;

	if (!console_write)
		return;
	while (prefix[plen])
		plen++;
	if (locked)
		spin_lock(&console_lock);
	if (!console_at_line_start)
		console_write("\n", 1);
	console_write(prefix, plen);
	console_write(s, n);
	console_write("\n", 1);
	console_at_line_start = true;
	if (locked)
		spin_unlock(&console_lock);
}
