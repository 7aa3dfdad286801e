/*
 * EL1 CPU set-up and the lib hooks that stop a guest. Runs from el1/start.S
 * before the stack guard is seeded, so nothing here may be instrumented.
 * Never touches EL2 state: a guest stops by asking EL2 (EXO_HVC_EXIT).
 */
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <el1/exit_asm.h>
#include <el1/this_cpu.h>
#include <exo/hypercall.h>
#include <lib/entropy.h>
#include <lib/panic.h>
#include <stddef.h>

_Static_assert(EL1_ASM_HVC_EXIT == EXO_HVC_EXIT, "el1/start.S exit call");

extern char el1_vectors[];

struct el1_percpu el1_percpu[EXO_VM_MAX_VCPUS];
_Static_assert(offsetof(struct el1_percpu, handler_depth) == EL1_PCPU_DEPTH,
	       "el1/vectors.S");

#define MPIDR_AFF0_MASK 0xffu

__attribute__((no_stack_protector)) void el1_cpu_init(void)
{
	uint64_t cpacr = read_sysreg(cpacr_el1);

	/* EL1's C never uses FP/SIMD (-mgeneral-regs-only); the arm64
	 * libfdt's read-write calls and el1/fp_regs.S do. EL0 is trapped
	 * per task while another task owns the registers (el1/el0_task.c). */
	cpacr = (cpacr & ~CPACR_EL1_FPEN_MASK) | CPACR_EL1_FPEN_NO_TRAP;
	write_sysreg(cpacr, cpacr_el1);
	write_sysreg((uint64_t)el1_vectors, vbar_el1);
	/* Each vCPU's Aff0 is its index, below EXO_VM_MAX_VCPUS (EL2's
	 * VMPIDR_EL2); called again at the virtual address, so the pointer
	 * follows the image. Only the register: nothing is written with the
	 * caches off. */
	write_sysreg((uint64_t)&el1_percpu[(read_sysreg(mpidr_el1) &
					    MPIDR_AFF0_MASK) %
					   EXO_VM_MAX_VCPUS],
		     tpidr_el1);
	isb();
}

__attribute__((no_stack_protector)) uint64_t el1_entropy(void)
{
	return entropy_mix(read_sysreg(cntvct_el0));
}

/* lib/panic.c stops through here: the guest exits with the ABI's panic
 * status (exo/exit_status.h), EL2 goes on. */
_Noreturn void arch_halt(int status)
{
	exo_exit(status == PANIC_HALT_NESTED ? EXO_EXIT_NESTED_FAULT
					     : EXO_EXIT_PANIC);
}
