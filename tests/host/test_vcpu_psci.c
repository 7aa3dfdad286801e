/*
 * el2/vcpu_psci.c: a guest's PSCI calls on its own vCPUs. A VM of four
 * vCPUs and one of one, built by hand: which MPIDRs name a vCPU, CPU_ON's
 * reset state and refusals, CPU_OFF of the last vCPU, AFFINITY_INFO; and
 * vm_notify's wake-one over several vCPUs.
 */
#include "fake_arch.h"
#include "fake_vm.h"

#include <criterion/criterion.h>
#include <el2/sched.h>
#include <el2/vcpu_psci.h>
#include <el2/vm_ops.h>
#include <exo/hvc.h>
#include <string.h>

static struct vm vm, solo;
static struct vcpu extra[3];

static void link_vm(struct vm *v, struct vcpu *more, unsigned nr)
{
	fake_vm_link(v, more, nr);
	for (unsigned i = 0; i < nr; i++)
		v->vcpus[i]->vttbr = 0x77;
}

static void setup(void)
{
	fake_reset();
	link_vm(&vm, extra, 4);
	link_vm(&solo, NULL, 1);
}

TestSuite(vcpu_psci, .init = setup);

Test(vcpu_psci, mpidr_names_a_vcpu_by_aff0_only)
{
	cr_assert_eq(vcpu_psci_target(&vm.vcpu, 2), &extra[1]);
	cr_assert_eq(vcpu_psci_target(&vm.vcpu, 0), &vm.vcpu);
	cr_assert_null(vcpu_psci_target(&vm.vcpu, 4), "past cpus");
	cr_assert_null(vcpu_psci_target(&vm.vcpu, 0x101), "Aff1 set");
	cr_assert_null(vcpu_psci_target(&vm.vcpu, UINT64_C(1) << 32 | 1),
		       "Aff3 set");
	cr_assert_null(vcpu_psci_target(&vm.vcpu, 0x1000001), "bits 24-31");
	cr_assert_null(vcpu_psci_target(&solo.vcpu, 1));
}

Test(vcpu_psci, the_mpidr_a_guest_reads)
{
	cr_assert_eq(vcpu_mpidr(0, 1), MPIDR_RES1 | MPIDR_UNIPROCESSOR);
	cr_assert_eq(vcpu_mpidr(3, 4), MPIDR_RES1 | 3);
}

Test(vcpu_psci, cpu_on_starts_an_off_vcpu_afresh)
{
	struct vcpu *t = &extra[0];

	t->x[7] = 0xdead;
	vm.run_ticks = 500;
	cr_assert_eq(vcpu_psci_cpu_on(&vm.vcpu, 1, 0x40080000, 0x1234), 0);
	cr_assert_eq(t->state, VCPU_RUNNABLE);
	cr_assert_eq(t->elr, 0x40080000);
	cr_assert_eq(t->x[0], 0x1234);
	cr_assert_eq(t->x[7], 0, "nothing of its last life");
	cr_assert_eq(t->spsr & SPSR_M_EL1H, SPSR_M_EL1H);
	cr_assert_eq(t->el1.SCTLR_EL1, SCTLR_EL1_RES1, "MMU off");
	cr_assert_eq(t->vttbr, 0x77, "its VM's stage 2");
	cr_assert_eq(t->index, 1);
	cr_assert_eq(t->vmpidr, vcpu_mpidr(1, 4));
	cr_assert_eq(vm.run_ticks, 500, "its CPU time is the VM's");
}

Test(vcpu_psci, cpu_on_refusals)
{
	cr_assert_eq(vcpu_psci_cpu_on(&vm.vcpu, 0, 0, 0), EXO_PSCI_ALREADY_ON);
	cr_assert_eq(vcpu_psci_cpu_on(&vm.vcpu, 4, 0, 0),
		     EXO_PSCI_INVALID_PARAMETERS);
	cr_assert_eq(vcpu_psci_cpu_on(&solo.vcpu, 1, 0, 0),
		     EXO_PSCI_INVALID_PARAMETERS);
	cr_assert_eq(vcpu_psci_cpu_on(&vm.vcpu, 2, 0, 0), 0);
	extra[1].state = VCPU_BLOCKED;   /* waiting is on too */
	cr_assert_eq(vcpu_psci_cpu_on(&vm.vcpu, 2, 0, 0), EXO_PSCI_ALREADY_ON);
}

Test(vcpu_psci, cpu_off_of_the_last_vcpu_is_denied)
{
	cr_assert_eq(vcpu_psci_cpu_off(&vm.vcpu), EXO_PSCI_DENIED);
	cr_assert_eq(vcpu_psci_cpu_off(&solo.vcpu), EXO_PSCI_DENIED);
	cr_assert_eq(vcpu_psci_cpu_on(&vm.vcpu, 3, 0, 0), 0);
	cr_assert_eq(vcpu_psci_cpu_off(&vm.vcpu), 0);
	cr_assert_eq(vm.vcpu.state, VCPU_OFF);
	cr_assert_eq(vcpu_psci_cpu_off(&extra[2]), EXO_PSCI_DENIED,
		     "vCPU 3 is now the last one on");
	cr_assert_eq(extra[2].state, VCPU_RUNNABLE);
}

Test(vcpu_psci, affinity_info)
{
	cr_assert_eq(vcpu_psci_affinity_info(&vm.vcpu, 0, 0), EXO_PSCI_AFF_ON);
	cr_assert_eq(vcpu_psci_affinity_info(&vm.vcpu, 1, 0), EXO_PSCI_AFF_OFF);
	cr_assert_eq(vcpu_psci_affinity_info(&vm.vcpu, 1, 1),
		     EXO_PSCI_INVALID_PARAMETERS, "only single vCPUs");
	cr_assert_eq(vcpu_psci_affinity_info(&vm.vcpu, 9, 0),
		     EXO_PSCI_INVALID_PARAMETERS);
	cr_assert_eq(vcpu_psci_cpu_on(&vm.vcpu, 1, 0, 0), 0);
	cr_assert_eq(vcpu_psci_affinity_info(&extra[0], 1, 0), EXO_PSCI_AFF_ON);
}

/* A notification wakes one waiting vCPU, the first, with everything
 * pending; a later one the next. */
Test(vcpu_psci, notify_wakes_one_waiting_vcpu)
{
	cr_assert_eq(vcpu_psci_cpu_on(&vm.vcpu, 1, 0, 0), 0);
	cr_assert_eq(vcpu_psci_cpu_on(&vm.vcpu, 2, 0, 0), 0);
	extra[0].state = VCPU_BLOCKED;
	extra[1].state = VCPU_BLOCKED;
	vm_notify(&vm, 5);
	cr_assert_eq(extra[0].state, VCPU_RUNNABLE);
	cr_assert_eq(extra[0].x[1], UINT64_C(1) << 5);
	cr_assert_eq(extra[0].x[2], 0, "window 0");
	cr_assert_eq(extra[0].x[3], 0, "nothing else pending");
	cr_assert_eq(extra[1].state, VCPU_BLOCKED);
	cr_assert_eq(vm_notified_take(&vm).mask, 0, "all was handed over");
	vm_notify(&vm, 6);
	cr_assert_eq(extra[1].state, VCPU_RUNNABLE);
	cr_assert_eq(extra[1].x[1], UINT64_C(1) << 6);
}

/* Ids beyond 63 (issue 16: a thousand guests): WAIT hands the notifiers
 * over a window of 64 ids at a time, the lowest first, saying whether more
 * are pending, until none is left; the last id there is included. */
Test(vcpu_psci, notifiers_come_a_window_at_a_time)
{
	struct vm_notified n;

	vm_notify(&vm, EXO_MAX_VMS - 1);
	vm_notify(&vm, 70);
	vm_notify(&vm, 64);
	vm_notify(&vm, 3);
	n = vm_notified_take(&vm);
	cr_assert(n.mask == UINT64_C(1) << 3 && n.base == 0 && n.more);
	n = vm_notified_take(&vm);
	cr_assert(n.mask == (UINT64_C(1) | UINT64_C(1) << 6) && n.base == 64 &&
		  n.more);
	n = vm_notified_take(&vm);
	cr_assert(n.mask == UINT64_C(1) << 63 &&
		  n.base == EXO_MAX_VMS - EXO_WAIT_WINDOW && !n.more);
	n = vm_notified_take(&vm);
	cr_assert_eq(n.mask, 0, "none left");
	/* A waiting vCPU is woken with the lowest window and told of more. */
	vm_notify(&vm, 200);
	vm.vcpu.state = VCPU_BLOCKED;
	vm_notify(&vm, 100);
	cr_assert_eq(vm.vcpu.state, VCPU_RUNNABLE);
	cr_assert(vm.vcpu.x[1] == UINT64_C(1) << (100 - 64) &&
		  vm.vcpu.x[2] == 64 && vm.vcpu.x[3] == 1);
	n = vm_notified_take(&vm);
	cr_assert(n.mask == UINT64_C(1) << (200 - 192) && n.base == 192 &&
		  !n.more);
}

Test(vcpu_psci, the_vms_cpu_time_is_all_its_vcpus)
{
	fake.counter_step = 0;
	fake.counter = 100;
	vm.vcpu.run_start = 90;
	sched_account(&vm.vcpu);
	extra[0].run_start = 80;
	sched_account(&extra[0]);
	extra[2].run_start = 95;
	sched_account(&extra[2]);
	cr_assert_eq(vm_run_ticks(&vm), 10 + 20 + 5);
	cr_assert_eq(extra[0].run_start, 100, "accounted up to now");
	solo.vcpu.run_start = 93;
	sched_account(&solo.vcpu);
	cr_assert_eq(vm_run_ticks(&solo), 7, "another VM's own");
}
