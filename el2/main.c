/*
 * EL2 boot: early console, host DTB, EL2's own stage-1 with W^X, then the
 * machine. Any failure here is reported on the console and the machine is
 * powered off: a boot never hangs silently.
 */
#include <arch/pte.h>
#include <arch/sysreg.h>
#include <arch/virt.h>
#include <el2/arch.h>
#include <el2/hyp_mm.h>
#include <el2/pl011.h>
#include <el2/platform.h>
#include <el2/psci.h>
#include <el2/bootpkg.h>
#include <el2/cpus.h>
#include <el2/hyp_lock.h>
#include <el2/main.h>
#include <el2/gic.h>
#include <el2/guest_trap.h>
#include <el2/mem.h>
#include <el2/percpu.h>
#include <el2/s2.h>
#include <el2/sched.h>
#include <el2/snapshot.h>
#include <el2/spectre.h>
#include <el2/system.h>
#include <el2/timing.h>
#include <el2/vm_ops.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <libfdt.h>
#include <el2/frames.h>
#include <el2/vgic_lr.h>
#include <el2/vtimer.h>
#include <lib/panic.h>
#include <lib/entropy.h>
#include <lib/print.h>
#include <string.h>

#define HYP_TABLE_PAGES 64

static uint64_t hyp_tables[HYP_TABLE_PAGES][PTES_PER_TABLE]
	__attribute__((aligned(GRANULE_4K_SIZE)));
static unsigned hyp_tables_used;
static struct platform platform;
static struct hyp_mm hyp_mm;
static uint64_t frames_db_end;   /* first page after the frame DB */

static uint64_t *hyp_table_alloc(void *ctx)
{
	(void)ctx;
	if (hyp_tables_used == HYP_TABLE_PAGES)
		return NULL;
	return hyp_tables[hyp_tables_used++]; /* BSS: already zero */
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

/* The stack slots el2/el2.ld lays out are what el2/percpu.h says. */
static void check_stacks(const struct image_layout *img)
{
	if (img->stack_top - img->stack_guard != EL2_STACK_SLOT ||
	    img->stack_bottom - img->stack_guard != EL2_STACK_GUARD_SIZE ||
	    img->stacks_end - img->stack_guard !=
		    (uint64_t)EL2_MAX_CPUS * EL2_STACK_SLOT)
		boot_fail("checking the EL2 stacks' layout against "
			  "el2/percpu.h", -1);
}

/* RAM around the image is RW+XN; the image gets W^X and, below each CPU's
 * stack, an unmapped guard page: an overflow faults. */
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
	for (uint64_t slot = img->stack_guard; slot < img->stacks_end;
	     slot += EL2_STACK_SLOT)
		map_or_fail(slot + EL2_STACK_GUARD_SIZE, slot + EL2_STACK_SLOT,
			    HYP_PROT_RW);
	map_or_fail(img->stacks_end, img->end, HYP_PROT_RW);
	map_or_fail(img->end, end, HYP_PROT_RW);
}

static uint64_t page_down(uint64_t a) { return a & ~EXO_FRAME_OFFSET_MASK; }
static uint64_t page_up(uint64_t a)
{
	return page_down(a + EXO_FRAME_OFFSET_MASK);
}

static void map_device(const struct mem_range *r)
{
	map_or_fail(page_down(r->base), page_up(r->base + r->size),
		    HYP_PROT_DEVICE);
}

static void mmu_setup(void)
{
	struct image_layout img = arch_image_layout();
	uint64_t sctlr;

	check_stacks(&img);
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
		"text RX, rodata R, data RW+XN, stack guard pages\n",
		(sctlr & SCTLR_M) ? "on" : "OFF", (unsigned)!!(sctlr & SCTLR_M),
		(unsigned)!!(sctlr & SCTLR_WXN), (unsigned)!!(sctlr & SCTLR_C),
		(unsigned)!!(sctlr & SCTLR_I), hyp_mm.tables);
	kprintf("entropy: stack protector seeded from %s\n",
		entropy_has_rndr() ? "RNDR (FEAT_RNG)"
				   : "the counter (no FEAT_RNG)");
}

/* The DTB lies between the RAM base and EL2's image (qemu-notes.md). */
static void read_platform(void)
{
	char err[160];
	uint64_t room = arch_image_layout().start - VIRT_DTB_ADDR;

	if (platform_parse((const void *)VIRT_DTB_ADDR, room, &platform, err,
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

/* Speculation: what this core needs on every exit from a guest, from its
 * ID registers and the firmware's answers (el2/spectre.c); the firmware's
 * store-bypass mitigation, where it is the remedy, is turned on for good. */
static void spectre_setup(void)
{
	struct spectre_cpu cpu;
	const struct spectre_policy *p;

	arch_spectre_cpu(&cpu);
	cpu.fw_wa1 = psci_smccc_arch_features(EXO_SMCCC_ARCH_WORKAROUND_1);
	cpu.fw_wa2 = psci_smccc_arch_features(EXO_SMCCC_ARCH_WORKAROUND_2);
	cpu.fw_wa3 = psci_smccc_arch_features(EXO_SMCCC_ARCH_WORKAROUND_3);
	p = spectre_init(&cpu);
	if (p->v4_by_firmware)
		psci_smccc_call(EXO_SMCCC_ARCH_WORKAROUND_2, 1);
	arch_spectre_exit_steps(p->exit_steps, p->loop_k);
	kprintf("spectre: MIDR 0x%08lx: branch targets %s, branch history %s "
		"(steps 0x%x, loop %u), store bypass %s\n",
		(unsigned long)cpu.midr, spectre_state_name(p->v2),
		spectre_state_name(p->bhb), p->exit_steps, p->loop_k,
		spectre_state_name(p->v4));
}

/* The span of RAM the frame DB covers: lowest base to highest end. */
static void ram_span(uint64_t *base, uint64_t *end)
{
	*base = UINT64_MAX;
	*end = 0;
	for (unsigned i = 0; i < platform.nr_ram; i++) {
		const struct mem_range *r = &platform.ram[i];

		if (r->base < *base)
			*base = r->base;
		if (r->base + r->size > *end)
			*end = r->base + r->size;
	}
}

static const struct mem_range *ram_holding(uint64_t pa)
{
	for (unsigned i = 0; i < platform.nr_ram; i++) {
		const struct mem_range *r = &platform.ram[i];

		if (pa >= r->base && pa - r->base < r->size)
			return r;
	}
	return NULL;
}

/* [start, end) becomes HYP, noted as part for the snapshot. Parts are
 * page-aligned: two that shared a page would fail here, loudly. */
static void claim(enum snapshot_hyp part, uint64_t start, uint64_t end)
{
	uint64_t pa = page_down(start);
	uint64_t count = (page_up(end) - pa) >> EXO_FRAME_SHIFT;
	int rc;

	if (start >= end)
		return;
	rc = mem_claim_hyp(pa, count);
	if (!rc && !snapshot_note_hyp(part, pa, count))
		rc = -1;
	if (rc) {
		kprintf("error: claiming EL2's %s (0x%lx, %lu frames) failed "
			"(%d); cannot continue\n", snapshot_hyp_name(part),
			(unsigned long)pa, (unsigned long)count, rc);
		arch_halt(1);
	}
}

struct image_inner {
	enum snapshot_hyp part;
	uint64_t start, end;
};

/* The image by part, so the snapshot can say what EL2's frames hold: the
 * two large BSS arrays (EL2's stage-1 tables, the stage-2 roots) are
 * named apart from the rest of data and BSS. */
static void claim_image(const struct image_layout *img)
{
	struct image_inner inner[2] = {
		{ SNAPSHOT_HYP_EL2_TABLES, (uint64_t)(uintptr_t)hyp_tables,
		  (uint64_t)(uintptr_t)hyp_tables + sizeof(hyp_tables) },
		{ SNAPSHOT_HYP_S2_ROOTS, 0, 0 },
	};
	uint64_t at = img->rodata_end;

	vm_s2_roots(&inner[1].start, &inner[1].end);
	if (inner[1].start < inner[0].start) {
		struct image_inner t = inner[0];

		inner[0] = inner[1];
		inner[1] = t;
	}
	claim(SNAPSHOT_HYP_TEXT, img->start, img->text_end);
	claim(SNAPSHOT_HYP_RODATA, img->text_end, img->rodata_end);
	for (unsigned i = 0; i < 2; i++) {
		/* Every image frame must end up HYP: an array outside data
		 * would leave a gap a guest could be given. */
		if (inner[i].start < at || inner[i].end > img->stack_guard)
			boot_fail("claiming the EL2 image by part (a BSS array "
				  "outside data and BSS)", -1);
		claim(SNAPSHOT_HYP_DATA, at, inner[i].start);
		claim(inner[i].part, inner[i].start, inner[i].end);
		at = inner[i].end;
	}
	claim(SNAPSHOT_HYP_DATA, at, img->stack_guard);
	claim(SNAPSHOT_HYP_STACK, img->stack_guard, img->end);
}

/* Whether [start, end) meets memory the host DTB reserves. */
static bool reserved_overlaps(uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < platform.nr_reserved; i++) {
		const struct reserved_range *r = &platform.reserved[i];

		if (start < r->base + r->size && r->base < end)
			return true;
	}
	return false;
}

/* [pa, pa + frames * 4 KiB) of RAM, each maximal FREE run of it claimed
 * (what EL2 itself already holds, such as the DTB, stays as it is). */
static void claim_free_runs(enum snapshot_hyp part, uint64_t pa,
			    uint64_t end)
{
	struct frames_info info;

	while (pa < end) {
		uint64_t run = pa;

		while (run < end && !frames_query(mem_frames_db(), run, &info) &&
		       info.state == EXO_FRAME_FREE)
			run += EXO_FRAME_SIZE;
		claim(part, pa, run);
		pa = run < end ? run + EXO_FRAME_SIZE : end;
	}
}

/* RAM the host DTB reserves (not no-map: that is not RAM) is EL2's, so no
 * guest is ever given it. */
static void claim_reserved(void)
{
	for (unsigned i = 0; i < platform.nr_reserved; i++) {
		const struct reserved_range *rs = &platform.reserved[i];

		for (unsigned k = 0; !rs->no_map && k < platform.nr_ram; k++) {
			const struct mem_range *r = &platform.ram[k];
			uint64_t lo = rs->base > r->base ? rs->base : r->base;
			uint64_t hi = rs->base + rs->size < r->base + r->size
					      ? rs->base + rs->size
					      : r->base + r->size;

			if (lo < hi)
				claim_free_runs(SNAPSHOT_HYP_RESERVED, lo, hi);
		}
	}
}

/* The DB lives right after the EL2 image; the DTB, the image, the DB and
 * the boot package are EL2's (HYP), each noted by part for the snapshot;
 * all other RAM is FREE. */
static uint64_t frames_setup(bool *have_pkg)
{
	struct image_layout img = arch_image_layout();
	uint64_t base, end, frames, db = page_up(img.end), size;
	const struct mem_range *pkg_ram = ram_holding(EXO_BOOT_PKG_ADDR);
	uint64_t pkg_max = pkg_ram ? pkg_ram->base + pkg_ram->size -
					     EXO_BOOT_PKG_ADDR : 0;

	ram_span(&base, &end);
	frames = (end - base) >> EXO_FRAME_SHIFT;
	size = mem_storage_size(frames);
	if (!size || db + size > (pkg_ram ? EXO_BOOT_PKG_ADDR : end) ||
	    reserved_overlaps(db, db + size))
		boot_fail("placing the frame DB after the EL2 image", -1);
	if (mem_init(base, frames, (void *)(uintptr_t)db, size))
		boot_fail("initialising the frame DB", -1);
	for (unsigned i = 0; i < platform.nr_ram; i++)
		if (mem_add_ram(platform.ram[i].base,
				platform.ram[i].size >> EXO_FRAME_SHIFT))
			boot_fail("adding RAM to the frame DB", -1);
	claim(SNAPSHOT_HYP_DTB, VIRT_DTB_ADDR,
	      VIRT_DTB_ADDR + fdt_totalsize((const void *)VIRT_DTB_ADDR));
	claim_image(&img);
	claim(SNAPSHOT_HYP_FRAME_DB, db, db + size);
	frames_db_end = page_up(db + size);
	*have_pkg = pkg_ram && *(const uint32_t *)EXO_BOOT_PKG_ADDR == BOOTPKG_MAGIC;
	if (*have_pkg) {
		const struct bootpkg_header *h = (const void *)EXO_BOOT_PKG_ADDR;
		uint64_t pkg_size = h->total_size < pkg_max ? h->total_size
							    : pkg_max;

		claim(SNAPSHOT_HYP_BOOT_PKG, EXO_BOOT_PKG_ADDR,
		      EXO_BOOT_PKG_ADDR + pkg_size);
	}
	claim_reserved();
	kprintf("frames: %lu MiB of RAM, DB %lu KiB at 0x%lx\n",
		(unsigned long)((end - base) >> 20), (unsigned long)(size >> 10),
		(unsigned long)db);
	return pkg_max;
}

#ifdef EXO_DEBUG
/* Debug builds: the frame DB's table-driven self-test, in a scratch area of
 * FREE RAM above the DB (zeroed again afterwards: FREE means scrubbed). */
static void debug_checks(void)
{
	uint64_t scratch = frames_db_end;
	size_t size = frames_selftest_scratch_size();
	int failed;

	if (reserved_overlaps(scratch, scratch + size))
		boot_fail("finding scratch RAM for the frame DB self-test "
			  "(memory the DTB reserves follows the DB)", -1);
	failed = mem_selftest((void *)(uintptr_t)scratch, size);

	/* EL2's data, never fetched from: no I-cache line to drop. */
	arch_zero_frames(scratch, page_up(size) >> EXO_FRAME_SHIFT, 0);
	if (failed)
		panic("frame DB self-test: %d transitions wrong", failed);
	kprintf("debug: frame DB self-test passed; stage-2 invariant checked "
		"after every memory hypercall\n");
	mem_set_debug_checks(true);
}
#else
static void debug_checks(void)
{
}
#endif

/* Parks this CPU for good: it could not start, or checked in too late,
 * and runs no guest. */
static _Noreturn void secondary_park(void)
{
	arch_wait_forever();
}

/* A secondary CPU, from el2/arch/secondary.S: the boot CPU's translation
 * and vectors on, its own stack. Its EL2 is set up as the boot CPU's was
 * (the values decided there, only the registers written here), then it
 * checks in (el2/cpus.c). */
_Noreturn void el2_secondary_main(unsigned cpu);
_Noreturn void el2_secondary_main(unsigned cpu)
{
	uint64_t mpidr = arch_mpidr();
	const char *differs;

	percpu_init(cpu, mpidr, arch_image_layout().stack_guard +
					(uint64_t)(cpu + 1) * EL2_STACK_SLOT);
	differs = cpus_differs_from_boot();
	if (differs) {
		cpus_check_in(cpu, CPU_DIFFERS, differs);
		secondary_park();
	}
	arch_el2_cpu_init();
	if (spectre_booted()->v4_by_firmware)
		psci_smccc_call(EXO_SMCCC_ARCH_WORKAROUND_2, 1);
	if (!gic_cpu_init(&platform, mpidr)) {
		cpus_check_in(cpu, CPU_NO_GIC, NULL);
		secondary_park();
	}
	arch_vgic_enable();
	vgic_lr_cpu_init();
	vtimer_cpu_init();
	sched_cpu_init(platform.timer_intid[TIMER_HYP_PHYS]);
	if (!cpus_check_in(cpu, CPU_ONLINE, NULL))
		secondary_park();   /* too late: left out */
	system_cpu_run();
}

/* The other CPUs of the DTB started; those online run guests too. */
static void start_other_cpus(void)
{
	uint32_t online = 0;

	cpus_start(&platform);
	for (unsigned cpu = 0; cpu < EL2_MAX_CPUS; cpu++)
		if (cpu == 0 || cpus_state(cpu) == CPU_ONLINE)
			online |= UINT32_C(1) << cpu;
	if (online != 1)
		hyp_lock_enable();
	sched_set_cpus(online);
}

void el2_main(void)
{
	struct image_layout img = arch_image_layout();
	bool have_pkg;
	uint64_t pkg_max;

	timing_boot_start();
	pl011_init(VIRT_EARLY_PL011_BASE);
	print_set_console(pl011_write, "[el2] ");
	kprintf("exo EL2 (%s) booting\n", EXO_VERSION);

	read_platform();
	mmu_setup();
	percpu_init(0, arch_mpidr(), img.stack_top);
	arch_el2_traps_init();
	s2_set_forced_wb(arch_s2fwb_present());
	spectre_setup();
	if (!gic_init(&platform, arch_mpidr()))
		boot_fail("setting up the GICv3", -1);
	arch_vcpu_state_init();
	arch_vgic_enable();
	/* Before the other CPUs start: each enables the same PPIs. */
	if (vgic_lr_init(platform.gic_maintenance_intid))
		vtimer_init(platform.timer_intid[TIMER_VIRT]);
	start_other_cpus();
	pkg_max = frames_setup(&have_pkg);
	debug_checks();
	if (el2_test_hook)
		el2_test_hook(&platform);
	sched_init(platform.timer_intid[TIMER_HYP_PHYS]);
	guest_trap_init();   /* the CPU-time checks' due times (sched_set_due) */
	system_start(pkg_max, have_pkg, platform.bootargs);
}
