/*
 * The hardware interface of EL2: everything that touches a system register,
 * MMIO or a special instruction. el2/arch/ implements it for AArch64;
 * tests/host/fake_arch.c replaces it with recorders for the host tests.
 * Portable EL2 code (the C files directly in el2/) reaches the hardware only through these.
 */
#ifndef EXO_EL2_ARCH_H
#define EXO_EL2_ARCH_H

#include <stdint.h>

struct hyp_mm;

/* Addresses of the image's parts (from el2/el2.ld). */
struct image_layout {
	uint64_t start, text_end, rodata_end, stack_guard, stack_bottom, end;
};
struct image_layout arch_image_layout(void);

/* Best entropy the CPU has: RNDR where present, else the counter. */
uint64_t arch_entropy(void);

uint32_t arch_mmio_read32(uint64_t addr);
void arch_mmio_write32(uint64_t addr, uint32_t value);

/* SMCCC calls to firmware; returns x0. */
uint64_t arch_smc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);
uint64_t arch_hvc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);

/* Physical address bits the CPU supports (ID_AA64MMFR0_EL1.PARange). */
unsigned arch_pa_bits(void);

/* Program MAIR/TCR/TTBR0_EL2 for the identity map rooted at root (level 1,
 * 39-bit VA), then turn on the MMU, caches and WXN. */
void arch_mmu_enable(uint64_t root_pa, unsigned pa_bits);
uint64_t arch_read_sctlr_el2(void);
/* Writes back and invalidates data cache lines over a range (tables written
 * with the MMU off must not meet stale lines once walks are cacheable). */
void arch_dcache_clean_inval(uint64_t start, uint64_t size);
void arch_wait_forever(void) __attribute__((noreturn));

/*
 * Stage-2 table maintenance (el2/arch/tlb.c). el2/s2.c composes these into
 * break-before-make; the host recorders log them in order.
 */
/* Stores a descriptor into a live table: one single-copy-atomic store with
 * release order, so a walker that sees a table descriptor also sees the
 * table's contents written before it. */
void arch_s2_write_pte(uint64_t *pte, uint64_t desc);
void arch_dsb_ish(void);
void arch_isb(void);
/* TLB invalidation for the VMID in vttbr (VTTBR_EL2 is switched to it for
 * the instruction if it holds another VMID, and restored after).
 * _ipa:     TLBI IPAS2E1IS, stage-2 entries of any level for that IPA;
 * _vmalle1: TLBI VMALLE1IS, stage-1 (and combined) entries of the VMID;
 * _vmid:    TLBI VMALLS12E1IS, every stage-1 and stage-2 entry of the VMID.
 * Completion needs the caller's DSB ISH. */
void arch_s2_tlbi_ipa(uint64_t vttbr, uint64_t ipa);
void arch_s2_tlbi_vmalle1(uint64_t vttbr);
void arch_s2_tlbi_vmid(uint64_t vttbr);

#endif
