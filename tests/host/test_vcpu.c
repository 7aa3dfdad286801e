/* el2/vcpu.c: the state a guest starts (and restarts) with. */
#include <criterion/criterion.h>
#include <string.h>

#include <arch/sysreg.h>
#include <el2/s2.h>
#include <el2/vcpu.h>
#include <el2/vm.h>

/* Regression: a restart (vcpu_reset) once lost the vCPU's run-queue slot
 * and its CPU time, skewing round-robin and resetting the CPU limit. */
Test(vcpu, reset_keeps_slot_and_cpu_time)
{
	struct vcpu v;
	struct vm vm;

	memset(&v, 0, sizeof(v));
	memset(&vm, 0, sizeof(vm));
	v.slot = 3;
	v.x[5] = 99;
	v.vm = &vm;
	vm.run_ticks = 12345;
	vcpu_reset(&v, 0x40100000, 0x40110000, 7);
	cr_assert_eq(v.slot, 3);
	cr_assert_eq(v.vm, &vm);
	cr_assert_eq(vm.run_ticks, 12345, "the CPU time is the VM's");
	cr_assert_eq(v.x[5], 0, "registers are reset");
	cr_assert_eq(v.x[0], 0x40110000);
	cr_assert_eq(v.elr, 0x40100000);
}

/* HCR_EL2.FWB goes with stage 2's encoding of guest RAM (el2/s2.h): set
 * exactly when stage 2 forces Write-Back, or the descriptors' MemAttr would
 * be read in the other encoding. The rest of the traps stay as they are. */
Test(vcpu, fwb_in_hcr_exactly_when_stage2_forces_write_back)
{
	struct vcpu v;
	uint64_t without;

	memset(&v, 0, sizeof(v));
	s2_set_forced_wb(false);
	vcpu_reset(&v, 0x40100000, 0x40110000, 7);
	without = v.hcr;
	cr_assert_eq(without & HCR_FWB, 0);
	cr_assert_neq(without & HCR_VM, 0);
	s2_set_forced_wb(true);
	vcpu_reset(&v, 0x40100000, 0x40110000, 7);
	cr_assert_eq(v.hcr, without | HCR_FWB);
	s2_set_forced_wb(false);
}
