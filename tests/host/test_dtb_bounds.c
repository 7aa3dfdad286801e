/*
 * el2/dtb_bounds.c: DTBs assembled here word by word (so any field can be
 * wrong), one Test per class of rejection, each checking the sentence names
 * what is wrong; and real trees (libfdt's, with NOPs, 32 levels deep) pass.
 * A .timeout on each means a walk that fails to end fails the test.
 */
#include <criterion/criterion.h>
#include <el2/dtb_bounds.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#define HDR DTB_BOUNDS_HEADER_SIZE
#define RSVMAP_OFF HDR              /* one all-zero entry */
#define STRUCT_OFF (RSVMAP_OFF + 16)
#define STRINGS "compatible\0reg\0"
#define NAMEOFF_REG 11u

/* Header field offsets (the v17 layout). */
enum { H_MAGIC = 0, H_TOTAL = 4, H_OFF_STRUCT = 8, H_OFF_STRINGS = 12,
       H_OFF_RSVMAP = 16, H_VERSION = 20, H_LAST_COMP = 24,
       H_SIZE_STRINGS = 32, H_SIZE_STRUCT = 36 };

struct build {
	uint8_t s[1024];            /* the structure block */
	size_t n;
};

static uint8_t dtb[2048] __attribute__((aligned(8)));
static char why[192];

static void set32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

static void put32(struct build *b, uint32_t v)
{
	cr_assert_leq(b->n + 4, sizeof(b->s));
	set32(b->s + b->n, v);
	b->n += 4;
}

static void put_bytes(struct build *b, const void *p, size_t len)
{
	cr_assert_leq(b->n + len + 3, sizeof(b->s));
	memcpy(b->s + b->n, p, len);
	b->n += len;
	while (b->n % 4)
		b->s[b->n++] = 0;
}

static void begin(struct build *b, const char *name)
{
	put32(b, FDT_BEGIN_NODE);
	put_bytes(b, name, strlen(name) + 1);
}

static void prop(struct build *b, uint32_t nameoff, const void *val,
		 uint32_t len)
{
	put32(b, FDT_PROP);
	put32(b, len);
	put32(b, nameoff);
	put_bytes(b, val, len);
}

/* Header, empty memory reservation map, b, then the strings; returns the
 * total size. */
static size_t finish(const struct build *b)
{
	size_t strings = STRUCT_OFF + b->n, total = strings + sizeof(STRINGS);

	memset(dtb, 0, sizeof(dtb));
	set32(dtb + H_MAGIC, FDT_MAGIC);
	set32(dtb + H_TOTAL, (uint32_t)total);
	set32(dtb + H_OFF_STRUCT, STRUCT_OFF);
	set32(dtb + H_OFF_STRINGS, (uint32_t)strings);
	set32(dtb + H_OFF_RSVMAP, RSVMAP_OFF);
	set32(dtb + H_VERSION, 17);
	set32(dtb + H_LAST_COMP, 16);
	set32(dtb + H_SIZE_STRINGS, sizeof(STRINGS));
	set32(dtb + H_SIZE_STRUCT, (uint32_t)b->n);
	memcpy(dtb + STRUCT_OFF, b->s, b->n);
	memcpy(dtb + strings, STRINGS, sizeof(STRINGS));
	return total;
}

/* / { compatible = "exo,system"; guests { g { reg = <1>; }; }; }; */
static void good_tree(struct build *b)
{
	static const uint8_t one[4] = { 0, 0, 0, 1 };

	begin(b, "");
	prop(b, 0, "exo,system", 11);
	begin(b, "guests");
	begin(b, "g");
	prop(b, NAMEOFF_REG, one, sizeof(one));
	put32(b, FDT_END_NODE);
	put32(b, FDT_END_NODE);
	put32(b, FDT_END_NODE);
}

static size_t good_dtb(void)
{
	struct build b = { .n = 0 };

	good_tree(&b);
	put32(&b, FDT_END);
	return finish(&b);
}

static void expect_refused(size_t size, const char *words)
{
	why[0] = '\0';
	cr_assert_eq(dtb_bounds_check(dtb, size, why, sizeof(why)), -1,
		     "accepted; wanted '%s'", words);
	cr_assert(strstr(why, words), "'%s' lacks '%s'", why, words);
}

static void expect_accepted(size_t size)
{
	cr_assert_eq(dtb_bounds_check(dtb, size, why, sizeof(why)), 0, "%s",
		     why);
	cr_assert_eq(fdt_check_full(dtb, size), 0, "libfdt disagrees");
}

TestSuite(dtb_bounds, .timeout = 10);

/* --- accepted ---------------------------------------------------------------- */

Test(dtb_bounds, hand_made_tree_passes_and_libfdt_agrees)
{
	expect_accepted(good_dtb());
}

Test(dtb_bounds, libfdt_made_tree_with_nops_passes)
{
	void *f = dtb;

	memset(dtb, 0, sizeof(dtb));
	cr_assert_eq(fdt_create(f, sizeof(dtb)), 0);
	fdt_add_reservemap_entry(f, 0x40000000, 0x1000);
	fdt_finish_reservemap(f);
	fdt_begin_node(f, "");
	fdt_property_string(f, "compatible", "exo,system");
	fdt_begin_node(f, "guests");
	fdt_property(f, "empty", NULL, 0);
	fdt_end_node(f);
	fdt_end_node(f);
	cr_assert_eq(fdt_finish(f), 0);
	cr_assert_eq(fdt_nop_property(f, 0, "compatible"), 0);
	expect_accepted(fdt_totalsize(f));
}

Test(dtb_bounds, blob_larger_than_totalsize_passes)
{
	good_dtb();
	expect_accepted(sizeof(dtb));
}

static size_t nested(unsigned depth)
{
	struct build b = { .n = 0 };

	for (unsigned i = 0; i < depth; i++)
		begin(&b, i ? "n" : "");
	for (unsigned i = 0; i < depth; i++)
		put32(&b, FDT_END_NODE);
	put32(&b, FDT_END);
	return finish(&b);
}

Test(dtb_bounds, nesting_at_the_limit_passes)
{
	expect_accepted(nested(DTB_BOUNDS_MAX_DEPTH));
}

/* --- the header -------------------------------------------------------------- */

Test(dtb_bounds, truncated_header)
{
	good_dtb();
	expect_refused(HDR - 1, "39 bytes, smaller than a DTB header (40)");
	expect_refused(0, "0 bytes");
}

Test(dtb_bounds, bad_magic)
{
	good_dtb();
	set32(dtb + H_MAGIC, 0x7f454c46);
	expect_refused(sizeof(dtb), "bad magic 0x7f454c46");
}

Test(dtb_bounds, version_older_than_17)
{
	size_t size = good_dtb();

	set32(dtb + H_VERSION, 16);
	expect_refused(size, "version 16 (compatible with 16), not 17");
	set32(dtb + H_VERSION, 17);
	set32(dtb + H_LAST_COMP, 18);
	expect_refused(size, "version 17 (compatible with 18)");
}

Test(dtb_bounds, totalsize_past_the_blob)
{
	size_t size = good_dtb();

	expect_refused(size - 1, "truncated: totalsize says");
	set32(dtb + H_TOTAL, 0x80000000u);
	expect_refused(size, "totalsize 0x80000000 is above 2 GiB");
	set32(dtb + H_TOTAL, HDR - 4);
	expect_refused(size, "is smaller than the header");
}

Test(dtb_bounds, struct_block_past_totalsize)
{
	size_t size = good_dtb();

	set32(dtb + H_SIZE_STRUCT, 0xfffffff0u);
	expect_refused(size, "structure block at 0x38, 0xfffffff0 bytes, ends "
		       "past totalsize");
	good_dtb();
	set32(dtb + H_OFF_STRUCT, 0xfffffffcu);
	expect_refused(size, "structure block at 0xfffffffc");
}

Test(dtb_bounds, struct_block_misplaced)
{
	size_t size = good_dtb();

	set32(dtb + H_OFF_STRUCT, STRUCT_OFF + 2);
	expect_refused(size, "structure block at 0x3a is not 4-byte aligned");
	set32(dtb + H_OFF_STRUCT, 8);
	expect_refused(size, "structure block at 0x8 overlaps the header");
}

Test(dtb_bounds, strings_block_past_totalsize)
{
	size_t size = good_dtb();

	set32(dtb + H_SIZE_STRINGS, 0x1000);
	expect_refused(size, "strings block at");
}

Test(dtb_bounds, reservation_map_without_end)
{
	size_t size = good_dtb();

	/* Every 16-byte entry from the map to totalsize has a size. */
	for (size_t o = RSVMAP_OFF + 8; o + 8 <= size; o += 16)
		set32(dtb + o, 1);
	expect_refused(size, "memory reservation map at 0x28 has no end entry");
	good_dtb();
	set32(dtb + H_OFF_RSVMAP, RSVMAP_OFF + 4);
	expect_refused(size, "is not 8-byte aligned");
}

/* --- the structure block ---------------------------------------------------- */

Test(dtb_bounds, bad_tag)
{
	struct build b = { .n = 0 };

	begin(&b, "");
	put32(&b, 0x5);
	put32(&b, FDT_END_NODE);
	put32(&b, FDT_END);
	expect_refused(finish(&b), "unknown tag 0x5 at 0x40");
}

/* The fuzz finding: 12 + len wraps the int offset back onto the tag. */
Test(dtb_bounds, property_length_near_2_pow_32)
{
	static const uint32_t lens[] = { 0xfffffff4u, 0xffffffe8u, 0xffffffffu,
					 0x80000000u, 0x41 };
	size_t size = good_dtb();
	uint32_t len_at = STRUCT_OFF + 8 + 4; /* root tag + name, prop tag */

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char words[96];

		set32(dtb + len_at, lens[i]);
		snprintf(words, sizeof(words), "property at 0x40 has length "
			 "0x%x, past the end of the structure block (0x",
			 lens[i]);
		expect_refused(size, words);
	}
}

Test(dtb_bounds, property_cut_off)
{
	struct build b = { .n = 0 };

	begin(&b, "");
	put32(&b, FDT_PROP);
	put32(&b, 0);
	expect_refused(finish(&b), "property at 0x40 is cut off");
}

Test(dtb_bounds, property_outside_any_node)
{
	struct build b = { .n = 0 };

	prop(&b, 0, "x", 2);
	good_tree(&b);
	put32(&b, FDT_END);
	expect_refused(finish(&b), "property at 0x38 is outside any node");
}

Test(dtb_bounds, nameoff_past_strings)
{
	size_t size = good_dtb();

	set32(dtb + STRUCT_OFF + 16, sizeof(STRINGS));
	expect_refused(size, "property at 0x40: name offset 0x10 is past the "
		       "strings block (0x10 bytes)");
}

Test(dtb_bounds, property_name_unterminated)
{
	size_t size = good_dtb();

	/* "reg\0" and the padding NUL are last: both become letters. */
	dtb[size - 2] = dtb[size - 1] = 'x';
	expect_refused(size, "its name (strings offset 0xb) is not "
		       "NUL-terminated inside the strings block");
}

Test(dtb_bounds, node_name_unterminated)
{
	struct build b = { .n = 0 };

	put32(&b, FDT_BEGIN_NODE);
	put32(&b, 0x61616161);      /* "aaaa" to the end of the block */
	expect_refused(finish(&b), "node name at 0x3c is not NUL-terminated");
}

Test(dtb_bounds, too_deep)
{
	expect_refused(nested(DTB_BOUNDS_MAX_DEPTH + 1),
		       "is nested deeper than 32 levels");
}

Test(dtb_bounds, missing_end)
{
	struct build b = { .n = 0 };

	good_tree(&b);
	expect_refused(finish(&b), "the structure block (0x38 to 0x");
	cr_assert(strstr(why, ") has no END tag"), "%s", why);
}

Test(dtb_bounds, end_inside_open_node)
{
	struct build b = { .n = 0 };

	begin(&b, "");
	begin(&b, "a");
	put32(&b, FDT_END_NODE);
	put32(&b, FDT_END);
	expect_refused(finish(&b), "END at 0x4c with 1 node(s) still open");
}

Test(dtb_bounds, end_before_any_node)
{
	struct build b = { .n = 0 };

	put32(&b, FDT_NOP);
	put32(&b, FDT_END);
	expect_refused(finish(&b), "END at 0x3c before any node");
}

Test(dtb_bounds, end_node_closing_nothing)
{
	struct build b = { .n = 0 };

	put32(&b, FDT_END_NODE);
	expect_refused(finish(&b), "END_NODE at 0x38 closes no node");
}

Test(dtb_bounds, second_root_node)
{
	struct build b = { .n = 0 };

	good_tree(&b);
	begin(&b, "");
	put32(&b, FDT_END_NODE);
	put32(&b, FDT_END);
	expect_refused(finish(&b), "a second root node at 0x");
}

Test(dtb_bounds, reason_fits_a_small_buffer)
{
	char small[8];

	good_dtb();
	cr_assert_eq(dtb_bounds_check(dtb, 4, small, sizeof(small)), -1);
	cr_assert_str_eq(small, "4 bytes");
}
