/*
 * vcpudiff: the differential test of the vCPU state inventory
 * (include/arch/vcpu_state.def, docs/vcpu-state.md). Every row comes from
 * the inventory, so a register added there is tested here.
 *
 *   --writer  writes a marker (from its name and the row) into every
 *             writable row the CPU has, into x4-x30, q0-q31, NZCV, FPCR
 *             and FPSR, and yields with them in place while the reader
 *             runs; then asks for SYSTEM_RESET without clearing anything.
 *             In its second life (a vCPU started after the first ended)
 *             it reads every row like the reader.
 *   --reader  reads every row before the writer writes, then again after
 *             each of the writer's yields (it is the next guest on the
 *             CPU), and must see its own values each time.
 *
 * Both check in the guest: a row EL2 traps and refuses is an undefined
 * instruction on read and on write; a row the CPU lacks is one too; a
 * RAZ/WI row reads 0 after a write; the marker bits of a row that starts
 * at zero are zero. Each prints its readings as `state NAME VALUE` lines:
 * test_vcpu_state.py compares them with those of a reader that ran alone.
 *
 * Owns: its own registers. Never: touches translation, the vectors or its
 * stack while a marker is in place (the markers are chosen so that it can
 * run on with them).
 */
#include <arch/cpu_ids.h>
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <arch/vcpu_state.h>
#include <el1/el1.h>
#include <el1/trap.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <stdint.h>
#include <string.h>

#include "../accept.h"
#include "../restarts.h"
#include "../tap.h"

#define ROUNDS 16u
#define SHOWN_FAILURES 24u	/* detail lines per check, then a count */

enum access { ACC_RW, ACC_RO, ACC_WO, ACC_SIDE, ACC_NONE };
enum how {
	HOW_EL1, HOW_FRAME, HOW_FPSIMD, HOW_VGIC, HOW_LR, HOW_ZEROED,
	HOW_TIMER, HOW_VDISR, HOW_PMU, HOW_UNDEF, HOW_SGI, HOW_EMPTY, HOW_RAZWI,
	HOW_FIXED, HOW_TIME
};
enum reset { RESET_ZERO, RESET_GUEST, RESET_HW };

/* --- one read and one write function per row, by its encoding ---------- */

#define READER(name, op0, op1, crn, crm, op2)                                \
	static uint64_t rd_##name(void)                                      \
	{                                                                    \
		uint64_t v = 0;                                              \
		__asm__ volatile("mrs %0, "                                  \
				 VCPU_STATE_SYSREG(op0, op1, crn, crm, op2)  \
				 : "+r"(v) : : "memory");                    \
		return v;                                                    \
	}
#define WRITER(name, op0, op1, crn, crm, op2)                                \
	static void wr_##name(uint64_t v)                                    \
	{                                                                    \
		__asm__ volatile("msr "                                      \
				 VCPU_STATE_SYSREG(op0, op1, crn, crm, op2)  \
				 ", %0\n\tisb" : : "r"(v) : "memory");       \
	}
#define FNS_RW(...) READER(__VA_ARGS__) WRITER(__VA_ARGS__)
#define FNS_RO(...) READER(__VA_ARGS__)
#define FNS_WO(...) WRITER(__VA_ARGS__)
#define FNS_SIDE(...)
#define FNS_NONE(...)
#define VCPU_STATE(name, access, op0, op1, crn, crm, op2, group, feature,   \
		   how, marker, reset, note)                                 \
	FNS_##access(name, op0, op1, crn, crm, op2)
#include <arch/vcpu_state.def>
#undef VCPU_STATE

#define RD_RW(name) rd_##name
#define RD_RO(name) rd_##name
#define RD_WO(name) NULL
#define RD_SIDE(name) NULL
#define RD_NONE(name) NULL
#define WR_RW(name) wr_##name
#define WR_RO(name) NULL
#define WR_WO(name) wr_##name
#define WR_SIDE(name) NULL
#define WR_NONE(name) NULL

struct row {
	const char *name;
	uint8_t access, how, reset, feature;
	uint64_t marker;
	uint64_t (*rd)(void);
	void (*wr)(uint64_t);
};

static const struct row rows[] = {
#define VCPU_STATE(name, access, op0, op1, crn, crm, op2, group, feature,   \
		   how, marker, reset, note)                                 \
	{ #name, ACC_##access, HOW_##how, RESET_##reset, CPU_##feature,      \
	  (marker), RD_##access(name), WR_##access(name) },
#include <arch/vcpu_state.def>
#undef VCPU_STATE
};
#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

/* --- undefined instructions ------------------------------------------- */

static volatile unsigned undefs;

/* An undefined instruction (what EL2 injects when it refuses), or a trap
 * the CPU itself takes to this EL1 for a register it does not offer in
 * this configuration (QEMU 7.2 -cpu max: GMID_EL1): either way the row
 * holds nothing this guest can reach. */
static bool catch_undef(struct el1_frame *f)
{
	undefs++;
	f->elr += 4;
	return true;
}

static bool try_read(const struct row *r, uint64_t *v)
{
	unsigned before = undefs;

	*v = r->rd();
	return undefs == before;
}

static bool try_write(const struct row *r, uint64_t v)
{
	unsigned before = undefs;

	r->wr(v);
	return undefs == before;
}

/* --- checks, with a line per failure ---------------------------------- */

struct check {
	unsigned failures;
};

#define FAIL(c, ...)                                                         \
	do {                                                                 \
		if ((c)->failures++ < SHOWN_FAILURES)                        \
			kprintf("# " __VA_ARGS__);                           \
	} while (0)

static void check_done(struct check *c, const char *what)
{
	if (c->failures > SHOWN_FAILURES)
		kprintf("# ... %u failures in all\n", c->failures);
	TAP_CHECK(!c->failures, "%s", what);
}

/* --- what this CPU has ------------------------------------------------ */

static bool present[NR_ROWS];

static unsigned gic_aprs(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < NR_ROWS; i++) {
		uint64_t v;

		if (!strncmp(rows[i].name, "ICC_AP0R", 8) && try_read(&rows[i], &v))
			n++;
	}
	return n;
}

static void features(void)
{
	uint64_t pmcr = 0;
	struct cpu_ids id = {
		.gic_aprs = gic_aprs(),
		.gic_lrs = 0,	/* EL2's: no row the guest reaches */
	};

	cpu_ids_read(&id);
	if (cpu_has(&id, CPU_FEAT_PMU))
		pmcr = read_sysreg(pmcr_el0);
	id.pmu_counters = (unsigned)PMCR_N(pmcr);
	static const char *const names[] = {
#define FEATURE_NAME(f) #f,
		CPU_FEATURE_LIST(FEATURE_NAME)
#undef FEATURE_NAME
	};

	for (unsigned i = 0; i < NR_ROWS; i++)
		present[i] = cpu_has(&id, (enum cpu_feature)rows[i].feature);
	/* What this CPU has, for docs/vcpu-state.md's columns per CPU. */
	for (unsigned f = 1; f < CPU_FEATURES; f++) {
		if (cpu_has(&id, (enum cpu_feature)f))
			kprintf("feature %s\n", names[f]);
	}
}

/* Rows the inventory calls readable that are undefined here anyway. Only
 * a RAZ/WI row may be (QEMU 7.2 has no debug communications channel):
 * the row then holds nothing, and is left out of every later pass, whose
 * readings must take no exception (ELR_EL1 and its kin are rows too). */
static bool undefined_here[NR_ROWS];

static void find_undefined(void)
{
	struct check c = { 0 };

	for (unsigned i = 0; i < NR_ROWS; i++) {
		uint64_t v;

		if (!rows[i].rd || !present[i] || rows[i].how == HOW_UNDEF ||
		    rows[i].how == HOW_EMPTY || try_read(&rows[i], &v))
			continue;
		undefined_here[i] = true;
		if (rows[i].how == HOW_RAZWI)
			kprintf("# %s: undefined on this CPU (holds nothing)\n",
				rows[i].name);
		else
			FAIL(&c, "%s is undefined, the inventory says "
			     "readable\n", rows[i].name);
	}
	check_done(&c, "every row the inventory calls readable reads "
		   "without an exception (or is RAZ/WI and undefined)");
}

/* --- values ------------------------------------------------------------ */

/* splitmix64: values that differ in every bit from guest to guest. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ul;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ul;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebul;
	return x ^ (x >> 31);
}

static uint64_t marker_of(uint64_t seed, unsigned i)
{
	return mix(seed ^ mix(i)) & rows[i].marker;
}

/* Rows read without an exception: the CPU has them and EL2 lets them. */
static bool plainly_readable(unsigned i)
{
	return rows[i].rd && present[i] && !undefined_here[i] &&
	       rows[i].how != HOW_UNDEF && rows[i].how != HOW_EMPTY;
}

static bool moves(unsigned i)
{
	return rows[i].how == HOW_TIME;
}

/* CPACR_EL1.ZEN and SMEN: with them clear an SVE or SME register access
 * traps to this guest's own EL1 first, so EL2's refusal is never seen. */
#define CPACR_ZEN_SMEN (UINT64_C(3) << 16 | UINT64_C(3) << 24)

/* An EMPTY row: refused, or (a CPU model without the trap) a register
 * that reads zero and keeps no write. */
static bool holds_nothing(const struct row *r, uint64_t marker)
{
	uint64_t v;

	return try_read(r, &v) && v == 0 && try_write(r, marker) &&
	       try_read(r, &v) && v == 0;
}

/* Every row that must be an undefined instruction is one, on read and on
 * write (the write carries the marker: were it let through, it would be
 * seen). */
static void probe_refused(struct check *c, uint64_t seed)
{
	uint64_t cpacr = read_sysreg(cpacr_el1);

	write_sysreg(cpacr | CPACR_ZEN_SMEN, cpacr_el1);
	isb();
	for (unsigned i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];
		uint64_t v, m = seed ? marker_of(seed, i) : 0;

		if (present[i] && r->how == HOW_EMPTY) {
			unsigned before = undefs;

			if (!holds_nothing(r, m) && undefs == before)
				FAIL(c, "%s keeps state\n", r->name);
			continue;
		}
		if (present[i] && r->how != HOW_UNDEF)
			continue;
		if (r->rd && try_read(r, &v))
			FAIL(c, "%s read 0x%lx, not an undefined instruction%s\n",
			     r->name, (unsigned long)v,
			     present[i] ? "" : " (the CPU lacks it)");
		if (seed && r->wr && try_write(r, m))
			FAIL(c, "%s took a write%s\n", r->name,
			     present[i] ? "" : " (the CPU lacks it)");
	}
	write_sysreg(cpacr, cpacr_el1);
	isb();
}

/* The SVE and SME data registers (Z, P, FFR, ZA) are reached by
 * instructions, not MRS: the first instruction of each must be undefined
 * with this guest's own enables on (CPTR_EL2.TZ, TSM), and is on a CPU
 * without them. */
#define INSN_RDVL_X0_1 ".inst 0x04bf5020"	/* RDVL X0, #1 (SVE) */
#define INSN_SMSTART ".inst 0xd503477f"		/* SMSTART (SME) */

static void probe_sve_sme(struct check *c)
{
	uint64_t cpacr = read_sysreg(cpacr_el1);
	unsigned before;

	write_sysreg(cpacr | CPACR_ZEN_SMEN, cpacr_el1);
	isb();
	before = undefs;
	__asm__ volatile(INSN_RDVL_X0_1 : : : "x0", "memory");
	if (undefs != before + 1)
		FAIL(c, "an SVE instruction (RDVL) ran\n");
	before = undefs;
	__asm__ volatile(INSN_SMSTART : : : "memory");
	if (undefs != before + 1)
		FAIL(c, "SMSTART ran\n");
	write_sysreg(cpacr, cpacr_el1);
	isb();
}

/* The marker bits of a row that starts at zero read zero; a RAZ/WI row
 * reads zero whole. */
static void check_zero(struct check *c, const uint64_t *v)
{
	for (unsigned i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];
		uint64_t bits = r->how == HOW_RAZWI ? ~UINT64_C(0) : r->marker;

		if (!plainly_readable(i) || r->reset != RESET_ZERO)
			continue;
		if (v[i] & bits)
			FAIL(c, "%s reads 0x%lx: bits 0x%lx should be 0\n",
			     r->name, (unsigned long)v[i],
			     (unsigned long)(v[i] & bits));
	}
}

static void read_all(uint64_t *v)
{
	for (unsigned i = 0; i < NR_ROWS; i++)
		v[i] = plainly_readable(i) ? rows[i].rd() : 0;
}

static void dump(const uint64_t *v)
{
	for (unsigned i = 0; i < NR_ROWS; i++) {
		if (plainly_readable(i) && !moves(i))
			kprintf("state %s 0x%lx\n", rows[i].name,
				(unsigned long)v[i]);
		else if (rows[i].rd && !plainly_readable(i))
			kprintf("state %s undef\n", rows[i].name);
	}
}

/* --- general and SIMD registers across a yield ------------------------ */

#define SLOT_X(n) (n)
#define SLOT_Q 31u
#define SLOT_NZCV 95u
#define SLOT_FPCR 96u
#define SLOT_FPSR 97u
#define SLOTS 98u
#define FIRST_KEPT_X 4u		/* x0-x3: the call's status and results */
#define NZCV_BITS 0xf0000000ul
#define FPCR_BITS 0x07c09f00ul	/* AHP, DN, FZ, RMode, FZ16, trap enables */
#define FPSR_BITS 0x0800009ful	/* QC and the cumulative flags */

void regs_yield(const uint64_t *in, uint64_t *out);

static uint64_t regs_in[SLOTS], regs_out[SLOTS];

/* FPCR and FPSR in check_regs_yield: the writer's markers, or what the
 * reader holds (its rows compare FPCR and FPSR with their first value). */
static bool fp_markers;
static uint64_t own_fpcr, own_fpsr;

/* Calls fid (YIELD: a switch when another guest runs; PSCI_VERSION: the
 * general trap path that returns to the caller) with seeded values in
 * every register; they must all come back, and x1-x3 (no results of
 * either) as zero. */
static void check_regs_call(struct check *c, uint64_t seed, unsigned round,
			    uint64_t fid)
{
	for (unsigned s = 0; s < SLOTS; s++)
		regs_in[s] = mix(seed ^ mix(round * SLOTS + s + NR_ROWS));
	regs_in[SLOT_X(0)] = fid;
	regs_in[SLOT_NZCV] &= NZCV_BITS;
	regs_in[SLOT_FPCR] = fp_markers ? regs_in[SLOT_FPCR] & FPCR_BITS
					: own_fpcr;
	regs_in[SLOT_FPSR] = fp_markers ? regs_in[SLOT_FPSR] & FPSR_BITS
					: own_fpsr;
	regs_yield(regs_in, regs_out);
	for (unsigned n = 1; n < FIRST_KEPT_X; n++) {
		if (regs_out[SLOT_X(n)])
			FAIL(c, "x%u came back 0x%lx from 0x%lx, not 0\n", n,
			     (unsigned long)regs_out[SLOT_X(n)],
			     (unsigned long)fid);
	}
	for (unsigned s = FIRST_KEPT_X; s < SLOTS; s++) {
		uint64_t bits = s == SLOT_FPCR ? FPCR_BITS
				: s == SLOT_FPSR ? FPSR_BITS : ~UINT64_C(0);

		/* FPCR/FPSR bits this CPU does not keep read as 0. */
		if ((s == SLOT_FPCR || s == SLOT_FPSR) &&
		    (regs_out[s] & ~regs_in[s] & bits))
			FAIL(c, "slot %u came back 0x%lx, set 0x%lx\n", s,
			     (unsigned long)regs_out[s], (unsigned long)regs_in[s]);
		else if (s != SLOT_FPCR && s != SLOT_FPSR &&
			 regs_out[s] != regs_in[s])
			FAIL(c, "%s%u came back 0x%lx, set 0x%lx\n",
			     s < SLOT_Q ? "x" : s < SLOT_NZCV ? "q-half " : "slot ",
			     s < SLOT_Q ? s : s - SLOT_Q,
			     (unsigned long)regs_out[s], (unsigned long)regs_in[s]);
	}
}

static void check_regs_yield(struct check *c, uint64_t seed, unsigned round)
{
	check_regs_call(c, seed, round, EXO_HVC_YIELD);
	check_regs_call(c, seed, round + ROUNDS, EXO_PSCI_VERSION);
}

/* --- the writer --------------------------------------------------------- */

static uint64_t want[NR_ROWS], seen[NR_ROWS], first[NR_ROWS];

/* Rows EL2 keeps with the guest (and the RAZ/WI ones, to see them drop the
 * write): the writer puts its marker there. */
static bool takes_marker(unsigned i)
{
	const struct row *r = &rows[i];

	return r->wr && r->marker && present[i] && !undefined_here[i] &&
	       r->how != HOW_UNDEF &&
	       r->how != HOW_EMPTY && r->how != HOW_FIXED &&
	       r->how != HOW_TIME;
}

static void write_markers(uint64_t seed)
{
	for (unsigned i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];
		uint64_t old;

		if (!takes_marker(i))
			continue;
		old = r->rd ? r->rd() : 0;
		r->wr((old & ~r->marker) | marker_of(seed, i));
	}
	for (unsigned i = 0; i < NR_ROWS; i++)
		want[i] = takes_marker(i) && rows[i].rd ?
			  rows[i].rd() & rows[i].marker : 0;
}

/* Its own markers are still there after a yield. */
static void check_kept(struct check *c)
{
	for (unsigned i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];
		uint64_t v;

		/* General and FP/SIMD state: regs_yield checks it (compiled
		 * code between here and there changes NZCV and FPSR). */
		if (!takes_marker(i) || !r->rd || r->how == HOW_RAZWI ||
		    r->how == HOW_FRAME || r->how == HOW_FPSIMD)
			continue;
		v = r->rd() & r->marker;
		if (v != want[i])
			FAIL(c, "%s: wrote 0x%lx, reads 0x%lx after a yield\n",
			     r->name, (unsigned long)want[i], (unsigned long)v);
	}
}

static void check_razwi(struct check *c)
{
	for (unsigned i = 0; i < NR_ROWS; i++) {
		if (takes_marker(i) && rows[i].how == HOW_RAZWI && rows[i].rd &&
		    rows[i].rd())
			FAIL(c, "%s reads 0x%lx after a write\n", rows[i].name,
			     (unsigned long)rows[i].rd());
	}
}

static uint64_t seed_of(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ul;	/* FNV-1a */

	while (*name)
		h = (h ^ (uint8_t)*name++) * 0x100000001b3ul;
	return h;
}

static uint64_t peer(const char *name)
{
	struct exo_ret r = exo_vm_lookup(name);

	return r.status == EXO_OK ? r.x1 : 0;
}

/* The first life's TAP lines; the second numbers on from there and prints
 * the plan for both. */
#define FIRST_LIFE_CHECKS 5u

static int writer_first_life(uint64_t seed)
{
	struct check refused = { 0 }, razwi = { 0 }, kept = { 0 },
		     regs = { 0 };
	uint64_t reader = peer("reader");

	fp_markers = true;
	find_undefined();
	probe_refused(&refused, seed);
	probe_sve_sme(&refused);
	check_done(&refused, "every row EL2 refuses or the CPU lacks is an "
		   "undefined instruction, on read and on write (SVE and SME "
		   "data registers: their instructions)");
	/* Touch every page the loop uses first: a first touch is a fault,
	 * which would overwrite ELR_EL1 and its kin. */
	check_regs_yield(&regs, seed, 0);
	read_all(seen);
	if (reader)
		wait_notified(reader);
	write_markers(seed);
	check_razwi(&razwi);
	check_done(&razwi, "every RAZ/WI row reads 0 after a write");
	for (unsigned round = 0; round < ROUNDS; round++) {
		check_regs_yield(&regs, seed, round);
		check_kept(&kept);
	}
	check_done(&regs, "x4-x30, q0-q31, NZCV, FPCR and FPSR keep this "
		   "guest's values across yields and calls through C");
	check_done(&kept, "every switched row keeps this guest's marker "
		   "across yields");
	kprintf("writer: SYSTEM_RESET with every marker in place\n");
	/* No C between: the markers are what the next vCPU could see. */
	exo_call0(EXO_PSCI_SYSTEM_RESET);
	return 1;
}

/* A guest started after the writer ended: nothing of the writer's. */
static int writer_second_life(uint64_t seed)
{
	struct check zero = { 0 }, marks = { 0 }, refused = { 0 };

	tap_count = FIRST_LIFE_CHECKS;
	find_undefined();
	read_all(seen);
	check_zero(&zero, seen);
	check_done(&zero, "a vCPU started later reads zero in every row that "
		   "starts at zero");
	for (unsigned i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];

		if (!plainly_readable(i) || !takes_marker(i) ||
		    r->reset == RESET_ZERO ||
		    __builtin_popcountl(r->marker) < 16)
			continue;
		if ((seen[i] & r->marker) == marker_of(seed, i))
			FAIL(&marks, "%s holds the first life's marker 0x%lx\n",
			     r->name, (unsigned long)marker_of(seed, i));
	}
	check_done(&marks, "no wide row holds the first life's marker");
	probe_refused(&refused, 0);
	check_done(&refused, "every row EL2 refuses or the CPU lacks is an "
		   "undefined instruction");
	dump(seen);
	return tap_done();
}

/* --- the reader ------------------------------------------------------- */

static void check_same(struct check *c, const uint64_t *v, unsigned round)
{
	for (unsigned i = 0; i < NR_ROWS; i++) {
		if (!plainly_readable(i) || moves(i) || v[i] == first[i])
			continue;
		FAIL(c, "%s: 0x%lx before the writer, 0x%lx after its yield "
		     "%u\n", rows[i].name, (unsigned long)first[i],
		     (unsigned long)v[i], round);
	}
}

static int reader(uint64_t seed)
{
	struct check zero = { 0 }, same = { 0 }, refused = { 0 },
		     regs = { 0 };
	uint64_t writer = peer("writer");

	/* The reading to compare with: once every page the loop uses has
	 * been touched (a first touch is a fault: ELR_EL1 and its kin would
	 * move) and after a probe pass, so they hold what every later pass
	 * leaves there. */
	find_undefined();
	own_fpcr = read_sysreg(fpcr);
	own_fpsr = read_sysreg(fpsr);
	check_regs_yield(&regs, seed, 0);
	read_all(seen);
	probe_refused(&refused, 0);
	read_all(first);
	check_zero(&zero, first);
	if (writer)
		exo_notify(writer);
	for (unsigned round = 0; round < ROUNDS; round++) {
		check_regs_yield(&regs, seed, round);
		read_all(seen);
		check_zero(&zero, seen);
		check_same(&same, seen, round);
		probe_refused(&refused, 0);
	}
	check_done(&zero, "the next guest on the CPU reads zero in every row "
		   "that starts at zero");
	check_done(&same, "the next guest on the CPU reads its own value in "
		   "every row, before and after the writer's yields");
	check_done(&refused, "every row EL2 refuses or the CPU lacks is an "
		   "undefined instruction");
	check_done(&regs, "x4-x30, q0-q31, NZCV, FPCR and FPSR keep this "
		   "guest's values across yields and calls through C");
	dump(seen);
	return tap_done();
}

EL1_GUEST_OPTIONS("--writer", "--reader");

int main(int argc, char **argv)
{
	uint64_t seed = seed_of(argc > 0 ? argv[0] : "");

	el1_set_sync_handler(ESR_EC_UNKNOWN, catch_undef);
	el1_set_sync_handler(ESR_EC_SYSREG, catch_undef);
	features();
	if (argc > 1 && !strcmp(argv[1], "--writer"))
		return restarts() == 0 ? writer_first_life(seed)
				       : writer_second_life(seed);
	if (argc > 1 && !strcmp(argv[1], "--reader"))
		return reader(seed);
	return 2;
}
