/*
 * Host tests that read what libos or EL2 printed: the console sink that
 * keeps it (lib/print.c's print_set_console). One copy for every test
 * file. Never: keeps more than CAPTURE_MAX - 1 bytes (the rest is cut).
 */
#ifndef EXO_TESTS_CONSOLE_CAPTURE_H
#define EXO_TESTS_CONSOLE_CAPTURE_H

#include <stddef.h>

#define CAPTURE_MAX 16384

extern char capture_out[CAPTURE_MAX];	/* NUL-terminated */
extern size_t capture_len;

/* The sink to give print_set_console. */
void capture_console(const char *s, size_t n);

#endif
