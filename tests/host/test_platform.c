/*
 * el2/platform.c on DTBs built here with libfdt: QEMU virt's shape, then the
 * same with one node or property missing or malformed.
 */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/platform.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

enum omit {
	OMIT_NONE, OMIT_MEMORY, OMIT_UART, OMIT_UART_REG, OMIT_GIC,
	OMIT_GICR_REG, OMIT_TIMER, OMIT_TIMER_SHORT, OMIT_PSCI,
	PSCI_BAD_METHOD, PSCI_HVC,
};

static char blob[8192];

/* What make_dtb adds for the reserved-memory tests: /memreserve/ entries
 * and /reserved-memory children (a size of 0: a child with no reg). */
struct rsv_node {
	const char *name;
	uint64_t base, size;
	bool no_map;
};
static const uint64_t (*memreserve)[2];
static unsigned nr_memreserve;
static const struct rsv_node *rsv_nodes;
static unsigned nr_rsv_nodes;

static void prop_reg(void *f, uint64_t base, uint64_t size);

/* What make_dtb adds under /cpus when cpus_cells is not 0. */
struct cpu_node {
	const char *name;
	const char *device_type;
	const char *method;     /* NULL: no enable-method */
	uint64_t reg;
	int reg_cells;          /* 0: no reg */
};
static const struct cpu_node *cpu_nodes;
static unsigned nr_cpu_nodes;
static int cpus_cells;

static void add_cpus(void *f)
{
	if (!cpus_cells)
		return;
	fdt_begin_node(f, "cpus");
	fdt_property_u32(f, "#address-cells", (uint32_t)cpus_cells);
	fdt_property_u32(f, "#size-cells", 0);
	fdt_begin_node(f, "cpu-map");   /* not a CPU */
	fdt_end_node(f);
	for (unsigned i = 0; i < nr_cpu_nodes; i++) {
		const struct cpu_node *c = &cpu_nodes[i];

		fdt_begin_node(f, c->name);
		fdt_property_string(f, "device_type", c->device_type);
		if (c->method)
			fdt_property_string(f, "enable-method", c->method);
		if (c->reg_cells == 1)
			fdt_property_u32(f, "reg", (uint32_t)c->reg);
		else if (c->reg_cells == 2)
			fdt_property_u64(f, "reg", c->reg);
		fdt_end_node(f);
	}
	fdt_end_node(f);
}

static void add_reserved_memory(void *f)
{
	if (!nr_rsv_nodes)
		return;
	fdt_begin_node(f, "reserved-memory");
	fdt_property_u32(f, "#address-cells", 2);
	fdt_property_u32(f, "#size-cells", 2);
	fdt_property(f, "ranges", NULL, 0);
	for (unsigned i = 0; i < nr_rsv_nodes; i++) {
		fdt_begin_node(f, rsv_nodes[i].name);
		if (rsv_nodes[i].size)
			prop_reg(f, rsv_nodes[i].base, rsv_nodes[i].size);
		else
			fdt_property_u64(f, "size", 0x100000);
		if (rsv_nodes[i].no_map)
			fdt_property(f, "no-map", NULL, 0);
		fdt_end_node(f);
	}
	fdt_end_node(f);
}

static void prop_reg(void *f, uint64_t base, uint64_t size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

	cr_assert_eq(fdt_property(f, "reg", reg, sizeof(reg)), 0);
}

static void prop_reg2(void *f, uint64_t b0, uint64_t s0, uint64_t b1, uint64_t s1)
{
	fdt64_t reg[4] = { cpu_to_fdt64(b0), cpu_to_fdt64(s0),
			   cpu_to_fdt64(b1), cpu_to_fdt64(s1) };

	cr_assert_eq(fdt_property(f, "reg", reg, sizeof(reg)), 0);
}

/* The GIC node's maintenance interrupt (type, number, flags cells), as
 * QEMU's virt gives it; a test may drop it (gic_maintenance_cells = 0). */
static uint32_t gic_maintenance[3] = { 1, 9, 4 };
static unsigned gic_maintenance_cells = 3;

static void add_gic_maintenance(void *f)
{
	fdt32_t cells[3];

	if (!gic_maintenance_cells)
		return;
	for (unsigned i = 0; i < 3; i++)
		cells[i] = cpu_to_fdt32(gic_maintenance[i]);
	fdt_property(f, "interrupts", cells,
		     gic_maintenance_cells * sizeof(fdt32_t));
}

static void *make_dtb(enum omit omit)
{
	void *f = blob;
	fdt32_t timer[12];
	static const uint32_t ppis[4] = { 13, 14, 11, 10 };

	cr_assert_eq(fdt_create(f, sizeof(blob)), 0);
	for (unsigned i = 0; i < nr_memreserve; i++)
		cr_assert_eq(fdt_add_reservemap_entry(f, memreserve[i][0],
						      memreserve[i][1]), 0);
	fdt_finish_reservemap(f);
	fdt_begin_node(f, "");
	fdt_property_u32(f, "#address-cells", 2);
	fdt_property_u32(f, "#size-cells", 2);
	if (omit != OMIT_MEMORY) {
		fdt_begin_node(f, "memory@40000000");
		fdt_property_string(f, "device_type", "memory");
		prop_reg(f, 0x40000000, 0x40000000);
		fdt_end_node(f);
	}
	if (omit != OMIT_UART) {
		fdt_begin_node(f, "pl011@9000000");
		fdt_property_string(f, "compatible", "arm,pl011");
		if (omit != OMIT_UART_REG)
			prop_reg(f, 0x09000000, 0x1000);
		fdt_end_node(f);
	}
	if (omit != OMIT_GIC) {
		fdt_begin_node(f, "intc@8000000");
		fdt_property_string(f, "compatible", "arm,gic-v3");
		if (omit == OMIT_GICR_REG)
			prop_reg(f, 0x08000000, 0x10000);
		else
			prop_reg2(f, 0x08000000, 0x10000, 0x080a0000, 0xf60000);
		add_gic_maintenance(f);
		fdt_end_node(f);
	}
	if (omit != OMIT_TIMER) {
		for (int i = 0; i < 4; i++) {
			timer[i * 3] = cpu_to_fdt32(1);
			timer[i * 3 + 1] = cpu_to_fdt32(ppis[i]);
			timer[i * 3 + 2] = cpu_to_fdt32(0x104);
		}
		fdt_begin_node(f, "timer");
		fdt_property_string(f, "compatible", "arm,armv8-timer");
		fdt_property(f, "interrupts", timer,
			     omit == OMIT_TIMER_SHORT ? 24 : sizeof(timer));
		fdt_end_node(f);
	}
	if (omit != OMIT_PSCI) {
		fdt_begin_node(f, "psci");
		fdt_property_string(f, "compatible", "arm,psci-1.0");
		fdt_property_string(f, "method", omit == PSCI_BAD_METHOD ? "svc"
						 : omit == PSCI_HVC ? "hvc" : "smc");
		fdt_end_node(f);
	}
	fdt_begin_node(f, "chosen");
	fdt_property_string(f, "bootargs", "exo.test=none");
	fdt_end_node(f);
	add_reserved_memory(f);
	add_cpus(f);
	fdt_end_node(f);
	cr_assert_eq(fdt_finish(f), 0);
	return f;
}

static int parse(void *dtb, struct platform *p, char *err, size_t size)
{
	return platform_parse(dtb, sizeof(blob), p, err, size);
}

Test(platform, parses_qemu_virt_shape)
{
	struct platform p;
	char err[128] = "";

	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(p.nr_ram, 1);
	cr_assert_eq(p.ram[0].base, 0x40000000);
	cr_assert_eq(p.ram[0].size, 0x40000000);
	cr_assert_eq(p.uart.base, 0x09000000);
	cr_assert_eq(p.gicd.base, 0x08000000);
	cr_assert_eq(p.gicr.base, 0x080a0000);
	cr_assert_eq(p.gicr.size, 0xf60000);
	cr_assert_eq(p.timer_intid[TIMER_SEC_PHYS], 29);
	cr_assert_eq(p.timer_intid[TIMER_NS_PHYS], 30);
	cr_assert_eq(p.timer_intid[TIMER_VIRT], 27);
	cr_assert_eq(p.timer_intid[TIMER_HYP_PHYS], 26);
	cr_assert_eq(p.psci, PSCI_CONDUIT_SMC);
	cr_assert_str_eq(p.bootargs, "exo.test=none");
}

Test(platform, hvc_conduit)
{
	struct platform p;
	char err[128];

	cr_assert_eq(parse(make_dtb(PSCI_HVC), &p, err, sizeof(err)), 0);
	cr_assert_eq(p.psci, PSCI_CONDUIT_HVC);
}

static void expect_error(enum omit omit, const char *words)
{
	struct platform p;
	char err[128] = "";

	cr_assert_lt(parse(make_dtb(omit), &p, err, sizeof(err)), 0,
		     "case %d accepted", omit);
	cr_assert(strstr(err, words), "case %d: '%s' lacks '%s'", omit, err,
		  words);
}

Test(platform, each_missing_or_malformed_node_is_named)
{
	expect_error(OMIT_MEMORY, "memory");
	expect_error(OMIT_UART, "arm,pl011");
	expect_error(OMIT_UART_REG, "arm,pl011");
	expect_error(OMIT_GIC, "distributor");
	expect_error(OMIT_GICR_REG, "redistributors");
	expect_error(OMIT_TIMER, "timer");
	expect_error(OMIT_TIMER_SHORT, "4 PPIs");
	expect_error(OMIT_PSCI, "psci");
	expect_error(PSCI_BAD_METHOD, "method");
}

Test(platform, not_a_dtb)
{
	struct platform p;
	char err[128] = "";
	static char junk[256] = "this is not a device tree";

	cr_assert_lt(platform_parse(junk, sizeof(junk), &p, err, sizeof(err)), 0);
	cr_assert(strstr(err, "not a valid DTB: bad magic"), "%s", err);
}

/* The bounded walk runs first: a property length that wraps libfdt's int
 * offsets back onto its own tag is refused, not walked forever. */
Test(platform, wrapping_property_length_is_refused, .timeout = 10)
{
	struct platform p;
	char err[128] = "";
	void *f = make_dtb(OMIT_NONE);
	int prop = fdt_first_property_offset(f, 0);
	struct fdt_property *pp = (void *)((char *)f + fdt_off_dt_struct(f) +
					   prop);

	pp->len = cpu_to_fdt32(0xfffffff4);
	cr_assert_lt(platform_parse(f, sizeof(blob), &p, err, sizeof(err)), 0);
	cr_assert(strstr(err, "has length 0xfffffff4, past the end of the "
			 "structure block"), "%s", err);
}

Test(platform, dtb_larger_than_its_room_is_refused)
{
	struct platform p;
	char err[128] = "";
	void *f = make_dtb(OMIT_NONE);

	cr_assert_lt(platform_parse(f, fdt_totalsize(f) - 1, &p, err,
				    sizeof(err)), 0);
	cr_assert(strstr(err, "truncated"), "%s", err);
}

Test(platform, summary_names_every_device)
{
	struct platform p;
	char err[128];

	fake_reset();
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0);
	platform_print(&p);
	cr_assert(strstr(fake.console, "RAM     0x0040000000-0x007fffffff (1024 MiB)"),
		  "%s", fake.console);
	cr_assert(strstr(fake.console, "PL011   0x0009000000"));
	cr_assert(strstr(fake.console, "PSCI    conduit smc"));
}

/* --- the GIC's maintenance interrupt (SGIs between a guest's vCPUs) ------ */

static void gic_maintenance_qemu(void)
{
	gic_maintenance[0] = 1;
	gic_maintenance[1] = 9;
	gic_maintenance_cells = 3;
}

static uint32_t maintenance_with(uint32_t type, uint32_t num, unsigned cells)
{
	struct platform p;
	char err[128] = "";

	gic_maintenance[0] = type;
	gic_maintenance[1] = num;
	gic_maintenance_cells = cells;
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0,
		     "optional: never fatal (%s)", err);
	return p.gic_maintenance_intid;
}

Test(platform, gic_maintenance_interrupt_is_a_ppi_or_none,
     .fini = gic_maintenance_qemu)
{
	cr_assert_eq(maintenance_with(1, 9, 3), 25, "QEMU's: PPI 9");
	cr_assert_eq(maintenance_with(1, 9, 0), 0, "no interrupts property");
	cr_assert_eq(maintenance_with(0, 9, 3), 0, "an SPI");
	cr_assert_eq(maintenance_with(1, 16, 3), 0, "past the 16 PPIs");
	cr_assert_eq(maintenance_with(1, 9, 2), 0, "too short");
}

Test(platform, summary_says_whether_sgis_between_vcpus_are_on,
     .fini = gic_maintenance_qemu)
{
	struct platform p;
	char err[128];

	fake_reset();
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0);
	platform_print(&p);
	cr_assert(strstr(fake.console, "GIC     maintenance PPI 25"), "%s",
		  fake.console);
	fake_reset();
	gic_maintenance_cells = 0;
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0);
	platform_print(&p);
	cr_assert(strstr(fake.console, "GIC     no maintenance interrupt: no "
				       "SGIs between a guest's vCPUs"),
		  "%s", fake.console);
}

/* --- memory the DTB reserves ---------------------------------------------- */

static void reserve(const uint64_t (*entries)[2], unsigned nr_entries,
		    const struct rsv_node *nodes, unsigned nr_nodes)
{
	memreserve = entries;
	nr_memreserve = nr_entries;
	rsv_nodes = nodes;
	nr_rsv_nodes = nr_nodes;
}

static void reserve_none(void)
{
	reserve(NULL, 0, NULL, 0);
}

Test(platform, memreserve_and_reserved_memory_are_kept_from_guests,
     .fini = reserve_none)
{
	static const uint64_t entries[][2] = { { 0x48000800, 0x1800 } };
	static const struct rsv_node nodes[] = {
		{ "fw@50000000", 0x50000000, 0x200000, true },
		{ "log@60001000", 0x60001000, 0x1000, false },
		{ "pool", 0, 0, false },   /* a size only: placed by an OS */
	};
	struct platform p;
	char err[128] = "";

	reserve(entries, 1, nodes, 3);
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(p.nr_reserved, 3);
	cr_assert_eq(p.reserved[0].base, 0x48000000, "frame-aligned down");
	cr_assert_eq(p.reserved[0].size, 0x2000, "and up");
	cr_assert(!p.reserved[0].no_map);
	cr_assert_eq(p.reserved[1].base, 0x50000000);
	cr_assert(p.reserved[1].no_map);
	cr_assert_eq(p.reserved[2].base, 0x60001000);
	cr_assert_eq(p.reserved[2].size, 0x1000);
	/* no-map is not RAM: it is cut out. */
	cr_assert_eq(p.nr_ram, 2);
	cr_assert_eq(p.ram[0].base, 0x40000000);
	cr_assert_eq(p.ram[0].size, 0x10000000);
	cr_assert_eq(p.ram[1].base, 0x50200000);
	cr_assert_eq(p.ram[1].size, 0x80000000 - 0x50200000);
}

Test(platform, no_map_at_either_end_of_ram_trims_it, .fini = reserve_none)
{
	static const struct rsv_node nodes[] = {
		{ "low", 0x3ff00000, 0x200000, true },
		{ "high", 0x7ff00000, 0x100000, true },
	};
	struct platform p;
	char err[128] = "";

	reserve(NULL, 0, nodes, 2);
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(p.nr_ram, 1);
	cr_assert_eq(p.ram[0].base, 0x40100000);
	cr_assert_eq(p.ram[0].size, 0x7ff00000 - 0x40100000);
}

static void expect_reserve_error(const char *words)
{
	struct platform p;
	char err[128] = "";

	cr_assert_lt(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0);
	cr_assert(strstr(err, words), "'%s' lacks '%s'", err, words);
}

Test(platform, reserved_memory_errors, .fini = reserve_none)
{
	static const struct rsv_node all[] = {
		{ "all", 0x40000000, 0x40000000, true },
	};
	static const uint64_t wraps[][2] = { { 0xfffffffffffff000, 0x2000 } };
	static uint64_t many[PLATFORM_MAX_RESERVED + 1][2];

	reserve(NULL, 0, all, 1);
	expect_reserve_error("covers all of RAM");
	reserve(wraps, 1, NULL, 0);
	expect_reserve_error("wraps past the end");
	for (unsigned i = 0; i <= PLATFORM_MAX_RESERVED; i++) {
		many[i][0] = 0x48000000 + i * 0x1000;
		many[i][1] = 0x1000;
	}
	reserve(many, PLATFORM_MAX_RESERVED + 1, NULL, 0);
	expect_reserve_error("more than 16 ranges");
}

static void with_cpus(int cells, const struct cpu_node *nodes, unsigned n)
{
	cpus_cells = cells;
	cpu_nodes = nodes;
	nr_cpu_nodes = n;
}

Test(platform, no_cpus_node_is_the_boot_cpu_alone)
{
	struct platform p;
	char err[128] = "";

	with_cpus(0, NULL, 0);
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0);
	cr_assert_eq(p.nr_cpus, 0);
	cr_assert_eq(p.cpus_beyond + p.cpus_bad, 0);
}

Test(platform, cpus_by_mpidr_with_their_enable_method)
{
	static const struct cpu_node nodes[] = {
		{ "cpu@0", "cpu", "psci", 0x0, 2 },
		{ "cpu@100000003", "cpu", "psci", 0x100000003, 2 }, /* Aff3 */
		{ "cpu@2", "cpu", "spin-table", 0x2, 2 },
		{ "cpu@3", "cpu", NULL, 0x3, 2 },
		{ "l2-cache", "cache", NULL, 0, 0 },         /* not a CPU */
	};
	struct platform p;
	char err[128] = "";

	with_cpus(2, nodes, 5);
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(p.nr_cpus, 4);
	cr_assert_eq(p.cpu[1].mpidr, 0x100000003);
	cr_assert(p.cpu[0].psci && p.cpu[1].psci);
	cr_assert_not(p.cpu[2].psci, "spin-table is not PSCI");
	cr_assert_not(p.cpu[3].psci, "no enable-method is not PSCI");
	cr_assert_eq(p.cpus_bad, 0);
}

Test(platform, a_cpu_without_a_valid_reg_is_counted_not_fatal)
{
	static const struct cpu_node nodes[] = {
		{ "cpu@0", "cpu", "psci", 0x0, 1 },
		{ "cpu@x", "cpu", "psci", 0, 0 },             /* no reg */
		{ "cpu@1000000", "cpu", "psci", 0x1000000, 1 }, /* not affinity */
		{ "cpu@1", "cpu", "psci", 0x1, 1 },
	};
	struct platform p;
	char err[128] = "";

	with_cpus(1, nodes, 4);
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0);
	cr_assert_eq(p.nr_cpus, 2);
	cr_assert_eq(p.cpu[1].mpidr, 1);
	cr_assert_eq(p.cpus_bad, 2);
}

Test(platform, cpus_beyond_el2s_room_are_counted)
{
	static struct cpu_node nodes[PLATFORM_MAX_CPUS + 3];
	static char names[PLATFORM_MAX_CPUS + 3][16];
	struct platform p;
	char err[128] = "";

	for (unsigned i = 0; i < PLATFORM_MAX_CPUS + 3; i++) {
		snprintf(names[i], sizeof(names[i]), "cpu@%x", i);
		nodes[i] = (struct cpu_node){ names[i], "cpu", "psci", i, 1 };
	}
	with_cpus(1, nodes, PLATFORM_MAX_CPUS + 3);
	cr_assert_eq(parse(make_dtb(OMIT_NONE), &p, err, sizeof(err)), 0);
	cr_assert_eq(p.nr_cpus, PLATFORM_MAX_CPUS);
	cr_assert_eq(p.cpu[PLATFORM_MAX_CPUS - 1].mpidr, PLATFORM_MAX_CPUS - 1);
	cr_assert_eq(p.cpus_beyond, 3);
}
