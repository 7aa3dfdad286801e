/*
 * libFuzzer target: the system manifest (el2/manifest.c) as EL2 reads it
 * at boot: manifest_parse() of a DTB, then manifest_bind_images() against
 * a boot package.
 *
 * Input: [ram class: 1 byte][DTB length: 4 bytes LE][DTB][package]. The
 * package part is used when bootpkg_parse() accepts it; otherwise a
 * built-in package of small valid images (hello.elf, counter.elf,
 * spin.elf) and a broken one (bad.elf), so mutating only the DTB still
 * reaches the binding.
 *
 * Checks: a DTB the bounded walk (el2/dtb_bounds.c) refuses is refused as
 * "manifest: not a valid DTB: ...", and the walk's verdict does not depend
 * on the size of its message buffer; a refused manifest says why
 * ("manifest: ...") and has no guests;
 * an accepted one has 1..63 uniquely named guests, each either valid (name
 * of [a-z0-9_-], every string inside the DTB and NUL-terminated, every
 * number in its documented range, quota within RAM, boot-frames below
 * quota) or invalid with "guest '<name>': ..."; binding keeps invalid
 * guests invalid, and a guest still valid has its image's blob inside the
 * package, the ELF info elf_check() gives that blob, and image + boot
 * frames within its quota.
 */
#define _GNU_SOURCE /* posix_memalign, strnlen */
#include "fuzz_common.h"

#include <el2/bootpkg.h>
#include <el2/dtb_bounds.h>
#include <el2/elf.h>
#include <el2/manifest.h>
#include <lib/print.h>

#define BOUNDS_PREFIX "manifest: not a valid DTB: "

static const uint64_t ram_classes[] = {
	0, 1, 64, 512, 8192, 32768, UINT64_C(1) << 32, UINT64_MAX,
};

/* --- the built-in package ---------------------------------------------- */

static uint8_t *builtin;
static size_t builtin_size;
static struct bootpkg builtin_pkg;

static size_t make_elf(uint8_t *out, uint64_t memsz)
{
	struct elf64_ehdr eh = {
		.e_ident = { ELF_MAG0, 'E', 'L', 'F', ELF_CLASS64, ELF_DATA2LSB,
			     ELF_EV_CURRENT },
		.e_type = ELF_ET_DYN, .e_machine = ELF_EM_AARCH64,
		.e_version = ELF_EV_CURRENT, .e_entry = 0x80,
		.e_phoff = sizeof(eh), .e_ehsize = sizeof(eh),
		.e_phentsize = sizeof(struct elf64_phdr), .e_phnum = 1,
	};
	struct elf64_phdr ph = {
		.p_type = ELF_PT_LOAD, .p_flags = ELF_PF_R | ELF_PF_X,
		.p_filesz = 256, .p_memsz = memsz, .p_align = EXO_FRAME_SIZE,
	};

	memset(out, 0, 256);
	memcpy(out, &eh, sizeof(eh));
	memcpy(out + sizeof(eh), &ph, sizeof(ph));
	return 256;
}

static void build_builtin(void)
{
	static const struct { const char *name; uint64_t memsz; } imgs[] = {
		{ "hello.elf", 4096 }, { "counter.elf", 64 * 4096 },
		{ "spin.elf", 1024 * 4096 }, { "bad.elf", 0 },
	};
	const unsigned n = sizeof(imgs) / sizeof(imgs[0]);
	struct bootpkg_header h = { BOOTPKG_MAGIC, BOOTPKG_VERSION,
				    (uint16_t)n, 0 };
	char err[128];

	builtin_size = (n + 1) * BOOTPKG_ALIGN;
	if (posix_memalign((void **)&builtin, BOOTPKG_ALIGN, builtin_size))
		fuzz_fail("out of memory");
	memset(builtin, 0, builtin_size);
	h.total_size = builtin_size;
	memcpy(builtin, &h, sizeof(h));
	for (unsigned i = 0; i < n; i++) {
		struct bootpkg_entry e = { .offset = (i + 1) * BOOTPKG_ALIGN };
		uint8_t *blob = builtin + e.offset;

		strcpy(e.name, imgs[i].name);
		if (imgs[i].memsz) {
			e.size = make_elf(blob, imgs[i].memsz);
		} else {
			memcpy(blob, "\177ELF junk", 9);
			e.size = 100;
		}
		memcpy(builtin + sizeof(h) + i * sizeof(e), &e, sizeof(e));
	}
	if (bootpkg_parse(builtin, builtin_size, &builtin_pkg, err, sizeof(err)))
		fuzz_fail("the built-in package is refused: %s", err);
}

/* --- checks -------------------------------------------------------------- */

static bool inside(const void *p, size_t n, const uint8_t *buf, size_t size)
{
	const uint8_t *q = p;

	return q >= buf && q <= buf + size && n <= (size_t)(buf + size - q);
}

static void check_string(const char *s, const uint8_t *dtb, size_t size,
			 size_t max, const char *what, const char *gname)
{
	size_t len;

	if (!inside(s, 0, dtb, size)) {
		/* Only the defaults, which are string literals. */
		FUZZ_CHECK(!strcmp(s, MANIFEST_DEFAULT_HEAP_POLICY) ||
				   !strcmp(s, "4k") || !strcmp(s, "16k") ||
				   !strcmp(s, "64k") || !*s,
			   "guest '%s': %s points outside the DTB", gname, what);
		return;
	}
	len = strnlen(s, (size_t)(dtb + size - (const uint8_t *)s));
	FUZZ_CHECK(inside(s, len + 1, dtb, size) && len <= max,
		   "guest '%s': %s is not a NUL-terminated string of at most "
		   "%zu bytes in the DTB", gname, what, max);
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name);

	if (!len || len > MANIFEST_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		      name[i] == '-'))
			return false;
	return true;
}

static void check_valid(const struct manifest_guest *g, const uint8_t *dtb,
			size_t size, uint64_t ram_frames)
{
	const char *n = g->name;

	FUZZ_CHECK(name_ok(n), "valid guest with name '%s'", n);
	FUZZ_CHECK(!g->error[0], "valid guest '%s' has an error", n);
	FUZZ_CHECK(g->image, "valid guest '%s' has no image", n);
	check_string(g->image, dtb, size, BOOTPKG_NAME_MAX, "image", n);
	FUZZ_CHECK(*g->image, "guest '%s': empty image name", n);
	check_string(g->heap_policy, dtb, size, MANIFEST_STR_MAX,
		     "heap-policy", n);
	check_string(g->granule, dtb, size, MANIFEST_STR_MAX, "granule", n);
	FUZZ_CHECK(g->granule_bytes == 4096 || g->granule_bytes == 16384 ||
			   g->granule_bytes == 65536,
		   "guest '%s': granule of %u bytes", n, g->granule_bytes);
	FUZZ_CHECK(g->args_len <= MANIFEST_ARGS_MAX_BYTES &&
			   g->nr_args <= MANIFEST_MAX_ARGS,
		   "guest '%s': %u bytes, %u args", n, g->args_len, g->nr_args);
	if (g->args_len) {
		FUZZ_CHECK(inside(g->args, g->args_len, dtb, size) &&
				   !g->args[g->args_len - 1],
			   "guest '%s': args outside the DTB or unterminated",
			   n);
	}
	FUZZ_CHECK(g->quota_frames >= 1 && g->quota_frames <= ram_frames &&
			   g->boot_frames >= 1 &&
			   g->boot_frames < g->quota_frames,
		   "guest '%s': quota %u boot %u with %lu RAM frames", n,
		   g->quota_frames, g->boot_frames, (unsigned long)ram_frames);
	FUZZ_CHECK(g->timeslice_us >= MANIFEST_MIN_TIMESLICE_US &&
			   g->timeslice_us <= MANIFEST_MAX_TIMESLICE_US &&
			   g->violation_limit >= 1,
		   "guest '%s': timeslice %u violation-limit %u", n,
		   g->timeslice_us, g->violation_limit);
}

static void check_invalid(const struct manifest_guest *g)
{
	FUZZ_CHECK(memchr(g->error, '\0', sizeof(g->error)) &&
			   !strncmp(g->error, "guest '", 7),
		   "invalid guest '%s' with error \"%.*s\"", g->name,
		   (int)sizeof(g->error), g->error);
}

static void check_bound(const struct manifest_guest *g,
			const struct bootpkg *pkg)
{
	struct elf_info info;
	char err[160];

	FUZZ_CHECK(g->blob.data && g->blob.name &&
			   !strcmp(g->blob.name, g->image),
		   "guest '%s' bound without its image '%s'", g->name,
		   g->image);
	FUZZ_CHECK(inside(g->blob.data, g->blob.size, pkg->base, pkg->size),
		   "guest '%s': image blob outside the package", g->name);
	FUZZ_CHECK(!elf_check(g->blob.data, g->blob.size, &info, err,
			      sizeof(err)) &&
			   !memcmp(&info, &g->elf, sizeof(info)),
		   "guest '%s': bound ELF info differs from elf_check's",
		   g->name);
	FUZZ_CHECK(elf_frames(&g->elf) + g->boot_frames <
			   manifest_boot_run_frames(g) &&
			   manifest_boot_run_frames(g) +
			   manifest_boot_s2_tables(g) <= g->quota_frames,
		   "guest '%s': image %lu + boot %u frames (run %lu, s2 %lu) "
		   "above quota %u", g->name,
		   (unsigned long)elf_frames(&g->elf), g->boot_frames,
		   (unsigned long)manifest_boot_run_frames(g),
		   (unsigned long)manifest_boot_s2_tables(g), g->quota_frames);
}

static void discard(const char *s, size_t n)
{
	(void)s, (void)n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	print_set_console(discard, "");
	build_builtin();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct manifest m;
	static struct bootpkg pkg;
	struct fuzz_in in = fuzz_in(data, size);
	uint64_t ram = ram_classes[fuzz_u8(&in) % 8];
	size_t dtb_len = fuzz_u32(&in), pkg_len;
	uint8_t *dtb, *pbuf = NULL;
	const struct bootpkg *use = &builtin_pkg;
	char err[128], why[MANIFEST_ERR_SIZE];
	int bounded;
	bool valid_before[MANIFEST_MAX_GUESTS];
	unsigned ok;

	if (dtb_len > in.left)
		dtb_len = in.left;
	pkg_len = in.left - dtb_len;
	dtb = malloc(dtb_len ? dtb_len : 1);
	memcpy(dtb, in.p, dtb_len);
	if (pkg_len) {
		if (posix_memalign((void **)&pbuf, BOOTPKG_ALIGN, pkg_len))
			fuzz_fail("out of memory");
		memcpy(pbuf, in.p + dtb_len, pkg_len);
		if (!bootpkg_parse(pbuf, pkg_len, &pkg, err, sizeof(err)))
			use = &pkg;
	}

	bounded = dtb_bounds_check(dtb, dtb_len, why, sizeof(why));
	FUZZ_CHECK(dtb_bounds_check(dtb, dtb_len, err, 1) == bounded && !err[0],
		   "the bounded DTB walk's verdict depends on its buffer");
	if (manifest_parse(dtb, dtb_len, ram, &m)) {
		FUZZ_CHECK(!strncmp(m.error, "manifest: ", 10) &&
				   memchr(m.error, '\0', sizeof(m.error)),
			   "manifest refused without a proper reason");
		FUZZ_CHECK(!bounded || !strncmp(m.error, BOUNDS_PREFIX,
						strlen(BOUNDS_PREFIX)),
			   "DTB refused by the walk (%s), but the manifest "
			   "error is '%s'", why, m.error);
		FUZZ_CHECK(!m.nr_guests && !manifest_nr_ok(&m),
			   "a refused manifest has %u guests", m.nr_guests);
		goto out;
	}
	FUZZ_CHECK(!bounded, "manifest accepted, but the bounded DTB walk "
		   "refuses it: %s", why);
	FUZZ_CHECK(!m.error[0], "accepted manifest with error '%s'", m.error);
	FUZZ_CHECK(m.nr_guests >= 1 && m.nr_guests <= MANIFEST_MAX_GUESTS,
		   "accepted manifest with %u guests", m.nr_guests);
	for (unsigned i = 0; i < m.nr_guests; i++) {
		const struct manifest_guest *g = &m.guests[i];

		FUZZ_CHECK(memchr(g->name, '\0', sizeof(g->name)),
			   "guest %u: name not terminated", i);
		valid_before[i] = g->status == MANIFEST_GUEST_OK;
		if (valid_before[i])
			check_valid(g, dtb, dtb_len, ram);
		else
			check_invalid(g);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(!valid_before[i] || !valid_before[j] ||
					   strcmp(m.guests[j].name, g->name),
				   "guests %u and %u are both '%s'", j, i,
				   g->name);
	}

	ok = manifest_bind_images(&m, use);
	FUZZ_CHECK(ok == manifest_nr_ok(&m), "bind returned %u, %u valid", ok,
		   manifest_nr_ok(&m));
	for (unsigned i = 0; i < m.nr_guests; i++) {
		const struct manifest_guest *g = &m.guests[i];

		if (g->status == MANIFEST_GUEST_OK) {
			FUZZ_CHECK(valid_before[i], "bind revived guest '%s'",
				   g->name);
			check_valid(g, dtb, dtb_len, ram);
			check_bound(g, use);
		} else {
			check_invalid(g);
		}
	}
out:
	free(dtb);
	free(pbuf);
	return 0;
}
