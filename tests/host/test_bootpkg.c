/*
 * el2/bootpkg.c on packages built here byte by byte (a good one, then each
 * field broken), and on one packed by tools/mkpkg, so the packer and the
 * parser are checked against each other.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <el2/bootpkg.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PKG_BYTES (8 * BOOTPKG_ALIGN)

static _Alignas(BOOTPKG_ALIGN) uint8_t pkg[PKG_BYTES];

static struct bootpkg_header *hdr(void)
{
	return (struct bootpkg_header *)pkg;
}

static struct bootpkg_entry *entry(int i)
{
	uint8_t *table = pkg + sizeof(struct bootpkg_header);

	return (struct bootpkg_entry *)table + i;
}

static void set_entry(int i, const char *name, uint64_t offset, uint64_t size,
		      uint8_t fill)
{
	struct bootpkg_entry *e = entry(i);

	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, strlen(name));
	e->offset = offset;
	e->size = size;
	if (offset + size <= sizeof(pkg))
		memset(pkg + offset, fill, size);
}

/* manifest.dtb on page 1, two images on pages 2 and 3-4, total 5 pages. */
static void make_good(void)
{
	memset(pkg, 0, sizeof(pkg));
	*hdr() = (struct bootpkg_header){ BOOTPKG_MAGIC, BOOTPKG_VERSION, 3,
					  5 * BOOTPKG_ALIGN };
	set_entry(0, BOOTPKG_MANIFEST_NAME, BOOTPKG_ALIGN, 100, 0x11);
	set_entry(1, "hello.elf", 2 * BOOTPKG_ALIGN, BOOTPKG_ALIGN, 0x22);
	set_entry(2, "spin.elf", 3 * BOOTPKG_ALIGN, BOOTPKG_ALIGN + 1, 0x33);
}

static void expect_error_at(const void *base, uint64_t max, const char *words)
{
	struct bootpkg p;
	char err[128] = "";

	cr_assert_lt(bootpkg_parse(base, max, &p, err, sizeof(err)), 0,
		     "accepted; expected '%s'", words);
	cr_assert(strstr(err, words), "'%s' lacks '%s'", err, words);
	cr_assert_eq(p.nr_entries, 0, "a refused package still has entries");
}

static void expect_error(const char *words)
{
	expect_error_at(pkg, sizeof(pkg), words);
}

Test(bootpkg, parses_and_finds)
{
	struct bootpkg p;
	struct bootpkg_blob b;
	char err[128] = "";

	make_good();
	cr_assert_eq(bootpkg_parse(pkg, sizeof(pkg), &p, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(p.nr_entries, 3);
	cr_assert_eq(p.size, 5 * BOOTPKG_ALIGN);
	b = bootpkg_find(&p, "spin.elf");
	cr_assert_str_eq(b.name, "spin.elf");
	cr_assert_eq(b.data, pkg + 3 * BOOTPKG_ALIGN);
	cr_assert_eq(b.size, BOOTPKG_ALIGN + 1);
	b = bootpkg_find(&p, BOOTPKG_MANIFEST_NAME);
	cr_assert_eq(b.data, pkg + BOOTPKG_ALIGN);
	cr_assert_eq(((const uint8_t *)b.data)[99], 0x11);
}

Test(bootpkg, find_missing_or_prefix)
{
	struct bootpkg p;
	char err[128];

	make_good();
	cr_assert_eq(bootpkg_parse(pkg, sizeof(pkg), &p, err, sizeof(err)), 0);
	cr_assert_null(bootpkg_find(&p, "counter.elf").data);
	cr_assert_null(bootpkg_find(&p, "hello").name);
	cr_assert_null(bootpkg_find(&p, "hello.elf.bak").data);
	cr_assert_null(bootpkg_find(&p, "").data);
}

Test(bootpkg, header_fields)
{
	make_good();
	hdr()->magic ^= 1;
	expect_error("bad magic");
	make_good();
	hdr()->version = 2;
	expect_error("version");
	make_good();
	hdr()->nr_entries = 0;
	expect_error("entry count");
	make_good();
	hdr()->nr_entries = BOOTPKG_MAX_ENTRIES + 1;
	expect_error("entry count");
	make_good();
	hdr()->total_size = sizeof(struct bootpkg_header) + 10;
	expect_error("smaller than its entry table");
	make_good();
	hdr()->total_size = sizeof(pkg) + BOOTPKG_ALIGN;
	expect_error("larger than the space");
	make_good();
	hdr()->total_size = UINT64_MAX;
	expect_error("larger than the space");
}

Test(bootpkg, where_it_lies)
{
	make_good();
	expect_error_at(pkg + 8, sizeof(pkg) - 8, "4 KiB boundary");
	expect_error_at(pkg, sizeof(struct bootpkg_header) - 1, "smaller");
	/* The header says 5 pages; only 4 are there. */
	expect_error_at(pkg, 4 * BOOTPKG_ALIGN, "larger than the space");
}

Test(bootpkg, names)
{
	make_good();
	memset(entry(1)->name, 'a', BOOTPKG_NAME_SIZE);
	expect_error("entry 1: name not NUL-terminated");
	make_good();
	memset(entry(1)->name, 0, BOOTPKG_NAME_SIZE);
	expect_error("entry 1: empty name");
	make_good();
	entry(2)->name[0] = '/';
	expect_error("entry 2: name has a character");
	make_good();
	entry(2)->name[0] = '\n';
	expect_error("entry 2: name has a character");
	make_good();
	entry(1)->name[BOOTPKG_NAME_SIZE - 1] = 'x';
	expect_error("entry 1: name field not zero-padded");
	make_good();
	strcpy(entry(2)->name, "hello.elf");
	expect_error("entry 2: name used by an earlier entry");
}

Test(bootpkg, blob_ranges)
{
	make_good();
	entry(1)->offset += 8;
	expect_error("entry 1: offset not 4 KiB-aligned");
	make_good();
	entry(0)->offset = 0;
	expect_error("entry 0: blob overlaps the entry table");
	make_good();
	entry(2)->offset = entry(1)->offset; /* on top of hello.elf */
	expect_error("entry 2: blob overlaps");
	make_good();
	entry(2)->size = 2 * BOOTPKG_ALIGN + 1;
	expect_error("entry 2: blob extends past the end");
	make_good();
	entry(2)->size = UINT64_MAX - BOOTPKG_ALIGN; /* offset + size wraps */
	expect_error("entry 2: blob extends past the end");
	make_good();
	entry(1)->offset = UINT64_MAX & ~(uint64_t)(BOOTPKG_ALIGN - 1);
	expect_error("entry 1: blob extends past the end");
	make_good();
	entry(1)->size = 0;
	expect_error("entry 1: empty blob");
}

/* Every single-byte corruption of the header and table is either refused or
 * yields blobs inside the package. */
Test(bootpkg, corrupted_tables_stay_inside)
{
	const size_t table = sizeof(struct bootpkg_header) +
			     3 * sizeof(struct bootpkg_entry);

	for (size_t at = 0; at < table; at++) {
		for (int bit = 0; bit < 8; bit++) {
			struct bootpkg p;
			char err[128];

			make_good();
			pkg[at] ^= (uint8_t)(1u << bit);
			if (bootpkg_parse(pkg, sizeof(pkg), &p, err,
					  sizeof(err)))
				continue;
			for (unsigned i = 0; i < p.nr_entries; i++)
				cr_assert_leq(p.entries[i].offset +
						      p.entries[i].size,
					      p.size);
			cr_assert_leq(p.size, sizeof(pkg));
		}
	}
}

/* --- tools/mkpkg ---------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, size, f), size);
	fclose(f);
}

static size_t read_file(const char *path, void *buf, size_t max)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

static size_t small_dtb(void *buf, size_t size)
{
	cr_assert_eq(fdt_create(buf, size), 0);
	fdt_finish_reservemap(buf);
	fdt_begin_node(buf, "");
	fdt_property_string(buf, "compatible", "exo,system");
	fdt_end_node(buf);
	cr_assert_eq(fdt_finish(buf), 0);
	return fdt_totalsize(buf);
}

static int run_mkpkg(const char *dir, const char *manifest)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "tools/mkpkg -o %s/out.pkg %s/%s %s/a.elf "
		 "%s/b-2.elf 2>/dev/null", dir, dir, manifest, dir, dir);
	return system(cmd);
}

Test(bootpkg, mkpkg_output_parses)
{
	char dir[] = "/tmp/exo-mkpkg-XXXXXX", path[256], err[128] = "";
	uint8_t dtb[512], a[5000], b[7];
	struct bootpkg p;
	struct bootpkg_blob blob;
	size_t n;

	if (access("tools/mkpkg", X_OK))
		cr_skip_test("run from the repository root to test tools/mkpkg");
	cr_assert_not_null(mkdtemp(dir));
	memset(a, 0xa5, sizeof(a));
	memset(b, 0x5a, sizeof(b));
	snprintf(path, sizeof(path), "%s/system.dtb", dir);
	write_file(path, dtb, small_dtb(dtb, sizeof(dtb)));
	snprintf(path, sizeof(path), "%s/a.elf", dir);
	write_file(path, a, sizeof(a));
	snprintf(path, sizeof(path), "%s/b-2.elf", dir);
	write_file(path, b, sizeof(b));
	cr_assert_eq(run_mkpkg(dir, "system.dtb"), 0);
	snprintf(path, sizeof(path), "%s/out.pkg", dir);
	n = read_file(path, pkg, sizeof(pkg));
	cr_assert_eq(bootpkg_parse(pkg, n, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.nr_entries, 3);
	cr_assert_eq(p.size, n);
	blob = bootpkg_find(&p, BOOTPKG_MANIFEST_NAME);
	cr_assert_eq(fdt_check_header(blob.data), 0);
	blob = bootpkg_find(&p, "a.elf");
	cr_assert_eq(blob.size, sizeof(a));
	cr_assert_eq(memcmp(blob.data, a, sizeof(a)), 0);
	blob = bootpkg_find(&p, "b-2.elf");
	cr_assert_eq(memcmp(blob.data, b, sizeof(b)), 0);
	/* An ELF given where the manifest belongs is refused. */
	cr_assert_neq(run_mkpkg(dir, "a.elf"), 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	cr_assert_eq(system(path), 0);
}
