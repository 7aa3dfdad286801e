/*
 * el2/manifest.c on manifests built here with libfdt's sequential-write API:
 * a good three-guest system, then each property missing, malformed or
 * unknown in one guest (the others must still boot), then whole-manifest
 * errors, then binding guests to images in a boot package.
 */
#define _POSIX_C_SOURCE 200809L
#include "elf_image.h"

#include <criterion/criterion.h>
#include <el2/manifest.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RAM_FRAMES 262144 /* 1 GiB */

/* Room for MANIFEST_MAX_GUESTS small guests. */
static char blob[131072];
static struct manifest m;

/* One change to the good manifest: in guest `guest`, property `prop` is
 * dropped, or replaced by (val, len), or added when the guest lacks it. */
static struct override {
	const char *guest, *prop;
	const void *val;
	int len;
	int drop, used;
} ov;

static void put(void *f, const char *guest, const char *name,
		const void *val, int len)
{
	if (ov.guest && !strcmp(ov.guest, guest) && !strcmp(ov.prop, name)) {
		ov.used = 1;
		if (ov.drop)
			return;
		val = ov.val;
		len = ov.len;
	}
	cr_assert_eq(fdt_property(f, name, val, len), 0);
}

static void put_u32(void *f, const char *guest, const char *name, uint32_t v)
{
	fdt32_t cell = cpu_to_fdt32(v);

	put(f, guest, name, &cell, sizeof(cell));
}

static void put_str(void *f, const char *guest, const char *name,
		    const char *s)
{
	put(f, guest, name, s, (int)strlen(s) + 1);
}

static void end_guest(void *f, const char *guest)
{
	if (ov.guest && !strcmp(ov.guest, guest) && !ov.used && !ov.drop)
		cr_assert_eq(fdt_property(f, ov.prop, ov.val, ov.len), 0);
	fdt_end_node(f);
}

static void begin(void *f, const char *compatible)
{
	cr_assert_eq(fdt_create(f, sizeof(blob)), 0);
	fdt_finish_reservemap(f);
	fdt_begin_node(f, "");
	if (compatible)
		fdt_property_string(f, "compatible", compatible);
}

static void *finish(void *f)
{
	fdt_end_node(f);
	cr_assert_eq(fdt_finish(f), 0);
	return f;
}

/* hello: the required properties and args; counter: every property set;
 * spin: the required ones only, so it shows the defaults. */
static void *make_good(void)
{
	void *f = blob;
	static const char args[] = "-v\0x=1";

	ov.used = 0;
	begin(f, "exo,system");
	fdt_begin_node(f, "guests");
	fdt_begin_node(f, "hello");
	put_str(f, "hello", "image", "hello.elf");
	put_u32(f, "hello", "quota-frames", 256);
	put(f, "hello", "args", args, sizeof(args));
	end_guest(f, "hello");
	fdt_begin_node(f, "counter");
	put_str(f, "counter", "image", "counter.elf");
	put_u32(f, "counter", "quota-frames", 512);
	put_u32(f, "counter", "boot-frames", 32);
	put_str(f, "counter", "heap-policy", "buddy");
	put_u32(f, "counter", "timeslice-us", 5000);
	put_u32(f, "counter", "violation-limit", 1);
	put_str(f, "counter", "granule", "16k");
	end_guest(f, "counter");
	fdt_begin_node(f, "spin");
	put_str(f, "spin", "image", "spin.elf");
	put_u32(f, "spin", "quota-frames", 128);
	end_guest(f, "spin");
	fdt_end_node(f);
	return finish(f);
}

static const struct manifest_guest *guest(const char *name)
{
	for (unsigned i = 0; i < m.nr_guests; i++)
		if (!strcmp(m.guests[i].name, name))
			return &m.guests[i];
	cr_assert_fail("no guest %s", name);
	return NULL;
}

static void parse_ok(void *fdt)
{
	cr_assert_eq(manifest_parse(fdt, sizeof(blob), RAM_FRAMES, &m), 0,
		     "%s", m.error);
	cr_assert_str_empty(m.error);
}

Test(manifest, three_guests)
{
	const struct manifest_guest *g;

	parse_ok(make_good());
	cr_assert_eq(m.nr_guests, 3);
	cr_assert_eq(manifest_nr_ok(&m), 3);
	cr_assert_str_eq(m.guests[0].name, "hello");
	cr_assert_str_eq(m.guests[2].name, "spin");
	g = guest("hello");
	cr_assert_str_eq(g->image, "hello.elf");
	cr_assert_eq(g->quota_frames, 256);
	cr_assert_eq(g->nr_args, 2);
	cr_assert_eq(g->args_len, 7);
	cr_assert_str_eq(g->args, "-v");
	cr_assert_str_eq(g->args + 3, "x=1");
	g = guest("counter");
	cr_assert_eq(g->status, MANIFEST_GUEST_OK);
	cr_assert_eq(g->boot_frames, 32);
	cr_assert_str_eq(g->heap_policy, "buddy");
	cr_assert_eq(g->timeslice_us, 5000);
	cr_assert_eq(g->violation_limit, 1);
	cr_assert_str_eq(g->granule, "16k");
	cr_assert_eq(g->granule_bytes, 16384);
}

Test(manifest, defaults)
{
	const struct manifest_guest *g;

	parse_ok(make_good());
	g = guest("spin");
	cr_assert_eq(g->boot_frames, MANIFEST_DEFAULT_BOOT_FRAMES);
	cr_assert_str_eq(g->heap_policy, "tlsf");
	cr_assert_str_eq(g->args, "");
	cr_assert_eq(g->nr_args, 0);
	cr_assert_eq(g->timeslice_us, 10000);
	cr_assert_eq(g->violation_limit, 3);
	cr_assert_eq(g->excused_touch_limit,
		     MANIFEST_DEFAULT_EXCUSED_TOUCH_LIMIT);
	cr_assert_str_eq(g->granule, "4k");
	cr_assert_eq(g->granule_bytes, 4096);
	cr_assert_not(g->pmu_system);
	cr_assert_str_empty(g->error);
}

/* The change makes guest `name` invalid with exactly `want`; the other two
 * still boot. */
static void expect_guest_error(const char *name, const char *want)
{
	make_good();
	cr_assert(ov.used || !ov.drop, "override of %s unused", ov.prop);
	parse_ok(blob);
	cr_assert_eq(m.nr_guests, 3);
	cr_assert_eq(guest(name)->status, MANIFEST_GUEST_INVALID,
		     "%s/%s accepted", name, ov.prop);
	cr_assert_str_eq(guest(name)->error, want);
	cr_assert_eq(manifest_nr_ok(&m), 2, "%s", want);
	memset(&ov, 0, sizeof(ov));
}

static void drop(const char *g, const char *prop)
{
	ov = (struct override){ .guest = g, .prop = prop, .drop = 1 };
}

static void set_raw(const char *g, const char *prop, const void *val, int len)
{
	ov = (struct override){ .guest = g, .prop = prop, .val = val,
				.len = len };
}

static void set_str(const char *g, const char *prop, const char *s)
{
	set_raw(g, prop, s, (int)strlen(s) + 1);
}

static void set_u32(const char *g, const char *prop, uint32_t v)
{
	static fdt32_t cell;

	cell = cpu_to_fdt32(v);
	set_raw(g, prop, &cell, sizeof(cell));
}

Test(manifest, required_properties)
{
	drop("hello", "image");
	expect_guest_error("hello", "guest 'hello': property 'image': "
			   "missing (required)");
	drop("spin", "quota-frames");
	expect_guest_error("spin", "guest 'spin': property 'quota-frames': "
			   "missing (required)");
}

Test(manifest, image)
{
	set_u32("hello", "image", 7);
	expect_guest_error("hello", "guest 'hello': property 'image': "
			   "must be one non-empty string");
	set_str("hello", "image", "");
	expect_guest_error("hello", "guest 'hello': property 'image': "
			   "must be one non-empty string");
	set_raw("hello", "image", "a.elf\0b.elf", 12);
	expect_guest_error("hello", "guest 'hello': property 'image': "
			   "must be one non-empty string");
	set_raw("hello", "image", "a.elf", 5); /* no NUL */
	expect_guest_error("hello", "guest 'hello': property 'image': "
			   "must be one non-empty string");
	set_str("hello", "image", "a-name-of-thirty-two-characters!");
	expect_guest_error("hello", "guest 'hello': property 'image': "
			   "string too long");
}

Test(manifest, u32_properties)
{
	static const char *const props[] = { "quota-frames", "boot-frames",
					     "violation-limit" };

	for (size_t i = 0; i < 3; i++) {
		char want[128];
		uint64_t wide = 5;

		snprintf(want, sizeof(want), "guest 'counter': property '%s': "
			 "is the string \"64\": write <64>", props[i]);
		set_str("counter", props[i], "64");
		expect_guest_error("counter", want);
		snprintf(want, sizeof(want), "guest 'counter': property '%s': "
			 "must be one 32-bit cell, like <64>", props[i]);
		set_raw("counter", props[i], &wide, sizeof(wide));
		expect_guest_error("counter", want);
		snprintf(want, sizeof(want), "guest 'counter': property '%s': "
			 "must not be 0", props[i]);
		set_u32("counter", props[i], 0);
		expect_guest_error("counter", want);
	}
}

Test(manifest, timeslice)
{
	const char *want = "guest 'spin': property 'timeslice-us': must be one "
			   "cell of 100 to 1000000 (microseconds)";

	set_u32("spin", "timeslice-us", 0);
	expect_guest_error("spin", want);
	set_u32("spin", "timeslice-us", 99);
	expect_guest_error("spin", want);
	set_u32("spin", "timeslice-us", 1000001);
	expect_guest_error("spin", want);
	set_raw("spin", "timeslice-us", "\0\0\x27", 3);
	expect_guest_error("spin", want);
	set_str("spin", "timeslice-us", "fast");
	expect_guest_error("spin", "guest 'spin': property 'timeslice-us': is "
			   "the string \"fast\": write a number, like <64>");
}

/* quota-frames = "256" is the 4 bytes "256\0", which are also one cell
 * (0x32353600 = 842,348,032): refused as a string, never read as a number
 * (docs/manifest.md). */
Test(manifest, string_where_a_number_belongs)
{
	set_str("spin", "quota-frames", "256");
	expect_guest_error("spin", "guest 'spin': property 'quota-frames': "
			   "is the string \"256\": write <256>");
	set_str("spin", "boot-frames", "1024");
	expect_guest_error("spin", "guest 'spin': property 'boot-frames': "
			   "is the string \"1024\": write <1024>");
	set_str("spin", "cpu-limit-ms", "5");
	expect_guest_error("spin", "guest 'spin': property 'cpu-limit-ms': "
			   "is the string \"5\": write <5>");
	set_str("spin", "violation-limit", "0x10");
	expect_guest_error("spin", "guest 'spin': property 'violation-limit': "
			   "is the string \"0x10\": write a number, like <64>");
	/* A cell whose bytes are not a printable string stays a number. */
	set_u32("spin", "cpu-limit-ms", 0x32350036);
	parse_ok(make_good());
	cr_assert_eq(guest("spin")->cpu_limit_ms, 0x32350036u);
}

Test(manifest, heap_policy_and_granule)
{
	set_str("counter", "heap-policy", "");
	expect_guest_error("counter", "guest 'counter': property 'heap-policy': "
			   "must be one non-empty string");
	set_raw("counter", "heap-policy", "tlsf\0slab", 10);
	expect_guest_error("counter", "guest 'counter': property 'heap-policy': "
			   "must be one non-empty string");
	set_str("counter", "granule", "8k");
	expect_guest_error("counter", "guest 'counter': property 'granule': "
			   "must be \"4k\", \"16k\" or \"64k\"");
	set_u32("counter", "granule", 4096);
	expect_guest_error("counter", "guest 'counter': property 'granule': "
			   "must be \"4k\", \"16k\" or \"64k\"");
	set_str("counter", "granule", "64k");
	make_good();
	parse_ok(blob);
	cr_assert_eq(guest("counter")->granule_bytes, 65536);
	memset(&ov, 0, sizeof(ov));
}

Test(manifest, pmu_privilege)
{
	set_str("counter", "pmu", "everything");
	expect_guest_error("counter", "guest 'counter': property 'pmu': "
			   "must be \"guest\" or \"system\"");
	set_u32("counter", "pmu", 1);
	expect_guest_error("counter", "guest 'counter': property 'pmu': "
			   "must be \"guest\" or \"system\"");
	set_str("counter", "pmu", "guest");
	parse_ok(make_good());
	cr_assert_not(guest("counter")->pmu_system);
	set_str("counter", "pmu", "system");
	parse_ok(make_good());
	cr_assert(guest("counter")->pmu_system);
	cr_assert_not(guest("spin")->pmu_system, "one guest's privilege only");
	memset(&ov, 0, sizeof(ov));
}

Test(manifest, args)
{
	char many[33 * 2];

	set_raw("hello", "args", "-v\0x", 4); /* last string unterminated */
	expect_guest_error("hello", "guest 'hello': property 'args': must be a "
			   "list of strings, like \"-v\", \"x\"");
	for (size_t i = 0; i < sizeof(many); i += 2) {
		many[i] = 'a';
		many[i + 1] = '\0';
	}
	set_raw("hello", "args", many, sizeof(many));
	expect_guest_error("hello", "guest 'hello': property 'args': more than "
			   "32 strings");
	set_raw("hello", "args", many, sizeof(many) - 2); /* 32 is fine */
	make_good();
	parse_ok(blob);
	cr_assert_eq(guest("hello")->nr_args, 32);
	set_raw("hello", "args", "", 0); /* empty: no arguments */
	make_good();
	parse_ok(blob);
	cr_assert_eq(guest("hello")->nr_args, 0);
	cr_assert_str_eq(guest("hello")->args, "");
	memset(&ov, 0, sizeof(ov));
}

Test(manifest, unknown_property_is_named)
{
	set_u32("spin", "quota_frames", 128); /* typo for quota-frames */
	expect_guest_error("spin", "guest 'spin': property 'quota_frames': "
			   "unknown property");
	set_str("hello", "fault-injection", "stage2"); /* typo */
	expect_guest_error("hello", "guest 'hello': property 'fault-injection': "
			   "unknown property");
}

Test(manifest, fault_inject_needs_a_test_manifest)
{
	set_str("hello", "fault-inject", "hvc-fail:100");
	expect_guest_error("hello", "guest 'hello': property 'fault-inject': "
			   "only test manifests may inject faults (add "
			   "exo,testing; to the root node)");
}

Test(manifest, fault_inject_kinds_are_checked)
{
	set_str("hello", "fault-inject", "stage2");
	expect_guest_error("hello", "guest 'hello': property 'fault-inject': "
			   "unknown fault kind (hvc-fail:N, no-frames, "
			   "drop-revoke, delay-revoke:N, spurious-abort:N, "
			   "spurious-irq:N, corrupt-reg:N, corrupt-mem:N)");
	set_str("counter", "fault-inject", "hvc-fail");
	expect_guest_error("counter", "guest 'counter': property "
			   "'fault-inject': a fault needs a number: \"kind:N\"");
}

Test(manifest, quotas)
{
	set_u32("hello", "quota-frames", RAM_FRAMES + 1);
	expect_guest_error("hello", "guest 'hello': property 'quota-frames': "
			   "262145 frames exceed the 262144 frames of RAM");
	set_u32("spin", "boot-frames", 128); /* = quota-frames */
	expect_guest_error("spin", "guest 'spin': property 'boot-frames': 128 "
			   "frames leave no room for the image in quota-frames "
			   "(128)");
	set_u32("hello", "quota-frames", RAM_FRAMES); /* all of RAM: allowed */
	make_good();
	parse_ok(blob);
	cr_assert_eq(manifest_nr_ok(&m), 3);
	memset(&ov, 0, sizeof(ov));
}

/* --- names and the manifest as a whole ----------------------------------- */

enum shape {
	GOOD, NO_COMPAT, BAD_COMPAT, COMPAT_LIST, NO_GUESTS_NODE, EMPTY_GUESTS,
	DUPLICATE, LONG_NAME, UPPER_NAME, UNIT_NAME, SUBNODE, MAX_GUESTS,
	TOO_MANY,
};

static void small_guest(void *f, const char *name)
{
	fdt_begin_node(f, name);
	fdt_property_string(f, "image", "x.elf");
	fdt_property_u32(f, "quota-frames", 100);
	if (!strcmp(name, "sub")) {
		fdt_begin_node(f, "vcpu");
		fdt_end_node(f);
	}
	fdt_end_node(f);
}

static void *make_shape(enum shape s)
{
	static const char list[] = "acme,board\0exo,system";
	void *f = blob;
	int n = s == MAX_GUESTS ? MANIFEST_MAX_GUESTS
		: s == TOO_MANY ? MANIFEST_MAX_GUESTS + 1 : 0;

	if (s == NO_COMPAT || s == COMPAT_LIST)
		begin(f, NULL);
	else
		begin(f, s == BAD_COMPAT ? "exo,sistem" : "exo,system");
	if (s == COMPAT_LIST)
		fdt_property(f, "compatible", list, sizeof(list));
	if (s == NO_GUESTS_NODE)
		return finish(f);
	fdt_begin_node(f, "guests");
	small_guest(f, "first");
	if (s == DUPLICATE)
		small_guest(f, "first");
	if (s == LONG_NAME)
		small_guest(f, "sixteen-chars-xx");
	if (s == UPPER_NAME)
		small_guest(f, "Hello");
	if (s == UNIT_NAME)
		small_guest(f, "hello@1");
	if (s == SUBNODE)
		small_guest(f, "sub");
	for (int i = 1; i < n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "g%d", i);
		small_guest(f, name);
	}
	if (s == EMPTY_GUESTS) {
		/* Rebuild with an empty /guests. */
		begin(f, "exo,system");
		fdt_begin_node(f, "guests");
	}
	fdt_end_node(f);
	return finish(f);
}

static void expect_fail(enum shape s, const char *want)
{
	void *fdt = make_shape(s);

	cr_assert_lt(manifest_parse(fdt, sizeof(blob), RAM_FRAMES, &m), 0,
		     "shape %d accepted", s);
	cr_assert_str_eq(m.error, want);
	cr_assert_eq(m.nr_guests, 0);
}

Test(manifest, whole_manifest_errors)
{
	expect_fail(NO_COMPAT, "manifest: root compatible is not \"exo,system\"");
	expect_fail(BAD_COMPAT, "manifest: root compatible is not \"exo,system\"");
	expect_fail(NO_GUESTS_NODE, "manifest: no /guests node");
	expect_fail(EMPTY_GUESTS, "manifest: node /guests has no guests");
	expect_fail(DUPLICATE, "manifest: two guests are named 'first'");
	expect_fail(TOO_MANY, "manifest: too many guests (at most 1023)");
}

Test(manifest, compatible_list_and_1023_guests)
{
	parse_ok(make_shape(COMPAT_LIST));
	cr_assert_eq(m.nr_guests, 1);
	parse_ok(make_shape(MAX_GUESTS));
	cr_assert_eq(m.nr_guests, MANIFEST_MAX_GUESTS);
	cr_assert_eq(manifest_nr_ok(&m), MANIFEST_MAX_GUESTS);
}

static void expect_bad_second(enum shape s, const char *want)
{
	parse_ok(make_shape(s));
	cr_assert_eq(m.nr_guests, 2);
	cr_assert_eq(m.guests[0].status, MANIFEST_GUEST_OK);
	cr_assert_eq(m.guests[1].status, MANIFEST_GUEST_INVALID);
	cr_assert_str_eq(m.guests[1].error, want);
}

Test(manifest, guest_names)
{
	expect_bad_second(LONG_NAME, "guest 'sixteen-chars-xx': name must be 1 "
			  "to 15 characters of [a-z0-9_-]");
	cr_assert_str_eq(m.guests[1].name, "sixteen-chars-x"); /* truncated */
	expect_bad_second(UPPER_NAME, "guest 'Hello': name must be 1 to 15 "
			  "characters of [a-z0-9_-]");
	expect_bad_second(UNIT_NAME, "guest 'hello@1': name must be 1 to 15 "
			  "characters of [a-z0-9_-]");
	expect_bad_second(SUBNODE, "guest 'sub': unexpected subnode 'vcpu'");
}

Test(manifest, not_a_dtb)
{
	memset(blob, 0x5a, sizeof(blob));
	cr_assert_lt(manifest_parse(blob, sizeof(blob), RAM_FRAMES, &m), 0);
	cr_assert(strstr(m.error, "manifest: not a valid DTB"), "%s", m.error);
	cr_assert_lt(manifest_parse(blob, 8, RAM_FRAMES, &m), 0);
	cr_assert_str_eq(m.error, "manifest: not a valid DTB: 8 bytes, "
			 "smaller than a DTB header (40)");
	make_good();
	cr_assert_lt(manifest_parse(blob, fdt_totalsize(blob) - 1, RAM_FRAMES,
				    &m), 0, "truncated DTB accepted");
	cr_assert(strstr(m.error, "manifest: not a valid DTB"), "%s", m.error);
}

/* Random corruption of a good manifest: refused or parsed, never a wild
 * read (ASan), and every guest that parses has its strings in the blob. */
Test(manifest, corrupted_dtb_never_escapes)
{
	size_t size;

	srand(2);
	for (int round = 0; round < 5000; round++) {
		char *copy;

		make_good();
		size = fdt_totalsize(blob);
		for (int k = 0; k < 1 + rand() % 3; k++)
			blob[rand() % size] ^= (char)(1u << (rand() % 8));
		copy = malloc(size);  /* exact size: ASan sees overruns */
		memcpy(copy, blob, size);
		if (!manifest_parse(copy, size, RAM_FRAMES, &m)) {
			for (unsigned i = 0; i < m.nr_guests; i++) {
				const char *img = m.guests[i].image;

				if (m.guests[i].status == MANIFEST_GUEST_OK)
					cr_assert(img >= copy &&
						  img < copy + size);
			}
		}
		free(copy);
	}
}

/* The real example, when the build has compiled it (make manifests). */
Test(manifest, default_dts)
{
	static char dtb[4096];
	FILE *f = fopen("build/guests/default.dtb", "rb");
	size_t n;

	if (!f)
		cr_skip_test("build/guests/default.dtb not built");
	n = fread(dtb, 1, sizeof(dtb), f);
	fclose(f);
	cr_assert_eq(manifest_parse(dtb, n, RAM_FRAMES, &m), 0, "%s", m.error);
	cr_assert_eq(m.nr_guests, 6);
	for (unsigned i = 0; i < m.nr_guests; i++)
		cr_assert_eq(m.guests[i].status, MANIFEST_GUEST_OK, "%s",
			     m.guests[i].error);
	cr_assert_str_eq(m.guests[5].name, "primes");
	cr_assert_eq(m.guests[5].cpus, 4, "the guest of four vCPUs");
}

/* --- binding images from the boot package --------------------------------- */

static _Alignas(4096) uint8_t elf_img[0x2000];

/* A minimal static PIE: one R+X PT_LOAD of two pages (2 frames). */
static void make_elf(void)
{
	struct elf64_ehdr *eh = (struct elf64_ehdr *)elf_img;
	struct elf64_phdr *ph = (struct elf64_phdr *)(eh + 1);

	memset(elf_img, 0, sizeof(elf_img));
	elf_image_header(eh, 0x1000, 1);
	*ph = (struct elf64_phdr){ .p_type = ELF_PT_LOAD,
		.p_flags = ELF_PF_R | ELF_PF_X, .p_filesz = sizeof(elf_img),
		.p_memsz = sizeof(elf_img), .p_align = EXO_FRAME_SIZE };
}

/* A checked package's table, as bootpkg_parse would leave it: every guest
 * image is elf_img except spin.elf, which is missing. */
static void make_pkg(struct bootpkg *p)
{
	static const char *const names[] = { "hello.elf", "counter.elf" };

	memset(p, 0, sizeof(*p));
	p->base = elf_img;
	p->size = sizeof(elf_img);
	p->nr_entries = 2;
	for (unsigned i = 0; i < 2; i++) {
		strcpy(p->entries[i].name, names[i]);
		p->entries[i].size = sizeof(elf_img);
	}
}

Test(manifest, bind_images)
{
	struct bootpkg pkg;

	make_elf();
	make_pkg(&pkg);
	parse_ok(make_good());
	cr_assert_eq(manifest_bind_images(&m, &pkg), 2);
	cr_assert_eq(guest("hello")->elf.span, 0x2000);
	cr_assert_eq(guest("hello")->elf.entry, 0x1000);
	cr_assert_eq(guest("counter")->blob.data, elf_img);
	cr_assert_str_eq(guest("spin")->error, "guest 'spin': property 'image': "
			 "no entry 'spin.elf' in the boot package");
}

Test(manifest, bind_bad_elf_and_tight_quota)
{
	struct bootpkg pkg;

	make_elf();
	make_pkg(&pkg);
	/* boot-frames 255 of quota 256 leaves 1 frame; the image needs 2. */
	set_u32("hello", "boot-frames", 255);
	make_good();
	parse_ok(blob);
	memset(&ov, 0, sizeof(ov));
	((struct elf64_ehdr *)elf_img)->e_machine = 62;
	cr_assert_eq(manifest_bind_images(&m, &pkg), 0);
	cr_assert_str_eq(guest("counter")->error,
			 "guest 'counter': property 'image': counter.elf: "
			 "built for machine 62, not AArch64 (EM_AARCH64 = 183)");
	make_elf();
	parse_ok(blob);
	cr_assert_eq(manifest_bind_images(&m, &pkg), 1);
	cr_assert_str_eq(guest("hello")->error,
			 "guest 'hello': property 'quota-frames': 256 frames "
			 "cannot hold the image (2) and boot-frames (255): EL2 "
			 "needs 263 (with the guest DTB, granule rounding and "
			 "stage-2 tables)");
}

Test(manifest, share_with_names_other_guests)
{
	set_str("hello", "share-with", "nobody");
	expect_guest_error("hello", "guest 'hello': property 'share-with': "
			   "'nobody' is no guest of this manifest");
	set_str("counter", "share-with", "counter");
	expect_guest_error("counter", "guest 'counter': property 'share-with': "
			   "'counter' is the guest itself");
}

/* share-with is a short list of guests (EL2 keeps their indexes, not a
 * mask of every guest): a ninth name is refused. */
Test(manifest, share_with_names_at_most_eight_guests)
{
	static const char eight[] = "counter\0counter\0counter\0counter\0"
				    "counter\0counter\0counter\0counter";
	static const char nine[] = "counter\0counter\0counter\0counter\0"
				   "counter\0counter\0counter\0counter\0"
				   "counter";

	set_raw("hello", "share-with", eight, sizeof(eight));
	parse_ok(make_good());
	cr_assert_eq(guest("hello")->status, MANIFEST_GUEST_OK);
	cr_assert_eq(guest("hello")->nr_share_ids, MANIFEST_MAX_SHARE_WITH);
	set_raw("hello", "share-with", nine, sizeof(nine));
	expect_guest_error("hello", "guest 'hello': property 'share-with': "
			   "more than 8 guests");
}

Test(manifest, revoke_schedule_needs_three_cells)
{
	set_u32("hello", "revoke-schedule", 20);
	expect_guest_error("hello", "guest 'hello': property 'revoke-schedule': "
			   "must be three cells: <after-ms frames deadline-ms>");
}

Test(manifest, cpus)
{
	const char *want = "guest 'spin': property 'cpus': must be one cell of "
			   "1 to 8 (vCPUs)";

	parse_ok(make_good());
	cr_assert_eq(guest("spin")->cpus, 1, "one vCPU unless asked");
	set_u32("spin", "cpus", 0);
	expect_guest_error("spin", want);
	set_u32("spin", "cpus", EXO_VM_MAX_VCPUS + 1);
	expect_guest_error("spin", want);
	set_u32("spin", "cpus", EXO_VM_MAX_VCPUS);
	make_good();
	parse_ok(blob);
	cr_assert_eq(guest("spin")->cpus, EXO_VM_MAX_VCPUS);
	memset(&ov, 0, sizeof(ov));
}

/* cpu-affinity: a list of EL2's CPU numbers, one bit each; a CPU past
 * EL2's eight, a string or an empty list refused. */
Test(manifest, cpu_affinity)
{
	static fdt32_t cells[3];
	const char *list = "guest 'spin': property 'cpu-affinity': must be a "
			   "list of CPU numbers, like <0 2>";

	parse_ok(make_good());
	cr_assert_eq(guest("spin")->cpu_affinity, 0, "any CPU unless asked");
	cells[0] = cpu_to_fdt32(0);
	cells[1] = cpu_to_fdt32(2);
	cells[2] = cpu_to_fdt32(2);
	set_raw("spin", "cpu-affinity", cells, sizeof(cells));
	make_good();
	parse_ok(blob);
	cr_assert_eq(guest("spin")->cpu_affinity, 0x5, "CPUs 0 and 2");
	cells[1] = cpu_to_fdt32(MANIFEST_MAX_CPUS);
	set_raw("spin", "cpu-affinity", cells, 2 * sizeof(cells[0]));
	expect_guest_error("spin", "guest 'spin': property 'cpu-affinity': "
			   "names a CPU past 7 (EL2 runs on 8 at most)");
	set_raw("spin", "cpu-affinity", cells, 0);
	expect_guest_error("spin", list);
	set_raw("spin", "cpu-affinity", cells, 3);
	expect_guest_error("spin", list);
	memset(&ov, 0, sizeof(ov));
}

/* The budget beyond one vCPU per guest is given in manifest order: a guest
 * the rest cannot cover is refused, one after it that fits still runs. */
Test(manifest, vcpus_beyond_the_budget)
{
	void *f = blob;
	static const uint32_t asks[] = { 8, 8, 8, 8, 8, 5, 1 };
	char name[8];

	begin(f, "exo,system");
	fdt_begin_node(f, "guests");
	for (unsigned i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "g%u", i);
		fdt_begin_node(f, name);
		fdt_property_string(f, "image", "hello.elf");
		fdt_property_u32(f, "quota-frames", 256);
		fdt_property_u32(f, "cpus", asks[i]);
		fdt_end_node(f);
	}
	fdt_end_node(f);
	parse_ok(finish(f));
	cr_assert_eq(MANIFEST_EXTRA_VCPUS, 32);
	for (unsigned i = 0; i < 7; i++)
		cr_assert_eq(m.guests[i].status,
			     i == 4 ? MANIFEST_GUEST_INVALID : MANIFEST_GUEST_OK,
			     "g%u", i);
	cr_assert_str_eq(m.guests[4].error,
			 "guest 'g4': property 'cpus': 8 vCPUs, but the guests "
			 "before it left 4 beyond its first (EL2 has 32 beyond "
			 "one per guest)");
}
