/*
 * Starting the other CPUs (el2/cpus.h). The boot CPU gives each a number
 * and a struct cpu_boot, starts it with PSCI CPU_ON and waits, bounded, for
 * its check-in. The check-in and the boot CPU giving up race for the same
 * word (compare-and-swap from CPU_STARTING), so a CPU that comes up late
 * learns it was left out and never runs as a CPU the boot CPU counted.
 */
#include <el2/arch.h>
#include <el2/cpus.h>
#include <el2/percpu.h>
#include <el2/psci.h>
#include <lib/print.h>
#include <stdbool.h>

#define MS_PER_S 1000

_Static_assert(PLATFORM_MAX_CPUS == EL2_MAX_CPUS,
	       "a CPU the DTB lists needs a struct percpu and a stack");

static struct cpu_boot boots[EL2_MAX_CPUS];
static uint32_t states[EL2_MAX_CPUS];   /* enum cpu_state, atomic */
static uint64_t mpidrs[EL2_MAX_CPUS];
static unsigned numbered = 1;           /* CPU numbers given; 0: boot CPU */
static const char *details[EL2_MAX_CPUS]; /* what a check-in adds */
static uint64_t boot_signature[ARCH_CPU_SIGNATURE_REGS];

static const char *const state_what[] = {
	[CPU_OFF] = "off",
	[CPU_STARTING] = "starting",
	[CPU_ONLINE] = "online",
	[CPU_LATE] = "did not check in in time; left offline",
	[CPU_DIFFERS] = "left offline, an ID register is not the boot CPU's",
	[CPU_NO_GIC] = "no GIC redistributor answers for it; left offline",
};

/* CPU n's stack is the image's slot n (el2/el2.ld). */
static uint64_t stack_top(unsigned cpu)
{
	return arch_image_layout().stack_guard +
	       (uint64_t)(cpu + 1) * EL2_STACK_SLOT;
}

static uint32_t state_load(unsigned cpu)
{
	return __atomic_load_n(&states[cpu], __ATOMIC_ACQUIRE);
}

/* From CPU_STARTING to `to`, unless the other side moved it first. */
static bool state_leave_starting(unsigned cpu, uint32_t to)
{
	uint32_t expect = CPU_STARTING;

	return __atomic_compare_exchange_n(&states[cpu], &expect, to, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static enum cpu_state wait_check_in(unsigned cpu)
{
	uint64_t deadline = arch_counter() +
			    arch_timer_freq() * CPUS_CHECK_IN_MS / MS_PER_S;

	while (state_load(cpu) == CPU_STARTING) {
		if (arch_counter() >= deadline &&
		    state_leave_starting(cpu, CPU_LATE))
			return CPU_LATE;
	}
	return (enum cpu_state)state_load(cpu);
}

/* A number, the record, CPU_ON and the wait. A refused CPU_ON gives its
 * number back: that CPU never ran. Any other outcome keeps it, since the
 * CPU may be running on its stack. */
static void start_one(const struct platform_cpu *pc)
{
	unsigned cpu = numbered;
	struct cpu_boot *b = &boots[cpu];
	enum cpu_state state;
	int64_t rc;

	if (!pc->psci) {
		kprintf("cpus: MPIDR 0x%lx: its enable-method is not PSCI; "
			"left offline\n", (unsigned long)pc->mpidr);
		return;
	}
	if (cpu == EL2_MAX_CPUS) {
		kprintf("cpus: MPIDR 0x%lx: beyond EL2's %u CPUs; left "
			"offline\n", (unsigned long)pc->mpidr, EL2_MAX_CPUS);
		return;
	}
	arch_cpu_boot_regs(b);
	b->stack_top = stack_top(cpu);
	b->cpu = cpu;
	mpidrs[cpu] = pc->mpidr;
	__atomic_store_n(&states[cpu], CPU_STARTING, __ATOMIC_RELEASE);
	/* The CPU reads its record with its caches off: from DRAM. */
	arch_dcache_clean_inval((uint64_t)(uintptr_t)b, sizeof(*b));
	rc = psci_cpu_on(pc->mpidr, arch_secondary_entry_pa(),
			 (uint64_t)(uintptr_t)b);
	if (rc != PSCI_RET_SUCCESS) {
		__atomic_store_n(&states[cpu], CPU_OFF, __ATOMIC_RELEASE);
		kprintf("cpus: MPIDR 0x%lx: CPU_ON refused (%s); left "
			"offline\n", (unsigned long)pc->mpidr,
			psci_ret_name(rc));
		return;
	}
	numbered++;
	state = wait_check_in(cpu);
	kprintf("cpus: cpu %u (MPIDR 0x%lx): %s%s%s\n", cpu,
		(unsigned long)pc->mpidr, state_what[state],
		details[cpu] ? ": " : "", details[cpu] ? details[cpu] : "");
}

unsigned cpus_start(const struct platform *p)
{
	uint64_t self = arch_mpidr() & MPIDR_AFFINITY_MASK;
	unsigned listed = 1;

	mpidrs[0] = self;
	states[0] = CPU_ONLINE;
	arch_cpu_signature(boot_signature);
	for (unsigned i = 0; i < p->nr_cpus; i++) {
		if (p->cpu[i].mpidr == self)
			continue;
		listed++;
		start_one(&p->cpu[i]);
	}
	kprintf("cpus: %u online of %u listed (boot CPU MPIDR 0x%lx)\n",
		cpus_online(), listed + p->cpus_beyond + p->cpus_bad,
		(unsigned long)self);
	return cpus_online();
}

bool cpus_check_in(unsigned cpu, enum cpu_state outcome, const char *detail)
{
	if (cpu >= EL2_MAX_CPUS || state_load(cpu) != CPU_STARTING)
		return false;
	details[cpu] = detail;   /* published by the swap's release */
	return state_leave_starting(cpu, outcome);
}

const char *cpus_differs_from_boot(void)
{
	uint64_t sig[ARCH_CPU_SIGNATURE_REGS];

	arch_cpu_signature(sig);
	for (unsigned i = 0; i < ARCH_CPU_SIGNATURE_REGS; i++)
		if (sig[i] != boot_signature[i])
			return arch_cpu_signature_names[i];
	return NULL;
}

unsigned cpus_online(void)
{
	unsigned n = 0;

	for (unsigned cpu = 0; cpu < EL2_MAX_CPUS; cpu++)
		n += state_load(cpu) == CPU_ONLINE;
	return n;
}

enum cpu_state cpus_state(unsigned cpu)
{
	return cpu < EL2_MAX_CPUS ? (enum cpu_state)state_load(cpu) : CPU_OFF;
}

uint64_t cpus_mpidr(unsigned cpu)
{
	return cpu < EL2_MAX_CPUS ? mpidrs[cpu] : 0;
}
