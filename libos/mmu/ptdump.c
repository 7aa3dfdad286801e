/*
 * Human-readable dumps of stage-1 tables, after Linux's kernel_page_tables:
 * a range as merged runs of equal attributes, and one address's walk level
 * by level for fault reports. Read-only: never changes a table; output only
 * through the caller's print callback (kprintf on target).
 */
#include <lib/fmt.h>
#include <libos/mmu/pgtable.h>

#define LINE_MAX 160

static const char *const mem_names[PGTABLE_MEM_TYPES] = {
	[PGTABLE_MEM_DEVICE_nGnRnE] = "DEV/nGnRnE",
	[PGTABLE_MEM_NORMAL_WB] = "MEM/WB",
	[PGTABLE_MEM_DEVICE_nGnRE] = "DEV/nGnRE",
	[PGTABLE_MEM_NORMAL_NC] = "MEM/NC",
};

/* One run of equal leaves being merged. */
struct dump {
	const struct pgtable *pt;
	pgtable_print_fn print;
	void *ctx;
	bool open;
	uint64_t start, end;
	uint64_t desc;      /* first leaf of the run */
	int level;
};

/* Largest unit that divides size exactly: 4K, 2M, 1020K, 16G. */
static void fmt_size(char *buf, size_t n, uint64_t size)
{
	static const char units[] = "KMGTP";
	unsigned u = 0;

	size >>= 10;
	while (u + 1 < sizeof(units) - 1 && size >= 1024 && !(size % 1024)) {
		size >>= 10;
		u++;
	}
	fmt_snprintf(buf, n, "%llu%c", (unsigned long long)size, units[u]);
}

static const char *exec_name(uint32_t a)
{
	if ((a & PGTABLE_EXEC_EL1) && (a & PGTABLE_EXEC_EL0))
		return "x01";
	if (a & PGTABLE_EXEC_EL1)
		return "x1";
	return a & PGTABLE_EXEC_EL0 ? "x0" : "NX";
}

static const char *dirty_name(uint32_t a)
{
	if (!(a & PGTABLE_DBM))
		return "";
	return a & PGTABLE_DIRTY ? " DBM/dirty" : " DBM/clean";
}

static void dump_line(struct dump *d)
{
	uint32_t a = pgtable_decode_attrs(d->desc);
	char size[16], line[LINE_MAX];

	fmt_size(size, sizeof(size), d->end - d->start);
	fmt_snprintf(line, sizeof(line),
		     "0x%016llx-0x%016llx %6s %s %-3s %-6s %-10s %s%s%s%s %s L%d\n",
		     (unsigned long long)d->start, (unsigned long long)d->end,
		     size, a & PGTABLE_WRITE ? "RW" : "RO", exec_name(a),
		     a & PGTABLE_USER ? "user" : "kernel",
		     mem_names[PGTABLE_MEM_OF(a)],
		     a & PGTABLE_GLOBAL ? "G " : "nG",
		     a & PGTABLE_ACCESSED ? "" : " noAF", dirty_name(a),
		     d->desc & PTE_CONT ? " CONT" : "",
		     d->level == PGTABLE_LAST_LEVEL ? "page" : "block",
		     d->level);
	d->print(d->ctx, line);
}

/* Same attributes, size and hint: the run goes on (addresses may jump). */
static bool same_run(const struct dump *d, uint64_t desc, int level)
{
	uint64_t mask = ~PTE_OA_MASK(d->pt->geom.page_shift);

	return d->level == level && (d->desc & mask) == (desc & mask);
}

static void dump_leaf(void *ctx, uint64_t va, uint64_t size, uint64_t desc,
		      int level)
{
	struct dump *d = ctx;

	if (d->open && (!desc || d->end != va || !same_run(d, desc, level))) {
		dump_line(d);
		d->open = false;
	}
	if (!desc)
		return;
	if (!d->open) {
		d->open = true;
		d->start = va;
		d->desc = desc;
		d->level = level;
	}
	d->end = va + size;
}

int pgtable_dump_range(const struct pgtable *pt, uint64_t va, uint64_t size,
		       pgtable_print_fn print, void *ctx)
{
	struct dump d = { .pt = pt, .print = print, .ctx = ctx };
	int rc = pgtable_scan(pt, va, size, dump_leaf, &d);

	if (d.open)
		dump_line(&d);
	return rc;
}

struct walk_dump {
	const struct pgtable *pt;
	pgtable_print_fn print;
	void *ctx;
};

static const char *desc_kind(uint64_t desc, int level)
{
	if (!(desc & PTE_VALID))
		return "invalid";
	if (level == PGTABLE_LAST_LEVEL)
		return desc & PTE_PAGE ? "page" : "reserved";
	return desc & PTE_TABLE ? "table" : "block";
}

static void dump_walk_level(void *ctx, int level, unsigned index,
			    uint64_t desc)
{
	struct walk_dump *w = ctx;
	uint32_t a = pgtable_decode_attrs(desc);
	const char *kind = desc_kind(desc, level);
	char line[LINE_MAX];
	bool leaf = (desc & PTE_VALID) && kind[0] != 't';

	fmt_snprintf(line, sizeof(line),
		     "  L%d[%4u] 0x%016llx %s%s%s%s%s%s%s\n", level, index,
		     (unsigned long long)desc, kind,
		     leaf ? (a & PGTABLE_WRITE ? " RW" : " RO") : "",
		     leaf ? " " : "", leaf ? exec_name(a) : "",
		     leaf ? (a & PGTABLE_USER ? " user " : " kernel ") : "",
		     leaf ? mem_names[PGTABLE_MEM_OF(a)] : "",
		     leaf && !(a & PGTABLE_ACCESSED) ? " noAF" : "");
	w->print(w->ctx, line);
}

int pgtable_dump_walk(const struct pgtable *pt, uint64_t va,
		      pgtable_print_fn print, void *ctx)
{
	struct walk_dump w = { pt, print, ctx };
	char line[LINE_MAX];

	fmt_snprintf(line, sizeof(line), "walk 0x%016llx (%s, ASID %u):\n",
		     (unsigned long long)va,
		     pt->half == PGTABLE_TTBR1 ? "TTBR1" : "TTBR0",
		     (unsigned)pt->asid);
	print(ctx, line);
	return pgtable_walk(pt, va, dump_walk_level, &w);
}
