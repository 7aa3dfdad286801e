/*
 * VMIDs: the hardware tag of each guest's stage-1 and stage-2 TLB entries.
 * Guests may outnumber VMIDs (255 usable with 8-bit VMIDs, as on
 * cortex-a72, for up to 1,023 guests). When they do not (every VM id the
 * manifest can give has a VMID: 16-bit VMIDs, or at most 255 guests),
 * each guest's VMID is its VM id for good and loading it costs one test
 * (vmid_fixed). Otherwise a VMID is a lease, not a name:
 * a generation-based allocator gives a guest one when its vCPU is loaded
 * and its lease is of an older generation; when a generation's VMIDs are
 * all given, the next begins (a rollover): every VMID is free again but
 * those loaded on some CPU, and every guest's TLB entries are invalidated
 * on every CPU (broadcast TLBI) before any VMID is given twice.
 *
 * Owns: the lease of every VM id, the VMIDs given in this generation, the
 * VMID each CPU has loaded. Never: writes VTTBR_EL2 (the vCPU switch
 * does, with what vmid_load returns) or invalidates one guest's entries
 * (el2/s2.c does, by the VMID vmid_current gives).
 *
 * Several CPUs: vmid_load runs on the CPU that loads the vCPU, without a
 * lock while the guest's lease is current (one compare-and-swap of the
 * CPU's active VMID); a rollover, under vmid_lock, swaps every CPU's
 * active VMID to 0 first, so a CPU that raced it fails its swap and takes
 * the lock. A VMID a CPU had loaded at a rollover is kept by its guest in
 * the new generation (reserved), so a running guest never changes VMID
 * under its own feet. docs/architecture.md, "VMIDs".
 */
#ifndef EXO_EL2_VMID_H
#define EXO_EL2_VMID_H

#include <el2/percpu.h>
#include <exo/hvc.h>
#include <stdbool.h>
#include <stdint.h>

#define VMID_MAX_BITS 16
/* A lease: generation << VMID_GEN_SHIFT | VMID; 0 is no lease. VMID 0 is
 * never given: VTTBR_EL2 holds it while no guest is loaded. */
#define VMID_GEN_SHIFT VMID_MAX_BITS
#define VMID_NUMBER_MASK ((UINT64_C(1) << VMID_MAX_BITS) - 1)
#define VMID_NONE 0u

/* Boot, one CPU: VMIDs of `bits` bits (8 or 16, what ID_AA64MMFR1_EL1 and
 * VTCR_EL2.VS allow) for VM ids up to highest_vm. If each of those ids is
 * a VMID, each VM's VMID is its id from now on (vmid_fixed); else no lease
 * is given, generation 1. Host tests call it again to start over. */
void vmid_init(unsigned bits, unsigned highest_vm);

/* Every VM's VMID is its id (vmid_init): no lease is ever renewed. */
extern bool vmid_fixed;

/* Each VM id's lease (0: none); vmid.c's alone to write. */
extern uint64_t vmid_lease[EXO_MAX_VMS];

/* VM vm's VMID now, for a TLBI by VMID or IPA: its lease's (even if stale:
 * a stale lease's entries all went at the rollover, so invalidating that
 * VMID again only costs its new holder a refill), VMID_NONE if it never
 * had one. Read after the DSB that published the table change: a lease
 * taken after this read sees the change (vmid_load's barrier). Inline:
 * the one-frame unmap of FRAME_FREE reads it. */
static inline unsigned vmid_current(unsigned vm)
{
	return vm < EXO_MAX_VMS
		       ? (unsigned)(__atomic_load_n(&vmid_lease[vm],
						    __ATOMIC_RELAXED) &
				    VMID_NUMBER_MASK)
		       : VMID_NONE;
}

/* The current generation, and each CPU's active lease (a rollover swaps
 * it to 0); vmid.c's alone to write but through vmid_load. */
extern uint64_t vmid_generation;
extern uint64_t vmid_active[EL2_MAX_CPUS];

/* vmid_load's way when the lease is stale or a rollover came since this
 * CPU's last load: under the lock. */
unsigned vmid_load_slow(unsigned vm, unsigned cpu);

/* The VMID to load for VM `vm` on CPU `cpu`: its lease, renewed if it is
 * of an older generation (the same VMID if that is still free or was
 * reserved at the rollover, else a free one, the VM's id if it is free, so
 * VMID == VM id while guests do not outnumber VMIDs). Records it as the
 * CPU's active VMID. May start a new generation. Inline: every vCPU
 * switch loads one, and while the lease is current and no rollover came
 * since this CPU's last load it is a compare-and-swap of the CPU's active
 * lease (none when it is already that lease), no lock. */
static inline unsigned vmid_load(unsigned vm, unsigned cpu)
{
	uint64_t l, was, gen;

	if (vmid_fixed)
		return vm;
	l = __atomic_load_n(&vmid_lease[vm], __ATOMIC_RELAXED);
	was = __atomic_load_n(&vmid_active[cpu], __ATOMIC_RELAXED);
	gen = __atomic_load_n(&vmid_generation, __ATOMIC_RELAXED);
	if (!was || (l & ~VMID_NUMBER_MASK) != gen)
		return vmid_load_slow(vm, cpu);
	/* A rollover since the loads above swapped active to 0: the swap
	 * fails and the lock decides. */
	if (was != l &&
	    !__atomic_compare_exchange_n(&vmid_active[cpu], &was, l, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return vmid_load_slow(vm, cpu);
	return (unsigned)(l & VMID_NUMBER_MASK);
}

/* Generations begun after the first (rollovers), for the summary. */
uint64_t vmid_rollovers(void);
/* VMIDs a generation gives: 2^bits - 1. */
unsigned vmid_per_generation(void);

#endif
