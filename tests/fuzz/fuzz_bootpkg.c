/*
 * libFuzzer target: the boot package reader (el2/bootpkg.c). The input is
 * a package, copied to a 4 KiB-aligned buffer of exactly its size (ASan
 * catches any read past it). bootpkg_parse() either refuses it with a
 * sentence and leaves nothing behind, or everything it accepted holds:
 * entries named as the format says, unique, page-aligned, after the entry
 * table and each other, inside the package; every blob is read whole; and
 * bootpkg_find() finds each name at its blob, and nothing else.
 */
#define _GNU_SOURCE /* posix_memalign, strnlen */
#include "fuzz_common.h"

#include <el2/bootpkg.h>

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	       c == '+';
}

static void check_accepted(const uint8_t *base, size_t size,
			   const struct bootpkg *pkg)
{
	uint64_t next = sizeof(struct bootpkg_header) +
			pkg->nr_entries * sizeof(struct bootpkg_entry);
	volatile uint8_t sum = 0;

	FUZZ_CHECK(pkg->base == base && pkg->size <= size &&
			   pkg->size <= BOOTPKG_MAX_SIZE,
		   "accepted a package of %lu bytes in %zu",
		   (unsigned long)pkg->size, size);
	FUZZ_CHECK(pkg->nr_entries >= 1 && pkg->nr_entries <= BOOTPKG_MAX_ENTRIES,
		   "accepted %u entries", pkg->nr_entries);
	FUZZ_CHECK(next <= pkg->size, "entry table past the end");
	for (unsigned i = 0; i < pkg->nr_entries; i++) {
		const struct bootpkg_entry *e = &pkg->entries[i];
		size_t len = strnlen(e->name, BOOTPKG_NAME_SIZE);
		struct bootpkg_blob b;

		FUZZ_CHECK(len >= 1 && len <= BOOTPKG_NAME_MAX,
			   "entry %u: name of %zu bytes accepted", i, len);
		for (size_t j = 0; j < BOOTPKG_NAME_SIZE; j++)
			FUZZ_CHECK(j < len ? name_char_ok(e->name[j]) : !e->name[j],
				   "entry %u: bad name byte %zu accepted", i, j);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(pkg->entries[j].name, e->name),
				   "entries %u and %u share a name", j, i);
		FUZZ_CHECK(e->size && e->offset % BOOTPKG_ALIGN == 0 &&
				   e->offset >= next && e->offset <= pkg->size &&
				   e->size <= pkg->size - e->offset,
			   "entry %u: blob [0x%lx, +0x%lx) accepted", i,
			   (unsigned long)e->offset, (unsigned long)e->size);
		next = e->offset + e->size;

		b = bootpkg_find(pkg, e->name);
		FUZZ_CHECK(b.data == base + e->offset && b.size == e->size &&
				   b.name && !strcmp(b.name, e->name),
			   "bootpkg_find('%s') did not find entry %u", e->name,
			   i);
		for (uint64_t k = 0; k < b.size; k++)
			sum += ((const uint8_t *)b.data)[k];
	}
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bootpkg pkg;
	static const struct bootpkg zero;
	char err[128];
	uint8_t *buf = NULL;
	struct bootpkg_blob b;
	int rc;

	if (posix_memalign((void **)&buf, BOOTPKG_ALIGN, size ? size : 1))
		fuzz_fail("out of memory");
	memcpy(buf, data, size);
	rc = bootpkg_parse(buf, size, &pkg, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1, "bootpkg_parse returned %d", rc);
	if (rc) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) &&
				   !strncmp(err, "boot package: ", 14),
			   "refused without a proper reason");
		FUZZ_CHECK(!memcmp(&pkg, &zero, sizeof(pkg)),
			   "a refused package left entries behind");
	} else {
		check_accepted(buf, size, &pkg);
	}
	b = bootpkg_find(&pkg, "no such entry");
	FUZZ_CHECK(!b.data && !b.name, "found a name no entry has");
	b = bootpkg_find(&pkg, "");
	FUZZ_CHECK(!b.data && !b.name, "found the empty name");
	/* Misaligned: always refused, before anything is read. */
	if (size > 1) {
		FUZZ_CHECK(bootpkg_parse(buf + 1, size - 1, &pkg, err,
					 sizeof(err)) == -1,
			   "accepted a package that is not page-aligned");
	}
	free(buf);
	return 0;
}
