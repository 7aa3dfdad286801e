/* lib/fmt.c: each conversion, flag and width against glibc's snprintf. */
#include <criterion/criterion.h>
#include <lib/fmt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define SAME(...)                                                            \
	do {                                                                 \
		char ours[128], libc[128];                                   \
		int n1 = fmt_snprintf(ours, sizeof(ours), __VA_ARGS__);      \
		int n2 = snprintf(libc, sizeof(libc), __VA_ARGS__);          \
		cr_assert_str_eq(ours, libc, "format %s", #__VA_ARGS__);     \
		cr_assert_eq(n1, n2, "length of %s", #__VA_ARGS__);          \
	} while (0)

Test(fmt, integers)
{
	SAME("%d %d %d", 0, -1, 42);
	SAME("%d %d", INT_MIN, INT_MAX);
	SAME("%u %u", 0u, UINT_MAX);
	SAME("%x %X", 0xdeadbeefu, 0xabcdefu);
	SAME("%lx %ld %lu", 0xfedcba9876543210ul, LONG_MIN, ULONG_MAX);
	SAME("%llx %lld", 0x1122334455667788ull, LLONG_MIN);
	SAME("%zu %hu %hhu %hd", (size_t)12345, (unsigned short)65535,
	     (unsigned char)255, (short)-5);
	SAME("%i", -17);
}

Test(fmt, width_and_padding)
{
	SAME("[%5d] [%-5d] [%05d] [%05d]", 42, 42, 42, -42);
	SAME("[%08x] [%016lx] [%2x]", 0xbeefu, 0x1234ul, 0xabcu);
	SAME("[%*d] [%-*d] [%*d]", 6, 7, 6, 7, -6, 7);
	SAME("[%10s] [%-10s] [%.3s] [%-6.2s]", "exo", "exo", "exokernel", "exo");
	SAME("[%c] [%3c] [%-3c]", 'x', 'y', 'z');
	SAME("100%% [%%] %s", "done");
}

Test(fmt, pointers_and_strings)
{
	char ours[64];

	fmt_snprintf(ours, sizeof(ours), "%p", (void *)0x40200000);
	cr_assert_str_eq(ours, "0x40200000");
	fmt_snprintf(ours, sizeof(ours), "%s", (char *)NULL);
	cr_assert_str_eq(ours, "(null)");
}

Test(fmt, truncation_reports_full_length)
{
	char buf[8];

	cr_assert_eq(fmt_snprintf(buf, sizeof(buf), "%s", "exokernel!"), 10);
	cr_assert_str_eq(buf, "exokern");
	cr_assert_eq(fmt_snprintf(buf, 1, "abc"), 3);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(fmt_snprintf(NULL, 0, "%d", 12345), 5);
}

#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
Test(fmt, unknown_conversion_printed_verbatim)
{
	char buf[32];

	fmt_snprintf(buf, sizeof(buf), "a%qb");
	cr_assert_str_eq(buf, "a%qb");
	fmt_snprintf(buf, sizeof(buf), "end%");
	cr_assert_str_eq(buf, "end%");
}

Test(fmt, char_conversion_reads_only_its_char)
{
	char buf[8];

	/* Regression: %c once read past its one-byte argument. */
	cr_assert_eq(fmt_snprintf(buf, sizeof(buf), "%c%c", 'a', '\0'), 2);
	cr_assert_eq(buf[0], 'a');
	cr_assert_eq(buf[1], '\0');
}
