/*
 * Starting the guest's other vCPUs (el1/smp.h). A started vCPU begins at
 * el1_secondary_entry with its MMU and caches off, at the load address,
 * x0 = the physical address of its struct el1_cpu_start: everything it
 * reads before its MMU is on is in that record and in el1_mmu_regs, both
 * written back to the point of coherency first.
 */
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <el1/smp.h>
#include <el1/trap.h>
#include <exo/hvc.h>
#include <exo/hypercall.h>
#include <libos/arch.h>
#include <libos/mm/mm.h>
#include <stddef.h>

#define MPIDR_AFF0_MASK 0xffu

/* What el1_secondary_entry reads with its MMU off (offsets: secondary.S's
 * START_*). */
struct el1_cpu_start {
	uint64_t mmu_regs_pa;   /* el1_mmu_regs, physical */
	uint64_t image_pa;      /* image offset 0, physical and virtual */
	uint64_t image_va;
	uint64_t stack_top;     /* virtual */
	uint64_t fn, arg;       /* virtual */
	uint64_t cpu;
};

_Static_assert(offsetof(struct el1_cpu_start, mmu_regs_pa) == 0 &&
		       offsetof(struct el1_cpu_start, image_pa) == 8 &&
		       offsetof(struct el1_cpu_start, image_va) == 16 &&
		       offsetof(struct el1_cpu_start, stack_top) == 24 &&
		       offsetof(struct el1_cpu_start, fn) == 32 &&
		       offsetof(struct el1_cpu_start, arg) == 40 &&
		       offsetof(struct el1_cpu_start, cpu) == 48,
	       "el1/secondary.S reads the record by these offsets");

extern char __image_start[], el1_secondary_entry[];
extern uint64_t el1_image_pa;
extern struct libos_mmu_regs el1_mmu_regs;

static struct el1_cpu_start starts[EXO_VM_MAX_VCPUS];

/* A symbol of the image at its load address (the image is one run). */
static uint64_t image_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p - (uint64_t)(uintptr_t)__image_start +
	       el1_image_pa;
}

int64_t el1_cpu_start(unsigned cpu, el1_cpu_fn fn, void *arg,
		      void *stack_top)
{
	struct el1_cpu_start *s;
	int64_t rc;

	if (cpu == 0 || cpu >= EXO_VM_MAX_VCPUS)
		return EXO_PSCI_INVALID_PARAMETERS;
	/* Before it can take its first fault. */
	el1_smp_cpu_on();
	s = &starts[cpu];
	*s = (struct el1_cpu_start){
		.mmu_regs_pa = image_phys(&el1_mmu_regs),
		.image_pa = el1_image_pa,
		.image_va = (uint64_t)(uintptr_t)__image_start,
		.stack_top = (uint64_t)(uintptr_t)stack_top,
		.fn = (uint64_t)(uintptr_t)fn,
		.arg = (uint64_t)(uintptr_t)arg,
		.cpu = cpu,
	};
	libos_arch_dcache_clean_poc(s, sizeof(*s));
	libos_arch_dcache_clean_poc(&el1_mmu_regs, sizeof(el1_mmu_regs));
	rc = exo_call3(EXO_PSCI_CPU_ON, cpu, image_phys(el1_secondary_entry),
		       image_phys(s)).status;
	if (rc)
		el1_smp_cpu_off();	/* it never ran */
	return rc;
}

int64_t el1_cpu_state(unsigned cpu)
{
	return exo_call2(EXO_PSCI_AFFINITY_INFO, cpu, 0).status;
}

unsigned el1_cpu_self(void)
{
	return (unsigned)(read_sysreg(mpidr_el1) & MPIDR_AFF0_MASK);
}

/* el1/secondary.S, at the high VA on the vCPU's stack: the rest of the
 * switch, the function, then off. */
_Noreturn void el1_secondary_main(uint64_t cpu, el1_cpu_fn fn, void *arg);
_Noreturn void el1_secondary_main(uint64_t cpu, el1_cpu_fn fn, void *arg)
{
	libos_mm_cpu_switched();
	fn((unsigned)cpu, arg);
	__asm__ volatile("msr daifset, #2" : : : "memory");   /* IRQs off */
	/* Done with libos: with no other vCPU left on, the boot vCPU's
	 * lock-free fast paths may run again. */
	el1_smp_cpu_off();
	exo_call0(EXO_PSCI_CPU_OFF);
	/* Refused: the guest's last vCPU on (the others turned themselves
	 * off), so its work is done. */
	exo_call0(EXO_PSCI_SYSTEM_OFF);
	for (;;)
		;
}
