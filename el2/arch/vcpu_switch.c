/*
 * AArch64 side of the vCPU switch: EL1 system registers, the virtual timer,
 * stage-2 and trap configuration of the vCPU about to run, and the trap
 * syndrome registers the C trap handlers read.
 */
#include <arch/sysreg.h>
#include <el2/arch.h>
#include <el2/vcpu.h>
#include <lib/panic.h>
#include <stdbool.h>

void arch_fpsimd_save(struct vcpu_fpsimd *fp);
void arch_fpsimd_load(const struct vcpu_fpsimd *fp);

static void save_el1(struct vcpu_el1_regs *r)
{
	r->sctlr = read_sysreg(sctlr_el1);
	r->ttbr0 = read_sysreg(ttbr0_el1);
	r->ttbr1 = read_sysreg(ttbr1_el1);
	r->tcr = read_sysreg(tcr_el1);
	r->mair = read_sysreg(mair_el1);
	r->amair = read_sysreg(amair_el1);
	r->vbar = read_sysreg(vbar_el1);
	r->contextidr = read_sysreg(contextidr_el1);
	r->esr = read_sysreg(esr_el1);
	r->far = read_sysreg(far_el1);
	r->afsr0 = read_sysreg(afsr0_el1);
	r->afsr1 = read_sysreg(afsr1_el1);
	r->par = read_sysreg(par_el1);
	r->cpacr = read_sysreg(cpacr_el1);
	r->cntkctl = read_sysreg(cntkctl_el1);
	r->csselr = read_sysreg(csselr_el1);
	r->tpidr_el1 = read_sysreg(tpidr_el1);
	r->tpidr_el0 = read_sysreg(tpidr_el0);
	r->tpidrro_el0 = read_sysreg(tpidrro_el0);
	r->sp_el0 = read_sysreg(sp_el0);
	r->sp_el1 = read_sysreg(sp_el1);
	r->elr_el1 = read_sysreg(elr_el1);
	r->spsr_el1 = read_sysreg(spsr_el1);
}

static void load_el1(const struct vcpu_el1_regs *r)
{
	write_sysreg(r->sctlr, sctlr_el1);
	write_sysreg(r->ttbr0, ttbr0_el1);
	write_sysreg(r->ttbr1, ttbr1_el1);
	write_sysreg(r->tcr, tcr_el1);
	write_sysreg(r->mair, mair_el1);
	write_sysreg(r->amair, amair_el1);
	write_sysreg(r->vbar, vbar_el1);
	write_sysreg(r->contextidr, contextidr_el1);
	write_sysreg(r->esr, esr_el1);
	write_sysreg(r->far, far_el1);
	write_sysreg(r->afsr0, afsr0_el1);
	write_sysreg(r->afsr1, afsr1_el1);
	write_sysreg(r->par, par_el1);
	write_sysreg(r->cpacr, cpacr_el1);
	write_sysreg(r->cntkctl, cntkctl_el1);
	write_sysreg(r->csselr, csselr_el1);
	write_sysreg(r->tpidr_el1, tpidr_el1);
	write_sysreg(r->tpidr_el0, tpidr_el0);
	write_sysreg(r->tpidrro_el0, tpidrro_el0);
	write_sysreg(r->sp_el0, sp_el0);
	write_sysreg(r->sp_el1, sp_el1);
	write_sysreg(r->elr_el1, elr_el1);
	write_sysreg(r->spsr_el1, spsr_el1);
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

void arch_vcpu_save(struct vcpu *v)
{
	save_el1(&v->el1);
	arch_fpsimd_save(&v->fp);
	v->vgic.lr0 = read_sysreg(SYSREG_ICH_LR0_EL2);
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
	write_sysreg(v->vttbr, vttbr_el2);
	write_sysreg(v->hcr, hcr_el2);
	load_el1(&v->el1);
	arch_fpsimd_load(&v->fp);
	write_sysreg(v->vgic.lr0, SYSREG_ICH_LR0_EL2);
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

struct guest_syndrome arch_guest_syndrome(void)
{
	return (struct guest_syndrome){
		.esr = read_sysreg(esr_el2),
		.far = read_sysreg(far_el2),
		.hpfar = read_sysreg(hpfar_el2),
	};
}

void arch_inject_sync(uint64_t esr, uint64_t far, uint64_t vector_offset,
		      struct vcpu *v)
{
	uint64_t vbar = read_sysreg(vbar_el1);

	write_sysreg(esr, esr_el1);
	write_sysreg(far, far_el1);
	write_sysreg(v->elr, elr_el1);
	write_sysreg(v->spsr, spsr_el1);
	v->elr = vbar + vector_offset;
	v->spsr = SPSR_M_EL1H | SPSR_D | SPSR_A | SPSR_I | SPSR_F;
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

/* Saved while pending or active: pending (and active) when loaded. */
void arch_vgic_raise_saved(struct vcpu *v, uint32_t intid, uint8_t priority)
{
	v->vgic.lr0 = lr_raised(v->vgic.lr0, intid, priority);
}

/* Zeroes what the architecture leaves UNKNOWN at reset: every list
 * register (EL2 uses only LR0; the others must hold nothing a guest could
 * acknowledge) and every active-priority register, then turns the virtual
 * CPU interface on. */
void arch_vgic_enable(void)
{
	uint64_t vtr = read_sysreg(SYSREG_ICH_VTR_EL2);
	unsigned lrs = (unsigned)(vtr & ICH_VTR_LISTREGS_MASK) + 1;
	unsigned prebits = (unsigned)((vtr >> ICH_VTR_PREBITS_SHIFT) &
				      ICH_VTR_PREBITS_MASK) + 1;
	static const struct vcpu_vgic clean;

	vgic_aprs = 1u << (prebits - GIC_MIN_PREEMPTION_BITS);
	if (vgic_aprs > ICH_APR_MAX)
		vgic_aprs = ICH_APR_MAX;
	for (unsigned n = 0; n < lrs && n < ICH_LR_MAX; n++)
		write_lr(n, 0);
	load_aprs(&clean);
	write_sysreg(ICH_HCR_EN, SYSREG_ICH_HCR_EL2);
	isb();
}
