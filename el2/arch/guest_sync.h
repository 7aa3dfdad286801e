/*
 * A guest's synchronous exit, read and reflected (declared for
 * el2/arch.h): the syndrome registers EL2 reads, and the EL1 exception
 * registers an injection writes. Inline on the target: a stage-2 fault
 * reflected to its guest is a measured path (docs/performance.md), and a
 * call each cost it a frame for three system-register reads and four
 * writes. The host builds declare them only: tests/host/fake_arch.c
 * plays them. Owns no state; never decides what is reflected or where
 * the guest resumes (el2/guest_trap.c does).
 */
#ifndef EXO_EL2_ARCH_GUEST_SYNC_H
#define EXO_EL2_ARCH_GUEST_SYNC_H

#include <stdint.h>

/* Why the guest trapped. */
struct guest_syndrome {
	uint64_t esr, far, hpfar;
};

#ifdef EXO_HOST
struct guest_syndrome arch_guest_syndrome(void);
/* FAR_EL2 and HPFAR_EL2 only: a data abort's exit has ESR_EL2 already. */
uint64_t arch_guest_far(void);
uint64_t arch_guest_hpfar(void);
/* Enters the running guest's EL1 with a synchronous exception: ESR_EL1,
 * FAR_EL1, ELR_EL1 (the guest's return address, elr) and SPSR_EL1 (its
 * PSTATE, spsr) written; returns VBAR_EL1, which the caller adds the
 * vector's offset to. */
uint64_t arch_inject_sync(uint64_t esr, uint64_t far, uint64_t elr,
			  uint64_t spsr);
#else
#include <arch/sysreg.h>

static inline uint64_t arch_guest_far(void)
{
	return read_sysreg(far_el2);
}

static inline uint64_t arch_guest_hpfar(void)
{
	return read_sysreg(hpfar_el2);
}

static inline struct guest_syndrome arch_guest_syndrome(void)
{
	return (struct guest_syndrome){
		.esr = read_sysreg(esr_el2),
		.far = arch_guest_far(),
		.hpfar = arch_guest_hpfar(),
	};
}

static inline uint64_t arch_inject_sync(uint64_t esr, uint64_t far,
					uint64_t elr, uint64_t spsr)
{
	write_sysreg(esr, esr_el1);
	write_sysreg(far, far_el1);
	write_sysreg(elr, elr_el1);
	write_sysreg(spsr, spsr_el1);
	return read_sysreg(vbar_el1);
}
#endif

#endif
