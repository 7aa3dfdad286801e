/*
 * EL0 address spaces (uspace.h): the TTBR0 table and ASID of each task's
 * libos_aspace, and the switch. What the pages of a space are, and what a
 * fault in it means, is the regions' (libos/mm/region.c, vmfault.c); the
 * page source here only counts the task pages on their way through.
 */
#include <arch/sysreg.h>
#include <libos/arch.h>
#include <libos/lock.h>
#include <libos/task/uspace.h>
#include <string.h>

struct uspace_sys {
	struct uspace_config cfg;
	uint64_t page;
	struct asid_allocator asids;
	struct libos_pagerefs refs;  /* shared frames, every task space */
	struct libos_vm_pages pages; /* cfg.frames, counted */
	/* Each vCPU's TTBR0 and TCR_EL1 are its own. */
	struct uspace *current[LIBOS_CPUS_MAX]; /* in TTBR0, walks on */
	bool walks[LIBOS_CPUS_MAX];  /* TCR_EL1.EPD0 clear */
	struct uspace *spaces;       /* live, linked by next */
	unsigned live, frames;
	struct libos_vm_stats gone;  /* faults of destroyed spaces */
};

/* From the caller's allocator at the first init: guests without tasks
 * carry none of it in their image. */
static struct uspace_sys *sys;

/* --- the task page source: the caller's, counted -------------------------- */

static bool page_alloc(void *ctx, uint64_t *pa)
{
	(void)ctx;
	if (!sys->cfg.frames.alloc(sys->cfg.frames.ctx, pa))
		return false;
	sys->frames++;
	return true;
}

static void page_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	sys->cfg.frames.free(sys->cfg.frames.ctx, pa);
	sys->frames--;
}

static void *page_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return sys->cfg.frames.virt(sys->cfg.frames.ctx, pa);
}

/* --- set-up --------------------------------------------------------------- */

int uspace_sys_init(const struct uspace_config *cfg)
{
	if (cfg->va_bits != 39 && cfg->va_bits != 48)
		return -LIBOS_EINVAL;
	if (!sys)
		sys = cfg->zalloc(sizeof(*sys));
	if (!sys)
		return -LIBOS_ENOMEM;
	memset(sys, 0, sizeof(*sys));
	sys->cfg = *cfg;
	sys->page = UINT64_C(1) << cfg->granule;
	asid_init(&sys->asids, cfg->asid_bits);
	libos_pagerefs_init(&sys->refs);
	sys->pages = (struct libos_vm_pages){ page_alloc, page_free, page_virt,
					      NULL, NULL, 0 };
	return 0;
}

struct asid_allocator *uspace_asids(void)
{
	return &sys->asids;
}

/* Off the fault path: the spaces count their own faults. */
void uspace_stats(struct uspace_stats *out)
{
	struct libos_vm_stats v = sys->gone;

	for (const struct uspace *us = sys->spaces; us; us = us->next)
		libos_vm_stats_add(&v, &us->as.stats);
	*out = (struct uspace_stats){
		.live = sys->live,
		.frames = sys->frames,
		.shared = sys->refs.used,
		.demand_zero = v.demand_zero,
		.cow_copies = v.cow_copies,
		.cow_reuses = v.cow_reuses,
		.refused = v.refused + v.no_region + v.guard_hits +
			   v.stack_overflows,
	};
}

uint64_t uspace_page_size(void)
{
	return sys->page;
}

bool uspace_range_ok(uint64_t va, uint64_t len)
{
	uint64_t top = UINT64_C(1) << sys->cfg.va_bits;

	return len && va + len > va && va + len <= top;
}

/* --- address spaces ------------------------------------------------------- */

int uspace_create(struct uspace *us)
{
	struct pgtable_config cfg = { sys->cfg.granule, sys->cfg.va_bits,
				      PGTABLE_TTBR0, 0 };

	memset(us, 0, sizeof(*us));
	if (pgtable_init(&us->pt, &cfg, &sys->cfg.tables))
		return -LIBOS_ENOMEM;
	libos_aspace_init(&us->as, &us->pt, &sys->pages, &sys->refs);
	us->live = true;
	us->next = sys->spaces;
	sys->spaces = us;
	sys->live++;
	return 0;
}

static void unlink_space(struct uspace *us)
{
	struct uspace **p = &sys->spaces;

	while (*p && *p != us)
		p = &(*p)->next;
	if (*p)
		*p = us->next;
	libos_vm_stats_add(&sys->gone, &us->as.stats);
}

static void walks(bool on)
{
	bool *now = &sys->walks[libos_cpu_self()];
	uint64_t tcr = libos_arch_read_tcr();

	if (on == *now)
		return;
	*now = on;
	libos_arch_write_tcr(on ? tcr & ~TCR_EL1_EPD0 : tcr | TCR_EL1_EPD0);
}

void uspace_leave(void)
{
	struct uspace **cur = &sys->current[libos_cpu_self()];

	if (!*cur)
		return;
	/* Out of TTBR0: no walks, ASID 0. */
	walks(false);
	libos_arch_write_ttbr0(0);
	asid_deactivate(&sys->asids);
	libos_vm_detach(PGTABLE_TTBR0);
	*cur = NULL;
}

void uspace_destroy(struct uspace *us)
{
	if (!us->live)
		return;
	libos_aspace_fini(&us->as);
	/* Out of this vCPU's TTBR0 before the tables go (no other vCPU's
	 * holds it: each leaves a task's space when the task leaves it,
	 * libos_tasks_run). */
	if (sys->current[libos_cpu_self()] == us)
		uspace_leave();
	pgtable_destroy(&us->pt);    /* TLBI ASIDE1IS for its ASID */
	unlink_space(us);
	us->live = false;
	sys->live--;
}

int uspace_clone(struct uspace *child, struct uspace *parent)
{
	int rc = uspace_create(child);

	if (rc)
		return rc;
	if (libos_aspace_clone(&child->as, &parent->as)) {
		uspace_destroy(child);   /* drops the references it took */
		return -LIBOS_ENOMEM;
	}
	return 0;
}

/* --- switch --------------------------------------------------------------- */

void uspace_switch(struct uspace *us)
{
	uint16_t asid;

	if (!us)
		return;
	asid = asid_switch(&sys->asids, &us->asid_ctx);
	us->pt.asid = asid;
	libos_arch_write_ttbr0(pgtable_ttbr(&us->pt));
	libos_vm_attach(&us->as);
	sys->current[libos_cpu_self()] = us;
	walks(true);
}

struct uspace *uspace_current(void)
{
	return sys->current[libos_cpu_self()];
}
