/*
 * stage1: the library OS's stage-1 MMU on target, with the MMU on. Reports
 * TAP lines (tests/target/test_stage1.py reads them): the switch itself
 * (registers, running at the high VA), the image's W^X mapping and the
 * direct map, then pages mapped, touched and unmapped in the vmap window,
 * and faults the guest's own handler must catch: translation after unmap,
 * write to read-only, WXN, PXN, PAN, software or hardware Access flag and
 * dirty state. "--unhandled" instead touches an unmapped page with nobody
 * expecting it: libos reports the fault and the guest exits with 165.
 */
#include <el1/el1.h>
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <exo/frame.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <libos/mm/mm.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FRAME_SHIFT EXO_FRAME_SHIFT
#define INSN_RET 0xd65f03c0u     /* ret */
#define POISON UINT64_C(0xdeadbeefdeadbeef)

static unsigned tests, failed;
static const struct libos_mm_info *mi;
static uint64_t vmap_next;       /* next free VA in the vmap window */

static void check(bool ok, const char *what)
{
	tests++;
	if (!ok)
		failed++;
	kprintf("%sok %u - %s\n", ok ? "" : "not ", tests, what);
}

static void skip(const char *what, const char *why)
{
	tests++;
	kprintf("ok %u - %s # SKIP %s\n", tests, what, why);
}

/* --- expected faults ------------------------------------------------------ */

static struct {
	bool armed;
	uint64_t far;
	unsigned hits;
	struct libos_fault seen;
	bool pan_at_entry;
} expect;

static bool hook(struct libos_fault *f)
{
	if (!expect.armed || f->far != expect.far)
		return false;
	expect.armed = false;
	expect.hits++;
	expect.seen = *f;
	expect.pan_at_entry = mi->pan && libos_arch_pan_get();
	if (f->access == LIBOS_EXEC)
		f->elr = f->x30;  /* a call into the page: return from it */
	else
		f->elr += 4;      /* skip the one load or store */
	return true;
}

static void arm(uint64_t va)
{
	expect.armed = true;
	expect.far = va;
	expect.hits = 0;
}

/* True if exactly the expected fault, of this kind and access, came. */
static bool caught(enum libos_fault_kind kind, enum libos_access access)
{
	bool ok = !expect.armed && expect.hits == 1 &&
		  expect.seen.kind == kind && expect.seen.access == access;

	expect.armed = false;
	return ok;
}

static uint64_t load(uint64_t va)
{
	uint64_t v = POISON;

	__asm__ volatile("ldr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
	return v;
}

static void store(uint64_t va, uint64_t v)
{
	__asm__ volatile("str %0, [%1]" : : "r"(v), "r"(va) : "memory");
}

/* LDTR: an EL0 (unprivileged) load from EL1, the uaccess way past PAN. */
static uint64_t load_user(uint64_t va)
{
	uint64_t v = POISON;

	__asm__ volatile("ldtr %0, [%1]" : "+r"(v) : "r"(va) : "memory");
	return v;
}

static void call(uint64_t va)
{
	((void (*)(void))(uintptr_t)va)();
}

/* --- test pages: frames from EL2, a direct-map alias, a vmap mapping ------ */

struct tpage {
	uint64_t pa, va;
	uint64_t *alias;         /* through the direct map */
	bool mapped;
};

static unsigned page_frames(void)
{
	return (unsigned)(mi->page_size >> FRAME_SHIFT);
}

static bool tpage_get(struct tpage *t, uint32_t attrs)
{
	struct exo_ret r = exo_frame_alloc(page_frames(),
					   (unsigned)mi->granule - FRAME_SHIFT);

	if (r.status)
		return false;
	t->pa = r.x1;
	if (libos_dmap_map(t->pa, mi->page_size)) {
		exo_frame_free(t->pa, page_frames());
		return false;
	}
	t->alias = libos_dmap_phys_to_virt(t->pa);
	memset(t->alias, 0, mi->page_size);
	t->va = vmap_next;
	vmap_next += 2 * mi->page_size;  /* a hole after each page */
	t->mapped = pgtable_map(libos_mm_kernel(), t->va, t->pa,
				mi->page_size, attrs) == 0;
	return t->mapped;
}

static void tpage_put(struct tpage *t)
{
	if (t->mapped)
		pgtable_unmap(libos_mm_kernel(), t->va, mi->page_size);
	libos_dmap_unmap(t->pa, mi->page_size);
	exo_frame_free(t->pa, page_frames());
}

/* Code written through the alias: clean to PoU, drop the I-cache. */
static void put_ret(struct tpage *t)
{
	*(volatile uint32_t *)t->alias = INSN_RET;
	__asm__ volatile("dc cvau, %0\n"
			 "dsb ish\n"
			 "ic iallu\n"
			 "dsb ish\n"
			 "isb" : : "r"(t->alias) : "memory");
}

static bool xlate(uint64_t va, struct pgtable_xlate *x)
{
	return pgtable_translate(libos_mm_kernel(), va, x) == 0;
}

#define ATTRS(extra)                                                         \
	(PGTABLE_READ | PGTABLE_GLOBAL | PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB) | \
	 (extra))

/* --- the tests -------------------------------------------------------------- */

extern char __text_end[], __rodata_end[], __stack_guard[];
static const char rodata_probe[] = "read-only";
static uint64_t data_probe = 1;

static void test_switch(void)
{
	static const uint64_t tg1[] = { [PGTABLE_GRANULE_4K] = TCR_EL1_TG1_4K,
					[PGTABLE_GRANULE_16K] = TCR_EL1_TG1_16K,
					[PGTABLE_GRANULE_64K] = TCR_EL1_TG1_64K };
	uint64_t sctlr = libos_arch_read_sctlr();
	uint64_t tcr = libos_arch_read_tcr();
	uint64_t pc = (uint64_t)(uintptr_t)test_switch;
	uint64_t want = SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_WXN;

	kprintf("mmu: granule %luK, %u-bit VA, image at 0x%lx (PA 0x%lx)\n",
		(unsigned long)(mi->page_size >> 10), mi->va_bits,
		(unsigned long)mi->image_va, (unsigned long)mi->image_pa);
	kprintf("mmu: AF %s, dirty %s, PAN %s, %u-bit ASIDs\n",
		mi->hw_af ? "hardware" : "software",
		mi->hw_dirty ? "hardware" : "software",
		mi->pan ? "on" : "absent", mi->asid_bits);
	check((sctlr & want) == want, "SCTLR_EL1: M, C, I, WXN set");
	check(((tcr >> TCR_EL1_TG1_SHIFT) & 3) == tg1[mi->granule] &&
		      64 - ((tcr >> TCR_EL1_T1SZ_SHIFT) & 63) == mi->va_bits,
	      "TCR_EL1: TG1 and T1SZ match the granule and VA size");
	check((tcr & TCR_EL1_EPD0) != 0, "TCR_EL1.EPD0: no TTBR0 walks");
	check(pc >= mi->image_va && pc >= mi->half_base,
	      "running in the TTBR1 half, at the image's high VA");
	check(!!(tcr & TCR_EL1_HA) == mi->hw_af &&
		      !!(tcr & TCR_EL1_HD) == mi->hw_dirty,
	      "TCR_EL1.HA/HD as the features and options say");
}

static void test_image(void)
{
	struct pgtable_xlate x;
	uint64_t text = (uint64_t)(uintptr_t)test_image;
	uint64_t ro = (uint64_t)(uintptr_t)rodata_probe;
	uint64_t rw = (uint64_t)(uintptr_t)&data_probe;
	uint64_t guard = (uint64_t)(uintptr_t)__stack_guard;
	uint64_t sp = (uint64_t)(uintptr_t)&x;

	check(xlate(text, &x) && (x.attrs & PGTABLE_EXEC_EL1) &&
		      !(x.attrs & PGTABLE_WRITE),
	      "image text: RX");
	check(xlate(ro, &x) && !(x.attrs & PGTABLE_EXEC_EL1) &&
		      !(x.attrs & PGTABLE_WRITE),
	      "image rodata: R, XN");
	check(xlate(rw, &x) && !(x.attrs & PGTABLE_EXEC_EL1) &&
		      (x.attrs & PGTABLE_WRITE),
	      "image data: RW, XN");
	check(xlate(sp, &x) && (x.attrs & PGTABLE_WRITE) &&
		      !xlate(guard, &x),
	      "boot stack RW, its guard unmapped");
	check(xlate((uint64_t)(uintptr_t)libos_dmap_phys_to_virt(mi->image_pa),
		    &x) && x.pa == mi->image_pa && !(x.attrs & PGTABLE_WRITE) &&
		      !(x.attrs & PGTABLE_EXEC_EL1),
	      "direct-map alias of the image text: R, XN");
}

static void test_map_unmap(void)
{
	struct pgtable_xlate x;
	struct libos_fault_stats before, after;
	struct tpage t;
	bool ok;

	if (!tpage_get(&t, ATTRS(PGTABLE_WRITE | PGTABLE_ACCESSED))) {
		check(false, "map a page in the vmap window");
		return;
	}
	check(xlate(t.va, &x) && x.pa == t.pa && x.leaf_size == mi->page_size,
	      "map a page in the vmap window");
	store(t.va + 8, 0x1234);
	store(t.va + mi->page_size - 8, 0x5678);
	ok = load(t.va + 8) == 0x1234 && t.alias[1] == 0x1234 &&
	     t.alias[mi->page_size / 8 - 1] == 0x5678;
	check(ok, "touch it: both ends, seen through the direct map too");
	pgtable_unmap(libos_mm_kernel(), t.va, mi->page_size);
	t.mapped = false;
	libos_fault_stats(&before);
	arm(t.va + 8);
	(void)load(t.va + 8);
	libos_fault_stats(&after);
	check(caught(LIBOS_FAULT_TRANSLATION, LIBOS_READ) &&
		      after.taken[LIBOS_FAULT_TRANSLATION] ==
			      before.taken[LIBOS_FAULT_TRANSLATION] + 1,
	      "unmap it: the next touch is a translation fault, caught");
	tpage_put(&t);
}

static void test_read_only(void)
{
	struct tpage t;

	if (!tpage_get(&t, ATTRS(PGTABLE_ACCESSED))) {
		check(false, "write to a read-only page");
		return;
	}
	t.alias[0] = 42;
	arm(t.va);
	store(t.va, 7);
	check(caught(LIBOS_FAULT_PERMISSION, LIBOS_WRITE) && load(t.va) == 42,
	      "write to a read-only page: permission fault, caught, "
	      "nothing written");
	tpage_put(&t);
}

static void test_exec(void)
{
	struct tpage rx, wx, nx, ux;

	if (!tpage_get(&rx, ATTRS(PGTABLE_ACCESSED | PGTABLE_EXEC_EL1)) ||
	    !tpage_get(&wx, ATTRS(PGTABLE_ACCESSED | PGTABLE_EXEC_EL1 |
				  PGTABLE_WRITE)) ||
	    !tpage_get(&nx, ATTRS(PGTABLE_ACCESSED)) ||
	    !tpage_get(&ux, ATTRS(PGTABLE_ACCESSED | PGTABLE_USER |
				  PGTABLE_EXEC_EL0))) {
		check(false, "execute tests: pages");
		return;
	}
	put_ret(&rx);
	put_ret(&wx);
	put_ret(&nx);
	put_ret(&ux);
	arm(rx.va);
	call(rx.va);
	check(expect.armed && expect.hits == 0,
	      "execute an RX page: runs (the control)");
	expect.armed = false;
	arm(wx.va);
	call(wx.va);
	check(caught(LIBOS_FAULT_PERMISSION, LIBOS_EXEC),
	      "WXN: execute a writable+executable page: permission fault");
	arm(nx.va);
	call(nx.va);
	check(caught(LIBOS_FAULT_PERMISSION, LIBOS_EXEC),
	      "PXN: execute a non-executable page: permission fault");
	arm(ux.va);
	call(ux.va);
	check(caught(LIBOS_FAULT_PERMISSION, LIBOS_EXEC),
	      "PXN: EL1 executes an EL0-executable (UXN clear) page: "
	      "permission fault");
	tpage_put(&rx);
	tpage_put(&wx);
	tpage_put(&nx);
	tpage_put(&ux);
}

static void test_pan(void)
{
	struct tpage u, hole;

	if (!mi->pan) {
		kprintf("pan: absent (ID_AA64MMFR1_EL1.PAN = 0)\n");
		skip("PAN stops EL1 touching a user page", "FEAT_PAN absent");
		return;
	}
	if (!tpage_get(&u, ATTRS(PGTABLE_ACCESSED | PGTABLE_USER |
				 PGTABLE_WRITE)) ||
	    !tpage_get(&hole, ATTRS(PGTABLE_ACCESSED))) {
		check(false, "PAN: pages");
		return;
	}
	u.alias[0] = 99;
	check(libos_arch_pan_get() &&
		      !(libos_arch_read_sctlr() & SCTLR_EL1_SPAN),
	      "PAN: PSTATE.PAN set, SCTLR_EL1.SPAN clear");
	arm(u.va);
	(void)load(u.va);
	check(caught(LIBOS_FAULT_PERMISSION, LIBOS_READ),
	      "PAN: EL1 load from a user page: permission fault, caught");
	arm(u.va);
	store(u.va, 1);
	check(caught(LIBOS_FAULT_PERMISSION, LIBOS_WRITE) && u.alias[0] == 99,
	      "PAN: EL1 store to a user page: permission fault, caught");
	check(load_user(u.va) == 99,
	      "PAN: LDTR (unprivileged load) reads the user page");
	libos_arch_pan_set(false);
	check(load(u.va) == 99, "PAN cleared on purpose: the load works");
	pgtable_unmap(libos_mm_kernel(), hole.va, mi->page_size);
	hole.mapped = false;
	arm(hole.va);
	(void)load(hole.va);
	check(caught(LIBOS_FAULT_TRANSLATION, LIBOS_READ) &&
		      expect.pan_at_entry && !libos_arch_pan_get(),
	      "PAN: set on exception entry (SPAN clear), restored by ERET");
	libos_arch_pan_set(true);
	tpage_put(&u);
	tpage_put(&hole);
}

static void test_access_flag(void)
{
	struct libos_fault_stats before, after;
	struct pgtable_xlate x;
	struct tpage t;
	bool ok;

	if (!tpage_get(&t, ATTRS(PGTABLE_WRITE))) {
		check(false, "Access flag: page");
		return;
	}
	t.alias[0] = 77;
	check(xlate(t.va, &x) && !(x.attrs & PGTABLE_ACCESSED),
	      "Access flag: page mapped with AF clear");
	libos_fault_stats(&before);
	ok = load(t.va) == 77;
	libos_fault_stats(&after);
	ok = ok && xlate(t.va, &x) && (x.attrs & PGTABLE_ACCESSED);
	if (mi->hw_af)
		check(ok && after.taken[LIBOS_FAULT_ACCESS_FLAG] ==
				    before.taken[LIBOS_FAULT_ACCESS_FLAG],
		      "Access flag (hardware): first load works, no fault, "
		      "AF now set");
	else
		check(ok && after.af_fixed == before.af_fixed + 1 &&
			      after.taken[LIBOS_FAULT_ACCESS_FLAG] ==
				      before.taken[LIBOS_FAULT_ACCESS_FLAG] + 1,
		      "Access flag (software): one AF fault counted, set, "
		      "the load then works");
	libos_fault_stats(&before);
	(void)load(t.va + 8);
	libos_fault_stats(&after);
	check(after.taken[LIBOS_FAULT_ACCESS_FLAG] ==
		      before.taken[LIBOS_FAULT_ACCESS_FLAG],
	      "Access flag: the second access takes no fault");
	tpage_put(&t);
}

static void test_dirty(void)
{
	struct libos_fault_stats before, after;
	struct pgtable_xlate x;
	struct tpage t;
	bool ok;

	if (!tpage_get(&t, ATTRS(PGTABLE_WRITE | PGTABLE_DBM |
				 PGTABLE_ACCESSED))) {
		check(false, "dirty state: page");
		return;
	}
	check(xlate(t.va, &x) && (x.attrs & PGTABLE_DBM) &&
		      !(x.attrs & PGTABLE_DIRTY),
	      "dirty state: page mapped writable-clean (DBM, AP[2] = 1)");
	libos_fault_stats(&before);
	store(t.va, 55);
	libos_fault_stats(&after);
	ok = t.alias[0] == 55 && xlate(t.va, &x) && (x.attrs & PGTABLE_DIRTY);
	if (mi->hw_dirty)
		check(ok && after.dirty_fixed == before.dirty_fixed &&
			      after.taken[LIBOS_FAULT_PERMISSION] ==
				      before.taken[LIBOS_FAULT_PERMISSION],
		      "dirty state (hardware): the write works, no fault, "
		      "page now dirty");
	else
		check(ok && after.dirty_fixed == before.dirty_fixed + 1,
		      "dirty state (software): one permission fault, marked "
		      "dirty, the write then works");
	tpage_put(&t);
}

static void report_stats(void)
{
	struct libos_fault_stats s;

	libos_fault_stats(&s);
	kprintf("faults: translation %u, access flag %u, permission %u, "
		"other %u; AF fixed %u, dirty fixed %u, caught %u, "
		"unhandled %u\n",
		s.taken[LIBOS_FAULT_TRANSLATION],
		s.taken[LIBOS_FAULT_ACCESS_FLAG],
		s.taken[LIBOS_FAULT_PERMISSION], s.taken[LIBOS_FAULT_OTHER],
		s.af_fixed, s.dirty_fixed, s.hooked, s.unhandled);
	kprintf("tables: %u pages in the TTBR1 half\n", libos_mm_info()->tables);
}

static bool has_arg(int argc, char **argv, const char *a)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], a))
			return true;
	return false;
}

EL1_GUEST_OPTIONS("--unhandled");

int main(int argc, char **argv)
{
	mi = libos_mm_info();
	vmap_next = mi->vmap_base;
	if (has_arg(argc, argv, "--unhandled")) {
		struct tpage t;

		if (!tpage_get(&t, ATTRS(PGTABLE_ACCESSED)))
			return 1;
		pgtable_unmap(libos_mm_kernel(), t.va, mi->page_size);
		kprintf("touching 0x%lx, unmapped, with nobody expecting it\n",
			(unsigned long)t.va);
		store(t.va, 1);
		kprintf("still running: the fault was not reported\n");
		return 1;
	}
	libos_fault_set_hook(hook);
	test_switch();
	test_image();
	test_map_unmap();
	test_read_only();
	test_exec();
	test_pan();
	test_access_flag();
	test_dirty();
	report_stats();
	kprintf("1..%u\n", tests);
	return failed ? 1 : 0;
}
