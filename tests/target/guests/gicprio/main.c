/*
 * gicprio: leaves active priorities behind (issue 14). It sets every bit
 * of the virtual CPU interface's active-priority registers of both groups
 * (ICC_AP0R0_EL1, ICC_AP1R0_EL1: as if it had acknowledged interrupts of
 * every priority and never ended them) and exits. Were they not switched
 * with the vCPU, the next guest would run at the highest priority and
 * never take an interrupt: tests/target/test_vcpu_state.py runs it before
 * a guest that needs EL2's event interrupt to give frames back in time.
 */
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <lib/print.h>
#include <stdint.h>

#define ALL_PRIORITIES 0xfffffffful

int main(int argc, char **argv)
{
	(void)argc, (void)argv;
	write_sysreg(ALL_PRIORITIES, SYSREG_ICC_AP0R0_EL1);
	write_sysreg(ALL_PRIORITIES, SYSREG_ICC_AP1R0_EL1);
	__asm__ volatile("isb" ::: "memory");
	kprintf("active priorities left: group 0 0x%lx, group 1 0x%lx\n",
		(unsigned long)read_sysreg(SYSREG_ICC_AP0R0_EL1),
		(unsigned long)read_sysreg(SYSREG_ICC_AP1R0_EL1));
	return 0;
}
