/*
 * Turning the guest's MMU on. Runs first with the MMU off at the load
 * address (libos_mm_boot), then at the high VA (libos_mm_switched). Owns
 * the TTBR1 tables: the image W^X at the top half of the TTBR1 range, the
 * direct map (VA = base + PA) of the frames libos holds, the vmap window;
 * and the TTBR0 identity map of the image text that lives only for the
 * instant of the switch. Never writes a system register itself
 * (libos/arch.h does), never reads the DTB (el1 passes what it said).
 *
 * Cache rule: everything libos writes before the switch is written with the
 * caches off, straight to memory; stale lines over it are invalidated just
 * before the MMU goes on (EL2 cleans what it loads and scrubs to the point
 * of coherency, so no line over our memory is dirty).
 */
#include <arch/sysreg.h>
#include <libos/arch.h>
#include <libos/lock.h>
#include <libos/mm/boot_need.h>
#include <libos/mm/mm.h>
#include <libos/mm/pages.h>
#include <libos/options.h>
#include <stddef.h>

#define KERN_RO                                                              \
	(PGTABLE_READ | PGTABLE_GLOBAL | PGTABLE_ACCESSED |                   \
	 PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB))
#define KERN_RX (KERN_RO | PGTABLE_EXEC_EL1)
#define KERN_RW (KERN_RO | PGTABLE_WRITE)
/* The identity map of the switch: non-global, so TLBI ASIDE1 drops it. */
#define IDMAP_RX                                                             \
	(PGTABLE_READ | PGTABLE_EXEC_EL1 | PGTABLE_ACCESSED |                 \
	 PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB))
#define PARANGE_48 5             /* the engine writes 48-bit addresses */

static struct {
	struct libos_mm_info info;
	struct pgtable kernel;   /* TTBR1 */
	struct pgtable idmap;    /* TTBR0, during the switches only */
	uint64_t tcr;
	bool keep_idmap;         /* other vCPUs switch later */
} mm;

static void *phys_ident(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

static uint64_t virt_ident(void *ctx, const void *p)
{
	(void)ctx;
	return (uint64_t)(uintptr_t)p;
}

static void *phys_dmap(void *ctx, uint64_t pa)
{
	(void)ctx;
	return libos_dmap_phys_to_virt(pa);
}

static uint64_t virt_dmap(void *ctx, const void *p)
{
	(void)ctx;
	return libos_dmap_virt_to_phys(p);
}

static const struct pgtable_mm_ops boot_ops = {
	.alloc = pages_alloc, .free = pages_free,
	.virt_to_phys = virt_ident, .phys_to_virt = phys_ident,
	.linear = true, .linear_offset = 0,
};

static const struct pgtable_mm_ops dmap_ops = {
	.alloc = pages_alloc, .free = pages_free,
	.virt_to_phys = virt_dmap, .phys_to_virt = phys_dmap,
};

/* --- granule, options and CPU features ----------------------------------- */

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* libos's own options among the guest's arguments. */
static void parse_options(const struct libos_mm_boot_params *p, bool *sw_af,
			  unsigned *va_bits)
{
	*sw_af = false;
	*va_bits = libos_mm_va_bits(p->argc, p->argv);
	for (int i = 1; i < p->argc; i++)
		if (streq(p->argv[i], LIBOS_OPT_SW_AF))
			*sw_af = true;
}

static const char *check_granule(enum pgtable_granule g, uint64_t mmfr0)
{
	unsigned f4 = FIELD_GET(mmfr0, ID_AA64MMFR0_TGRAN4_SHIFT, 4);
	unsigned f16 = FIELD_GET(mmfr0, ID_AA64MMFR0_TGRAN16_SHIFT, 4);
	unsigned f64 = FIELD_GET(mmfr0, ID_AA64MMFR0_TGRAN64_SHIFT, 4);

	switch (g) {
	case PGTABLE_GRANULE_4K:
		return f4 == ID_AA64MMFR0_TGRAN_NONE
			       ? "this CPU has no 4K stage-1 granule "
				 "(ID_AA64MMFR0_EL1.TGran4 = 0xf)"
			       : NULL;
	case PGTABLE_GRANULE_16K:
		return f16 == 0 ? "this CPU has no 16K stage-1 granule "
				  "(ID_AA64MMFR0_EL1.TGran16 = 0)"
				: NULL;
	case PGTABLE_GRANULE_64K:
		return f64 == ID_AA64MMFR0_TGRAN_NONE
			       ? "this CPU has no 64K stage-1 granule "
				 "(ID_AA64MMFR0_EL1.TGran64 = 0xf)"
			       : NULL;
	}
	return "unknown granule";
}

static void read_features(struct libos_mm_info *in, bool sw_af)
{
	uint64_t mmfr0 = libos_arch_read_mmfr0();
	uint64_t mmfr1 = libos_arch_read_mmfr1();
	unsigned hafdbs = FIELD_GET(mmfr1, ID_AA64MMFR1_HAFDBS_SHIFT, 4);

	in->sw_af_forced = sw_af;
	in->hw_af = !sw_af && hafdbs >= ID_AA64MMFR1_HAFDBS_AF;
	in->hw_dirty = !sw_af && hafdbs >= ID_AA64MMFR1_HAFDBS_DIRTY;
	in->pan = FIELD_GET(mmfr1, ID_AA64MMFR1_PAN_SHIFT, 4) != 0;
	in->asid_bits = FIELD_GET(mmfr0, ID_AA64MMFR0_ASIDBITS_SHIFT, 4) ==
					ID_AA64MMFR0_ASIDBITS_16
				? 16
				: 8;
}

/* --- layout --------------------------------------------------------------- */

static void layout(struct libos_mm_info *in, unsigned va_bits)
{
	uint64_t quarter = UINT64_C(1) << (va_bits - 2);

	in->va_bits = va_bits;
	in->half_base = ~((UINT64_C(1) << va_bits) - 1);
	in->dmap_base = in->half_base;
	in->vmap_base = in->half_base + quarter;
	in->vmap_size = quarter;
	in->image_va = in->half_base + 2 * quarter;
}

static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

bool libos_dmap_contains(uint64_t pa, uint64_t size)
{
	return pa + size >= pa && pa + size <= mm.info.vmap_base -
						     mm.info.dmap_base;
}

void *libos_dmap_phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)(mm.info.dmap_base + pa);
}

uint64_t libos_dmap_virt_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va - mm.info.dmap_base;
}

static int dmap_map_attrs(uint64_t pa, uint64_t size, uint32_t attrs)
{
	if (!size)
		return PGTABLE_OK;
	if (!libos_dmap_contains(pa, size))
		return PGTABLE_EPA_RANGE;
	return pgtable_map(&mm.kernel, mm.info.dmap_base + pa, pa, size,
			   attrs);
}

/* IRQs masked and libos's lock held: libos's event handler (revocation)
 * changes the direct map from IRQ context, and other vCPUs change the
 * TTBR1 tables too, so no two changes of them interleave. */
int libos_dmap_map(uint64_t pa, uint64_t size)
{
	uint64_t flags = libos_lock_take();
	int rc = dmap_map_attrs(pa, size, KERN_RW);

	libos_lock_give(flags);
	return rc;
}

int libos_dmap_unmap(uint64_t pa, uint64_t size)
{
	uint64_t flags;
	int rc;

	if (!libos_dmap_contains(pa, size))
		return PGTABLE_EPA_RANGE;
	flags = libos_lock_take();
	rc = pgtable_unmap(&mm.kernel, mm.info.dmap_base + pa, size);
	libos_lock_give(flags);
	return rc;
}

/* --- building the tables -------------------------------------------------- */

static int map_image_part(const struct libos_mm_boot_params *p, uint64_t from,
			  uint64_t to, uint32_t attrs)
{
	if (to <= from)
		return PGTABLE_OK;
	return pgtable_map(&mm.kernel, mm.info.image_va + from,
			   p->image_pa + from, to - from, attrs);
}

/* W^X: text RX, rodata and relro R, data RW, guard absent, stack RW; the
 * ends are 64 KiB-aligned (el1/el1.ld), so every granule can do it. */
static int map_image(const struct libos_mm_boot_params *p)
{
	uint64_t user = p->user_start ? p->user_start : p->text_end;
	int rc = map_image_part(p, 0, user, KERN_RX);

	if (!rc)
		rc = map_image_part(p, user, p->text_end, KERN_RO);
	if (!rc)
		rc = map_image_part(p, p->text_end, p->relro_end, KERN_RO);
	if (!rc)
		rc = map_image_part(p, p->relro_end, p->guard, KERN_RW);
	if (!rc)
		rc = map_image_part(p, p->stack_bottom, p->image_end, KERN_RW);
	return rc;
}

/* One boot range in the direct map: RW, except the image's text, rodata
 * and relro, whose alias is read-only (no writable alias of code). */
static int dmap_range(const struct libos_mm_boot_params *p, uint64_t base,
		      uint64_t end)
{
	uint64_t ro_lo = p->image_pa, ro_hi = p->image_pa + p->relro_end;
	uint64_t a = base > ro_lo ? base : ro_lo;
	uint64_t b = end < ro_hi ? end : ro_hi;
	int rc;

	if (a >= b)
		return dmap_map_attrs(base, end - base, KERN_RW);
	rc = dmap_map_attrs(base, a - base, KERN_RW);
	if (!rc)
		rc = dmap_map_attrs(a, b - a, KERN_RO);
	if (!rc)
		rc = dmap_map_attrs(b, end - b, KERN_RW);
	return rc;
}

static const char *map_all(const struct libos_mm_boot_params *p)
{
	uint64_t page = mm.info.page_size;
	const struct pages_batch *batch;

	if (map_image(p))
		return "cannot map the image at its virtual address";
	if (pgtable_map(&mm.idmap, p->image_pa, p->image_pa, p->text_end,
			IDMAP_RX))
		return "cannot build the identity map of the image text";
	for (unsigned i = 0; i < p->mem_count; i++) {
		uint64_t base = align_up(p->mem[i].base, page);
		uint64_t end = align_down(p->mem[i].base + p->mem[i].size, page);

		if (end > base && dmap_range(p, base, end))
			return "cannot map the boot memory in the direct map";
	}
	/* Table pages: mapping a batch may fetch another; loop to the end. */
	for (unsigned i = 0; i < pages_boot_batches(&batch); i++)
		if (libos_dmap_map(batch[i].pa, batch[i].size))
			return "cannot map the table pages in the direct map";
	return NULL;
}

static bool image_in_memory(const struct libos_mm_boot_params *p)
{
	for (unsigned i = 0; i < p->mem_count; i++)
		if (p->image_pa >= p->mem[i].base &&
		    p->image_pa + p->image_end <= p->mem[i].base +
						  p->mem[i].size)
			return true;
	return false;
}

/* --- registers ------------------------------------------------------------ */

static uint64_t tcr_value(const struct libos_mm_info *in)
{
	static const uint64_t tg0[] = { [PGTABLE_GRANULE_4K] = TCR_EL1_TG0_4K,
					[PGTABLE_GRANULE_16K] = TCR_EL1_TG0_16K,
					[PGTABLE_GRANULE_64K] = TCR_EL1_TG0_64K };
	static const uint64_t tg1[] = { [PGTABLE_GRANULE_4K] = TCR_EL1_TG1_4K,
					[PGTABLE_GRANULE_16K] = TCR_EL1_TG1_16K,
					[PGTABLE_GRANULE_64K] = TCR_EL1_TG1_64K };
	uint64_t txsz = pgtable_txsz(&mm.kernel.geom);
	uint64_t ips = FIELD_GET(libos_arch_read_mmfr0(),
				 ID_AA64MMFR0_PARANGE_SHIFT, 4);
	uint64_t tcr;

	if (ips > PARANGE_48)
		ips = PARANGE_48;
	tcr = txsz << TCR_EL1_T0SZ_SHIFT | TCR_EL1_IRGN0_WBWA |
	      TCR_EL1_ORGN0_WBWA | TCR_EL1_SH0_INNER |
	      tg0[in->granule] << TCR_EL1_TG0_SHIFT |
	      txsz << TCR_EL1_T1SZ_SHIFT | TCR_EL1_IRGN1_WBWA |
	      TCR_EL1_ORGN1_WBWA | TCR_EL1_SH1_INNER |
	      tg1[in->granule] << TCR_EL1_TG1_SHIFT |
	      ips << TCR_EL1_IPS_SHIFT;
	if (in->asid_bits == 16)
		tcr |= TCR_EL1_AS;
	if (in->hw_af)
		tcr |= TCR_EL1_HA;
	if (in->hw_dirty)
		tcr |= TCR_EL1_HD;
	return tcr;
}

/* MMU, caches, SP alignment checks, WXN; SPAN clear with FEAT_PAN (PAN is
 * set on every exception entry to EL1). Built whole, not read-modified. */
static uint64_t sctlr_value(const struct libos_mm_info *in)
{
	uint64_t v = SCTLR_EL1_RES1 | SCTLR_M | SCTLR_C | SCTLR_SA | BIT(4) |
		     SCTLR_I | SCTLR_WXN | SCTLR_EL1_NTWI | SCTLR_EL1_NTWE;

	if (in->pan)
		v &= ~SCTLR_EL1_SPAN;
	return v;
}

static void invalidate_written(const struct libos_mm_boot_params *p)
{
	const struct pages_batch *batch;
	unsigned n = pages_boot_batches(&batch);

	for (unsigned i = 0; i < p->mem_count; i++)
		libos_arch_dcache_inval_poc(p->mem[i].base, p->mem[i].size);
	for (unsigned i = 0; i < n; i++)
		libos_arch_dcache_inval_poc(batch[i].pa, batch[i].size);
}

const char *libos_mm_boot(const struct libos_mm_boot_params *p,
			  struct libos_mmu_regs *regs, uint64_t *image_va)
{
	struct libos_mm_info *in = &mm.info;
	const char *err = libos_mm_granule(p->granule, &in->granule);
	struct pgtable_config cfg;
	unsigned va_bits;
	bool sw_af;

	if (err)
		return err;
	parse_options(p, &sw_af, &va_bits);
	err = check_granule(in->granule, libos_arch_read_mmfr0());
	if (err)
		return err;
	in->page_size = UINT64_C(1) << in->granule;
	read_features(in, sw_af);
	layout(in, va_bits);
	in->image_pa = p->image_pa;
	if (p->image_pa & (in->page_size - 1))
		return "the image is not aligned to the stage-1 granule";
	if (!image_in_memory(p))
		return "the image is not inside the boot memory";
	pages_init(in->granule);
	cfg = (struct pgtable_config){ in->granule, va_bits, PGTABLE_TTBR1,
				       0 };
	if (pgtable_init(&mm.kernel, &cfg, &boot_ops))
		return "no page for the TTBR1 root table";
	cfg.half = PGTABLE_TTBR0;
	if (pgtable_init(&mm.idmap, &cfg, &boot_ops))
		return "no page for the identity map";
	err = map_all(p);
	if (err)
		return err;
	mm.tcr = tcr_value(in);
	mm.keep_idmap = p->keep_idmap;
	mm.info.several_cpus = p->keep_idmap;
	*regs = (struct libos_mmu_regs){
		.mair = PGTABLE_MAIR_EL1, .tcr = mm.tcr,
		.ttbr0 = pgtable_ttbr(&mm.idmap),
		.ttbr1 = pgtable_ttbr(&mm.kernel), .sctlr = sctlr_value(in),
	};
	*image_va = in->image_va;
	invalidate_written(p);
	return NULL;
}

void libos_mm_switched(void)
{
	struct pgtable_mm_ops ops = dmap_ops;

	pages_switched(libos_dmap_map);
	ops.linear = true;   /* libos_dmap_phys_to_virt: base + PA */
	ops.linear_offset = mm.info.dmap_base;
	pgtable_set_mm(&mm.kernel, &ops);
	pgtable_set_mm(&mm.idmap, &ops);
	/* No more TTBR0 walks until EL0 tasks exist; then drop the idmap,
	 * unless other vCPUs are still to switch through it. */
	mm.tcr |= TCR_EL1_EPD0;
	libos_mm_cpu_switched();
	if (!mm.keep_idmap)
		pgtable_destroy(&mm.idmap);
}

void libos_mm_cpu_switched(void)
{
	libos_arch_write_tcr(mm.tcr);
	libos_arch_write_ttbr0(0);
	libos_arch_tlbi_vmalle1_local();
	if (mm.info.pan)
		libos_arch_pan_set(true);
}

const struct libos_mm_info *libos_mm_info(void)
{
	mm.info.tables = mm.kernel.tables;
	return &mm.info;
}

struct pgtable *libos_mm_kernel(void)
{
	return &mm.kernel;
}
