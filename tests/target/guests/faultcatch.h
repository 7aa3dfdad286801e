/*
 * Reaching physical addresses from a test guest (its MMU is on) and
 * catching the aborts EL2 reflects into it: stage-2 violations arrive as
 * synchronous external aborts. pa_ptr() maps any frame, owned or not, in
 * the library OS's direct map, so the guest's own stage 1 never stands in
 * the way and whatever faults is stage 2. Aborts reach a libos fault hook
 * that records them and resumes after the faulting instruction; every
 * other fault (software Access flag, ...) stays libos's.
 */
#ifndef EXO_TESTS_FAULTCATCH_H
#define EXO_TESTS_FAULTCATCH_H

#include <arch/esr.h>
#include <libos/mm/mm.h>
#include <libos/mmu/pgtable.h>
#include <stdint.h>

struct caught {
	unsigned count;
	uint64_t esr, far;
};

static volatile struct caught caught;
static uint64_t probe_va;     /* the VA the last probe used */
static uint64_t exec_slot;    /* next free page of the vmap window */

static bool catch_external(struct libos_fault *f)
{
	unsigned fsc = (unsigned)(f->esr & 0x3f);

	if (FSC_KIND(fsc) != FSC_SYNC_EXTERNAL)
		return false;
	caught.count++;
	caught.esr = f->esr;
	caught.far = f->far;
	if (f->access == LIBOS_EXEC)
		f->elr = f->x30;     /* a probe_exec call: back to its caller */
	else
		f->elr += 4;
	return true;
}

static inline void faultcatch_install(void)
{
	libos_fault_set_hook(catch_external);
}

/* A pointer to pa through the direct map, mapping its page if needed (an
 * already mapped page makes libos_dmap_map refuse: that is fine). */
static inline volatile uint64_t *pa_ptr(uint64_t pa)
{
	uint64_t page = libos_mm_info()->page_size;

	libos_dmap_map(pa & ~(page - 1), page);
	return (volatile uint64_t *)libos_dmap_phys_to_virt(pa);
}

/* Maps [pa, pa + size) in the direct map (size: whole pages). */
static inline void *pa_map(uint64_t pa, uint64_t size)
{
	libos_dmap_map(pa, size);
	return libos_dmap_phys_to_virt(pa);
}

static inline void pa_unmap(uint64_t pa, uint64_t size)
{
	libos_dmap_unmap(pa, size);
}

/* Did the last probe end in a synchronous external abort? */
static inline bool faultcatch_external(unsigned before, uint64_t pa)
{
	(void)pa;
	return caught.count == before + 1 &&
	       FSC_KIND(ESR_ISS(caught.esr) & 0x3f) == FSC_SYNC_EXTERNAL &&
	       caught.far == probe_va;
}

static inline uint64_t probe_read(uint64_t pa)
{
	volatile uint64_t *p = pa_ptr(pa);

	probe_va = (uint64_t)(uintptr_t)p;
	return *p;
}

static inline void probe_write(uint64_t pa, uint64_t v)
{
	volatile uint64_t *p = pa_ptr(pa);

	probe_va = (uint64_t)(uintptr_t)p;
	*p = v;
}

/* Executes pa through a read-only executable stage-1 alias in the vmap
 * window (the direct map is never executable). */
static inline void probe_exec(uint64_t pa)
{
	const struct libos_mm_info *mm = libos_mm_info();
	uint64_t va = mm->vmap_base + exec_slot * mm->page_size;

	exec_slot++;
	pgtable_map(libos_mm_kernel(), va, pa & ~(mm->page_size - 1),
		    mm->page_size,
		    PGTABLE_READ | PGTABLE_EXEC_EL1 | PGTABLE_GLOBAL |
			    PGTABLE_ACCESSED | PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB));
	probe_va = va + (pa & (mm->page_size - 1));
	__asm__ volatile("isb");
	((void (*)(void))(uintptr_t)probe_va)();
}

#endif
