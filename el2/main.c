/*
 * EL2 boot: early console, host DTB, EL2's own stage-1 with W^X, then the
 * machine. Any failure here is reported on the console and the machine is
 * powered off: a boot never hangs silently.
 */
#include <arch/sysreg.h>
#include <arch/virt.h>
#include <el2/arch.h>
#include <el2/hyp_mm.h>
#include <el2/pl011.h>
#include <el2/platform.h>
#include <el2/psci.h>
#include <el2/el2.h>
#include <el2/gic.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <string.h>

#define HYP_TABLE_PAGES 64

static uint64_t hyp_tables[HYP_TABLE_PAGES][512] __attribute__((aligned(4096)));
static unsigned hyp_tables_used;
static struct platform platform;
static struct hyp_mm hyp_mm;

static uint64_t *hyp_table_alloc(void *ctx)
{
	(void)ctx;
	if (hyp_tables_used == HYP_TABLE_PAGES)
		return NULL;
	return hyp_tables[hyp_tables_used++]; /* BSS: already zero */
}

_Noreturn void arch_halt(int status)
{
	kprintf("halting (status %d): powering off\n", status);
	psci_system_off();
}

static _Noreturn void boot_fail(const char *what, int rc)
{
	kprintf("error: %s failed (%d); cannot continue\n", what, rc);
	arch_halt(1);
}

static void map_or_fail(uint64_t start, uint64_t end, enum hyp_prot prot)
{
	int rc;

	if (start >= end)
		return;
	rc = hyp_mm_map(&hyp_mm, start, end - start, prot);
	if (rc)
		boot_fail("building EL2's stage-1 map", rc);
}

/* RAM around the image is RW+XN; the image gets W^X and a stack guard. */
static void map_ram(const struct mem_range *r, const struct image_layout *img)
{
	uint64_t end = r->base + r->size;

	if (img->start < r->base || img->end > end) {
		map_or_fail(r->base, end, HYP_PROT_RW);
		return;
	}
	map_or_fail(r->base, img->start, HYP_PROT_RW);
	map_or_fail(img->start, img->text_end, HYP_PROT_RX);
	map_or_fail(img->text_end, img->rodata_end, HYP_PROT_R);
	map_or_fail(img->rodata_end, img->stack_guard, HYP_PROT_RW);
	/* [stack_guard, stack_bottom) stays unmapped: overflow faults. */
	map_or_fail(img->stack_bottom, img->end, HYP_PROT_RW);
	map_or_fail(img->end, end, HYP_PROT_RW);
}

static uint64_t page_down(uint64_t a) { return a & ~(uint64_t)0xfff; }
static uint64_t page_up(uint64_t a) { return (a + 0xfff) & ~(uint64_t)0xfff; }

static void map_device(const struct mem_range *r)
{
	map_or_fail(page_down(r->base), page_up(r->base + r->size),
		    HYP_PROT_DEVICE);
}

static void mmu_setup(void)
{
	struct image_layout img = arch_image_layout();
	uint64_t sctlr;

	if (hyp_mm_init(&hyp_mm, hyp_table_alloc, NULL))
		boot_fail("allocating EL2's stage-1 root", HYP_MM_ENOMEM);
	for (unsigned i = 0; i < platform.nr_ram; i++)
		map_ram(&platform.ram[i], &img);
	map_device(&platform.uart);
	map_device(&platform.gicd);
	map_device(&platform.gicr);
	arch_dcache_clean_inval((uint64_t)(uintptr_t)hyp_tables, sizeof(hyp_tables));
	arch_mmu_enable((uint64_t)(uintptr_t)hyp_mm.root, arch_pa_bits());

	sctlr = arch_read_sctlr_el2();
	kprintf("mmu: %s (SCTLR_EL2.M=%u WXN=%u C=%u I=%u), %u table pages, "
		"text RX, rodata R, data RW+XN, stack guard page\n",
		(sctlr & SCTLR_M) ? "on" : "OFF", (unsigned)!!(sctlr & SCTLR_M),
		(unsigned)!!(sctlr & SCTLR_WXN), (unsigned)!!(sctlr & SCTLR_C),
		(unsigned)!!(sctlr & SCTLR_I), hyp_mm.tables);
}

static void read_platform(void)
{
	char err[128];

	if (platform_parse((const void *)VIRT_DTB_ADDR, &platform, err,
			   sizeof(err))) {
		kprintf("error: host DTB at 0x%lx: %s\n",
			(unsigned long)VIRT_DTB_ADDR, err);
		kprintf("error: EL2 needs RAM, a PL011, a GICv3, the generic "
			"timer and PSCI described in the DTB; cannot continue\n");
		arch_halt(1);
	}
	psci_set_conduit(platform.psci);
	pl011_init(platform.uart.base);
	platform_print(&platform);
}

void el2_main(void)
{
	pl011_init(VIRT_EARLY_PL011_BASE);
	print_set_console(pl011_write, "[el2] ");
	kprintf("exo EL2 (%s) booting\n", EXO_VERSION);

	read_platform();
	mmu_setup();
	arch_el2_traps_init();
	if (!gic_init(&platform, arch_mpidr()))
		boot_fail("setting up the GICv3", -1);
	if (el2_test_hook)
		el2_test_hook(&platform);
	kprintf("boot complete\n");
	arch_halt(0);
}
