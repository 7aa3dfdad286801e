/* lib/string.c against glibc (the host build renames ours to exo_*). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *exo_memcpy(void *restrict d, const void *restrict s, size_t n);
void *exo_memmove(void *d, const void *s, size_t n);
void *exo_memset(void *d, int c, size_t n);
int exo_memcmp(const void *a, const void *b, size_t n);
void *exo_memchr(const void *s, int c, size_t n);
size_t exo_strlen(const char *s);
size_t exo_strnlen(const char *s, size_t max);
char *exo_strchr(const char *s, int c);
char *exo_strrchr(const char *s, int c);
int exo_strcmp(const char *a, const char *b);
int exo_strncmp(const char *a, const char *b, size_t n);
char *exo_strstr(const char *h, const char *n);
unsigned long exo_strtoul(const char *s, char **end, int base);

static int sign(int v) { return (v > 0) - (v < 0); }

Test(string, memcpy_and_memset_every_offset)
{
	unsigned char src[64], a[64], b[64];

	for (int i = 0; i < 64; i++)
		src[i] = (unsigned char)(i * 7 + 3);
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n + off <= 48; n++) {
			memset(a, 0xee, sizeof(a));
			memset(b, 0xee, sizeof(b));
			cr_assert_eq(exo_memcpy(a + off, src + 3, n), a + off);
			memcpy(b + off, src + 3, n);
			cr_assert_arr_eq(a, b, sizeof(a));
			exo_memset(a + off, 0x5a, n);
			memset(b + off, 0x5a, n);
			cr_assert_arr_eq(a, b, sizeof(a));
		}
	}
}

Test(string, memmove_overlapping_both_directions)
{
	for (int shift = -9; shift <= 9; shift++) {
		unsigned char a[64], b[64];

		for (int i = 0; i < 64; i++)
			a[i] = b[i] = (unsigned char)i;
		exo_memmove(a + 20 + shift, a + 20, 30);
		memmove(b + 20 + shift, b + 20, 30);
		cr_assert_arr_eq(a, b, sizeof(a), "shift %d", shift);
	}
}

Test(string, compare_and_search)
{
	const char *s = "hello, exo world";

	cr_assert_eq(sign(exo_memcmp("abc", "abd", 3)), -1);
	cr_assert_eq(sign(exo_memcmp("abd", "abc", 3)), 1);
	cr_assert_eq(exo_memcmp("\xff", "\x01", 1) > 0, 1, "bytes are unsigned");
	cr_assert_eq(exo_memcmp("abc", "abd", 2), 0);
	cr_assert_eq(exo_memchr(s, 'o', 16), s + 4);
	cr_assert_null(exo_memchr(s, 'z', 16));
	cr_assert_eq(exo_strlen(s), 16);
	cr_assert_eq(exo_strnlen(s, 5), 5);
	cr_assert_eq(exo_strnlen(s, 100), 16);
	cr_assert_eq(exo_strchr(s, 'o'), s + 4);
	cr_assert_eq(exo_strchr(s, '\0'), s + 16);
	cr_assert_null(exo_strchr(s, 'z'));
	cr_assert_eq(exo_strrchr(s, 'o'), s + 12);
	cr_assert_null(exo_strrchr(s, 'z'));
	cr_assert_eq(sign(exo_strcmp("a", "b")), -1);
	cr_assert_eq(exo_strcmp("exo", "exo"), 0);
	cr_assert_eq(sign(exo_strcmp("exo", "ex")), 1);
	cr_assert_eq(exo_strncmp("exokernel", "exotic", 3), 0);
	cr_assert_neq(exo_strncmp("exokernel", "exotic", 4), 0);
	cr_assert_eq(exo_strstr(s, "exo"), s + 7);
	cr_assert_eq(exo_strstr(s, ""), s);
	cr_assert_null(exo_strstr(s, "exos"));
}

Test(string, strtoul_matches_glibc)
{
	static const char *const inputs[] = {
		"0", "42", "  17x", "0x1f", "0X1F", "017", "-3", "+9",
		"18446744073709551615", "18446744073709551616", "0x", "zz",
		"", "12345678901234567890123", "0xffffffffffffffff",
	};
	static const int bases[] = { 0, 8, 10, 16, 36 };

	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		for (size_t j = 0; j < sizeof(bases) / sizeof(*bases); j++) {
			char *e1, *e2;
			unsigned long a = exo_strtoul(inputs[i], &e1, bases[j]);
			unsigned long b = strtoul(inputs[i], &e2, bases[j]);

			cr_assert_eq(a, b, "'%s' base %d", inputs[i], bases[j]);
			cr_assert_eq(e1, e2, "'%s' base %d end", inputs[i], bases[j]);
		}
	}
	cr_assert_eq(exo_strtoul("12", NULL, 1), 0, "invalid base gives 0");
}
