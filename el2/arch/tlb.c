/*
 * AArch64: the out-of-line part of the stage-2 maintenance of
 * el2/arch/tlb.h, the whole-VMID invalidation (teardown, long batches);
 * the descriptor store, barriers and TLBIs by IPA are inline there. Owns
 * no state; never decides when to invalidate (el2/s2.c does).
 */
#include <el2/arch.h>
#include <lib/panic.h>

void arch_s2_tlbi_vmid(uint64_t vttbr)
{
	uint64_t prev = arch_vmid_enter(vttbr);

	__asm__ volatile("tlbi vmalls12e1is" : : : "memory");
	arch_vmid_exit(prev, vttbr);
}

void arch_tlbi_all_guests(void)
{
	__asm__ volatile("dsb ishst\n\t"
			 "tlbi alle1is\n\t"
			 "ic ialluis\n\t"
			 "dsb ish\n\t"
			 "isb"
			 : : : "memory");
}

#ifdef EXO_DEBUG
void arch_tlbi_vmid_not_loaded(uint64_t vttbr)
{
	panic("TLBI for the loaded VMID: VTTBR_EL2 0x%lx, meant 0x%lx",
	      (unsigned long)read_sysreg(vttbr_el2), (unsigned long)vttbr);
}
#endif
