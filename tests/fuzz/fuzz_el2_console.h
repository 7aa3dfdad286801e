/*
 * EL2's console for the fuzz targets that link el2/: quiet (a fuzzer runs
 * millions of inputs), except that a PANIC line always reaches stderr so a
 * crash report says what EL2 found. FUZZ_VERBOSE=1 in the environment
 * prints everything. "warning:" lines are counted: EL2 only warns about a
 * state it should never reach (a leak at teardown), which a harness treats
 * as a failure.
 */
#ifndef EXO_TESTS_FUZZ_EL2_CONSOLE_H
#define EXO_TESTS_FUZZ_EL2_CONSOLE_H

#include <lib/print.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char fuzz_line[512];
static size_t fuzz_line_len;
static bool fuzz_verbose;
static unsigned fuzz_warnings;
static char fuzz_last_warning[512];

static void fuzz_line_end(void)
{
	fuzz_line[fuzz_line_len] = '\0';
	if (!strncmp(fuzz_line, "warning:", 8)) {
		fuzz_warnings++;
		memcpy(fuzz_last_warning, fuzz_line, fuzz_line_len + 1);
	}
	if (fuzz_verbose || !strncmp(fuzz_line, "PANIC", 5))
		fprintf(stderr, "%s\n", fuzz_line);
	fuzz_line_len = 0;
}

static void fuzz_console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			fuzz_line_end();
			continue;
		}
		if (fuzz_line_len < sizeof(fuzz_line) - 1)
			fuzz_line[fuzz_line_len++] = s[i];
	}
}

static void fuzz_console_init(void)
{
	const char *v = getenv("FUZZ_VERBOSE");

	fuzz_verbose = v && *v && strcmp(v, "0");
	print_set_console(fuzz_console_write, "");
}

#endif
