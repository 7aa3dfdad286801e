/*
 * The part of Criterion's interface tests/host/test_libos_smp.c and the
 * fakes it links use, for `make tsan-test` (Criterion's shared arena
 * cannot be set up under ThreadSanitizer's memory layout): Test()
 * registers the function, the assertions print what failed and stop the
 * process, and tests/host/tsan_libos/main.c runs every test whose "suite/name" matches
 * --filter's prefix in a child process of its own, as Criterion does.
 */
#ifndef EXO_TESTS_TSAN_CRITERION_H
#define EXO_TESTS_TSAN_CRITERION_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct tsan_test {
	const char *suite, *name;
	void (*fn)(void);
};

void tsan_register(const struct tsan_test *t);

#define Test(suite_, name_)                                                    \
	static void suite_##_##name_(void);                                    \
	__attribute__((constructor)) static void reg_##suite_##_##name_(void)  \
	{                                                                      \
		static const struct tsan_test t = { #suite_, #name_,           \
						    suite_##_##name_ };        \
		tsan_register(&t);                                             \
	}                                                                      \
	static void suite_##_##name_(void)

#define TSAN_FAIL_(what, ...)                                                  \
	do {                                                                   \
		fprintf(stderr, "%s:%d: %s failed: ", __FILE__, __LINE__,      \
			what);                                                 \
		fprintf(stderr, "" __VA_ARGS__);                               \
		fprintf(stderr, "\n");                                         \
		exit(1);                                                       \
	} while (0)

#define cr_assert(c, ...)                                                      \
	do {                                                                   \
		if (!(c))                                                      \
			TSAN_FAIL_(#c, __VA_ARGS__);                           \
	} while (0)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)

#endif
