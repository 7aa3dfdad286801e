/*
 * This CPU's struct percpu (el2/percpu.h), found through TPIDR_EL2: set
 * once per CPU at boot, read on every trap (el2/arch/guest.S reads it
 * directly, C through the inline this_cpu). The host build has its own
 * (tests/host/fake_arch.c).
 */
#include <arch/sysreg.h>
#include <el2/percpu.h>

struct percpu el2_percpus[EL2_MAX_CPUS];

void percpu_init(unsigned cpu, uint64_t mpidr, uint64_t stack_top)
{
	struct percpu *pc = &el2_percpus[cpu];

	pc->cpu = cpu;
	pc->mpidr = mpidr;
	pc->stack_top = stack_top;
	write_sysreg((uint64_t)pc, tpidr_el2);
}
