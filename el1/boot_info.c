/*
 * Reads the guest DTB (include/exo/guest_dt.h) into struct el1_boot_info:
 * boot frames from /memory, name, heap policy, granule, arguments and the
 * memory-report request from /chosen. Read-only libfdt calls; everything kept is copied out, so the
 * DTB's frames may be reused later. Never applies a policy itself.
 */
#include <el1/el1.h>
#include <exo/guest_dt.h>
#include <libfdt.h>
#include <string.h>

#define DEFAULT_NAME "guest"

static char strings[EL1_STRINGS_MAX];
static char *argv_table[EL1_ARGS_MAX + 2];	/* argv[0], args, NULL */

struct arena {
	char *buf;
	size_t used, size;
};

/* Copies len bytes of s and a NUL into the arena; NULL when full. */
static char *arena_copy(struct arena *a, const char *s, size_t len)
{
	char *p;

	if (len >= a->size - a->used)
		return NULL;
	p = a->buf + a->used;
	memcpy(p, s, len);
	p[len] = '\0';
	a->used += len + 1;
	return p;
}

/* A string property of /chosen, copied; *out = NULL when absent. */
static const char *chosen_string(const void *fdt, int chosen, const char *prop,
				 struct arena *a, const char **out)
{
	int len;
	const char *s;

	*out = NULL;
	if (chosen < 0)
		return NULL;
	s = fdt_getprop(fdt, chosen, prop, &len);
	if (!s)
		return NULL;
	if (len < 1 || s[len - 1] != '\0')
		return "/chosen: a string property is not NUL-terminated";
	*out = arena_copy(a, s, (size_t)len - 1);
	return *out ? NULL : "/chosen: strings exceed EL1_STRINGS_MAX";
}

static uint64_t read_cells(const fdt32_t *p, int cells)
{
	uint64_t v = 0;

	for (int i = 0; i < cells; i++)
		v = (v << 32) | fdt32_to_cpu(p[i]);
	return v;
}

static const char *parse_memory_node(const void *fdt, int node, int ac,
				     int sc, struct el1_boot_info *info)
{
	int len;
	const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
	int entry = (ac + sc) * (int)sizeof(fdt32_t);

	if (!reg || len <= 0 || len % entry)
		return "/memory: reg is missing or malformed";
	for (; len > 0; len -= entry, reg += ac + sc) {
		if (info->mem_count == EL1_MEM_RANGES_MAX)
			return "/memory: more than EL1_MEM_RANGES_MAX ranges";
		info->mem[info->mem_count].base = read_cells(reg, ac);
		info->mem[info->mem_count].size = read_cells(reg + ac, sc);
		info->mem_count++;
	}
	return NULL;
}

static const char *parse_memory(const void *fdt, struct el1_boot_info *info)
{
	int ac = fdt_address_cells(fdt, 0);
	int sc = fdt_size_cells(fdt, 0);
	int node = -1;
	const char *err;

	if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
		return "root: #address-cells / #size-cells not 1 or 2";
	while ((node = fdt_node_offset_by_prop_value(
			fdt, node, "device_type", EXO_DT_MEMORY_TYPE,
			sizeof(EXO_DT_MEMORY_TYPE))) >= 0) {
		err = parse_memory_node(fdt, node, ac, sc, info);
		if (err)
			return err;
	}
	return info->mem_count ? NULL : "no /memory node";
}

static const char *parse_args(const void *fdt, int chosen, struct arena *a,
			      struct el1_boot_info *info)
{
	int n = chosen < 0 ? 0 : fdt_stringlist_count(fdt, chosen, EXO_DT_ARGS);

	if (n == -FDT_ERR_NOTFOUND)
		n = 0;
	if (n < 0)
		return "/chosen: exo,args is not a string list";
	if (n > EL1_ARGS_MAX)
		return "/chosen: more than EL1_ARGS_MAX exo,args";
	argv_table[0] = (char *)info->name;
	for (int i = 0; i < n; i++) {
		int len;
		const char *s = fdt_stringlist_get(fdt, chosen, EXO_DT_ARGS, i,
						   &len);

		if (!s || !(argv_table[i + 1] = arena_copy(a, s, (size_t)len)))
			return "/chosen: exo,args exceed EL1_STRINGS_MAX";
	}
	argv_table[n + 1] = NULL;
	info->argc = n + 1;
	info->argv = argv_table;
	return NULL;
}

static const char *parse_chosen(const void *fdt, struct el1_boot_info *info)
{
	struct arena a = { strings, 0, sizeof(strings) };
	int chosen = fdt_path_offset(fdt, EXO_DT_CHOSEN);
	const char *err;

	err = chosen_string(fdt, chosen, EXO_DT_NAME, &a, &info->name);
	if (!err && !info->name)
		info->name = DEFAULT_NAME;
	if (!err)
		err = chosen_string(fdt, chosen, EXO_DT_HEAP_POLICY, &a,
				    &info->heap_policy);
	if (!err)
		err = chosen_string(fdt, chosen, EXO_DT_GRANULE, &a,
				    &info->granule);
	if (!err)
		err = parse_args(fdt, chosen, &a, info);
	info->memory_report = chosen >= 0 &&
		fdt_getprop(fdt, chosen, EXO_DT_MEMORY_REPORT, NULL) != NULL;
	return err;
}

/* The vCPUs EL2 gave the guest: /cpus's nodes with device_type "cpu"
 * (vCPU n has MPIDR affinity n; el1/smp.c starts them). */
static unsigned count_cpus(const void *dtb)
{
	int cpus = fdt_path_offset(dtb, "/cpus"), node;
	unsigned n = 0;

	if (cpus < 0)
		return 1;
	fdt_for_each_subnode(node, dtb, cpus) {
		int len;
		const char *type = fdt_getprop(dtb, node, "device_type", &len);

		n += type && len == sizeof("cpu") && !memcmp(type, "cpu", len);
	}
	return n ? n : 1;
}

const char *el1_parse_dtb(const void *dtb, struct el1_boot_info *info)
{
	const char *err;

	memset(info, 0, sizeof(*info));
	if (!dtb || fdt_check_header(dtb) != 0)
		return "no valid DTB at x0";
	info->dtb = (uint64_t)(uintptr_t)dtb;
	info->dtb_size = fdt_totalsize(dtb);
	info->cpus = count_cpus(dtb);
	err = parse_memory(dtb, info);
	return err ? err : parse_chosen(dtb, info);
}

struct libos_config el1_libos_config(const struct el1_boot_info *info,
				     uint64_t image_bytes)
{
	uint64_t boot_bytes = 0;

	for (unsigned i = 0; i < info->mem_count; i++)
		boot_bytes += info->mem[i].size;
	return (struct libos_config){
		.name = info->name, .heap_policy = info->heap_policy,
		.argc = info->argc, .argv = info->argv,
		.granule = info->granule, .image_bytes = image_bytes,
		.boot_run_frames = boot_bytes / POOL_FRAME_SIZE,
		.memory_report = info->memory_report,
	};
}
