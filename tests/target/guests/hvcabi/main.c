/*
 * hvcabi: every argument check of the hypercall dispatcher and the traps a
 * guest can set off, each answered as docs/abi.md says, with the guest
 * still running afterwards.
 */
#include <arch/esr.h>
#include <el1/trap.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>

#include "../faultcatch.h"
#include "../tap.h"

#define BLOCK_FRAMES 512       /* 2 MiB */
#define BLOCK_ALIGN_LOG2 9
#define PSCI_CPU_SUSPEND64 0xc4000001u   /* a PSCI call EL2 does not answer */
#define PSCI_SMC32_FIRST_UNANSWERED 0x84000001u /* CPU_SUSPEND */
#define PSCI_SMC32_LAST_UNANSWERED 0x84000007u  /* MIGRATE_INFO_UP_CPU */

static volatile unsigned undefs;

static bool catch_undef(struct el1_frame *f)
{
	undefs++;
	f->elr += 4;
	return true;
}

static int64_t hvc_imm1(void)
{
	register uint64_t x0 __asm__("x0") = EXO_HVC_VERSION;

	__asm__ volatile("hvc #1" : "+r"(x0) : : "x1", "x2", "x3", "memory");
	return (int64_t)x0;
}

static int64_t smc_call(uint64_t fid)
{
	register uint64_t x0 __asm__("x0") = fid;

	__asm__ volatile("smc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
	return (int64_t)x0;
}

/* VERSION by the register contract of docs/abi.md: x1 the version, x2
 * and x3 zeroed whatever they held, x4-x17 as they were. EL2 answers it in
 * its vector (el2/hvc_fast.h): this is what that path must keep. Two calls
 * of nine kept registers each (GCC takes at most 30 asm operands). */
#define JUNK(n) (0x5a5a000000000000ull | (n))
#define KEPT_REGS(a, b, c, d, e, f, g, h, i)                                 \
	static bool version_keeps_x##a##_to_x##i(void)                       \
	{                                                                    \
		register uint64_t x0 __asm__("x0") = EXO_HVC_VERSION;        \
		register uint64_t x1 __asm__("x1") = JUNK(1),                \
			 x2 __asm__("x2") = JUNK(2), x3 __asm__("x3") = JUNK(3), \
			 ra __asm__("x" #a) = JUNK(a), rb __asm__("x" #b) = JUNK(b), \
			 rc __asm__("x" #c) = JUNK(c), rd __asm__("x" #d) = JUNK(d), \
			 re __asm__("x" #e) = JUNK(e), rf __asm__("x" #f) = JUNK(f), \
			 rg __asm__("x" #g) = JUNK(g), rh __asm__("x" #h) = JUNK(h), \
			 ri __asm__("x" #i) = JUNK(i);                       \
		__asm__ volatile("hvc #0"                                    \
				 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3),   \
				   "+r"(ra), "+r"(rb), "+r"(rc), "+r"(rd),   \
				   "+r"(re), "+r"(rf), "+r"(rg), "+r"(rh),   \
				   "+r"(ri)                                  \
				 : : "memory");                              \
		return x0 == EXO_OK && x1 == EXO_ABI_VERSION && !x2 && !x3 && \
		       ra == JUNK(a) && rb == JUNK(b) && rc == JUNK(c) &&    \
		       rd == JUNK(d) && re == JUNK(e) && rf == JUNK(f) &&    \
		       rg == JUNK(g) && rh == JUNK(h) && ri == JUNK(i);      \
	}
KEPT_REGS(4, 5, 6, 7, 8, 9, 10, 11, 12)
KEPT_REGS(9, 10, 11, 12, 13, 14, 15, 16, 17)

static bool version_keeps_the_contract(void)
{
	return version_keeps_x4_to_x12() && version_keeps_x9_to_x17();
}

static void calls(void)
{
	struct exo_ret r = exo_call0(EXO_HVC_VERSION);

	TAP_CHECK(r.status == EXO_OK && r.x1 == EXO_ABI_VERSION,
		  "VERSION is 0x%lx", (unsigned long)r.x1);
	TAP_CHECK(version_keeps_the_contract(), "VERSION: x2, x3 zeroed, "
		  "x4-x17 kept");
	TAP_CHECK(r.x2 == 0 && r.x3 == 0, "unused result registers are zero");
	r = exo_call0(EXO_PSCI_VERSION);
	TAP_CHECK(r.status == EXO_PSCI_VERSION_1_1, "PSCI_VERSION is 1.1");
	TAP_CHECK(exo_call0(EXO_HVC(0xfff)).status == EXO_ENOTSUP,
		  "unknown exo function: ENOTSUP");
	TAP_CHECK(exo_call0(0x82000000u).status == EXO_ENOTSUP,
		  "SiP-range function: ENOTSUP");
	TAP_CHECK(exo_call0(EXO_HVC_VERSION | (1ull << 40)).status == EXO_OK,
		  "upper half of x0 ignored (SMCCC: the ID is W0)");
	TAP_CHECK(hvc_imm1() == EXO_ENOTSUP, "HVC #1: ENOTSUP");
	TAP_CHECK(smc_call(EXO_PSCI_VERSION) == EXO_ENOTSUP, "SMC: ENOTSUP");
}

/* The PSCI IDs between VERSION and SYSTEM_OFF that EL2 does not answer
 * (CPU_SUSPEND, the SMC32 CPU_ON and AFFINITY_INFO, the MIGRATE calls):
 * each a clean ENOTSUP with x1-x3 zeroed, as every status (they sit in the
 * dispatcher's PSCI table, which routes them to the SMCCC answer). */
static bool psci_unanswered_ids_not_supported(void)
{
	for (uint32_t fid = PSCI_SMC32_FIRST_UNANSWERED;
	     fid <= PSCI_SMC32_LAST_UNANSWERED; fid++) {
		struct exo_ret r;

		if (fid == EXO_PSCI_CPU_OFF)
			continue;
		r = exo_call3(fid, 11, 22, 33);
		if (r.status != EXO_ENOTSUP || r.x1 != 0 || r.x2 != 0 ||
		    r.x3 != 0)
			return false;
	}
	return true;
}

/* SMCCC's discovery, as a Linux guest runs it; the workaround answers
 * depend on the CPU, so they are printed for the test to compare with
 * EL2's boot line. */
static void smccc(void)
{
	TAP_CHECK(exo_call1(EXO_PSCI_FEATURES, EXO_SMCCC_VERSION).status ==
			  EXO_OK,
		  "PSCI_FEATURES(SMCCC_VERSION): supported");
	TAP_CHECK(exo_call1(EXO_PSCI_FEATURES, EXO_PSCI_CPU_ON).status == 0 &&
			  exo_call1(EXO_PSCI_FEATURES, EXO_PSCI_CPU_OFF).status ==
				  0 &&
			  exo_call1(EXO_PSCI_FEATURES,
				    EXO_PSCI_AFFINITY_INFO).status == 0,
		  "PSCI_FEATURES(CPU_ON, CPU_OFF, AFFINITY_INFO): supported");
	TAP_CHECK(exo_call1(EXO_PSCI_FEATURES, PSCI_CPU_SUSPEND64).status ==
			  EXO_ENOTSUP,
		  "PSCI_FEATURES(CPU_SUSPEND): not supported");
	TAP_CHECK(psci_unanswered_ids_not_supported(),
		  "PSCI's SMC32 IDs EL2 does not answer: ENOTSUP, x1-x3 zero");
	TAP_CHECK(exo_call0(EXO_SMCCC_VERSION).status == EXO_SMCCC_VERSION_1_1,
		  "SMCCC_VERSION is 1.1");
	TAP_CHECK(exo_call1(EXO_SMCCC_ARCH_FEATURES,
			    EXO_SMCCC_ARCH_FEATURES).status == EXO_OK,
		  "SMCCC_ARCH_FEATURES(SMCCC_ARCH_FEATURES): 0");
	TAP_CHECK(exo_call1(EXO_SMCCC_ARCH_FEATURES, EXO_HVC_VERSION).status ==
			  EXO_ENOTSUP,
		  "SMCCC_ARCH_FEATURES of an exo call: not an arch call");
	kprintf("smccc: workaround_1 %ld workaround_2 %ld workaround_3 %ld "
	       "call_3 %ld\n",
	       (long)exo_call1(EXO_SMCCC_ARCH_FEATURES,
			       EXO_SMCCC_ARCH_WORKAROUND_1).status,
	       (long)exo_call1(EXO_SMCCC_ARCH_FEATURES,
			       EXO_SMCCC_ARCH_WORKAROUND_2).status,
	       (long)exo_call1(EXO_SMCCC_ARCH_FEATURES,
			       EXO_SMCCC_ARCH_WORKAROUND_3).status,
	       (long)exo_call0(EXO_SMCCC_ARCH_WORKAROUND_3).status);
}

static void arguments(void)
{
	TAP_CHECK(exo_call1(EXO_HVC_CONSOLE_WRITE, 49).status == EXO_EINVAL,
		  "CONSOLE_WRITE of 49 bytes: EINVAL");
	TAP_CHECK(exo_frame_alloc(0, 0).status == EXO_EINVAL,
		  "FRAME_ALLOC of 0 frames: EINVAL");
	TAP_CHECK(exo_frame_alloc(EXO_FRAME_MAX_COUNT + 1, 0).status == EXO_EINVAL,
		  "FRAME_ALLOC above the count limit: EINVAL");
	TAP_CHECK(exo_frame_alloc(1, EXO_FRAME_MAX_ALIGN_LOG2 + 1).status ==
			  EXO_EINVAL,
		  "FRAME_ALLOC above the alignment limit: EINVAL");
	TAP_CHECK(exo_call3(EXO_HVC_FRAME_ALLOC, 1, 0,
			    EXO_FRAME_ALLOC_FLAGS + 1).status == EXO_EINVAL,
		  "FRAME_ALLOC with unknown flags: EINVAL");
	TAP_CHECK(exo_frame_alloc_at(0x50000001ul, 1) == EXO_ERANGE,
		  "FRAME_ALLOC_AT unaligned: ERANGE");
	TAP_CHECK(exo_frame_alloc_at(0x1000, 1) == EXO_ERANGE,
		  "FRAME_ALLOC_AT below RAM: ERANGE");
	TAP_CHECK(exo_frame_alloc_at(0x7ffff000ul, 2) == EXO_ERANGE,
		  "FRAME_ALLOC_AT across the end of RAM: ERANGE");
	TAP_CHECK(exo_frame_alloc_at(0xfffffffffffff000ul, 16) == EXO_ERANGE,
		  "FRAME_ALLOC_AT wrapping past 2^64: ERANGE");
	TAP_CHECK(exo_frame_free(0x50000000ul, 0) == EXO_EINVAL,
		  "FRAME_FREE of 0 frames: EINVAL");
	TAP_CHECK(exo_frame_free(0x50000000ul, 1) == EXO_EPERM,
		  "FRAME_FREE of a free frame: EPERM");
	TAP_CHECK(exo_frame_free(0x50000004ul, 1) == EXO_ERANGE,
		  "FRAME_FREE of one frame, unaligned: ERANGE");
	TAP_CHECK(exo_frame_query(0x50000004ul).status == EXO_ERANGE,
		  "FRAME_QUERY unaligned: ERANGE");
	TAP_CHECK(exo_frame_query(0x50000000ul).x1 == EXO_FRAME_FREE,
		  "FRAME_QUERY of a free frame: FREE");
}

static void frames(void)
{
	struct exo_ret a = exo_frame_alloc(4, 2);
	struct exo_ret q;

	TAP_CHECK(a.status == EXO_OK && (a.x1 & 0x3fff) == 0,
		  "FRAME_ALLOC of 4 frames aligned to 4 frames: 0x%lx",
		  (unsigned long)a.x1);
	q = exo_frame_query(a.x1);
	TAP_CHECK(q.x1 == EXO_FRAME_OWNED && q.x2 == 1, "they are OWNED by me");
	TAP_CHECK(exo_frame_free(a.x1, 4) == EXO_OK, "freed");
	TAP_CHECK(exo_frame_free(a.x1, 4) == EXO_EPERM, "double free: EPERM");
	q = exo_frame_query(a.x1);
	TAP_CHECK(q.x1 == EXO_FRAME_FREE && q.x2 == 0, "they are FREE again");
}

/* EXO_FRAME_ALLOC_NOZERO: the frame this guest freed comes back as it
 * left it (no other guest frees frames here, so none is left before);
 * without the flag a frame is zeroed, the one left included. The frame
 * stays in the direct map throughout, so that no stage-1 table page is
 * allocated between the calls. */
#define NOZERO_MARK UINT64_C(0x6e6f7a65726f)

static bool zero_frame(uint64_t pa)
{
	volatile uint64_t *w = pa_map(pa, EXO_FRAME_SIZE);
	uint64_t dirty = 0;

	for (unsigned i = 0; i < EXO_FRAME_SIZE / sizeof(*w); i++)
		dirty |= w[i];
	pa_unmap(pa, EXO_FRAME_SIZE);
	return !dirty;
}

static void frames_nozero(void)
{
	struct exo_ret a = exo_frame_alloc(1, 0), b;
	volatile uint64_t *w;

	if (a.status != EXO_OK) {
		TAP_CHECK(false, "FRAME_ALLOC of one frame: %ld",
			  (long)a.status);
		return;
	}
	w = pa_map(a.x1, EXO_FRAME_SIZE);
	*w = NOZERO_MARK;
	TAP_CHECK(exo_frame_free(a.x1, 1) == EXO_OK, "one frame freed");
	b = exo_frame_alloc_nozero();
	TAP_CHECK(b.status == EXO_OK && b.x1 == a.x1 && *w == NOZERO_MARK,
		  "FRAME_ALLOC NOZERO: my frame back as I left it (0x%lx)",
		  (unsigned long)b.x1);
	pa_unmap(a.x1, EXO_FRAME_SIZE);
	TAP_CHECK(exo_frame_free(b.x1, 1) == EXO_OK, "freed again");
	b = exo_frame_alloc(1, 0);
	TAP_CHECK(b.status == EXO_OK && zero_frame(b.x1),
		  "FRAME_ALLOC without the flag: zeroed (0x%lx)",
		  (unsigned long)b.x1);
	exo_frame_free(b.x1, 1);
}

/* A 2 MiB-aligned run is mapped as a stage-2 block; freeing one frame in
 * its middle splits the block, and only that frame goes away. */
static void blocks(void)
{
	struct exo_ret a = exo_frame_alloc(BLOCK_FRAMES, BLOCK_ALIGN_LOG2);
	uint64_t hole, n;
	volatile uint64_t *p;

	TAP_CHECK(a.status == EXO_OK && (a.x1 & (BLOCK_FRAMES * 4096 - 1)) == 0,
		  "FRAME_ALLOC of a 2 MiB-aligned 2 MiB run: 0x%lx",
		  (unsigned long)a.x1);
	if (a.status != EXO_OK)
		return;
	p = pa_map(a.x1, BLOCK_FRAMES * 4096);
	for (uint64_t i = 0; i < BLOCK_FRAMES * 512; i += 512)
		p[i] = i;
	hole = a.x1 + 100 * 4096;
	pa_unmap(hole, 4096);
	TAP_CHECK(exo_frame_free(hole, 1) == EXO_OK, "freed one frame inside it");
	TAP_CHECK(exo_frame_query(hole).x2 == 0, "that frame is gone");
	n = 0;
	for (uint64_t i = 0; i < BLOCK_FRAMES * 512; i += 512)
		n += (i != 100 * 512) && p[i] == i;
	TAP_CHECK(n == BLOCK_FRAMES - 1, "the other %lu frames kept their data",
		  (unsigned long)n);
	pa_unmap(a.x1, 100 * 4096);
	pa_unmap(hole + 4096, (BLOCK_FRAMES - 101) * 4096);
	TAP_CHECK(exo_frame_free(a.x1, 100) == EXO_OK &&
			  exo_frame_free(hole + 4096, BLOCK_FRAMES - 101) == EXO_OK,
		  "the rest freed around the hole");
}

/* Registers EL2 keeps for itself: a CPU without them would say UNDEFINED. */
static void traps(void)
{
	unsigned before;

	el1_set_sync_handler(ESR_EC_UNKNOWN, catch_undef);
	before = undefs;
	__asm__ volatile("msr cntp_ctl_el0, %0" : : "r"(1ul));
	TAP_CHECK(undefs == before + 1,
		  "EL1 physical timer write: undefined instruction");
	before = undefs;
	__asm__ volatile("wfi");
	TAP_CHECK(undefs == before, "WFI is a yield, not a fault");
}

int main(int argc, char **argv)
{
	(void)argc, (void)argv;
	calls();
	smccc();
	arguments();
	frames();
	frames_nozero();
	blocks();
	traps();
	return tap_done();
}
