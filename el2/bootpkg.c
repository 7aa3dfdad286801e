/*
 * Boot package checks. The package comes from outside EL2, so every field
 * is checked against the package's own bounds before use, with overflow-free
 * arithmetic, and the entry table is copied out: later reads never depend on
 * bytes that were not checked. Never writes to the package.
 */
#include <el2/bootpkg.h>
#include <lib/fmt.h>
#include <string.h>

_Static_assert(sizeof(struct bootpkg_header) == 16, "header layout");
_Static_assert(sizeof(struct bootpkg_entry) == BOOTPKG_NAME_SIZE + 16,
	       "entry layout");

static int fail(char *err, size_t size, const char *what)
{
	fmt_snprintf(err, size, "boot package: %s", what);
	return -1;
}

static int fail_entry(char *err, size_t size, unsigned i, const char *what)
{
	fmt_snprintf(err, size, "boot package: entry %u: %s", i, what);
	return -1;
}

/* File-name characters only: names are printed and matched by the manifest. */
static int bootpkg_name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	       c == '+';
}

/* Non-empty, NUL-terminated inside the field, zero-padded after it. */
static const char *bootpkg_check_name(const struct bootpkg_entry *e)
{
	const char *nul = memchr(e->name, '\0', BOOTPKG_NAME_SIZE);
	size_t len;

	if (!nul)
		return "name not NUL-terminated within 32 bytes";
	len = (size_t)(nul - e->name);
	if (len == 0)
		return "empty name";
	for (size_t i = 0; i < len; i++)
		if (!bootpkg_name_char_ok(e->name[i]))
			return "name has a character outside [A-Za-z0-9._+-]";
	for (size_t i = len; i < BOOTPKG_NAME_SIZE; i++)
		if (e->name[i])
			return "name field not zero-padded";
	return NULL;
}

/* The blob lies after the table (and after the previous blob), page-aligned,
 * entirely inside the package. */
static const char *bootpkg_check_range(const struct bootpkg_entry *e,
				       uint64_t min_offset, uint64_t total)
{
	if (e->size == 0)
		return "empty blob";
	if (e->offset % BOOTPKG_ALIGN)
		return "offset not 4 KiB-aligned";
	if (e->offset < min_offset)
		return "blob overlaps the entry table or the previous blob";
	if (e->offset > total || e->size > total - e->offset)
		return "blob extends past the end of the package";
	return NULL;
}

static const char *bootpkg_check_unique(const struct bootpkg *pkg, unsigned i)
{
	for (unsigned j = 0; j < i; j++)
		if (!strcmp(pkg->entries[j].name, pkg->entries[i].name))
			return "name used by an earlier entry";
	return NULL;
}

static int bootpkg_check_header(const struct bootpkg_header *h,
				uint64_t max_size, char *err, size_t size)
{
	uint64_t table_end;

	if (h->magic != BOOTPKG_MAGIC)
		return fail(err, size, "bad magic (not an exo boot package)");
	if (h->version != BOOTPKG_VERSION)
		return fail(err, size, "unsupported version");
	if (h->nr_entries == 0 || h->nr_entries > BOOTPKG_MAX_ENTRIES)
		return fail(err, size, "entry count is 0 or above 64");
	table_end = sizeof(*h) + h->nr_entries * sizeof(struct bootpkg_entry);
	if (h->total_size < table_end)
		return fail(err, size, "total size smaller than its entry table");
	if (h->total_size > max_size || h->total_size > BOOTPKG_MAX_SIZE)
		return fail(err, size, "total size larger than the space it has");
	return 0;
}

int bootpkg_parse(const void *base, uint64_t max_size, struct bootpkg *out,
		  char *err, size_t err_size)
{
	const uint8_t *p = base;
	struct bootpkg_header h;
	uint64_t next;

	memset(out, 0, sizeof(*out));
	if ((uintptr_t)base % BOOTPKG_ALIGN)
		return fail(err, err_size, "not loaded at a 4 KiB boundary");
	if (max_size < sizeof(h))
		return fail(err, err_size, "smaller than its header");
	memcpy(&h, p, sizeof(h));
	if (bootpkg_check_header(&h, max_size, err, err_size))
		return -1;
	memcpy(out->entries, p + sizeof(h),
	       h.nr_entries * sizeof(struct bootpkg_entry));
	out->nr_entries = h.nr_entries;
	next = sizeof(h) + h.nr_entries * sizeof(struct bootpkg_entry);
	for (unsigned i = 0; i < out->nr_entries; i++) {
		const struct bootpkg_entry *e = &out->entries[i];
		const char *why = bootpkg_check_name(e);

		if (!why)
			why = bootpkg_check_unique(out, i);
		if (!why)
			why = bootpkg_check_range(e, next, h.total_size);
		if (why) {
			memset(out, 0, sizeof(*out));
			return fail_entry(err, err_size, i, why);
		}
		next = e->offset + e->size;
	}
	out->base = p;
	out->size = h.total_size;
	return 0;
}

struct bootpkg_blob bootpkg_find(const struct bootpkg *pkg, const char *name)
{
	struct bootpkg_blob blob = { NULL, NULL, 0 };

	for (unsigned i = 0; i < pkg->nr_entries; i++) {
		const struct bootpkg_entry *e = &pkg->entries[i];

		if (!strncmp(e->name, name, BOOTPKG_NAME_SIZE)) {
			blob.name = e->name;
			blob.data = pkg->base + e->offset;
			blob.size = e->size;
			break;
		}
	}
	return blob;
}
