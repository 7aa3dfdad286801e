/*
 * el2/vgic_lr.c and el2/vtimer.c: a vCPU's own SGIs and PPIs through list
 * register 1 (posted, merged, waiting in order behind the one in flight,
 * refilled at the maintenance interrupt; live for the running vCPU, saved
 * for the others) and the virtual timer's interrupt (posted to the
 * running vCPU only when its own timer fired, which EL2 masks).
 */
#include "fake_arch.h"
#include "fake_vm.h"

#include <arch/sysreg.h>
#include <criterion/criterion.h>
#include <el2/percpu.h>
#include <el2/vgic_lr.h>
#include <el2/vtimer.h>
#include <exo/hvc.h>

#define MAINTENANCE_PPI 25u
#define VTIMER_PPI 27u
#define STATE_ACTIVE (UINT64_C(2) << 62)

static struct vm vm;
static struct vcpu extra[1];

static void setup(void)
{
	fake_reset();
	fake_vm_link(&vm, extra, 2);
	this_cpu()->current = &vm.vcpu;
	cr_assert(vgic_lr_init(MAINTENANCE_PPI));
	vtimer_init(VTIMER_PPI);
}

TestSuite(vgic_lr, .init = setup);

static unsigned lr_intid(uint64_t lr)
{
	return (unsigned)(lr & ICH_LR_VINTID_MASK);
}

Test(vgic_lr, a_free_list_register_takes_the_interrupt_at_once)
{
	uint32_t pending = 0;
	uint64_t lr = vgic_lr_posted(0, &pending, 5);

	cr_assert_eq(pending, 0);
	cr_assert_eq(lr_intid(lr), 5);
	cr_assert_eq(lr & ICH_LR_STATE_MASK, ICH_LR_STATE_PENDING);
	cr_assert(lr & ICH_LR_GROUP1);
	cr_assert_not(lr & ICH_LR_EOI, "nothing waits: no maintenance");
}

Test(vgic_lr, a_repeat_of_the_interrupt_in_flight_merges)
{
	uint32_t pending = 0;
	uint64_t lr = vgic_lr_posted(0, &pending, 5);
	uint64_t active = (lr & ~ICH_LR_STATE_MASK) | STATE_ACTIVE;

	cr_assert_eq(vgic_lr_posted(lr, &pending, 5), lr, "pending again");
	cr_assert_eq(vgic_lr_posted(active, &pending, 5) & ICH_LR_STATE_MASK,
		     ICH_LR_STATE_MASK, "active: pending and active");
	cr_assert_eq(pending, 0);
}

Test(vgic_lr, others_wait_and_come_in_order_at_each_deactivation)
{
	uint32_t pending = 0;
	uint64_t lr = vgic_lr_posted(0, &pending, 9);

	lr = vgic_lr_posted(lr, &pending, 7);
	lr = vgic_lr_posted(lr, &pending, 3);
	cr_assert_eq(lr_intid(lr), 9, "the one in flight stays");
	cr_assert(lr & ICH_LR_EOI, "its deactivation brings the next");
	cr_assert_eq(pending, (1u << 7) | (1u << 3));
	/* The guest handles 9: state invalid, the EOI bit left. */
	lr &= ~ICH_LR_STATE_MASK;
	lr = vgic_lr_refilled(lr, &pending);
	cr_assert_eq(lr_intid(lr), 3, "lowest INTID first");
	cr_assert(lr & ICH_LR_EOI, "7 still waits");
	lr = vgic_lr_refilled(lr & ~ICH_LR_STATE_MASK, &pending);
	cr_assert_eq(lr_intid(lr), 7);
	cr_assert_not(lr & ICH_LR_EOI, "the last: no maintenance");
	cr_assert_eq(vgic_lr_refilled(lr & ~ICH_LR_STATE_MASK, &pending), 0,
		     "a spent list register is cleared");
	cr_assert_eq(pending, 0);
}

Test(vgic_lr, a_busy_list_register_is_left_alone_by_a_refill)
{
	uint32_t pending = 1u << 4;
	uint64_t lr = vgic_lr_posted(0, &pending, 2);

	cr_assert_eq(lr_intid(lr), 2);
	cr_assert_eq(vgic_lr_refilled(lr, &pending), lr | ICH_LR_EOI);
	cr_assert_eq(pending, 1u << 4);
}

Test(vgic_lr, maintenance_refills_the_running_vcpu)
{
	struct vcpu *v = &vm.vcpu;

	vgic_lr_post(v, 8);
	vgic_lr_post(v, 4);
	cr_assert_eq(lr_intid(fake.vgic_lr1), 8);
	cr_assert_eq(v->vgic.lr1_pending, 1u << 4);
	fake.vgic_lr1 &= ~ICH_LR_STATE_MASK;   /* the guest handled 8 */
	vgic_lr_maintenance(MAINTENANCE_PPI, NULL);
	cr_assert_eq(lr_intid(fake.vgic_lr1), 4);
	cr_assert_eq(v->vgic.lr1_pending, 0);
	fake.vgic_lr1 &= ~ICH_LR_STATE_MASK;
	vgic_lr_maintenance(MAINTENANCE_PPI, NULL);
	cr_assert_eq(fake.vgic_lr1, 0);
}

Test(vgic_lr, maintenance_with_no_vcpu_clears_the_list_register)
{
	this_cpu()->current = NULL;
	fake.vgic_lr1 = ICH_LR_EOI | 3;   /* spent, its EOI request left */
	vgic_lr_maintenance(MAINTENANCE_PPI, NULL);
	cr_assert_eq(fake.vgic_lr1, 0);
}

Test(vgic_lr, posts_live_to_the_running_vcpu_and_saved_to_others)
{
	vgic_lr_post(&vm.vcpu, 3);
	vgic_lr_post(&extra[0], 30);
	cr_assert_eq(lr_intid(fake.vgic_lr1), 3);
	cr_assert_eq(vm.vcpu.vgic.lr1, 0, "not the running vCPU's saved copy");
	cr_assert_eq(lr_intid(extra[0].vgic.lr1), 30, "PPIs too");
	cr_assert_eq(fake.vgic_lr1 & ICH_LR_STATE_MASK, ICH_LR_STATE_PENDING);
}

Test(vgic_lr, the_vtimer_is_posted_only_when_the_running_vcpus_fired)
{
	fake.cntv_ctl = CNT_CTL_ENABLE;   /* armed, not expired */
	vtimer_fired(VTIMER_PPI, NULL);
	cr_assert_eq(fake.vgic_lr1, 0);
	fake.cntv_ctl = CNT_CTL_ENABLE | CNT_CTL_ISTATUS | CNT_CTL_IMASK;
	vtimer_fired(VTIMER_PPI, NULL);
	cr_assert_eq(fake.vgic_lr1, 0, "masked by the guest: nothing");
	fake.cntv_ctl = CNT_CTL_ISTATUS;  /* expired but disabled */
	vtimer_fired(VTIMER_PPI, NULL);
	cr_assert_eq(fake.vgic_lr1, 0);
	fake.cntv_ctl = CNT_CTL_ENABLE | CNT_CTL_ISTATUS;
	vtimer_fired(VTIMER_PPI, NULL);
	cr_assert_eq(lr_intid(fake.vgic_lr1), EXO_VTIMER_INTID);
	cr_assert(fake.cntv_ctl & CNT_CTL_IMASK, "masked: the level drops");
	cr_assert_eq(extra[0].vgic.lr1, 0, "never another vCPU");
}

Test(vgic_lr, no_vtimer_without_a_running_vcpu)
{
	this_cpu()->current = NULL;
	fake.cntv_ctl = CNT_CTL_ENABLE | CNT_CTL_ISTATUS;
	vtimer_fired(VTIMER_PPI, NULL);
	cr_assert_eq(fake.vgic_lr1, 0);
	cr_assert_eq(fake.cntv_ctl, CNT_CTL_ENABLE | CNT_CTL_ISTATUS,
		     "untouched");
}

Test(vgic_lr_off, without_a_maintenance_interrupt, .init = fake_reset)
{
	cr_assert_not(vgic_lr_init(0));
	cr_assert_not(vgic_lr_on());
}

Test(vgic_lr_off, on_a_gic_with_one_list_register, .init = fake_reset)
{
	fake.vgic_one_lr = true;
	cr_assert_not(vgic_lr_init(MAINTENANCE_PPI));
	cr_assert_not(vgic_lr_on(), "nothing may be posted: SGIs undefined");
}
