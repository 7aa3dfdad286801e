/*
 * exo-mancheck: checks a boot package's manifest on the host, before QEMU
 * starts, with the code that boots it: EL2's own parser and image checks
 * (el2/bootpkg.c, el2/manifest.c, el2/elf.c), libos's list of heap
 * policies (libos/heap) and libos's estimate of what start-up needs
 * (libos/startup.c). The Makefile runs it on every package it packs
 * (docs/manifest.md, "Checked before boot").
 *
 *   exo-mancheck [--warn] --dts guests/x.dts build/clang/systems/x.pkg
 *
 * Each error is one line naming the .dts file:
 *   guests/x.dts: guest 'tiny': property 'quota-frames': ...
 * Exit status 1 when there is one, 2 on a usage or I/O error. With --warn,
 * or for a manifest whose root has exo,expect-errors (a test system broken
 * on purpose, whose errors EL2 must report at boot), errors are printed as
 * warnings and the status is 0.
 *
 * Owns: only the checks EL2 cannot make (it holds no policy) and the
 * output. Never: a rule of its own that EL2 or libos also makes; EL2 still
 * checks everything at boot.
 */
#define _POSIX_C_SOURCE 200809L
#include <el2/bootpkg.h>
#include <el2/manifest.h>
#include <libos/heap/heap.h>
#include <libos/startup.h>
#include <libfdt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 512
/* RAM is the machine's, not the manifest's: EL2 checks quotas against it
 * at boot, so the checker lets any quota pass that check. */
#define ANY_RAM_FRAMES UINT64_MAX

struct report {
	const char *dts;
	bool warn;
	unsigned errors;
};

static void say(struct report *r, const char *what)
{
	fprintf(r->warn ? stdout : stderr, "%s%s: %s\n",
		r->warn ? "warning: " : "", r->dts, what);
	r->errors++;
}

/* The package, in a buffer aligned as EL2 loads it. */
static void *read_pkg(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		size_t alloc = ((size_t)len + BOOTPKG_ALIGN - 1) &
			       ~(size_t)(BOOTPKG_ALIGN - 1);

		buf = aligned_alloc(BOOTPKG_ALIGN, alloc);
		if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		}
		*size = (size_t)len;
	}
	fclose(f);
	return buf;
}

static bool policy_known(const char *policy)
{
	for (const char *const *n = heap_policy_names(); *n; n++)
		if (!strcmp(*n, policy))
			return true;
	return false;
}

static void check_policy(struct report *r, const struct manifest_guest *g)
{
	char line[LINE_MAX_BYTES];
	int n;

	if (policy_known(g->heap_policy))
		return;
	n = snprintf(line, sizeof(line), "guest '%s': property 'heap-policy': "
		     "unknown policy '%s' (libos has: ", g->name, g->heap_policy);
	for (const char *const *p = heap_policy_names(); *p && n > 0 &&
	     (size_t)n < sizeof(line); p++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s",
			      p == heap_policy_names() ? "" : ", ", *p);
	if (n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ")");
	say(r, line);
}

/* argv as the guest sees it: its name, then the args strings. */
static int guest_argv(const struct manifest_guest *g, char **argv, int max)
{
	int argc = 0;

	argv[argc++] = (char *)g->name;
	for (uint32_t off = 0; off < g->args_len && argc < max - 1;) {
		argv[argc++] = (char *)g->args + off;
		off += (uint32_t)strlen(g->args + off) + 1;
	}
	argv[argc] = NULL;
	return argc;
}

static void check_startup(struct report *r, const struct manifest_guest *g)
{
	char *argv[MANIFEST_MAX_ARGS + 2];
	struct libos_startup_params p = {
		.granule = g->granule, .heap_policy = g->heap_policy,
		.image_bytes = g->elf.span,
		.boot_run_frames = manifest_boot_run_frames(g),
	};
	struct libos_startup_need need;
	char line[LINE_MAX_BYTES];

	p.argc = guest_argv(g, argv, MANIFEST_MAX_ARGS + 2);
	p.argv = argv;
	if (libos_startup_need(&p, &need) || g->quota_frames >= need.total)
		return;
	snprintf(line, sizeof(line), "guest '%s': property 'quota-frames': %u "
		 "is too small: needs at least %lu frames: image %lu + "
		 "boot-frames %u + about %lu for its tables and first heap "
		 "batch", g->name, g->quota_frames, (unsigned long)need.total,
		 (unsigned long)need.image, g->boot_frames,
		 (unsigned long)(need.total - need.image - g->boot_frames));
	say(r, line);
}

static void check_guests(struct report *r, struct manifest *m,
			 const struct bootpkg *pkg)
{
	manifest_bind_images(m, pkg);
	for (unsigned i = 0; i < m->nr_guests; i++) {
		const struct manifest_guest *g = &m->guests[i];

		if (g->status != MANIFEST_GUEST_OK) {
			say(r, g->error);
			continue;
		}
		check_policy(r, g);
		if (policy_known(g->heap_policy))
			check_startup(r, g);
	}
}

/* Read only from a DTB that libfdt accepts whole. */
static bool expects_errors(const void *fdt, size_t size)
{
	return size >= sizeof(struct fdt_header) && !fdt_check_full(fdt, size) &&
	       fdt_getprop(fdt, 0, MANIFEST_EXPECT_ERRORS, NULL);
}

static void check_manifest(struct report *r, const struct bootpkg *pkg)
{
	static struct manifest m;
	struct bootpkg_blob dtb = bootpkg_find(pkg, BOOTPKG_MANIFEST_NAME);

	if (!dtb.data) {
		say(r, "boot package: no " BOOTPKG_MANIFEST_NAME);
		return;
	}
	r->warn |= expects_errors(dtb.data, dtb.size);
	if (manifest_parse(dtb.data, dtb.size, ANY_RAM_FRAMES, &m))
		say(r, m.error);
	else
		check_guests(r, &m, pkg);
}

static int check(struct report *r, const char *pkg_path)
{
	static struct bootpkg pkg;
	char err[LINE_MAX_BYTES];
	size_t size = 0;
	void *buf = read_pkg(pkg_path, &size);

	if (!buf) {
		fprintf(stderr, "exo-mancheck: cannot read %s\n", pkg_path);
		return 2;
	}
	if (bootpkg_parse(buf, size, &pkg, err, sizeof(err)))
		say(r, err);
	else
		check_manifest(r, &pkg);
	free(buf);
	return r->errors && !r->warn ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: exo-mancheck [--warn] --dts <manifest.dts> "
			"<package.pkg>\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct report r = { 0 };
	const char *pkg = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--warn"))
			r.warn = true;
		else if (!strcmp(argv[i], "--dts") && i + 1 < argc)
			r.dts = argv[++i];
		else if (argv[i][0] != '-' && !pkg)
			pkg = argv[i];
		else
			return usage();
	}
	if (!r.dts || !pkg)
		return usage();
	return check(&r, pkg);
}
