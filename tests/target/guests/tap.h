/*
 * TAP output for on-target test guests: "ok N - what" / "not ok N - what",
 * then a plan line "1..N". The pytest side (conftest.tap) parses it. A guest
 * returns tap_done() from main: 0 when every check passed.
 */
#ifndef EXO_TESTS_TAP_H
#define EXO_TESTS_TAP_H

#include <lib/print.h>
#include <stdbool.h>

static unsigned tap_count, tap_failed;

#define TAP_CHECK(cond, ...)                                                 \
	do {                                                                 \
		bool ok_ = (cond);                                           \
		tap_count++;                                                 \
		tap_failed += !ok_;                                          \
		kprintf("%sok %u - ", ok_ ? "" : "not ", tap_count);         \
		kprintf(__VA_ARGS__);                                        \
		kprintf("\n");                                               \
	} while (0)

static inline int tap_done(void)
{
	kprintf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
