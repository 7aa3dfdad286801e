/*
 * Stage-2 table maintenance (declared for el2/arch.h): the descriptor
 * store, the barriers and the TLBIs by IPA or VMID that el2/s2.c composes
 * into break-before-make. Inline on the target: the one-page map and
 * unmap of FRAME_ALLOC and FRAME_FREE are a handful of these, and a call
 * each cost more than the instruction itself. The host builds declare
 * them only: tests/host/fake_arch.c records them in order. Owns no state;
 * never decides when to invalidate (el2/s2.c does). The rare whole-VMID
 * invalidation stays out of line (el2/arch/tlb.c).
 */
#ifndef EXO_EL2_ARCH_TLB_H
#define EXO_EL2_ARCH_TLB_H

#include <stdint.h>

/* TLB invalidation for the VMID in vttbr (VTTBR_EL2 is switched to it for
 * the instruction if it holds another VMID, and restored after).
 * _ipa:     TLBI IPAS2E1IS, stage-2 entries of any level for that IPA;
 * _vmalle1: TLBI VMALLE1IS, stage-1 (and combined) entries of the VMID;
 * _vmid:    TLBI VMALLS12E1IS, every stage-1 and stage-2 entry of the VMID.
 * Completion needs the caller's DSB ISH. */
void arch_s2_tlbi_vmid(uint64_t vttbr);
/* TLBI ALLE1IS and IC IALLUIS, completed (DSB ISH, ISB): every guest's
 * stage-1 and stage-2 entries, of every VMID, on every CPU, and any
 * VMID-tagged instruction cache lines. A VMID rollover's (el2/vmid.c). */
void arch_tlbi_all_guests(void);
/* Debug builds: a TLBI meant for the VMID loaded found another one (a
 * panic, el2/arch/tlb.c). */
_Noreturn void arch_tlbi_vmid_not_loaded(uint64_t vttbr);

#ifdef EXO_HOST
/* Stores a descriptor into a live table: one single-copy-atomic store with
 * release order, so a walker that sees a table descriptor also sees the
 * table's contents written before it. */
void arch_s2_write_pte(uint64_t *pte, uint64_t desc);
void arch_dsb_ish(void);
void arch_isb(void);
void arch_s2_tlbi_ipa(uint64_t vttbr, uint64_t ipa);
void arch_s2_tlbi_vmalle1(uint64_t vttbr);
/* The one-page unmap's pair (el2/s2.h, s2_unmap_slot): what the two calls
 * with a DSB ISH between them do, recorded as such. */
static inline void arch_s2_tlbi_ipa_vmalle1(uint64_t vttbr, uint64_t ipa)
{
	arch_s2_tlbi_ipa(vttbr, ipa);
	arch_dsb_ish();
	arch_s2_tlbi_vmalle1(vttbr);
}

/* The same pair when vttbr's VMID is known to be the one loaded (a
 * guest's own call): on the target no VTTBR_EL2 test or switch. The host
 * records it as the pair above, with vttbr. */
static inline void arch_s2_tlbi_ipa_vmalle1_loaded(uint64_t vttbr,
						   uint64_t ipa)
{
	arch_s2_tlbi_ipa_vmalle1(vttbr, ipa);
}
#else
#include <arch/sysreg.h>

static inline void arch_s2_write_pte(uint64_t *pte, uint64_t desc)
{
	__atomic_store_n(pte, desc, __ATOMIC_RELEASE);
}

static inline void arch_dsb_ish(void)
{
	dsb(ish);
}

static inline void arch_isb(void)
{
	isb();
}

/*
 * TLBIs by IPA or VMID act on VTTBR_EL2.VMID. When another VMID is loaded
 * (an operation on a guest that is not the caller), switch for the
 * instruction: ISB so the TLBI sees the new VMID, and DSB before switching
 * back so the TLBI has completed with it.
 */
static inline uint64_t arch_vmid_enter(uint64_t vttbr)
{
	uint64_t cur = read_sysreg(vttbr_el2);

	if ((cur ^ vttbr) & VTTBR_VMID_MASK) {
		write_sysreg(vttbr, vttbr_el2);
		isb();
	}
	return cur;
}

static inline void arch_vmid_exit(uint64_t prev, uint64_t vttbr)
{
	if ((prev ^ vttbr) & VTTBR_VMID_MASK) {
		dsb(ish);
		write_sysreg(prev, vttbr_el2);
		isb();
	}
}

static inline void arch_s2_tlbi_ipa(uint64_t vttbr, uint64_t ipa)
{
	uint64_t prev = arch_vmid_enter(vttbr);

	__asm__ volatile("tlbi ipas2e1is, %0"
			 :
			 : "r"(TLBI_IPA_ARG(ipa))
			 : "memory");
	arch_vmid_exit(prev, vttbr);
}

static inline void arch_s2_tlbi_vmalle1(uint64_t vttbr)
{
	uint64_t prev = arch_vmid_enter(vttbr);

	__asm__ volatile("tlbi vmalle1is" : : : "memory");
	arch_vmid_exit(prev, vttbr);
}

/* TLBI IPAS2E1IS of ipa, DSB ISH, TLBI VMALLE1IS: the two above with one
 * VMID switch (none when vttbr's VMID is loaded, as when a guest frees
 * its own frame) instead of one each. */
static inline void arch_s2_tlbi_ipa_vmalle1(uint64_t vttbr, uint64_t ipa)
{
	uint64_t prev = arch_vmid_enter(vttbr);

	__asm__ volatile("tlbi ipas2e1is, %0\n\t"
			 "dsb ish\n\t"
			 "tlbi vmalle1is"
			 :
			 : "r"(TLBI_IPA_ARG(ipa))
			 : "memory");
	arch_vmid_exit(prev, vttbr);
}

/* The pair on the VMID loaded: the caller's own stage 2 (a guest's call
 * about its own frame, on the CPU it runs on: vmid_load gave VTTBR_EL2
 * its VMID, which a rollover keeps for the guest a CPU holds, el2/vmid.c).
 * vttbr is what the caller would switch to; the debug build checks that
 * it is loaded, the release build reads nothing for it. */
static inline void arch_s2_tlbi_ipa_vmalle1_loaded(uint64_t vttbr,
						   uint64_t ipa)
{
#ifdef EXO_DEBUG
	if ((read_sysreg(vttbr_el2) ^ vttbr) & VTTBR_VMID_MASK)
		arch_tlbi_vmid_not_loaded(vttbr);
#else
	(void)vttbr;
#endif
	__asm__ volatile("tlbi ipas2e1is, %0\n\t"
			 "dsb ish\n\t"
			 "tlbi vmalle1is"
			 :
			 : "r"(TLBI_IPA_ARG(ipa))
			 : "memory");
}
#endif

#endif
