/*
 * Host DTB parsing. The blob passes the bounded walk (dtb_bounds.c) before
 * libfdt reads it, read-only libfdt calls only (they use no FP/SIMD), and
 * every property is length-checked: a malformed DTB gives an error naming
 * the node, never a wild read or a hang.
 */
#include <el2/dtb_bounds.h>
#include <el2/platform.h>
#include <exo/frame.h>
#include <lib/fmt.h>
#include <lib/print.h>
#include <libfdt.h>
#include <string.h>

#define GIC_SPI_BASE 32
#define GIC_PPI_BASE 16
#define DT_IRQ_TYPE_PPI 1
#define DT_IRQ_CELLS 3

static int fail(char *err, size_t size, const char *what, const char *detail)
{
	fmt_snprintf(err, size, "%s: %s", what, detail);
	return -1;
}

static uint64_t read_cells(const fdt32_t *p, int cells)
{
	uint64_t v = 0;

	for (int i = 0; i < cells; i++)
		v = (v << 32) | fdt32_to_cpu(p[i]);
	return v;
}

/* Reads entry `index` of a node's "reg" using its parent's cell sizes. */
static int read_reg(const void *fdt, int node, int index, struct mem_range *r)
{
	int parent = fdt_parent_offset(fdt, node);
	int ac = fdt_address_cells(fdt, parent);
	int sc = fdt_size_cells(fdt, parent);
	int len;
	const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

	if (!reg || ac < 1 || ac > 2 || sc < 0 || sc > 2)
		return -1;
	if (len < (index + 1) * (ac + sc) * 4)
		return -1;
	reg += index * (ac + sc);
	r->base = read_cells(reg, ac);
	r->size = read_cells(reg + ac, sc);
	return 0;
}

static int parse_memory(const void *fdt, struct platform *p, char *err,
			size_t size)
{
	int node = -1;

	p->nr_ram = 0;
	while ((node = fdt_node_offset_by_prop_value(fdt, node, "device_type",
						     "memory", 7)) >= 0) {
		for (int i = 0; p->nr_ram < PLATFORM_MAX_RAM; i++) {
			struct mem_range r;

			if (read_reg(fdt, node, i, &r) < 0)
				break;
			if (r.size)
				p->ram[p->nr_ram++] = r;
		}
	}
	if (!p->nr_ram)
		return fail(err, size, "memory",
			    "no node with device_type = \"memory\" and a valid reg");
	return 0;
}

static int parse_compatible_reg(const void *fdt, const char *compat,
				const char *what, int index,
				struct mem_range *r, char *err, size_t size)
{
	int node = fdt_node_offset_by_compatible(fdt, -1, compat);

	if (node < 0)
		return fail(err, size, what, "no node is compatible with it");
	if (read_reg(fdt, node, index, r) < 0 || !r->size)
		return fail(err, size, what, "its node has no valid reg");
	return 0;
}

static int parse_timer(const void *fdt, struct platform *p, char *err,
		       size_t size)
{
	int node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-timer");
	const char *what = "timer (arm,armv8-timer)";
	const fdt32_t *irq;
	int len;

	if (node < 0)
		return fail(err, size, what, "no node is compatible with it");
	irq = fdt_getprop(fdt, node, "interrupts", &len);
	if (!irq || len < TIMER_NR_IRQS * DT_IRQ_CELLS * 4)
		return fail(err, size, what, "interrupts must list 4 PPIs");
	for (int i = 0; i < TIMER_NR_IRQS; i++) {
		const fdt32_t *cell = irq + i * DT_IRQ_CELLS;
		uint32_t num = fdt32_to_cpu(cell[1]);

		if (fdt32_to_cpu(cell[0]) != DT_IRQ_TYPE_PPI ||
		    num >= GIC_SPI_BASE - GIC_PPI_BASE)
			return fail(err, size, what, "an interrupt is not a PPI");
		p->timer_intid[i] = num + GIC_PPI_BASE;
	}
	return 0;
}

/* The GIC's maintenance interrupt (its node's "interrupts": one PPI), for
 * the SGIs between a guest's vCPUs. Optional: without it they are off. */
static void parse_gic_maintenance(const void *fdt, struct platform *p)
{
	int node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");
	const fdt32_t *irq;
	int len;

	if (node < 0)
		return;
	irq = fdt_getprop(fdt, node, "interrupts", &len);
	if (!irq || len < DT_IRQ_CELLS * 4 ||
	    fdt32_to_cpu(irq[0]) != DT_IRQ_TYPE_PPI ||
	    fdt32_to_cpu(irq[1]) >= GIC_SPI_BASE - GIC_PPI_BASE)
		return;
	p->gic_maintenance_intid = fdt32_to_cpu(irq[1]) + GIC_PPI_BASE;
}

static int parse_psci(const void *fdt, struct platform *p, char *err,
		      size_t size)
{
	static const char *const compats[] = { "arm,psci-1.0", "arm,psci-0.2",
					       "arm,psci" };
	const char *what = "psci";
	const char *method;
	int node = -1, len;

	for (size_t i = 0; i < 3 && node < 0; i++)
		node = fdt_node_offset_by_compatible(fdt, -1, compats[i]);
	if (node < 0)
		return fail(err, size, what, "no node is compatible with arm,psci*");
	method = fdt_getprop(fdt, node, "method", &len);
	if (!method || len < 1 || method[len - 1] != '\0')
		return fail(err, size, what, "no valid method property");
	if (!strcmp(method, "smc"))
		p->psci = PSCI_CONDUIT_SMC;
	else if (!strcmp(method, "hvc"))
		p->psci = PSCI_CONDUIT_HVC;
	else
		return fail(err, size, what, "method is neither \"smc\" nor \"hvc\"");
	return 0;
}

/* --- memory the DTB reserves --------------------------------------------- */

static int add_reserved(struct platform *p, uint64_t base, uint64_t size,
			bool no_map, char *err, size_t err_size)
{
	uint64_t start = base & ~EXO_FRAME_OFFSET_MASK, last = base + size - 1;

	if (!size)
		return 0;
	if (last < base || last > UINT64_MAX - EXO_FRAME_OFFSET_MASK)
		return fail(err, err_size, "reserved memory",
			    "a range wraps past the end of the address space");
	if (p->nr_reserved == PLATFORM_MAX_RESERVED)
		return fail(err, err_size, "reserved memory",
			    "more than 16 ranges");
	last |= EXO_FRAME_OFFSET_MASK;
	p->reserved[p->nr_reserved++] =
		(struct reserved_range){ start, last + 1 - start, no_map };
	return 0;
}

/* /memreserve/ entries, then every /reserved-memory child with a reg (one
 * with only a size asks the OS to place a pool for a driver: EL2 has no
 * such driver and gives no device to a guest, so there is nothing to
 * keep). */
static int parse_reserved(const void *fdt, struct platform *p, char *err,
			  size_t err_size)
{
	int n = fdt_num_mem_rsv(fdt), parent, node;

	for (int i = 0; i < n; i++) {
		uint64_t base, size;

		if (fdt_get_mem_rsv(fdt, i, &base, &size) ||
		    add_reserved(p, base, size, false, err, err_size))
			return -1;
	}
	parent = fdt_path_offset(fdt, "/reserved-memory");
	if (parent < 0)
		return 0;
	fdt_for_each_subnode(node, fdt, parent) {
		bool no_map = fdt_getprop(fdt, node, "no-map", NULL) != NULL;
		struct mem_range r;

		for (int i = 0; read_reg(fdt, node, i, &r) == 0; i++)
			if (add_reserved(p, r.base, r.size, no_map, err,
					 err_size))
				return -1;
	}
	return 0;
}

/* ram[i] less [cut, cut_end): the piece below stays at i, a piece above
 * it is appended (or takes i when nothing is below). */
static int cut_ram(struct platform *p, unsigned i, uint64_t cut,
		   uint64_t cut_end, char *err, size_t err_size)
{
	struct mem_range r = p->ram[i];
	uint64_t end = r.base + r.size;
	bool below = cut > r.base, above = cut_end < end;

	if (cut_end <= r.base || cut >= end)
		return 0;
	if (below && above) {
		if (p->nr_ram == PLATFORM_MAX_RAM)
			return fail(err, err_size, "reserved memory (no-map)",
				    "it splits RAM into more than 8 ranges");
		p->ram[p->nr_ram++] = (struct mem_range){ cut_end,
							  end - cut_end };
	}
	if (below)
		p->ram[i].size = cut - r.base;
	else if (above)
		p->ram[i] = (struct mem_range){ cut_end, end - cut_end };
	else
		p->ram[i].size = 0;
	return 0;
}

/* No-map reservations are not RAM: they leave ram[] (empty ranges go). */
static int carve_no_map(struct platform *p, char *err, size_t err_size)
{
	for (unsigned k = 0; k < p->nr_reserved; k++) {
		const struct reserved_range *rs = &p->reserved[k];

		for (unsigned i = 0; rs->no_map && i < p->nr_ram; i++)
			if (cut_ram(p, i, rs->base, rs->base + rs->size, err,
				    err_size))
				return -1;
	}
	for (unsigned i = 0; i < p->nr_ram;) {
		if (p->ram[i].size)
			i++;
		else
			p->ram[i] = p->ram[--p->nr_ram];
	}
	if (!p->nr_ram)
		return fail(err, err_size, "reserved memory (no-map)",
			    "it covers all of RAM");
	return 0;
}

/* --- CPUs ---------------------------------------------------------------- */

/* A CPU node's reg is its MPIDR affinity in #address-cells (1 or 2) cells
 * of /cpus; #size-cells is 0. */
static bool cpu_reg(const void *fdt, int cpus, int node, uint64_t *mpidr)
{
	int ac = fdt_address_cells(fdt, cpus), len;
	const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

	if (!reg || ac < 1 || ac > 2 || len < ac * 4)
		return false;
	*mpidr = read_cells(reg, ac);
	return (*mpidr & ~MPIDR_AFFINITY_MASK) == 0;
}

static bool prop_is(const void *fdt, int node, const char *name,
		    const char *value)
{
	int len;
	const char *v = fdt_getprop(fdt, node, name, &len);

	return v && len > 0 && v[len - 1] == '\0' && !strcmp(v, value);
}

/* Every child of /cpus with device_type "cpu" (cpu-map and the like are
 * not CPUs). A bad node is counted, not fatal: the CPUs EL2 can start
 * still start (docs/architecture.md, "Several CPUs"). */
static void parse_cpus(const void *fdt, struct platform *p)
{
	int cpus = fdt_path_offset(fdt, "/cpus"), node;

	if (cpus < 0)
		return;
	fdt_for_each_subnode(node, fdt, cpus) {
		uint64_t mpidr;

		if (!prop_is(fdt, node, "device_type", "cpu"))
			continue;
		if (!cpu_reg(fdt, cpus, node, &mpidr))
			p->cpus_bad++;
		else if (p->nr_cpus == PLATFORM_MAX_CPUS)
			p->cpus_beyond++;
		else
			p->cpu[p->nr_cpus++] = (struct platform_cpu){
				mpidr, prop_is(fdt, node, "enable-method",
					       "psci") };
	}
}

static void parse_bootargs(const void *fdt, struct platform *p)
{
	int node = fdt_path_offset(fdt, "/chosen");
	int len = 0;
	const char *args = node >= 0 ? fdt_getprop(fdt, node, "bootargs", &len)
				     : NULL;

	p->bootargs = (args && len > 0 && args[len - 1] == '\0') ? args : "";
}

int platform_parse(const void *fdt, size_t size, struct platform *p,
		   char *err, size_t err_size)
{
	char why[128];

	memset(p, 0, sizeof(*p));
	if (dtb_bounds_check(fdt, size, why, sizeof(why)))
		return fail(err, err_size, "not a valid DTB", why);
	if (parse_memory(fdt, p, err, err_size) ||
	    parse_compatible_reg(fdt, "arm,pl011", "console (arm,pl011)", 0,
				 &p->uart, err, err_size) ||
	    parse_compatible_reg(fdt, "arm,gic-v3", "GIC distributor (arm,gic-v3)",
				 0, &p->gicd, err, err_size) ||
	    parse_compatible_reg(fdt, "arm,gic-v3",
				 "GIC redistributors (arm,gic-v3)", 1, &p->gicr,
				 err, err_size) ||
	    parse_timer(fdt, p, err, err_size) ||
	    parse_psci(fdt, p, err, err_size) ||
	    parse_reserved(fdt, p, err, err_size) ||
	    carve_no_map(p, err, err_size))
		return -1;
	parse_bootargs(fdt, p);
	parse_cpus(fdt, p);
	parse_gic_maintenance(fdt, p);
	return 0;
}

void platform_print(const struct platform *p)
{
	static const char *const conduit[] = { "none", "smc", "hvc" };

	for (unsigned i = 0; i < p->nr_ram; i++)
		kprintf("dtb: RAM     0x%010lx-0x%010lx (%lu MiB)\n",
			(unsigned long)p->ram[i].base,
			(unsigned long)(p->ram[i].base + p->ram[i].size - 1),
			(unsigned long)(p->ram[i].size >> 20));
	kprintf("dtb: PL011   0x%010lx\n", (unsigned long)p->uart.base);
	kprintf("dtb: GICD    0x%010lx (%lu KiB)\n", (unsigned long)p->gicd.base,
		(unsigned long)(p->gicd.size >> 10));
	kprintf("dtb: GICR    0x%010lx (%lu KiB)\n", (unsigned long)p->gicr.base,
		(unsigned long)(p->gicr.size >> 10));
	if (p->gic_maintenance_intid)
		kprintf("dtb: GIC     maintenance PPI %u\n",
			p->gic_maintenance_intid);
	else
		kprintf("dtb: GIC     no maintenance interrupt: no SGIs "
			"between a guest's vCPUs\n");
	kprintf("dtb: timer   PPIs sec-phys %u, ns-phys %u, virt %u, hyp %u\n",
		p->timer_intid[TIMER_SEC_PHYS], p->timer_intid[TIMER_NS_PHYS],
		p->timer_intid[TIMER_VIRT], p->timer_intid[TIMER_HYP_PHYS]);
	kprintf("dtb: PSCI    conduit %s\n", conduit[p->psci]);
	kprintf("dtb: CPUs    %u listed, %u more beyond EL2's %u, %u without "
		"a valid reg\n", p->nr_cpus, p->cpus_beyond, PLATFORM_MAX_CPUS,
		p->cpus_bad);
	for (unsigned i = 0; i < p->nr_reserved; i++)
		kprintf("dtb: reserved 0x%010lx-0x%010lx (%lu KiB)%s\n",
			(unsigned long)p->reserved[i].base,
			(unsigned long)(p->reserved[i].base +
					p->reserved[i].size - 1),
			(unsigned long)(p->reserved[i].size >> 10),
			p->reserved[i].no_map ? ", no-map: not RAM" : "");
}
