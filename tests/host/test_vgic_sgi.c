/*
 * el2/vgic_sgi.c: SGIs between a guest's own vCPUs. Which vCPUs an
 * ICC_SGI1R_EL1 value names; the one list register per vCPU with the
 * waiting SGIs behind it (posted, merged, refilled at the maintenance
 * interrupt); the trapped write's emulation on a VM of four vCPUs and one
 * of one, built by hand (live for the running vCPU, saved for the others,
 * a vCPU waiting in WAIT woken, an off one skipped).
 */
#include "fake_arch.h"
#include "fake_vm.h"

#include <arch/esr.h>
#include <arch/sysreg.h>
#include <criterion/criterion.h>
#include <el2/percpu.h>
#include <el2/vgic_lr.h>
#include <el2/vgic_sgi.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <string.h>

#define MAINTENANCE_PPI 25u
#define XZR 31u
#define STATE_ACTIVE (UINT64_C(2) << 62)

static struct vm vm, solo;
static struct vcpu extra[3];

/* Every vCPU on. */
static void link_vm(struct vm *v, struct vcpu *more, unsigned nr)
{
	fake_vm_link(v, more, nr);
	for (unsigned i = 0; i < nr; i++)
		v->vcpus[i]->state = VCPU_RUNNABLE;
}

static void setup(void)
{
	fake_reset();
	link_vm(&vm, extra, 4);
	link_vm(&solo, NULL, 1);
	this_cpu()->current = &vm.vcpu;
	cr_assert(vgic_lr_init(MAINTENANCE_PPI));
}

TestSuite(vgic_sgi, .init = setup);

static uint64_t sgi1r(unsigned intid, uint64_t rest)
{
	return ((uint64_t)intid << ICC_SGI1R_INTID_SHIFT) | rest;
}

static uint64_t sysreg_esr(unsigned op0, unsigned op1, unsigned crn,
			   unsigned crm, unsigned op2, unsigned rt, bool read)
{
	uint64_t iss = ((uint64_t)op0 << 20) | ((uint64_t)op2 << 17) |
		       ((uint64_t)op1 << 14) | ((uint64_t)crn << 10) |
		       ((uint64_t)rt << 5) | ((uint64_t)crm << 1) | read;

	return ((uint64_t)ESR_EC_SYSREG << ESR_EC_SHIFT) | ESR_IL | iss;
}

static uint64_t sgi1r_write(unsigned rt)
{
	return sysreg_esr(3, 0, 12, 11, 5, rt, false);
}

static unsigned lr_intid(uint64_t lr)
{
	return (unsigned)(lr & ICH_LR_VINTID_MASK);
}

Test(vgic_sgi, target_list_names_the_guests_own_vcpus)
{
	cr_assert_eq(vgic_sgi_targets(sgi1r(1, 0x6), 0, 4), 0x6);
	cr_assert_eq(vgic_sgi_targets(sgi1r(1, 0xffff), 0, 4), 0xf,
		     "bits past cpus dropped; the writer's own bit kept");
	cr_assert_eq(vgic_sgi_targets(sgi1r(1, 0x10), 0, 4), 0,
		     "the vCPU just past cpus: nobody");
	cr_assert_eq(vgic_sgi_targets(sgi1r(1, 0x1), 0, 1), 0x1,
		     "a guest of one: itself");
	cr_assert_eq(vgic_sgi_targets(0, 0, 4), 0, "an empty list");
}

Test(vgic_sgi, other_affinities_and_ranges_name_nobody)
{
	cr_assert_eq(vgic_sgi_targets(sgi1r(1, 0xffff | UINT64_C(1) << 16), 0,
				      4), 0, "Aff1 = 1");
	cr_assert_eq(vgic_sgi_targets(sgi1r(1, 0xffff | UINT64_C(1) << 32), 0,
				      4), 0, "Aff2 = 1");
	cr_assert_eq(vgic_sgi_targets(sgi1r(1, 0xffff | UINT64_C(1) << 48), 0,
				      4), 0, "Aff3 = 1");
	cr_assert_eq(vgic_sgi_targets(sgi1r(1, 0xffff | UINT64_C(1) << 44), 0,
				      8), 0, "range 1 of a guest of 8");
}

Test(vgic_sgi, irm_names_every_vcpu_but_the_writer)
{
	cr_assert_eq(vgic_sgi_targets(ICC_SGI1R_IRM, 2, 4), 0xb);
	cr_assert_eq(vgic_sgi_targets(ICC_SGI1R_IRM | UINT64_C(1) << 16, 0,
				      8), 0xfe, "IRM ignores the affinity");
	cr_assert_eq(vgic_sgi_targets(ICC_SGI1R_IRM, 0, 1), 0,
		     "a guest of one: nobody");
}

Test(vgic_sgi, emulated_write_posts_to_saved_and_running_vcpus)
{
	struct vcpu *v = &vm.vcpu;

	v->x[3] = sgi1r(6, 0x5);   /* vCPUs 0 (the writer, running) and 2 */
	v->elr = 0x1000;
	cr_assert(vgic_sgi_emulate(v, sgi1r_write(3)));
	cr_assert_eq(v->elr, 0x1004, "the MSR is done");
	cr_assert_eq(lr_intid(fake.vgic_lr1), 6, "live: the running vCPU");
	cr_assert_eq(v->vgic.lr1, 0, "not its saved copy");
	cr_assert_eq(lr_intid(extra[1].vgic.lr1), 6, "saved: vCPU 2");
	cr_assert_eq(extra[0].vgic.lr1, 0, "vCPU 1 not named");
	cr_assert_eq(extra[2].vgic.lr1, 0, "vCPU 3 not named");
}

Test(vgic_sgi, an_off_vcpu_gets_nothing_and_a_waiting_one_wakes)
{
	struct vcpu *v = &vm.vcpu;

	extra[0].state = VCPU_OFF;
	extra[1].state = VCPU_BLOCKED;
	extra[1].x[0] = 99;
	extra[1].x[1] = 99;
	v->x[1] = sgi1r(2, ICC_SGI1R_IRM);
	cr_assert(vgic_sgi_emulate(v, sgi1r_write(1)));
	cr_assert_eq(extra[0].vgic.lr1, 0);
	cr_assert_eq(extra[0].vgic.lr1_pending, 0);
	cr_assert_eq(extra[1].state, VCPU_RUNNABLE);
	cr_assert_eq(extra[1].x[0], (uint64_t)EXO_OK);
	cr_assert_eq(extra[1].x[1], 0, "WAIT's answer: no notifier");
	cr_assert_eq(lr_intid(extra[1].vgic.lr1), 2);
	cr_assert_eq(fake.vgic_lr1, 0, "IRM: not the writer");
}

Test(vgic_sgi, xzr_is_sgi_0_to_nobody)
{
	cr_assert(vgic_sgi_emulate(&vm.vcpu, sgi1r_write(XZR)));
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(extra[i].vgic.lr1, 0);
	cr_assert_eq(fake.vgic_lr1, 0);
}

Test(vgic_sgi, other_registers_and_reads_are_not_emulated)
{
	struct vcpu *v = &vm.vcpu;

	v->elr = 0x1000;
	cr_assert_not(vgic_sgi_emulate(v, sysreg_esr(3, 0, 12, 11, 5, 1, true)),
		      "a read of the write-only register");
	cr_assert_not(vgic_sgi_emulate(v, sysreg_esr(3, 0, 12, 11, 6, 1, false)),
		      "ICC_ASGI1R_EL1");
	cr_assert_not(vgic_sgi_emulate(v, sysreg_esr(3, 0, 12, 11, 7, 1, false)),
		      "ICC_SGI0R_EL1: group 0");
	cr_assert_not(vgic_sgi_emulate(v, sysreg_esr(3, 1, 12, 11, 5, 1, false)),
		      "another op1");
	cr_assert_not(vgic_sgi_emulate(v, (uint64_t)ESR_EC_HVC64 << ESR_EC_SHIFT |
					  ESR_IL | 0x00b05a),
		      "another class with the same ISS bits");
	cr_assert_eq(v->elr, 0x1000, "nothing done");
}

Test(vgic_sgi, a_guest_of_one_reaches_itself_only)
{
	this_cpu()->current = &solo.vcpu;
	solo.vcpu.x[0] = sgi1r(12, 0xffff);
	cr_assert(vgic_sgi_emulate(&solo.vcpu, sgi1r_write(0)));
	cr_assert_eq(lr_intid(fake.vgic_lr1), 12);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(extra[i].vgic.lr1, 0, "not another VM's vCPU");
}
