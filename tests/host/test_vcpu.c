/* el2/vcpu.c: the state a guest starts (and restarts) with. */
#include <criterion/criterion.h>
#include <string.h>

#include <el2/vcpu.h>

/* Regression: a restart (vcpu_reset) once lost the vCPU's run-queue slot
 * and its CPU time, skewing round-robin and resetting the CPU limit. */
Test(vcpu, reset_keeps_slot_and_cpu_time)
{
	struct vcpu v;

	memset(&v, 0, sizeof(v));
	v.slot = 3;
	v.run_ticks = 12345;
	v.x[5] = 99;
	vcpu_reset(&v, 0x40100000, 0x40110000, 7);
	cr_assert_eq(v.slot, 3);
	cr_assert_eq(v.run_ticks, 12345);
	cr_assert_eq(v.x[5], 0, "registers are reset");
	cr_assert_eq(v.x[0], 0x40110000);
	cr_assert_eq(v.elr, 0x40100000);
}
