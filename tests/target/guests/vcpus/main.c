/*
 * vcpus: a guest of several vCPUs (manifest `cpus`; issue 16). vCPU 0
 * starts the others through PSCI CPU_ON (el1/smp.h); each checks the MPIDR
 * it reads and adds to one shared counter with load/store-exclusive pairs,
 * ROUNDS times, while EL2 switches vCPUs under it; vCPU 0 adds too, waits
 * with AFFINITY_INFO until all are off and checks the sum (a lost update:
 * an exclusive reservation carried across a vCPU switch). Then PSCI's
 * refusals: a vCPU that is on, one the guest does not have, an MPIDR with
 * other affinity bits, CPU_OFF of the last vCPU on; and a vCPU started a
 * second time runs what it is given then. With `--single` (cpus = 1) every CPU_ON is
 * refused and the MPIDR says uniprocessor.
 */
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <el1/smp.h>
#include <exo/hvc.h>
#include <exo/hypercall.h>
#include <string.h>

#include "../tap.h"

#define ROUNDS 200000u	/* ~1M instructions: many 100-us slices */
#define STACK_BYTES 8192
#define MPIDR_U (1ul << 30)
#define MPIDR_AFF1_ONE (1ul << 8)

static uint8_t stacks[EXO_VM_MAX_VCPUS][STACK_BYTES]
	__attribute__((aligned(16)));
static uint64_t counter;
static uint64_t mpidr_seen[EXO_VM_MAX_VCPUS];
static unsigned runs[EXO_VM_MAX_VCPUS], second[EXO_VM_MAX_VCPUS];

static void *stack_top(unsigned cpu)
{
	return stacks[cpu] + STACK_BYTES;
}

static void add_rounds(void)
{
	for (unsigned i = 0; i < ROUNDS; i++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
}

static void worker(unsigned cpu, void *arg)
{
	(void)arg;
	mpidr_seen[cpu] = read_sysreg(mpidr_el1);
	__atomic_fetch_add(&runs[cpu], 1, __ATOMIC_RELAXED);
	add_rounds();
}

/* A second life: its own function and argument, not the first's. */
static void again(unsigned cpu, void *arg)
{
	second[cpu] = (unsigned)(uintptr_t)arg;
	__atomic_fetch_add(&runs[cpu], 1, __ATOMIC_RELAXED);
}

static void wait_off(unsigned cpus)
{
	for (unsigned c = 1; c < cpus; c++)
		while (el1_cpu_state(c) != EXO_PSCI_AFF_OFF)
			exo_call0(EXO_HVC_YIELD);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

EL1_GUEST_OPTIONS("--single");

static int single(void)
{
	TAP_CHECK(read_sysreg(mpidr_el1) & MPIDR_U,
		  "one vCPU: MPIDR says uniprocessor");
	TAP_CHECK(el1_cpu_start(1, worker, NULL, stack_top(1)) ==
			  EXO_PSCI_INVALID_PARAMETERS,
		  "CPU_ON of a vCPU the guest does not have is refused");
	TAP_CHECK(exo_call0(EXO_PSCI_CPU_OFF).status == EXO_PSCI_DENIED,
		  "CPU_OFF of the only vCPU is denied");
	return tap_done();
}

int main(int argc, char **argv)
{
	unsigned cpus = el1_boot_info()->cpus;
	bool ok = true;

	if (argc > 1 && !strcmp(argv[1], "--single"))
		return single();
	TAP_CHECK(cpus > 1 && el1_cpu_self() == 0 &&
			  !(read_sysreg(mpidr_el1) & MPIDR_U),
		  "%u vCPUs, this is vCPU 0, not a uniprocessor", cpus);
	for (unsigned c = 1; c < cpus; c++)
		ok &= el1_cpu_start(c, worker, NULL, stack_top(c)) == 0;
	TAP_CHECK(ok, "CPU_ON started vCPUs 1..%u", cpus - 1);
	TAP_CHECK(el1_cpu_start(1, worker, NULL, stack_top(1)) ==
			  EXO_PSCI_ALREADY_ON ||
			  el1_cpu_state(1) == EXO_PSCI_AFF_OFF,
		  "CPU_ON of a vCPU that is on: ALREADY_ON");
	add_rounds();
	wait_off(cpus);
	TAP_CHECK(counter == (uint64_t)cpus * ROUNDS,
		  "no update lost: %lu of %lu", (unsigned long)counter,
		  (unsigned long)cpus * ROUNDS);
	ok = true;
	for (unsigned c = 1; c < cpus; c++)
		ok &= (mpidr_seen[c] & 0xff00ffffff) == c && runs[c] == 1;
	TAP_CHECK(ok, "each vCPU read its own MPIDR affinity and ran once");
	TAP_CHECK(exo_call3(EXO_PSCI_CPU_ON, 0, 0, 0).status ==
			  EXO_PSCI_ALREADY_ON,
		  "CPU_ON of the caller itself: ALREADY_ON");
	TAP_CHECK(el1_cpu_start(cpus, worker, NULL, stack_top(1)) ==
			  EXO_PSCI_INVALID_PARAMETERS,
		  "CPU_ON past the manifest's cpus: INVALID_PARAMETERS");
	TAP_CHECK(exo_call3(EXO_PSCI_CPU_ON, MPIDR_AFF1_ONE | 1, 0, 0).status ==
			  EXO_PSCI_INVALID_PARAMETERS &&
			  exo_call2(EXO_PSCI_AFFINITY_INFO, MPIDR_AFF1_ONE | 1,
				    0).status == EXO_PSCI_INVALID_PARAMETERS,
		  "another affinity level names no vCPU");
	TAP_CHECK(exo_call0(EXO_PSCI_CPU_OFF).status == EXO_PSCI_DENIED,
		  "CPU_OFF of the last vCPU on is denied");
	TAP_CHECK(el1_cpu_start(1, again, (void *)42, stack_top(1)) == 0,
		  "a vCPU that went off starts again");
	wait_off(2);
	TAP_CHECK(runs[1] == 2 && second[1] == 42,
		  "and runs its new function with its new argument");
	return tap_done();
}
