/*
 * Console output shared by EL2 and EL1. Each layer registers how bytes reach
 * its console and the prefix of its lines ("[el2] "); kprintf then formats
 * (lib/fmt.h) and writes whole lines, so lines of different CPUs never mix.
 */
#ifndef EXO_LIB_PRINT_H
#define EXO_LIB_PRINT_H

#include <stddef.h>

typedef void (*console_write_fn)(const char *s, size_t n);

void print_set_console(console_write_fn write, const char *line_prefix);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes one line (s[0..n), no newline needed) with its own prefix instead
 * of the layer's: EL2 prints guests' console lines as "[name] ...". */
void print_line(const char *prefix, const char *s, size_t n);

/* After a panic: stop taking the console lock, which the failing CPU may hold. */
void print_enter_panic(void);

#endif
