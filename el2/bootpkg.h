/*
 * The boot package: one blob QEMU loads beside EL2 (-device loader) that
 * holds the system manifest and the guest ELF images, each a named entry.
 * This header owns the on-disk format (docs/manifest.md) and its checks; it
 * never trusts a field before checking it against the package's bounds, and
 * never writes to the package.
 */
#ifndef EXO_EL2_BOOTPKG_H
#define EXO_EL2_BOOTPKG_H

#include <stddef.h>
#include <stdint.h>

/* Where QEMU places the package (tools/exoqemu.py mirrors it): 128 MiB
 * above the RAM base, clear of QEMU's DTB (RAM base) and EL2's image. */
#define EXO_BOOT_PKG_ADDR 0x48000000ul

#define BOOTPKG_MAGIC 0x504f5845u   /* the bytes "EXOP" read little-endian */
#define BOOTPKG_VERSION 1u
#define BOOTPKG_ALIGN 4096u         /* every blob starts on a 4 KiB page */
#define BOOTPKG_NAME_SIZE 32u       /* name field, NUL-terminated and padded */
#define BOOTPKG_NAME_MAX (BOOTPKG_NAME_SIZE - 1)
#define BOOTPKG_MAX_ENTRIES 64u     /* the manifest + up to 63 guest images */
#define BOOTPKG_MAX_SIZE (64ul << 20)
#define BOOTPKG_MANIFEST_NAME "manifest.dtb"

/* On-disk layout, all fields little-endian. The header is followed by
 * nr_entries entries, then the blobs. */
struct bootpkg_header {
	uint32_t magic;
	uint16_t version;
	uint16_t nr_entries;
	uint64_t total_size;        /* header, entries, blobs and padding */
};

struct bootpkg_entry {
	char name[BOOTPKG_NAME_SIZE];
	uint64_t offset;            /* from the package start, page-aligned */
	uint64_t size;              /* bytes, without padding */
};

/* A checked package: entries are safe to use once bootpkg_parse said so. */
struct bootpkg {
	const uint8_t *base;
	uint64_t size;              /* header.total_size */
	unsigned nr_entries;
	struct bootpkg_entry entries[BOOTPKG_MAX_ENTRIES];
};

struct bootpkg_blob {
	const char *name;           /* NULL when not found */
	const void *data;
	uint64_t size;
};

/* Checks the package at base (at most max_size bytes readable) and copies
 * its entry table into out. Returns 0, or -1 with a sentence in err. */
int bootpkg_parse(const void *base, uint64_t max_size, struct bootpkg *out,
		  char *err, size_t err_size);

/* The entry called name; .data and .name are NULL when there is none. */
struct bootpkg_blob bootpkg_find(const struct bootpkg *pkg, const char *name);

#endif
