/*
 * The hardware interface of EL2: everything that touches a system register,
 * MMIO or a special instruction. el2/arch/ implements it for AArch64;
 * tests/host/fake_arch.c replaces it with recorders for the host tests.
 * Portable EL2 code (the C files directly in el2/) reaches the hardware only through these.
 */
#ifndef EXO_EL2_ARCH_H
#define EXO_EL2_ARCH_H

#include <stdbool.h>
#include <stdint.h>

struct hyp_mm;
struct vcpu;
struct vcpu_fpsimd;

/* Addresses of the image's parts (from el2/el2.ld). The stacks are
 * EL2_MAX_CPUS slots of EL2_STACK_SLOT bytes from stack_guard to
 * stacks_end, each an unmapped guard page then the stack; stack_bottom and
 * stack_top are CPU 0's (the first slot). */
struct image_layout {
	uint64_t start, text_end, rodata_end, stack_guard, stack_bottom;
	uint64_t stack_top, stacks_end, end;
};
struct image_layout arch_image_layout(void);

/* What a secondary CPU's entry (arch_secondary_entry, el2/arch/
 * secondary.S) reads with its MMU and caches off: the boot CPU's EL2
 * translation and vector registers, its own stack and its index. The
 * offsets are el2/trap_layout.h's CPU_BOOT_*. */
struct cpu_boot {
	uint64_t mair, tcr, ttbr0, sctlr, vbar;
	uint64_t stack_top;
	uint64_t cpu;
};
/* Fills mair..vbar with this CPU's own values. */
void arch_cpu_boot_regs(struct cpu_boot *b);
/* The physical address a secondary CPU starts at (PSCI CPU_ON's entry,
 * x0 = the struct cpu_boot's address). */
uint64_t arch_secondary_entry_pa(void);

/* The ID registers whose values EL2 decided its boot-time choices from
 * (features, errata and speculation steps, GIC list registers, PMU
 * counters, cache geometry): a CPU whose registers differ from the boot
 * CPU's would need other choices, so it is not brought online. */
#define ARCH_CPU_SIGNATURE_REGS 14
void arch_cpu_signature(uint64_t sig[ARCH_CPU_SIGNATURE_REGS]);
extern const char *const arch_cpu_signature_names[ARCH_CPU_SIGNATURE_REGS];

/* Best entropy the CPU has: RNDR where present, else the counter. */
uint64_t arch_entropy(void);

uint32_t arch_mmio_read32(uint64_t addr);
void arch_mmio_write32(uint64_t addr, uint32_t value);

/* SMCCC calls to firmware; returns x0. */
uint64_t arch_smc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);
uint64_t arch_hvc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);

/* The core's identity and the ID registers el2/spectre.c decides from
 * (the firmware's answers are the caller's to fill). */
struct spectre_cpu;
void arch_spectre_cpu(struct spectre_cpu *cpu);
/* What el2/arch/guest.S runs on every exit from a guest, before any
 * indirect branch: SPECTRE_STEP_* bits (el2/spectre.h). */
void arch_spectre_exit_steps(unsigned steps, unsigned loop_k);


/* Physical address bits the CPU supports (ID_AA64MMFR0_EL1.PARange). */
unsigned arch_pa_bits(void);
/* VMID bits the CPU has: 16 (ID_AA64MMFR1_EL1.VMIDBits 2) or 8. */
unsigned arch_vmid_bits(void);

/* Program MAIR/TCR/TTBR0_EL2 for the identity map rooted at root (level 1,
 * 39-bit VA), then turn on the MMU, caches and WXN. */
void arch_mmu_enable(uint64_t root_pa, unsigned pa_bits);
uint64_t arch_read_sctlr_el2(void);
/* Writes back and invalidates data cache lines over a range, to the point
 * of coherency: after it, DRAM holds what EL2 wrote (frames scrubbed or
 * loaded for a guest, which may read them non-cacheable; tables written
 * with the MMU off must not meet stale lines once walks are cacheable). */
void arch_dcache_clean_inval(uint64_t start, uint64_t size);
void arch_wait_forever(void) __attribute__((noreturn));

/* EL2's trap configuration (HCR_EL2, CPTR_EL2, CNTHCTL_EL2) at boot: what
 * the CPU has (RAS, the PMU) read once, then arch_el2_cpu_init. */
void arch_el2_traps_init(void);
/* The same configuration written to this CPU's registers (each CPU at its
 * start, after the boot CPU's arch_el2_traps_init). */
void arch_el2_cpu_init(void);
/* Whether this CPU has FEAT_S2FWB and HCR_EL2.FWB takes a 1 (boot, with
 * stage 2 off). */
bool arch_s2fwb_present(void);
/* PAR_EL1 after an EL1 read of ipa is translated, stage 1 and 2, with the
 * loaded guest's state (AT S12E1R); the guest's PAR_EL1 is kept. Debug
 * builds only. */
uint64_t arch_s12_read_par(uint64_t ipa);

/* This CPU's affinity (MPIDR_EL1). */
uint64_t arch_mpidr(void);

/* GICv3 CPU interface: system-register access enabled for EL2 and EL1,
 * priority mask open, group 1 enabled. */
void arch_gic_cpu_init(void);
uint32_t arch_gic_ack(void);
void arch_gic_eoi(uint32_t intid);

/* EL2 physical timer (CNTHP): the scheduler's tick. */
uint64_t arch_timer_freq(void);
uint64_t arch_counter(void);
/* Fires when the counter reaches `at` (at once if it has). */
void arch_hyp_timer_arm_at(uint64_t at);
void arch_hyp_timer_stop(void);
/* Let EL2 take IRQs while it waits (self-tests, idle). */
void arch_irq_enable(void);
void arch_irq_disable(void);
void arch_wait_for_interrupt(void);
/* A physical SGI (intid below GIC_SGI_COUNT) to the CPU with this MPIDR,
 * group 1 (another CPU's EL2: el2/sched.c's kick). */
void arch_send_sgi(uint64_t mpidr, unsigned intid);

/* The last argument of arch_zero_frames and arch_scrub_frames: 0, or
 * ARCH_SCRUB_ICACHE to invalidate the frames' instruction-cache lines
 * too, as arch_icache_inval_frames does, in the same loop where the
 * I-cache line is the step (el2/arch/frame_scrub.S). A word, not a bool:
 * the caller passes what it loaded, with no test to normalise it. */
#define ARCH_SCRUB_ICACHE 1u
/* Zeroes count frames at PA (identity-mapped normal memory) with DC ZVA:
 * the zeros may sit in dirty cache lines until arch_clean_frames. Alone,
 * a scrub where every view of guest RAM is Write-Back (FEAT_S2FWB). */
void arch_zero_frames(uint64_t pa, uint64_t count, unsigned icache);
/* arch_dcache_clean_inval over count whole frames at PA, unrolled
 * (el2/arch/frame_scrub.S). */
void arch_clean_frames(uint64_t pa, uint64_t count);
/* A scrub: arch_zero_frames then arch_clean_frames, in one pass where
 * the DC ZVA block is the cache line (el2/arch/frame_scrub.S). */
void arch_scrub_frames(uint64_t pa, uint64_t count, unsigned icache);
/* IC IVAU on every instruction-cache line of count frames at PA (to the
 * point of unification, broadcast to the inner-shareable domain), then
 * DSB ISH: no CPU's instruction fetch from them hits a line filled
 * before. */
void arch_icache_inval_frames(uint64_t pa, uint64_t count);
/* CTR_EL0.DIC: instruction fetches see every data write with no I-cache
 * invalidation, so a frame's old instructions cannot outlive its scrub
 * (the same on every online CPU: el2/cpus.c compares CTR_EL0). */
bool arch_icache_coherent(void);

/* vCPU switch: save the running guest's EL1, FP/SIMD and virtual timer
 * state (and stop its timer); load another's, with its stage-2 and traps. */
void arch_vcpu_save(struct vcpu *v);
void arch_vcpu_load(const struct vcpu *v);

/*
 * FP/SIMD state is switched lazily (el2/arch/vcpu_switch.c): the registers
 * hold one vCPU's state, their owner's; any other vCPU runs with
 * CPTR_EL2.TFP set and its first FP/SIMD instruction traps to
 * arch_fp_take. TFP traps EL2 too: EL2's own FP/SIMD use (the arm64 libfdt
 * building a guest's DTB) is bracketed by arch_fp_el2_begin/end, which
 * save the owner's state first.
 */
/* v's FP/SIMD trap: its state into the registers (the owner's saved). */
void arch_fp_take(struct vcpu *v);
/* v's saved FP/SIMD state is the truth from now (a fresh or ended vCPU):
 * the registers, if v owned them, are stale. */
void arch_fp_forget(const struct vcpu *v);
void arch_fp_el2_begin(void);
void arch_fp_el2_end(void);
void arch_stage2_configure(uint64_t vtcr);
/* First entry into a guest: resets the EL2 stack and never returns. */
void arch_guest_enter(struct vcpu *v, uint64_t stack_top)
	__attribute__((noreturn));

/* The virtual GIC CPU interface guests see (list registers on). */
/* Which exception vector table this CPU runs on: one whose lower-EL
 * synchronous slot answers VERSION itself, alone on one CPU or with the
 * HVC entry that takes the EL2 lock (several CPUs online), or the one
 * that takes every trap through C (el2/hvc_fast.h). */
enum arch_vectors {
	ARCH_VECTORS_FAST_HVC,
	ARCH_VECTORS_FAST_HVC_LOCKED,
	ARCH_VECTORS_FULL
};
void arch_vectors_set(enum arch_vectors which);

/* Reads which optional vCPU state this CPU has (include/arch/cpu_features.h):
 * before the first vCPU is loaded. */
void arch_vcpu_state_init(void);
void arch_vgic_enable(void);
/* A virtual interrupt for the running vCPU (list register 0). */
void arch_vgic_raise(uint32_t intid, uint8_t priority);
/* The same for a vCPU that is not running: in its saved list register 0,
 * so it is pending when the vCPU is loaded again. */
void arch_vgic_raise_saved(struct vcpu *v, uint32_t intid, uint8_t priority);
/* The running vCPU's virtual timer fired (enabled, condition met, not
 * masked): masks it (CNTV_CTL_EL0.IMASK) and returns true; else false. */
bool arch_vtimer_take(void);
/* List register 1 of the running vCPU (its SGIs: el2/vgic_sgi.c), when
 * the GIC has it (after arch_vcpu_state_init). */
bool arch_vgic_has_lr1(void);
uint64_t arch_vgic_lr1_read(void);
void arch_vgic_lr1_write(uint64_t lr);

/* The syndrome of a guest's exit, and a synchronous exception reflected
 * into its EL1 (inline on the target). */
#include <el2/arch/guest_sync.h>

/* Stage-2 table maintenance: the descriptor store, barriers and TLBIs
 * el2/s2.c composes into break-before-make (inline on the target; the host
 * recorders log them in order). */
#include <el2/arch/tlb.h>

#endif
