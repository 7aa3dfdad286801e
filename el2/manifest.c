/*
 * System manifest parsing. The manifest DTB is checked whole (fdt_check_full)
 * before any property is read, and every property is length-checked. A
 * malformed guest is marked invalid with an error naming it and the
 * property, and the other guests still boot; only a manifest that cannot be
 * read as a whole fails. Unknown properties are errors: a typo must never
 * silently fall back to a default. Read-only libfdt calls only (the arm64
 * library's write functions use SIMD registers, which EL2 never touches).
 */
#include <el2/dtb_bounds.h>
#include <el2/frames.h>
#include <el2/guest_dt.h>
#include <el2/manifest.h>
#include <el2/percpu.h>
#include <exo/hvc.h>
#include <lib/fmt.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Parses one property's value into g; returns NULL or what is wrong. */
typedef const char *(*manifest_prop_fn)(struct manifest_guest *g,
					const char *val, int len);

struct manifest_prop {
	const char *name;
	int required;
	manifest_prop_fn parse;
};

static void manifest_guest_fail(struct manifest_guest *g, const char *gname,
				const char *prop, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void manifest_guest_fail(struct manifest_guest *g, const char *gname,
				const char *prop, const char *fmt, ...)
{
	int n = prop ? fmt_snprintf(g->error, sizeof(g->error),
				    "guest '%s': property '%s': ", gname, prop)
		     : fmt_snprintf(g->error, sizeof(g->error), "guest '%s': ",
				    gname);
	va_list ap;

	if (n < 0 || (size_t)n >= sizeof(g->error))
		n = sizeof(g->error) - 1;
	va_start(ap, fmt);
	fmt_vsnprintf(g->error + n, sizeof(g->error) - n, fmt, ap);
	va_end(ap);
	g->status = MANIFEST_GUEST_INVALID;
}

static int manifest_fail(struct manifest *m, const char *what)
{
	fmt_snprintf(m->error, sizeof(m->error), "manifest: %s", what);
	return -1;
}

/* --- property values ------------------------------------------------------ */

static const char *manifest_string(const char *val, int len, size_t max)
{
	/* One string: its only NUL is the last byte. */
	if (len < 2 || memchr(val, '\0', (size_t)len) != val + len - 1)
		return "must be one non-empty string";
	if ((size_t)len - 1 > max)
		return "string too long";
	return NULL;
}

/* A value that reads as one NUL-terminated string of printable characters,
 * like quota-frames = "256" where <256> was meant: dtc stores the bytes
 * "256\0", which are also the cell 0x32353600. Such a cell is >= 0x20202000
 * (538,976,256): more than any u32 property means (a quota that large is
 * over 2 TiB), so a 4-byte string is refused as a string, never read as a
 * number. */
static bool manifest_is_string(const char *val, int len)
{
	if (len < 2 || val[len - 1] != '\0')
		return false;
	for (int i = 0; i < len - 1; i++)
		if (val[i] < ' ' || val[i] > '~')
			return false;
	return true;
}

static const char *manifest_string_hint(struct manifest_guest *g,
					const char *val)
{
	const char *p = val;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p != val && !*p)
		fmt_snprintf(g->why, sizeof(g->why),
			     "is the string \"%s\": write <%s>", val, val);
	else
		fmt_snprintf(g->why, sizeof(g->why), "is the string \"%s\": "
			     "write a number, like <64>", val);
	return g->why;
}

static const char *manifest_u32(struct manifest_guest *g, const char *val,
				int len, uint32_t min, uint32_t max,
				uint32_t *out)
{
	fdt32_t raw;

	if (manifest_is_string(val, len))
		return manifest_string_hint(g, val);
	if (len != (int)sizeof(raw))
		return "must be one 32-bit cell, like <64>";
	memcpy(&raw, val, sizeof(raw));
	*out = fdt32_to_cpu(raw);
	if (*out < min)
		return *out ? "value too small" : "must not be 0";
	if (*out > max)
		return "value too large";
	return NULL;
}

static const char *prop_image(struct manifest_guest *g, const char *val,
			      int len)
{
	const char *why = manifest_string(val, len, BOOTPKG_NAME_MAX);

	if (!why)
		g->image = val;
	return why;
}

static const char *prop_quota(struct manifest_guest *g, const char *val,
			      int len)
{
	return manifest_u32(g, val, len, 1, UINT32_MAX, &g->quota_frames);
}

static const char *prop_boot_frames(struct manifest_guest *g, const char *val,
				    int len)
{
	return manifest_u32(g, val, len, 1, UINT32_MAX, &g->boot_frames);
}

static const char *prop_heap_policy(struct manifest_guest *g, const char *val,
				    int len)
{
	const char *why = manifest_string(val, len, MANIFEST_STR_MAX);

	if (!why)
		g->heap_policy = val;
	return why;
}

/* A DT string list: NUL-terminated strings back to back; empty means none. */
static const char *prop_args(struct manifest_guest *g, const char *val,
			     int len)
{
	uint32_t nr = 0;

	if (len > MANIFEST_ARGS_MAX_BYTES)
		return "longer than 1024 bytes";
	if (len > 0 && val[len - 1] != '\0')
		return "must be a list of strings, like \"-v\", \"x\"";
	for (int i = 0; i < len; i++)
		nr += val[i] == '\0';
	if (nr > MANIFEST_MAX_ARGS)
		return "more than 32 strings";
	g->args = len > 0 ? val : "";
	g->args_len = (uint32_t)len;
	g->nr_args = nr;
	return NULL;
}

static const char *prop_share_with(struct manifest_guest *g, const char *val,
				   int len)
{
	if (len <= 0 || val[len - 1] != '\0')
		return "must be a list of guest names, like \"beta\", \"gamma\"";
	g->share_with = val;
	g->share_with_len = (uint32_t)len;
	return NULL;
}

static const char *prop_revoke_schedule(struct manifest_guest *g,
					const char *val, int len)
{
	const fdt32_t *cell = (const fdt32_t *)val;

	if (len != 3 * 4)
		return "must be three cells: <after-ms frames deadline-ms>";
	g->revoke_after_ms = fdt32_to_cpu(cell[0]);
	g->revoke_frames = fdt32_to_cpu(cell[1]);
	g->revoke_deadline_ms = fdt32_to_cpu(cell[2]);
	if (!g->revoke_frames)
		return "asks for 0 frames";
	return NULL;
}

static const struct {
	const char *name;
	bool has_param;
} manifest_faults[MANIFEST_NR_FAULTS] = {
	[MANIFEST_FAULT_HVC_FAIL] = { "hvc-fail", true },
	[MANIFEST_FAULT_NO_FRAMES] = { "no-frames", false },
	[MANIFEST_FAULT_DROP_REVOKE] = { "drop-revoke", false },
	[MANIFEST_FAULT_SPURIOUS_ABORT] = { "spurious-abort", true },
	[MANIFEST_FAULT_SPURIOUS_IRQ] = { "spurious-irq", true },
	[MANIFEST_FAULT_CORRUPT_REG] = { "corrupt-reg", true },
	[MANIFEST_FAULT_CORRUPT_MEM] = { "corrupt-mem", true },
	[MANIFEST_FAULT_DELAY_REVOKE] = { "delay-revoke", true },
};

/* One "kind" or "kind:number" entry of fault-inject. */
static const char *parse_fault(struct manifest_guest *g, const char *e)
{
	for (unsigned f = 0; f < MANIFEST_NR_FAULTS; f++) {
		size_t n = strlen(manifest_faults[f].name);
		char *end;

		if (strncmp(e, manifest_faults[f].name, n) ||
		    (e[n] && e[n] != ':'))
			continue;
		if (manifest_faults[f].has_param != (e[n] == ':'))
			return manifest_faults[f].has_param
				       ? "a fault needs a number: \"kind:N\""
				       : "this fault takes no number";
		if (e[n] == ':') {
			g->fault_param[f] = (uint32_t)strtoul(e + n + 1, &end, 0);
			if (*end || end == e + n + 1)
				return "the number after ':' is not a number";
		}
		g->faults |= 1u << f;
		return NULL;
	}
	return "unknown fault kind (hvc-fail:N, no-frames, drop-revoke, "
	       "delay-revoke:N, spurious-abort:N, spurious-irq:N, "
	       "corrupt-reg:N, corrupt-mem:N)";
}

static const char *prop_fault_inject(struct manifest_guest *g,
				     const char *val, int len)
{
	if (len <= 0 || val[len - 1] != '\0')
		return "must be a list of strings, like \"hvc-fail:100\"";
	for (int off = 0; off < len; off += (int)strlen(val + off) + 1) {
		const char *err = parse_fault(g, val + off);

		if (err)
			return err;
	}
	return NULL;
}

static const char *prop_timeslice(struct manifest_guest *g, const char *val,
				  int len)
{
	if (manifest_is_string(val, len))
		return manifest_string_hint(g, val);
	if (manifest_u32(g, val, len, MANIFEST_MIN_TIMESLICE_US,
			 MANIFEST_MAX_TIMESLICE_US, &g->timeslice_us))
		return "must be one cell of 100 to 1000000 (microseconds)";
	return NULL;
}

static const char *prop_violation_limit(struct manifest_guest *g,
					const char *val, int len)
{
	return manifest_u32(g, val, len, 1, UINT32_MAX, &g->violation_limit);
}

static const char *prop_excused_touch_limit(struct manifest_guest *g,
					    const char *val, int len)
{
	return manifest_u32(g, val, len, 0, UINT32_MAX,
			    &g->excused_touch_limit);
}

static const char *prop_cpu_limit(struct manifest_guest *g, const char *val,
				  int len)
{
	return manifest_u32(g, val, len, 0, UINT32_MAX, &g->cpu_limit_ms);
}

static const char *prop_cpus(struct manifest_guest *g, const char *val,
			     int len)
{
	const char *why = manifest_u32(g, val, len, 1, EXO_VM_MAX_VCPUS,
				       &g->cpus);

	if (why && !manifest_is_string(val, len))
		return "must be one cell of 1 to 8 (vCPUs)";
	return why;
}
_Static_assert(EXO_VM_MAX_VCPUS == 8, "prop_cpus's message says 8");

/* The physical CPUs (EL2's numbers, 0 the boot CPU) its vCPUs may be
 * placed on: one cell each, at least one. */
static const char *prop_cpu_affinity(struct manifest_guest *g,
				     const char *val, int len)
{
	fdt32_t raw;

	if (manifest_is_string(val, len))
		return manifest_string_hint(g, val);
	if (len <= 0 || len % (int)sizeof(raw))
		return "must be a list of CPU numbers, like <0 2>";
	g->cpu_affinity = 0;
	for (int off = 0; off < len; off += (int)sizeof(raw)) {
		uint32_t cpu;

		memcpy(&raw, val + off, sizeof(raw));
		cpu = fdt32_to_cpu(raw);
		if (cpu >= MANIFEST_MAX_CPUS)
			return "names a CPU past 7 (EL2 runs on 8 at most)";
		g->cpu_affinity |= UINT32_C(1) << cpu;
	}
	return NULL;
}
_Static_assert(MANIFEST_MAX_CPUS == EL2_MAX_CPUS,
	       "prop_cpu_affinity's message says 8");

static const char *prop_granule(struct manifest_guest *g, const char *val,
				int len)
{
	static const struct { const char *name; uint32_t bytes; } granules[] = {
		{ "4k", 4u << 10 }, { "16k", 16u << 10 }, { "64k", 64u << 10 },
	};

	if (manifest_string(val, len, MANIFEST_STR_MAX))
		return "must be \"4k\", \"16k\" or \"64k\"";
	for (size_t i = 0; i < sizeof(granules) / sizeof(granules[0]); i++) {
		if (!strcmp(val, granules[i].name)) {
			g->granule = granules[i].name;
			g->granule_bytes = granules[i].bytes;
			return NULL;
		}
	}
	return "must be \"4k\", \"16k\" or \"64k\"";
}

/* Whose instructions the guest's PMU counts: its own ("guest", the
 * default) or, a privilege, EL2's and every guest's too ("system"). */
static const char *prop_pmu(struct manifest_guest *g, const char *val,
			    int len)
{
	if (!manifest_string(val, len, MANIFEST_STR_MAX)) {
		if (!strcmp(val, MANIFEST_PMU_GUEST)) {
			g->pmu_system = false;
			return NULL;
		}
		if (!strcmp(val, MANIFEST_PMU_SYSTEM)) {
			g->pmu_system = true;
			return NULL;
		}
	}
	return "must be \"guest\" or \"system\"";
}

/* The known properties. A new one (say, a test-only fault-inject) is one
 * line here, one field in struct manifest_guest and its default below. */
static const struct manifest_prop manifest_props[] = {
	{ "image", 1, prop_image },
	{ "quota-frames", 1, prop_quota },
	{ "boot-frames", 0, prop_boot_frames },
	{ "heap-policy", 0, prop_heap_policy },
	{ "args", 0, prop_args },
	{ "timeslice-us", 0, prop_timeslice },
	{ "violation-limit", 0, prop_violation_limit },
	{ "excused-touch-limit", 0, prop_excused_touch_limit },
	{ "granule", 0, prop_granule },
	{ "cpu-limit-ms", 0, prop_cpu_limit },
	{ "share-with", 0, prop_share_with },
	{ "revoke-schedule", 0, prop_revoke_schedule },
	{ "fault-inject", 0, prop_fault_inject },
	{ "pmu", 0, prop_pmu },
	{ "cpus", 0, prop_cpus },
	{ "cpu-affinity", 0, prop_cpu_affinity },
};

#define MANIFEST_NR_PROPS (sizeof(manifest_props) / sizeof(manifest_props[0]))
_Static_assert(MANIFEST_NR_PROPS <= 32, "seen-mask is 32 bits");

static void manifest_guest_defaults(struct manifest_guest *g)
{
	g->boot_frames = MANIFEST_DEFAULT_BOOT_FRAMES;
	g->cpus = 1;
	g->heap_policy = MANIFEST_DEFAULT_HEAP_POLICY;
	g->args = "";
	g->timeslice_us = MANIFEST_DEFAULT_TIMESLICE_US;
	g->violation_limit = MANIFEST_DEFAULT_VIOLATION_LIMIT;
	g->excused_touch_limit = MANIFEST_DEFAULT_EXCUSED_TOUCH_LIMIT;
	g->granule = MANIFEST_DEFAULT_GRANULE;
	g->granule_bytes = 4u << 10;
	g->pmu_system = false;
}

/* --- one guest ------------------------------------------------------------ */

static int manifest_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MANIFEST_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int manifest_find_prop(const char *name)
{
	for (size_t i = 0; i < MANIFEST_NR_PROPS; i++)
		if (!strcmp(name, manifest_props[i].name))
			return (int)i;
	return -1;
}

static const char *manifest_apply_prop(struct manifest_guest *g,
				       const char *pname, const char *val,
				       int len, uint32_t *seen)
{
	int i;

	if (!val || !pname)
		return "unreadable property";
	i = manifest_find_prop(pname);
	if (i < 0)
		return "unknown property";
	if (*seen & (1u << i))
		return "given twice";
	*seen |= 1u << i;
	return manifest_props[i].parse(g, val, len);
}

/* Applies every property of the node and records which were seen; on the
 * first bad one marks the guest invalid and returns -1. */
static int manifest_guest_props(const void *fdt, int node,
				struct manifest_guest *g, const char *gname,
				uint32_t *seen)
{
	int off;

	*seen = 0;
	fdt_for_each_property_offset(off, fdt, node) {
		const char *pname = NULL;
		int len = 0;
		const char *val = fdt_getprop_by_offset(fdt, off, &pname, &len);
		const char *why = manifest_apply_prop(g, pname, val, len, seen);

		if (why) {
			manifest_guest_fail(g, gname, pname ? pname : "?", "%s",
					    why);
			return -1;
		}
	}
	return 0;
}

static int manifest_guest_required(struct manifest_guest *g, uint32_t seen,
				   const char *gname)
{
	for (size_t i = 0; i < MANIFEST_NR_PROPS; i++) {
		if (manifest_props[i].required && !(seen & (1u << i))) {
			manifest_guest_fail(g, gname, manifest_props[i].name,
					    "missing (required)");
			return -1;
		}
	}
	return 0;
}

/* Checks between properties, and against the machine. */
static void manifest_guest_quota(struct manifest_guest *g, const char *gname,
				 uint64_t ram_frames)
{
	if (g->quota_frames > ram_frames)
		manifest_guest_fail(g, gname, "quota-frames",
				    "%u frames exceed the %lu frames of RAM",
				    g->quota_frames, (unsigned long)ram_frames);
	else if (g->boot_frames >= g->quota_frames)
		manifest_guest_fail(g, gname, "boot-frames",
				    "%u frames leave no room for the image in "
				    "quota-frames (%u)",
				    g->boot_frames, g->quota_frames);
}

static void manifest_parse_guest(const void *fdt, int node,
				 uint64_t ram_frames, struct manifest_guest *g)
{
	const char *gname = fdt_get_name(fdt, node, NULL);
	int sub = fdt_first_subnode(fdt, node);
	uint32_t seen;

	memset(g, 0, sizeof(*g));
	g->node = node;
	manifest_guest_defaults(g);
	fmt_snprintf(g->name, sizeof(g->name), "%s", gname);
	if (!manifest_name_ok(gname)) {
		manifest_guest_fail(g, gname, NULL, "name must be 1 to 15 "
				    "characters of [a-z0-9_-]");
		return;
	}
	if (sub >= 0) {
		manifest_guest_fail(g, gname, NULL, "unexpected subnode '%s'",
				    fdt_get_name(fdt, sub, NULL));
		return;
	}
	if (manifest_guest_props(fdt, node, g, gname, &seen) ||
	    manifest_guest_required(g, seen, gname))
		return;
	manifest_guest_quota(g, gname, ram_frames);
}

/* --- the whole manifest --------------------------------------------------- */

/* The bounded walk first: libfdt 1.6.1's fdt_check_full() loops forever on
 * a property length near 2^32, and dereferences NULL on a tree older than
 * version 16 whose root name has no '/'. */
static int manifest_check_dtb(const void *fdt, size_t size, struct manifest *m)
{
	char why[MANIFEST_ERR_SIZE];
	int rc;

	if (dtb_bounds_check(fdt, size, why, sizeof(why))) {
		fmt_snprintf(m->error, sizeof(m->error),
			     "manifest: not a valid DTB: %s", why);
		return -1;
	}
	rc = fdt_check_full(fdt, size);
	if (rc) {
		fmt_snprintf(m->error, sizeof(m->error),
			     "manifest: not a valid DTB: %s", fdt_strerror(rc));
		return -1;
	}
	if (fdt_node_check_compatible(fdt, 0, MANIFEST_COMPATIBLE))
		return manifest_fail(m, "root compatible is not \"exo,system\"");
	return 0;
}

static int manifest_duplicate(const void *fdt, int guests, int node)
{
	const char *name = fdt_get_name(fdt, node, NULL);
	int other;

	fdt_for_each_subnode(other, fdt, guests) {
		if (other == node)
			return 0;
		if (!strcmp(name, fdt_get_name(fdt, other, NULL)))
			return 1;
	}
	return 0;
}

static int manifest_parse_guests(const void *fdt, int guests,
				 uint64_t ram_frames, struct manifest *m)
{
	int node;

	fdt_for_each_subnode(node, fdt, guests) {
		if (m->nr_guests == MANIFEST_MAX_GUESTS)
			return manifest_fail(m, "too many guests (at most 1023)");
		if (manifest_duplicate(fdt, guests, node)) {
			fmt_snprintf(m->error, sizeof(m->error),
				     "manifest: two guests are named '%s'",
				     fdt_get_name(fdt, node, NULL));
			return -1;
		}
		manifest_parse_guest(fdt, node, ram_frames,
				     &m->guests[m->nr_guests++]);
	}
	if (!m->nr_guests)
		return manifest_fail(m, "node /guests has no guests");
	return 0;
}

static int manifest_index(const struct manifest *m, const char *name)
{
	for (unsigned i = 0; i < m->nr_guests; i++) {
		if (!strcmp(m->guests[i].name, name))
			return (int)i;
	}
	return -1;
}

/* share-with names other guests of this manifest, at most
 * MANIFEST_MAX_SHARE_WITH: each becomes an index in share_ids. */
static void manifest_resolve_one(const struct manifest *m, unsigned self,
				 struct manifest_guest *g)
{
	for (uint32_t off = 0; off < g->share_with_len;) {
		const char *name = g->share_with + off;
		int i = manifest_index(m, name);

		off += (uint32_t)strlen(name) + 1;
		if (i < 0 || (unsigned)i == self) {
			manifest_guest_fail(g, g->name, "share-with", "'%s' is %s",
					    name, i < 0 ? "no guest of this manifest"
							: "the guest itself");
			return;
		}
		if (g->nr_share_ids == MANIFEST_MAX_SHARE_WITH) {
			manifest_guest_fail(g, g->name, "share-with",
					    "more than %u guests",
					    MANIFEST_MAX_SHARE_WITH);
			return;
		}
		g->share_ids[g->nr_share_ids++] = (uint16_t)i;
	}
}

static void manifest_resolve_shares(struct manifest *m)
{
	for (unsigned i = 0; i < m->nr_guests; i++) {
		if (m->guests[i].status == MANIFEST_GUEST_OK)
			manifest_resolve_one(m, i, &m->guests[i]);
	}
}

/* exo,testing allows fault-inject (and only test manifests have it); a
 * guest asking for faults without it is refused, never silently run. */
static void manifest_root_testing(const void *fdt, struct manifest *m)
{
	int len;
	const fdt32_t *seed = fdt_getprop(fdt, 0, "exo,fault-seed", &len);

	m->testing = fdt_getprop(fdt, 0, "exo,testing", NULL) != NULL;
	if (seed && len == 8)
		m->fault_seed = (uint64_t)fdt32_to_cpu(seed[0]) << 32 |
				fdt32_to_cpu(seed[1]);
	else if (seed && len == 4)
		m->fault_seed = fdt32_to_cpu(seed[0]);
	for (unsigned i = 0; i < m->nr_guests; i++) {
		struct manifest_guest *g = &m->guests[i];

		if (g->status == MANIFEST_GUEST_OK && g->faults && !m->testing)
			manifest_guest_fail(g, g->name, "fault-inject",
					    "only test manifests may inject "
					    "faults (add exo,testing; to the "
					    "root node)");
	}
}

/* vCPUs beyond each guest's first come from one budget EL2 sets aside at
 * build time (MANIFEST_EXTRA_VCPUS): given in manifest order, a guest
 * whose `cpus` the rest cannot cover is refused, never started with fewer. */
static void manifest_budget_vcpus(struct manifest *m)
{
	uint32_t left = MANIFEST_EXTRA_VCPUS;

	for (unsigned i = 0; i < m->nr_guests; i++) {
		struct manifest_guest *g = &m->guests[i];

		if (g->status != MANIFEST_GUEST_OK)
			continue;
		if (g->cpus - 1 > left) {
			manifest_guest_fail(g, g->name, "cpus",
					    "%u vCPUs, but the guests before it "
					    "left %u beyond its first (EL2 has "
					    "%u beyond one per guest)",
					    g->cpus, left, MANIFEST_EXTRA_VCPUS);
			continue;
		}
		left -= g->cpus - 1;
	}
}

int manifest_parse(const void *fdt, size_t size, uint64_t ram_frames,
		   struct manifest *out)
{
	int guests;

	memset(out, 0, sizeof(*out));
	if (manifest_check_dtb(fdt, size, out))
		return -1;
	out->memory_snapshot = fdt_getprop(fdt, 0, MANIFEST_MEMORY_SNAPSHOT,
					   NULL) != NULL;
	guests = fdt_subnode_offset(fdt, 0, "guests");
	if (guests < 0)
		return manifest_fail(out, "no /guests node");
	if (manifest_parse_guests(fdt, guests, ram_frames, out)) {
		out->nr_guests = 0;
		return -1;
	}
	manifest_resolve_shares(out);
	manifest_root_testing(fdt, out);
	manifest_budget_vcpus(out);
	return 0;
}

/* --- images --------------------------------------------------------------- */

static void manifest_bind_one(struct manifest_guest *g,
			      const struct bootpkg *pkg)
{
	char why[MANIFEST_ERR_SIZE];
	uint64_t need;

	g->blob = bootpkg_find(pkg, g->image);
	if (!g->blob.data) {
		manifest_guest_fail(g, g->name, "image",
				    "no entry '%s' in the boot package",
				    g->image);
		return;
	}
	if (elf_check(g->blob.data, g->blob.size, &g->elf, why, sizeof(why))) {
		manifest_guest_fail(g, g->name, "image", "%s: %s", g->image,
				    why);
		return;
	}
	need = manifest_boot_run_frames(g) + manifest_boot_s2_tables(g);
	if (need > g->quota_frames)
		manifest_guest_fail(g, g->name, "quota-frames",
				    "%u frames cannot hold the image (%lu) and "
				    "boot-frames (%u): EL2 needs %lu (with the "
				    "guest DTB, granule rounding and stage-2 "
				    "tables)", g->quota_frames,
				    (unsigned long)elf_frames(&g->elf),
				    g->boot_frames, (unsigned long)need);
}

/* log2 of the guest's stage-1 granule in frames (0, 2 or 4). */
unsigned manifest_granule_frames_log2(const struct manifest_guest *g)
{
	unsigned log2 = 0;

	while ((UINT64_C(1) << (log2 + FRAMES_SHIFT)) < g->granule_bytes)
		log2++;
	return log2;
}

/* Rounded up to whole granules: the guest maps its boot run with its own
 * stage-1 granule, and must never map a frame it does not hold. */
uint64_t manifest_boot_run_frames(const struct manifest_guest *g)
{
	uint64_t count = elf_frames(&g->elf) + GUEST_DT_FRAMES +
			 g->boot_frames;
	uint64_t mask = (UINT64_C(1) << manifest_granule_frames_log2(g)) - 1;

	return (count + mask) & ~mask;
}

/* The fewest stage-2 table pages the boot run costs wherever it lands:
 * the pages kept in hand, a table per 1 GiB, and a last-level table for a
 * part that is no whole 2 MiB block. */
uint64_t manifest_boot_s2_tables(const struct manifest_guest *g)
{
	uint64_t run = manifest_boot_run_frames(g);

	return EXO_S2_TABLE_RESERVE +
	       (run + EXO_S2_L2_TABLE_FRAMES - 1) / EXO_S2_L2_TABLE_FRAMES +
	       (run % EXO_S2_L3_TABLE_FRAMES != 0);
}

unsigned manifest_bind_images(struct manifest *m, const struct bootpkg *pkg)
{
	for (unsigned i = 0; i < m->nr_guests; i++)
		if (m->guests[i].status == MANIFEST_GUEST_OK)
			manifest_bind_one(&m->guests[i], pkg);
	return manifest_nr_ok(m);
}

unsigned manifest_nr_ok(const struct manifest *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->nr_guests; i++)
		n += m->guests[i].status == MANIFEST_GUEST_OK;
	return n;
}
