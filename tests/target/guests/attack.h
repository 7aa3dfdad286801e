/*
 * Helpers for the attack guests (tests/target/test_attacks.py): probes of
 * physical addresses that report what happened (a reflected external abort
 * or not), device-attribute aliases for MMIO, undefined-instruction
 * catching, raw HVC/SMC with any immediate, and a walk of RAM by
 * FRAME_QUERY. Built on faultcatch.h.
 */
#ifndef EXO_TESTS_ATTACK_H
#define EXO_TESTS_ATTACK_H

#include <arch/esr.h>
#include <el1/el1.h>
#include <el1/trap.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>

#include "faultcatch.h"
#include "tap.h"

#define FRAME EXO_FRAME_SIZE
#define RAM_BASE 0x40000000ul
#define EL2_IMAGE 0x40200000ul
#define HOST_DTB 0x40000000ul
#define BOOT_PKG 0x48000000ul

static volatile unsigned undefs;
static volatile uint64_t undef_esr;

static bool catch_undef(struct el1_frame *f)
{
	undefs++;
	undef_esr = f->esr;
	f->elr += 4;
	return true;
}

static inline void undef_install(void)
{
	el1_set_sync_handler(ESR_EC_UNKNOWN, catch_undef);
}

/* Since the count was `before`: exactly one undefined instruction. */
static inline bool undef_since(unsigned before)
{
	return undefs == before + 1 && ESR_EC(undef_esr) == ESR_EC_UNKNOWN;
}

/* A device-nGnRE alias of pa's page in the vmap window. */
static inline volatile uint32_t *dev_ptr(uint64_t pa)
{
	const struct libos_mm_info *mm = libos_mm_info();
	uint64_t va = mm->vmap_base + exec_slot * mm->page_size;

	exec_slot++;
	pgtable_map(libos_mm_kernel(), va, pa & ~(mm->page_size - 1),
		    mm->page_size,
		    PGTABLE_READ | PGTABLE_WRITE | PGTABLE_GLOBAL |
			    PGTABLE_ACCESSED |
			    PGTABLE_MEM(PGTABLE_MEM_DEVICE_nGnRE));
	return (volatile uint32_t *)(uintptr_t)(va + (pa & (mm->page_size - 1)));
}

/* A 32-bit MMIO read or write; true if it came back as an external abort. */
static inline bool mmio_read_aborts(uint64_t pa)
{
	volatile uint32_t *p = dev_ptr(pa);
	unsigned n = caught.count;

	probe_va = (uint64_t)(uintptr_t)p;
	(void)*p;
	return faultcatch_external(n, pa);
}

static inline bool mmio_write_aborts(uint64_t pa, uint32_t v)
{
	volatile uint32_t *p = dev_ptr(pa);
	unsigned n = caught.count;

	probe_va = (uint64_t)(uintptr_t)p;
	*p = v;
	return faultcatch_external(n, pa);
}

static inline bool read_aborts(uint64_t pa)
{
	unsigned n = caught.count;

	probe_read(pa);
	return faultcatch_external(n, pa);
}

static inline bool write_aborts(uint64_t pa, uint64_t v)
{
	unsigned n = caught.count;

	probe_write(pa, v);
	return faultcatch_external(n, pa);
}

static inline bool exec_aborts(uint64_t pa)
{
	unsigned n = caught.count;

	probe_exec(pa);
	return caught.count == n + 1 && caught.far == probe_va &&
	       ESR_EC(caught.esr) == ESR_EC_IABT_CUR;
}

/* The state of pa and whether the caller may access it; -1 if refused. */
static inline int64_t frame_state(uint64_t pa, bool *mine)
{
	struct exo_ret q = exo_frame_query(pa);

	*mine = q.x2 != 0;
	return q.status == EXO_OK ? (int64_t)q.x1 : q.status;
}

/* The end of RAM: the first frame above RAM_BASE that FRAME_QUERY calls
 * outside the frame DB's span (a binary search, nothing hard-coded). */
static inline uint64_t ram_end(void)
{
	uint64_t lo = RAM_BASE, hi = RAM_BASE + (1ul << 40);

	while (hi - lo > FRAME) {
		uint64_t mid = lo + ((hi - lo) / 2 & ~(FRAME - 1));

		if (exo_frame_query(mid).status == EXO_OK)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

#endif
