/*
 * AArch64 side of the vCPU switch: EL1 system registers, the virtual timer,
 * stage-2 and trap configuration of the vCPU about to run, and the trap
 * syndrome registers the C trap handlers read.
 */
#include <arch/cpu_ids.h>
#include <arch/sysreg.h>
#include <arch/vcpu_state.h>
#include <el2/arch.h>
#include <el2/arch/cptr.h>
#include <el2/percpu.h>
#include <el2/vcpu.h>
#include <el2/vm.h>
#include <el2/vmid.h>
#include <lib/panic.h>
#include <stdbool.h>

void arch_fpsimd_save(struct vcpu_fpsimd *fp);
void arch_fpsimd_load(const struct vcpu_fpsimd *fp);
void arch_fpsimd_zero(void);

/* What this CPU has of the optional rows (arch_vcpu_state_init). */
static bool vcpu_feature[CPU_FEATURES];
#define vcpu_has(f) ((f) == CPU_ALWAYS || vcpu_feature[f])

/*
 * Every row of include/arch/vcpu_state.def that EL2 switches as an EL1
 * system register, by its encoding (the same name at EL2 while HCR_EL2.E2H
 * is 0). The rows every CPU has go in one asm statement, two registers to
 * a store or load pair (the fields are consecutive 64-bit words in row
 * order): the assembler macros below keep a row waiting for its partner
 * in x9. A row of an optional feature ends a pair and is switched in C,
 * where vcpu_has tests the feature. Eager, as KVM's and Hafnium's are: an
 * MRS and half a store each way is the floor of switching them.
 *
 * VCPU_ROW_ALWAYS(feature) is 1 for ALWAYS, 0 for any other feature (the
 * probe idiom: only VCPU_ROW_PROBE_ALWAYS expands to two arguments).
 */
#define VCPU_ROW_SECOND(a, b, ...) b
#define VCPU_ROW_TEST(...) VCPU_ROW_SECOND(__VA_ARGS__, 0, )
#define VCPU_ROW_PROBE_ALWAYS ~, 1
#define VCPU_ROW_ALWAYS(feature) VCPU_ROW_TEST(VCPU_ROW_PROBE_##feature)
#define VCPU_ROW_STR(x) #x
#define VCPU_ROW_XSTR(x) VCPU_ROW_STR(x)

__asm__(
	/* base: the struct vcpu_el1_regs; offset and waiting in symbols. */
	".macro el1_rows_begin\n"
	"	.set el1_off, 0\n"
	"	.set el1_waiting, 0\n"
	".endm\n"
	/* Save: a row read into x9 waits; its partner's read stores both. */
	".macro el1_save_row base, always, reg\n"
	"	.if \\always == 0\n"
	"	el1_save_end \\base\n"
	"	.elseif el1_waiting\n"
	"	mrs x10, \\reg\n"
	"	stp x9, x10, [\\base, #(el1_off - 8)]\n"
	"	.set el1_waiting, 0\n"
	"	.else\n"
	"	mrs x9, \\reg\n"
	"	.set el1_waiting, 1\n"
	"	.endif\n"
	"	.set el1_off, el1_off + 8\n"
	".endm\n"
	".macro el1_save_end base\n"
	"	.if el1_waiting\n"
	"	str x9, [\\base, #(el1_off - 8)]\n"
	"	.set el1_waiting, 0\n"
	"	.endif\n"
	".endm\n"
	/* Load: the first row of a pair loads both words (the second may be
	 * an optional row's or the next field's: read, never written). */
	".macro el1_load_row base, always, reg\n"
	"	.if \\always == 0\n"
	"	.set el1_waiting, 0\n"
	"	.elseif el1_waiting\n"
	"	msr \\reg, x10\n"
	"	.set el1_waiting, 0\n"
	"	.else\n"
	"	ldp x9, x10, [\\base, #el1_off]\n"
	"	msr \\reg, x9\n"
	"	.set el1_waiting, 1\n"
	"	.endif\n"
	"	.set el1_off, el1_off + 8\n"
	".endm\n");

static void save_el1(struct vcpu_el1_regs *r)
{
#define VCPU_STATE(name, access, op0, op1, crn, crm, op2, group, feature,   \
		   how, marker, reset, note)                                 \
	VCPU_STATE_IF_EL1(how, "el1_save_row %0, "                          \
			  VCPU_ROW_XSTR(VCPU_ROW_ALWAYS(feature)) ", "       \
			  VCPU_STATE_SYSREG(op0, op1, crn, crm, op2) "\n")
	__asm__ volatile("el1_rows_begin\n"
#include <arch/vcpu_state.def>
			 "el1_save_end %0\n"
			 : : "r"(r) : "x9", "x10", "memory");
#undef VCPU_STATE
#define VCPU_STATE(name, access, op0, op1, crn, crm, op2, group, feature,   \
		   how, marker, reset, note)                                 \
	VCPU_STATE_IF_EL1(how, if (!VCPU_ROW_ALWAYS(feature) &&             \
				   vcpu_has(CPU_##feature))                  \
		__asm__ volatile("mrs %0, "                                  \
				 VCPU_STATE_SYSREG(op0, op1, crn, crm, op2)  \
				 : "=r"(r->name));)
#include <arch/vcpu_state.def>
#undef VCPU_STATE
}

static void load_el1(const struct vcpu_el1_regs *r)
{
#define VCPU_STATE(name, access, op0, op1, crn, crm, op2, group, feature,   \
		   how, marker, reset, note)                                 \
	VCPU_STATE_IF_EL1(how, "el1_load_row %0, "                          \
			  VCPU_ROW_XSTR(VCPU_ROW_ALWAYS(feature)) ", "       \
			  VCPU_STATE_SYSREG(op0, op1, crn, crm, op2) "\n")
	__asm__ volatile("el1_rows_begin\n"
#include <arch/vcpu_state.def>
			 : : "r"(r), "m"(*r) : "x9", "x10");
#undef VCPU_STATE
#define VCPU_STATE(name, access, op0, op1, crn, crm, op2, group, feature,   \
		   how, marker, reset, note)                                 \
	VCPU_STATE_IF_EL1(how, if (!VCPU_ROW_ALWAYS(feature) &&             \
				   vcpu_has(CPU_##feature))                  \
		__asm__ volatile("msr "                                      \
				 VCPU_STATE_SYSREG(op0, op1, crn, crm, op2)  \
				 ", %0" : : "r"(r->name));)
#include <arch/vcpu_state.def>
#undef VCPU_STATE
}

static void write_lr(unsigned n, uint64_t v)
{
#define LR_CASE(crm, op2, i)                                                 \
	case i: write_sysreg(v, s3_4_c12_##crm##_##op2); break
	switch (n) {
	LR_CASE(c12, 0, 0); LR_CASE(c12, 1, 1); LR_CASE(c12, 2, 2);
	LR_CASE(c12, 3, 3); LR_CASE(c12, 4, 4); LR_CASE(c12, 5, 5);
	LR_CASE(c12, 6, 6); LR_CASE(c12, 7, 7); LR_CASE(c13, 0, 8);
	LR_CASE(c13, 1, 9); LR_CASE(c13, 2, 10); LR_CASE(c13, 3, 11);
	LR_CASE(c13, 4, 12); LR_CASE(c13, 5, 13); LR_CASE(c13, 6, 14);
	LR_CASE(c13, 7, 15);
	}
#undef LR_CASE
}

/* Active-priority registers of each group this GIC implements (1, 2 or 4:
 * ICH_VTR_EL2.PREbits), read once at boot by arch_vgic_enable. */
static unsigned vgic_aprs;

/* The register number is part of the instruction: one line per register,
 * falling through from the highest the GIC has (a loop and a switch cost
 * the guest switch a few dozen instructions). */
#define SAVE_APR(i)                                                          \
	(g->ap0r[i] = read_sysreg(s3_4_c12_c8_##i),                          \
	 g->ap1r[i] = read_sysreg(s3_4_c12_c9_##i))
#define LOAD_APR(i)                                                          \
	do {                                                                 \
		write_sysreg(g->ap0r[i], s3_4_c12_c8_##i);                   \
		write_sysreg(g->ap1r[i], s3_4_c12_c9_##i);                   \
	} while (0)

static void save_aprs(struct vcpu_vgic *g)
{
	switch (vgic_aprs) {
	case 4:
		SAVE_APR(3);
		SAVE_APR(2);
		/* fall through */
	case 2:
		SAVE_APR(1);
		/* fall through */
	default:
		SAVE_APR(0);
	}
}

static void load_aprs(const struct vcpu_vgic *g)
{
	switch (vgic_aprs) {
	case 4:
		LOAD_APR(3);
		LOAD_APR(2);
		/* fall through */
	case 2:
		LOAD_APR(1);
		/* fall through */
	default:
		LOAD_APR(0);
	}
}

/* FP/SIMD (el2/arch.h): saved at switch-out, loaded lazily. The registers
 * hold the running vCPU's state once it has used FP/SIMD in this slice
 * (percpu->fp_owner), else zeros; every vCPU enters with CPTR_EL2.TFP
 * set, and its first FP/SIMD instruction traps to arch_fp_take. So a
 * switch between guests that do not use FP/SIMD moves no FP state, and
 * what a guest sees of the mechanism (a trap and a load at its first use
 * in a slice; a save at the end of a slice it used FP/SIMD in) depends on
 * its own use alone, never on another guest's. The registers are zeroed
 * when their owner leaves: nothing of its state stays behind a trap
 * (docs/security.md, "Lazy FP/SIMD"). */
static void fp_trap(bool trapped)
{
	write_sysreg(EL2_CPTR_TRAPS | (trapped ? CPTR_EL2_TFP : 0), cptr_el2);
}

/* The owner's state to memory, the registers zeroed, no owner after;
 * FP/SIMD must be untrapped. */
static void fp_save_owner(struct percpu *pc)
{
	if (!pc->fp_owner)
		return;
	arch_fpsimd_save(&pc->fp_owner->fp);
	arch_fpsimd_zero();
	pc->fp_owner = NULL;
}

void arch_fp_take(struct vcpu *v)
{
	struct percpu *pc = this_cpu();

	fp_trap(false);
	isb();
	if (pc->fp_owner == v)
		return;
	fp_save_owner(pc);
	arch_fpsimd_load(&v->fp);
	pc->fp_owner = v;
}

void arch_fp_forget(const struct vcpu *v)
{
	struct percpu *pc = this_cpu();

	if (pc->fp_owner != v)
		return;
	fp_trap(false);
	isb();
	arch_fpsimd_zero();
	pc->fp_owner = NULL;
	fp_trap(true);   /* its next FP use loads its fresh state */
}

void arch_fp_el2_begin(void)
{
	fp_trap(false);
	isb();
	fp_save_owner(this_cpu());
}

/* The registers hold EL2's values (the arm64 libfdt's, a guest's DTB):
 * zeroed, and whoever uses them next traps and loads all of its own. */
void arch_fp_el2_end(void)
{
	arch_fpsimd_zero();
	fp_trap(true);
}

void arch_vcpu_save(struct vcpu *v)
{
	struct percpu *pc = this_cpu();

	if (pc->fp_owner == v)
		fp_save_owner(pc);   /* FP/SIMD is untrapped: v owns it */
	save_el1(&v->el1);
	if (vcpu_has(CPU_FEAT_RAS))
		v->vdisr = read_sysreg(SYSREG_VDISR_EL2);
	v->vgic.lr0 = read_sysreg(SYSREG_ICH_LR0_EL2);
	if (vcpu_has(CPU_GIC_LR1))   /* a GIC may implement one LR only */
		v->vgic.lr1 = read_sysreg(SYSREG_ICH_LR1_EL2);
	v->vgic.vmcr = read_sysreg(SYSREG_ICH_VMCR_EL2);
	save_aprs(&v->vgic);
	v->timer.cntv_ctl = read_sysreg(cntv_ctl_el0);
	v->timer.cntv_cval = read_sysreg(cntv_cval_el0);
	/* Stop its timer so it cannot fire while another guest runs. */
	write_sysreg(0, cntv_ctl_el0);
	arch_pmu_save(v);
}

/* Whether VTCR_EL2 was written: a VTTBR_EL2 with HCR_EL2.VM under an
 * UNKNOWN VTCR would translate with whatever it holds. */
static bool vtcr_configured;

void arch_vcpu_load(const struct vcpu *v)
{
#ifdef EXO_DEBUG
	CHECK(vtcr_configured);
#endif
	/* Its VM's VMID lease, renewed here if a rollover made it stale. */
	write_sysreg(v->vttbr | (uint64_t)vmid_load(v->vm->id, this_cpu()->cpu)
					 << VTTBR_VMID_SHIFT,
		     vttbr_el2);
	write_sysreg(v->hcr, hcr_el2);
	write_sysreg(v->vmpidr, vmpidr_el2);
	/* An exclusive reservation of the vCPU that ran before must not let
	 * this one's store-exclusive succeed (each vCPU's LDXR/STXR pairs
	 * stay its own, on one CPU as on several). */
	__asm__ volatile("clrex" : : : "memory");
	load_el1(&v->el1);
	if (vcpu_has(CPU_FEAT_RAS))
		write_sysreg(v->vdisr, SYSREG_VDISR_EL2);
	fp_trap(true);   /* FP/SIMD loaded at its first use */
	write_sysreg(v->vgic.lr0, SYSREG_ICH_LR0_EL2);
	if (vcpu_has(CPU_GIC_LR1))
		write_sysreg(v->vgic.lr1, SYSREG_ICH_LR1_EL2);
	write_sysreg(v->vgic.vmcr, SYSREG_ICH_VMCR_EL2);
	load_aprs(&v->vgic);
	write_sysreg(v->timer.cntv_cval, cntv_cval_el0);
	write_sysreg(v->timer.cntv_ctl, cntv_ctl_el0);
	arch_pmu_load(v);
	isb();
}

void arch_stage2_configure(uint64_t vtcr)
{
	write_sysreg(vtcr, vtcr_el2);
	isb();
	vtcr_configured = true;
}

/* List register 0 with vINTID made pending. If the guest is handling it
 * (active), it becomes pending and active, so the new event raises it again
 * after the guest's EOI instead of being lost. */
static uint64_t lr_raised(uint64_t lr, uint32_t intid, uint8_t priority)
{
	if ((lr & ICH_LR_STATE_MASK) && (lr & ICH_LR_VINTID_MASK) == intid)
		return lr | ICH_LR_STATE_PENDING;
	return ICH_LR_STATE_PENDING | ICH_LR_GROUP1 |
	       ((uint64_t)priority << ICH_LR_PRIORITY_SHIFT) | intid;
}

void arch_vgic_raise(uint32_t intid, uint8_t priority)
{
	write_sysreg(lr_raised(read_sysreg(SYSREG_ICH_LR0_EL2), intid,
			       priority), SYSREG_ICH_LR0_EL2);
	isb();
}

bool arch_vtimer_take(void)
{
	uint64_t ctl = read_sysreg(cntv_ctl_el0);

	if ((ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK | CNT_CTL_ISTATUS)) !=
	    (CNT_CTL_ENABLE | CNT_CTL_ISTATUS))
		return false;
	write_sysreg(ctl | CNT_CTL_IMASK, cntv_ctl_el0);
	isb();
	return true;
}

bool arch_vgic_has_lr1(void)
{
	return vcpu_has(CPU_GIC_LR1);
}

uint64_t arch_vgic_lr1_read(void)
{
	return read_sysreg(SYSREG_ICH_LR1_EL2);
}

void arch_vgic_lr1_write(uint64_t lr)
{
	write_sysreg(lr, SYSREG_ICH_LR1_EL2);
	isb();
}

/* Saved while pending or active: pending (and active) when loaded. */
void arch_vgic_raise_saved(struct vcpu *v, uint32_t intid, uint8_t priority)
{
	v->vgic.lr0 = lr_raised(v->vgic.lr0, intid, priority);
}

/* Which optional rows of the inventory this CPU has, and how many
 * active-priority registers of each group its GIC implements (1, 2 or 4:
 * ICH_VTR_EL2.PREbits). */
void arch_vcpu_state_init(void)
{
	uint64_t vtr = read_sysreg(SYSREG_ICH_VTR_EL2);
	unsigned prebits = (unsigned)((vtr >> ICH_VTR_PREBITS_SHIFT) &
				      ICH_VTR_PREBITS_MASK) + 1;
	struct cpu_ids id = {
		.gic_lrs = (unsigned)(vtr & ICH_VTR_LISTREGS_MASK) + 1,
		.pmu_counters = (unsigned)PMCR_N(read_sysreg(pmcr_el0)),
	};

	cpu_ids_read(&id);

	vgic_aprs = 1u << (prebits - GIC_MIN_PREEMPTION_BITS);
	if (vgic_aprs > ICH_APR_MAX)
		vgic_aprs = ICH_APR_MAX;
	id.gic_aprs = vgic_aprs;
	for (unsigned f = 0; f < CPU_FEATURES; f++)
		vcpu_feature[f] = cpu_has(&id, (enum cpu_feature)f);
}

/* Zeroes what the architecture leaves UNKNOWN at reset: every list
 * register (EL2 uses only LR0; the others must hold nothing a guest could
 * acknowledge) and every active-priority register, then turns the virtual
 * CPU interface on. */
void arch_vgic_enable(void)
{
	unsigned lrs = (unsigned)(read_sysreg(SYSREG_ICH_VTR_EL2) &
				  ICH_VTR_LISTREGS_MASK) + 1;
	static const struct vcpu_vgic clean;

	for (unsigned n = 0; n < lrs && n < ICH_LR_MAX; n++)
		write_lr(n, 0);
	load_aprs(&clean);
	write_sysreg(ICH_HCR_EN, SYSREG_ICH_HCR_EL2);
	isb();
}
