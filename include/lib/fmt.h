/*
 * Formatted output without a C library: %d %i %u %x %X %p %s %c %%, with the
 * flags '-' and '0', a field width (digits or '*'), a precision for %s, and
 * the length modifiers h, hh, l, ll, z. Unknown conversions print verbatim.
 */
#ifndef EXO_LIB_FMT_H
#define EXO_LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Receives each output character in order. */
typedef void (*fmt_put_fn)(void *ctx, char c);

/* Returns the number of characters produced. */
int fmt_vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap);

/* snprintf semantics: always NUL-terminates when size > 0, returns the length
 * the whole output would have had. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
