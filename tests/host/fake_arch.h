/*
 * Host replacements for el2/arch.h: they record what EL2 asked of the
 * hardware so tests can check it (MMIO writes, SMCs, console output).
 */
#ifndef EXO_TESTS_FAKE_ARCH_H
#define EXO_TESTS_FAKE_ARCH_H

#include <el2/arch.h>
#include <exo/frame.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define FAKE_LOG_MAX 4096

struct fake_mmio_write {
	uint64_t addr;
	uint32_t value;
};

struct fake_arch {
	struct fake_mmio_write mmio[FAKE_LOG_MAX];
	size_t nr_mmio;
	uint64_t smc_fid[16];
	size_t nr_smc;
	char console[FAKE_LOG_MAX];
	size_t console_len;
	uint64_t counter;	/* what arch_counter returns */
	uint64_t counter_step;	/* added to counter at each read */
	/* When set, arch_smc's answer (after it is recorded). */
	uint64_t (*smc_hook)(uint64_t fid, uint64_t a1, uint64_t a2,
			     uint64_t a3);
	/* What arch_cpu_signature reads (ARCH_CPU_SIGNATURE_REGS). */
	uint64_t signature[14];
	/* The last arch_dcache_clean_inval's range. */
	uint64_t cleaned_start, cleaned_size;
	/* vCPU switch and traps */
	unsigned vcpu_switches;
	const struct vcpu *loaded_vcpu;
	const struct vcpu *fp_owner;  /* whose FP/SIMD state the registers hold */
	int el2_fp_depth;             /* inside arch_fp_el2_begin/end */
	unsigned el2_fp_uses;         /* arch_fp_el2_begin calls */
	uint64_t vtcr;
	struct guest_syndrome syndrome;   /* what the next trap reads */
	/* arch_inject_sync: how many, and the last one's registers */
	unsigned injected;
	uint64_t injected_esr, injected_far, injected_elr, injected_spsr;
	uint32_t vgic_raised;
	uint64_t vgic_lr1;         /* the running vCPU's list register 1 */
	bool vgic_one_lr;          /* a GIC with list register 0 alone */
	uint64_t cntv_ctl;         /* the running vCPU's CNTV_CTL_EL0 */
	/* What CTR_EL0.DIC reads (arch_icache_coherent): 0, as on the
	 * Cortex-A72, unless a test sets it before mem_init reads it. */
	bool ctr_dic;
	/* Instruction-cache lines EL2 invalidated (IC IVAU), in or out of
	 * the cache model. */
	uint64_t icache_lines_invalidated;
};

extern struct fake_arch fake;

/* The last physical SGI EL2 sent (arch_send_sgi: a kick), and how many. */
struct fake_sgi {
	uint64_t mpidr;
	unsigned intid;
};
extern struct fake_sgi fake_sgi_last;
extern unsigned fake_sgis_sent;

/* VBAR_EL1 as arch_inject_sync reads it. */
#define FAKE_VBAR_EL1 UINT64_C(0xffff000000000000)
/* arch_secondary_entry_pa's answer. */
#define FAKE_SECONDARY_ENTRY UINT64_C(0x40280000)

void fake_reset(void);
/* The calling thread runs as CPU cpu from now on: this_cpu() is
 * el2_percpus[cpu], the record EL2's code finds when it looks at every
 * CPU's (el2/mem.c's left frames), numbered cpu. The main thread starts
 * as CPU 0; another thread has a record of its own until it binds. */
void fake_bind_cpu(unsigned cpu);
/* A console_write_fn that appends to fake.console. */
void fake_console_write(const char *s, size_t n);
/* A model of a write-back data cache over the simulated RAM [base, base +
 * frames), in lines of FAKE_CACHE_LINE bytes. The RAM the code reads and
 * writes is what cacheable accesses see (EL2's, and a guest's through a
 * cacheable mapping); the model keeps a second copy, what DRAM holds,
 * which is what a non-cacheable read sees (a guest with its MMU off, as
 * every guest starts, or with a non-cacheable mapping). EL2's writes stay
 * in their lines (none is ever evicted: the worst case), DC ZVA
 * (arch_zero_frames) leaves its lines dirty whatever DRAM holds, and
 * arch_dcache_clean_inval writes the lines it touches back to DRAM.
 * fake_cache_model starts it with DRAM holding what the RAM holds;
 * fake_reset stops it. */
#define FAKE_CACHE_LINE 64u
#define FAKE_LINES_PER_FRAME (EXO_FRAME_SIZE / FAKE_CACHE_LINE)
void fake_cache_model(uint64_t base, uint64_t frames);
/* RAM after a warm reset: the whole model, RAM and DRAM alike, filled with
 * garbage from seed, no line dirty. */
void fake_cache_fill_garbage(uint64_t seed);
/* Whether DRAM may differ from what EL2 sees in the frame at pa: a line
 * zeroed or written and not cleaned since. */
bool fake_frame_dirty(uint64_t pa);
/* What a non-cacheable read of [pa, +len) sees: DRAM. */
void fake_nc_read(uint64_t pa, void *dst, size_t len);
/* A guest's write whose lines were evicted (the worst case for what DRAM
 * holds of it when the frame leaves the guest). */
void fake_guest_write(uint64_t pa, const void *src, size_t len);

/* The model's instruction cache, over the same RAM and lines. A guest's
 * instruction fetch (fake_guest_fetch) reads a line from the I-cache when
 * it holds the line, and otherwise fills it from what the cacheable view
 * holds (the data side is coherent at the point of unification: the
 * scrub's clean, or FEAT_S2FWB's LoUU and LoUIS of 0). A line stays until
 * IC IVAU (arch_icache_inval_frames, or arch_zero_frames and
 * arch_scrub_frames asked for the I-cache) or IC IALLUIS
 * (arch_tlbi_all_guests) drops it: none is ever evicted, the worst case.
 * With fake.ctr_dic set the CPU's fetches see every write (CTR_EL0.DIC):
 * the model fills no line. */
void fake_guest_fetch(uint64_t pa, void *dst, size_t len);
/* Whether the I-cache holds a line of the frame at pa. */
bool fake_frame_in_icache(uint64_t pa);

/* Called with stderr when EL2 halts or panics, after its console tail is
 * printed: a test names where it was (its seed and step), so the failure
 * says how to replay it. fake_reset leaves it set. */
extern void (*fake_halt_context)(FILE *out);

/* Set by a test that survives EL2 stopping (the model checker): a panic
 * or halt longjmps here (status 1) instead of aborting, quietly, with the
 * console's last line in fake_halt_line. EL2's state is then whatever the
 * panic left: the test boots a new machine before its next call (and
 * calls panic_recovered). fake_reset leaves it set. */
extern jmp_buf *fake_halt_recover;
#define FAKE_HALT_LINE_MAX 256
extern char fake_halt_line[FAKE_HALT_LINE_MAX];

#endif

/* Stage-2 maintenance, in the order s2.c asked for it (el2/arch.h). */
enum fake_s2_kind {
	FAKE_S2_PTE,          /* arch_s2_write_pte: pte, arg = descriptor */
	FAKE_S2_DSB,          /* DSB ISH */
	FAKE_S2_ISB,
	FAKE_S2_TLBI_IPA,     /* IPAS2E1IS: arg = IPA */
	FAKE_S2_TLBI_VMALLE1, /* VMALLE1IS */
	FAKE_S2_TLBI_VMID,    /* VMALLS12E1IS */
	FAKE_S2_TLBI_ALL,     /* ALLE1IS + IC IALLUIS: every VMID's */
	FAKE_S2_NR_KINDS,
};

#define FAKE_S2_LOG_MAX 65536

struct fake_s2_event {
	enum fake_s2_kind kind;
	uint64_t *pte;
	uint64_t old;         /* for PTE writes: the value replaced */
	uint64_t arg;
	uint64_t vttbr;       /* for TLBIs: whose VMID */
};

struct fake_s2_log {
	struct fake_s2_event ev[FAKE_S2_LOG_MAX];
	size_t nr;            /* recorded (at most FAKE_S2_LOG_MAX) */
	size_t count[FAKE_S2_NR_KINDS]; /* all calls, recorded or not */
};

extern struct fake_s2_log fake_s2;

void fake_s2_reset(void);
