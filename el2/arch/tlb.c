/*
 * AArch64 implementation of the stage-2 maintenance in el2/arch.h: the
 * descriptor store, barriers and TLBIs by IPA or VMID. Owns no state; never
 * decides when to invalidate (el2/s2.c does).
 */
#include <arch/sysreg.h>
#include <el2/arch.h>

void arch_s2_write_pte(uint64_t *pte, uint64_t desc)
{
	__atomic_store_n(pte, desc, __ATOMIC_RELEASE);
}

void arch_dsb_ish(void)
{
	dsb(ish);
}

void arch_isb(void)
{
	isb();
}

/*
 * TLBIs by IPA or VMID act on VTTBR_EL2.VMID. When another VMID is loaded
 * (an operation on a guest that is not the caller), switch for the
 * instruction: ISB so the TLBI sees the new VMID, and DSB before switching
 * back so the TLBI has completed with it.
 */
static uint64_t vmid_enter(uint64_t vttbr)
{
	uint64_t cur = read_sysreg(vttbr_el2);

	if ((cur ^ vttbr) & VTTBR_VMID_MASK) {
		write_sysreg(vttbr, vttbr_el2);
		isb();
	}
	return cur;
}

static void vmid_exit(uint64_t prev, uint64_t vttbr)
{
	if ((prev ^ vttbr) & VTTBR_VMID_MASK) {
		dsb(ish);
		write_sysreg(prev, vttbr_el2);
		isb();
	}
}

void arch_s2_tlbi_ipa(uint64_t vttbr, uint64_t ipa)
{
	uint64_t prev = vmid_enter(vttbr);

	__asm__ volatile("tlbi ipas2e1is, %0"
			 :
			 : "r"(TLBI_IPA_ARG(ipa))
			 : "memory");
	vmid_exit(prev, vttbr);
}

void arch_s2_tlbi_vmalle1(uint64_t vttbr)
{
	uint64_t prev = vmid_enter(vttbr);

	__asm__ volatile("tlbi vmalle1is" : : : "memory");
	vmid_exit(prev, vttbr);
}

void arch_s2_tlbi_vmid(uint64_t vttbr)
{
	uint64_t prev = vmid_enter(vttbr);

	__asm__ volatile("tlbi vmalls12e1is" : : : "memory");
	vmid_exit(prev, vttbr);
}
