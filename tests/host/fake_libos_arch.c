/*
 * Recorders behind libos/arch.h for the host tests, and the
 * break-before-make checker (fake_libos_arch.h). The checker's rules come
 * from the Arm ARM, independently of libos/mmu: a live descriptor may only
 * change permissions (AP[2], PXN, UXN, AF, DBM) in place; any other change
 * goes through invalid, DSB, a TLBI that covers the VA (last-level forms
 * only for leaves, the ASID or an all-ASID form), DSB ISH, before the slot
 * holds a valid entry again.
 */
#include "fake_libos_arch.h"

#include <libos/arch.h>
#include <libos/mmu/pgtable.h>
#include <stdio.h>
#include <string.h>

struct fake_libos fake_libos;

enum { P_INVALIDATED, P_STORED, P_TLBI_DONE };

#define SAFE_BITS                                                            \
	((1ull << 7) | (1ull << 53) | (1ull << 54) | (1ull << 10) |          \
	 (1ull << 51))
#define CONT_BIT (1ull << 52)

/* Tables reachable from the TTBRs, refreshed when a table link changes. */
#define MAX_TABLES 4096
static struct {
	const uint64_t *t;
	unsigned entries;
	int level;
	uint64_t base;
} tables[MAX_TABLES];
static unsigned nr_tables;
static bool tables_dirty = true;

static void violation(const char *what, const uint64_t *slot, uint64_t va)
{
	if (!fake_libos.violations++)
		snprintf(fake_libos.first_violation,
			 sizeof(fake_libos.first_violation),
			 "%s (slot %p, va 0x%llx)", what, (const void *)slot,
			 (unsigned long long)va);
}

void fake_libos_reset(const struct walker_cfg *cfg, uint16_t asid)
{
	memset(&fake_libos, 0, sizeof(fake_libos));
	fake_libos.cfg = cfg;
	fake_libos.asid = asid;
	tables_dirty = true;
}

void fake_libos_tables_changed(void)
{
	tables_dirty = true;
}

static void add_table(void *ctx, const uint64_t *t, unsigned entries,
		      int level, uint64_t base)
{
	(void)ctx;
	if (nr_tables < MAX_TABLES)
		tables[nr_tables++] = (__typeof__(tables[0])){ t, entries, level,
							   base };
}

/* Is slot in a live table? Gives the VA range and level it maps. */
static bool find_slot(const uint64_t *slot, uint64_t *va, uint64_t *size,
		      int *level)
{
	if (tables_dirty) {
		nr_tables = 0;
		walker_for_each_table(fake_libos.cfg, add_table, NULL);
		tables_dirty = false;
	}
	for (unsigned i = 0; i < nr_tables; i++) {
		if (slot < tables[i].t || slot >= tables[i].t + tables[i].entries)
			continue;
		*level = tables[i].level;
		*size = walker_entry_size(fake_libos.cfg, *level);
		*va = tables[i].base + (uint64_t)(slot - tables[i].t) * *size;
		return true;
	}
	return false;
}

static struct fake_pending *pending_of(const uint64_t *slot)
{
	for (unsigned i = 0; i < fake_libos.nr_pending; i++)
		if (fake_libos.pending[i].slot == slot)
			return &fake_libos.pending[i];
	return NULL;
}

static bool is_table(uint64_t d, int level)
{
	return level < 3 && (d & 3) == 3;
}

static void add_pending(uint64_t *slot, uint64_t old, uint64_t va,
			uint64_t size, int level)
{
	struct fake_pending *p = pending_of(slot);

	if (!p) {
		if (fake_libos.nr_pending == FAKE_PENDING_MAX) {
			violation("checker: too many pending invalidations",
				  slot, va);
			return;
		}
		p = &fake_libos.pending[fake_libos.nr_pending++];
	}
	*p = (struct fake_pending){ slot, va, size, is_table(old, level),
				    !is_table(old, level) &&
					    !(old & (1ull << 11)),
				    P_INVALIDATED };
}

static void check_write(uint64_t *slot, uint64_t old, uint64_t new)
{
	uint64_t va = 0, size = 0;
	int level = 0;
	bool live = find_slot(slot, &va, &size, &level);

	if (!live)
		return;
	if ((old & 1) && (new & 1) && old != new) {
		/* A table's valid-entry count sits in bits the walk ignores:
		 * changing only them changes no translation. */
		if (is_table(old, level) && is_table(new, level) &&
		    !((old ^ new) & ~PGTABLE_TCOUNT_MASK))
			return;
		if (is_table(old, level) || is_table(new, level) ||
		    ((old | new) & CONT_BIT) || ((old ^ new) & ~SAFE_BITS))
			violation("live entry replaced without break-before-make",
				  slot, va);
		else
			add_pending(slot, old, va, size, level);
	} else if ((old & 1) && !(new & 1)) {
		add_pending(slot, old, va, size, level);
	} else if (!(old & 1) && (new & 1) && pending_of(slot)) {
		violation("entry made valid before its TLBI completed", slot,
			  va);
	}
	if (level < 3 && (is_table(old, level) || is_table(new, level)))
		tables_dirty = true;
}

void libos_arch_write_pte(uint64_t *ptep, uint64_t desc)
{
	fake_libos.writes++;
	if (fake_libos.cfg)
		check_write(ptep, *ptep, desc);
	*ptep = desc;
}

void libos_arch_dsb_ishst(void)
{
	fake_libos.dsb_ishst++;
	for (unsigned i = 0; i < fake_libos.nr_pending; i++)
		if (fake_libos.pending[i].state == P_INVALIDATED)
			fake_libos.pending[i].state = P_STORED;
}

void libos_arch_dsb_ish(void)
{
	unsigned kept = 0;

	fake_libos.dsb_ish++;
	/* Completed invalidations leave the list; stores become ordered. */
	for (unsigned i = 0; i < fake_libos.nr_pending; i++) {
		struct fake_pending p = fake_libos.pending[i];

		if (p.state == P_TLBI_DONE)
			continue;
		p.state = P_STORED;
		fake_libos.pending[kept++] = p;
	}
	fake_libos.nr_pending = kept;
}

void libos_arch_isb(void)
{
	fake_libos.isb++;
}

static bool tlbi_covers(const struct fake_pending *p, enum fake_tlbi kind,
			uint64_t op)
{
	uint64_t page = op & LIBOS_TLBI_VA_MASK;
	uint64_t first = (p->va >> 12) & LIBOS_TLBI_VA_MASK;
	uint64_t last = ((p->va + p->size - 1) >> 12) & LIBOS_TLBI_VA_MASK;
	uint16_t asid = (uint16_t)(op >> LIBOS_TLBI_ASID_SHIFT);
	bool all_asids = kind == FAKE_TLBI_VAAE1IS || kind == FAKE_TLBI_VAALE1IS;
	bool last_level = kind == FAKE_TLBI_VALE1IS || kind == FAKE_TLBI_VAALE1IS;

	if (kind == FAKE_TLBI_ASIDE1IS)
		return !p->global && asid == fake_libos.asid;
	if (page < first || page > last)
		return false;
	if (last_level && p->table)
		return false;   /* walk caches keep the table entry */
	return all_asids || p->global || asid == fake_libos.asid;
}

static void record_tlbi(enum fake_tlbi kind, uint64_t op)
{
	fake_libos.tlbi[kind]++;
	if (fake_libos.nr_tlbi_log < FAKE_TLBI_LOG)
		fake_libos.tlbi_log[fake_libos.nr_tlbi_log++] =
			(__typeof__(fake_libos.tlbi_log[0])){ kind, op };
	for (unsigned i = 0; i < fake_libos.nr_pending; i++) {
		struct fake_pending *p = &fake_libos.pending[i];

		if (p->state == P_STORED && tlbi_covers(p, kind, op))
			p->state = P_TLBI_DONE;
	}
}

void libos_arch_tlbi_vae1is(uint64_t op)
{
	record_tlbi(FAKE_TLBI_VAE1IS, op);
}

void libos_arch_tlbi_vale1is(uint64_t op)
{
	record_tlbi(FAKE_TLBI_VALE1IS, op);
}

void libos_arch_tlbi_vaae1is(uint64_t op)
{
	record_tlbi(FAKE_TLBI_VAAE1IS, op);
}

void libos_arch_tlbi_vaale1is(uint64_t op)
{
	record_tlbi(FAKE_TLBI_VAALE1IS, op);
}

void libos_arch_tlbi_aside1is(uint64_t op)
{
	record_tlbi(FAKE_TLBI_ASIDE1IS, op);
}

unsigned fake_libos_quiescent(void)
{
	if (fake_libos.nr_pending)
		violation("entry taken down but never invalidated in the TLB",
			  fake_libos.pending[0].slot, fake_libos.pending[0].va);
	fake_libos.nr_pending = 0;
	return fake_libos.violations;
}

/* --- MMU registers and caches: the host has none of them. The
 * boot code (libos/mm/boot.c) is only run on target; these keep the host
 * build linking and report "nothing there". */

void libos_arch_tlbi_vmalle1_local(void)
{
}

void libos_arch_tlbi_vmalle1is(void)
{
	fake_libos.vmalle1is++;
	/* Everything is gone: nothing left pending. */
	fake_libos.nr_pending = 0;
}

uint64_t libos_arch_copy_from_user(void *dst, uint64_t usrc, uint64_t n)
{
	return fake_libos.uaccess ? fake_libos.uaccess(dst, usrc, n, false) : n;
}

uint64_t libos_arch_copy_to_user(uint64_t udst, const void *src, uint64_t n)
{
	return fake_libos.uaccess ? fake_libos.uaccess((void *)src, udst, n,
						       true)
				  : n;
}

uint64_t libos_arch_uaccess_fixup(uint64_t pc)
{
	return pc == FAKE_UACCESS_PC ? FAKE_UACCESS_FIXUP : 0;
}

void libos_arch_zero_page(void *va, uint64_t size)
{
	memset(va, 0, size);
}

bool libos_arch_zero_page_map(void *va, uint64_t size, uint64_t *ptep,
			      uint64_t desc)
{
	libos_arch_zero_page(va, size);
	libos_arch_write_pte(ptep, desc);
	libos_arch_dsb_ishst();
	return true;
}

void libos_arch_copy_page(void *dst, const void *src, uint64_t size)
{
	memcpy(dst, src, size);
}

void libos_arch_dcache_inval_poc(uint64_t pa, uint64_t size)
{
	(void)pa;
	(void)size;
}

uint64_t libos_arch_read_mmfr0(void)
{
	return 0;
}

uint64_t libos_arch_read_mmfr1(void)
{
	return 0;
}

void libos_arch_mmu_on(const struct libos_mmu_regs *r)
{
	(void)r;
}

uint64_t libos_arch_read_tcr(void)
{
	return fake_libos.tcr;
}

void libos_arch_write_tcr(uint64_t tcr)
{
	fake_libos.tcr = tcr;
}

void libos_arch_write_ttbr0(uint64_t ttbr)
{
	fake_libos.ttbr0 = ttbr;
	fake_libos.ttbr0_writes++;
}

uint64_t libos_arch_read_ttbr1(void)
{
	return 0;
}

uint64_t libos_arch_read_sctlr(void)
{
	return 0;
}

bool libos_arch_pan_get(void)
{
	return false;
}

void libos_arch_pan_set(bool on)
{
	(void)on;
}

