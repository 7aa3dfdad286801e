/*
 * The few hardware operations libos needs: descriptor stores, barriers, TLB
 * and cache maintenance, the MMU registers. (Calls to EL2 are not here:
 * libos/el2.h is the one place libos makes them.) Declarations only: libos/arch/ implements them for AArch64,
 * tests/host/fake_libos_arch.c records them on the host. Nothing here
 * decides policy; callers own the ordering (break-before-make) and the
 * register values (libos/mm/boot.c).
 */
#ifndef EXO_LIBOS_ARCH_H
#define EXO_LIBOS_ARCH_H

#include <stdbool.h>
#include <stdint.h>

/* A single-copy-atomic 64-bit store of a translation table descriptor,
 * and the barriers around table changes. Inline on target (one
 * instruction each, on every map, unmap and fault path); the host's fake
 * (tests/host/fake_libos_arch.c) records them. */
#ifdef EXO_HOST
void libos_arch_write_pte(uint64_t *ptep, uint64_t desc);
void libos_arch_dsb_ishst(void);    /* DSB ISHST: stores before TLBIs */
void libos_arch_dsb_ish(void);      /* DSB ISH: TLBIs complete */
void libos_arch_isb(void);
#else
static inline void libos_arch_write_pte(uint64_t *ptep, uint64_t desc)
{
	/* One str: the table walker must never see a torn descriptor. */
	__asm__ volatile("str %1, %0" : "=m"(*ptep) : "r"(desc) : "memory");
}

static inline void libos_arch_dsb_ishst(void)
{
	__asm__ volatile("dsb ishst" : : : "memory");
}

static inline void libos_arch_dsb_ish(void)
{
	__asm__ volatile("dsb ish" : : : "memory");
}

static inline void libos_arch_isb(void)
{
	__asm__ volatile("isb" : : : "memory");
}
#endif

/*
 * TLBI operands as the instructions take them: VA[55:12] in bits 43:0 and,
 * for the by-ASID forms, the ASID in bits 63:48 (see libos_tlbi_operand).
 */
void libos_arch_tlbi_vae1is(uint64_t op);    /* every level, one ASID */
void libos_arch_tlbi_vale1is(uint64_t op);   /* last level, one ASID */
void libos_arch_tlbi_vaae1is(uint64_t op);   /* every level, all ASIDs */
void libos_arch_tlbi_vaale1is(uint64_t op);  /* last level, all ASIDs */
void libos_arch_tlbi_aside1is(uint64_t op);  /* everything of one ASID */

/* TLBI VMALLE1: everything of this VMID, this CPU only (boot, before any
 * other CPU runs the guest), then DSB NSH + ISB. */
void libos_arch_tlbi_vmalle1_local(void);
/* TLBI VMALLE1IS between DSB ISHST and DSB ISH + ISB: every ASID, every
 * level (ASID roll-over, libos/task/asid.c). */
void libos_arch_tlbi_vmalle1is(void);

/* A whole page (size a multiple of 512 bytes, va mapped Normal memory):
 * zeroed with DC ZVA where the CPU allows it, copied 512 bytes a step
 * through general registers (libos/arch/page_ops.S). The fault paths'
 * zero-fill and copy-on-write. */
void libos_arch_zero_page(void *va, uint64_t size);
/* The demand-zero fault fast path's last step, so that it can end in a
 * tail call and keep no frame: va's page zeroed, then desc stored at ptep
 * (one STR: the page is never mapped before it is zero), then DSB ISHST;
 * returns true. */
bool libos_arch_zero_page_map(void *va, uint64_t size, uint64_t *ptep,
			      uint64_t desc);
void libos_arch_copy_page(void *dst, const void *src, uint64_t size);

/* DC IVAC over [pa, pa + size), MMU off (VA == PA), then DSB SY: drops
 * stale lines over memory written with the caches off. */
void libos_arch_dcache_inval_poc(uint64_t pa, uint64_t size);
/* Writes back the data cache lines over [va, va + size) to the point of
 * coherency: what another vCPU reads with its MMU off (its start record). */
void libos_arch_dcache_clean_poc(const void *va, uint64_t size);

/* --- MMU registers (libos/arch/mmu_regs.c, libos/arch/mmu_on.S) --------------- */

uint64_t libos_arch_read_mmfr0(void);   /* ID_AA64MMFR0_EL1 */
uint64_t libos_arch_read_mmfr1(void);   /* ID_AA64MMFR1_EL1 */

/* What libos_arch_mmu_on writes; offsets fixed for mmu_on.S. */
struct libos_mmu_regs {
	uint64_t mair;       /* +0 */
	uint64_t tcr;        /* +8 */
	uint64_t ttbr0;      /* +16 */
	uint64_t ttbr1;      /* +24 */
	uint64_t sctlr;      /* +32 */
};

/*
 * MMU off -> on: MAIR, TCR, TTBR0/1, local TLBI VMALLE1, SCTLR, ISB. The
 * caller runs from memory TTBR0 maps at its own (physical) address and
 * branches to its virtual address afterwards. Touches no memory but *r.
 */
void libos_arch_mmu_on(const struct libos_mmu_regs *r);
uint64_t libos_arch_read_tcr(void);
void libos_arch_write_tcr(uint64_t tcr);       /* then ISB */
void libos_arch_write_ttbr0(uint64_t ttbr);    /* then ISB */
uint64_t libos_arch_read_ttbr1(void);
uint64_t libos_arch_read_sctlr(void);

/* PSTATE.PAN (FEAT_PAN only: callers check ID_AA64MMFR1_EL1.PAN first). */
bool libos_arch_pan_get(void);
void libos_arch_pan_set(bool on);

/* --- this CPU ------------------------------------------------------------ */

/* The calling vCPU's number: its MPIDR_EL1 affinity Aff0, which EL2 makes
 * the vCPU's index (docs/abi.md, "vCPUs"), below EXO_VM_MAX_VCPUS. Inline
 * on target (two instructions); the host's fake gives each test thread
 * the number it set (tests/host/fake_libos_irq.h). */
#define LIBOS_MPIDR_AFF0_MASK 0xffu
#ifdef EXO_HOST
unsigned libos_arch_cpu_self(void);
#else
static inline unsigned libos_arch_cpu_self(void)
{
	uint64_t mpidr;

	/* volatile: never read on a path that does not ask (the compiler
	 * would hoist a plain asm out of a branch). */
	__asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
	return (unsigned)(mpidr & LIBOS_MPIDR_AFF0_MASK);
}
#endif

/* --- interrupts (libos/arch/critical.c) ----------------------------------------- */

/* Masks IRQs (PSTATE.I) and returns the previous DAIF bits; restore puts
 * them back. libos's critical sections (docs/libos.md, "Events"). */
uint64_t libos_arch_irq_save(void);
void libos_arch_irq_restore(uint64_t flags);

/* Barriers for memory shared with another guest (libos/chan). */
void libos_arch_dmb_ish(void);                              /* DMB ISH */
uint64_t libos_arch_load_acquire(const volatile uint64_t *p);   /* LDAR */
void libos_arch_store_release(volatile uint64_t *p, uint64_t v); /* STLR */

/* --- user memory (libos/arch/uaccess.S) --------------------------------- */

/*
 * Copies between the library OS and the EL0 address space in TTBR0 with
 * unprivileged loads/stores (LDTRB/STTRB): EL0's permissions apply, PAN does
 * not stop them, and a fault inside them is resumed at a fixup instead of
 * being fatal. Return the number of bytes NOT copied (0: all). The caller
 * has checked that [uaddr, uaddr + n) lies in the TTBR0 half.
 */
uint64_t libos_arch_copy_from_user(void *dst, uint64_t usrc, uint64_t n);
uint64_t libos_arch_copy_to_user(uint64_t udst, const void *src, uint64_t n);
/* Where to resume a fault taken at pc inside the copy routines; 0 when pc
 * is not one of their user accesses. */
uint64_t libos_arch_uaccess_fixup(uint64_t pc);

#define LIBOS_TLBI_VA_SHIFT 12
#define LIBOS_TLBI_VA_MASK ((UINT64_C(1) << 44) - 1)
#define LIBOS_TLBI_ASID_SHIFT 48

/*
 * The operand is always VA >> 12, whatever the granule: with 16K and 64K
 * granules the low 2 or 4 bits of the field are RES0, and a page-aligned VA
 * leaves them clear.
 */
static inline uint64_t libos_tlbi_operand(uint64_t va, uint16_t asid)
{
	return ((va >> LIBOS_TLBI_VA_SHIFT) & LIBOS_TLBI_VA_MASK) |
	       ((uint64_t)asid << LIBOS_TLBI_ASID_SHIFT);
}

#endif
