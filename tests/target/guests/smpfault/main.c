/*
 * smpfault: faults and system calls on several vCPUs at once (libos on
 * several vCPUs, issue 16; tests/target/test_libos_smp.py reads the TAP).
 * Every vCPU, started through el1_cpu_start, runs each phase at the same
 * time as vCPU 0:
 *   1. demand-zero: every vCPU writes its stamp into every page of one
 *      anonymous region of libos's half, in the same order, so they fault
 *      on the same pages together: each page is zero-filled once (a vCPU
 *      that finds it mapped by another retries), and holds every stamp;
 *   2. stage-2 faults EL2 reflects: every vCPU loads from a page that
 *      stage 2 does not back, again and again; a fault hook takes each
 *      external abort on the vCPU that took it (per-vCPU fault state);
 *   3. EL0 tasks: every vCPU runs tasks from the one table at once; each
 *      task maps memory (system calls), faults it in (demand-zero from
 *      EL0), yields between writing and checking it, forks and writes
 *      after the fork (copy-on-write), keeps a value in an FP/SIMD
 *      register across yields (one in four: a task may come back on
 *      another vCPU, and the vCPU it left may run tasks that never touch
 *      FP/SIMD, so its registers would keep the task's state), and
 *      exits 0 only if all of it held; each ran once (its system calls
 *      counted);
 *   4. fewer tasks than vCPUs: the vCPUs left without one run none twice.
 * vCPU 0 waits for the others after each phase and checks the results.
 */
#include "../tap.h"

#include <arch/esr.h>
#include <el1/el1.h>
#include <el1/el0_task.h>
#include <el1/smp.h>
#include <exo/hypercall.h>
#include <libos/libos.h>
#include <libos/lock.h>
#include <libos/mm/mm.h>
#include <libos/mm/region.h>
#include <libos/task/usys.h>

#define CPUS_MAX EXO_VM_MAX_VCPUS
#define STACK_BYTES 16384
#define ZERO_PAGES 48
#define EXTABT_LOADS 8
#define UNBACKED_IPA 0x20000000ul	/* no RAM, no device: never mapped */
#define INSN_SIZE 4
#define TASKS 12
#define TASK_PAGES 4
#define TASK_VA UINT64_C(0x30000000)
#define TASK_ROUNDS 3
#define TASK_BUSY 20000
#define FP_TASK_MASK 3
#define LONG_TASKS 2
#define LONG_SYSCALLS 6
/* task_work's calls: the parent's mmap, a yield and a getid a round,
 * clone, a yield a round and munmap; the child's from the clone on. */
#define PARENT_SYSCALLS (1 + 2 * TASK_ROUNDS + 1 + TASK_ROUNDS + 1)
#define CHILD_SYSCALLS (TASK_ROUNDS + 1)
#define STAMP(cpu) (UINT64_C(0x5afe0000) + (cpu))

static uint8_t stacks[CPUS_MAX][STACK_BYTES] __attribute__((aligned(16)));
static unsigned cpus;
static unsigned phase_done;	/* vCPUs done with the current phase */
static unsigned phase_go;	/* the phase vCPU 0 let start */

/* --- task code (EL0) ------------------------------------------------------ */

/* d8 holds a value of the task's own across yields (loads and stores
 * only: the assembler allows no other FP/SIMD instruction under
 * -mgeneral-regs-only). */
EL1_TASK_FN static uint64_t fp_get(void)
{
	volatile uint64_t v;

	__asm__ volatile("str d8, [%0]" : : "r"(&v) : "memory");
	return v;
}

EL1_TASK_FN static void fp_set(uint64_t v)
{
	volatile uint64_t in = v;

	__asm__ volatile("ldr d8, [%0]" : : "r"(&in) : "v8", "memory");
}

/* Some slices' work, so that the tasks outlast a vCPU's turn and every
 * vCPU finds some to run. */
EL1_TASK_FN static void busy(void)
{
	for (volatile unsigned i = 0; i < TASK_BUSY; i++)
		;
}

/* One task in four keeps a value in d8: a vCPU one leaves runs others
 * that never touch FP/SIMD for a while, so its registers would keep the
 * task's state, which the next vCPU to run it must not miss. */
EL1_TASK_FN static bool uses_fp(uint64_t arg)
{
	return (arg & FP_TASK_MASK) == 1;
}

EL1_TASK_FN static uint64_t fp_value(uint64_t arg, unsigned round)
{
	return (arg << 8) | (round + 1);
}

/* Each wrong answer sets a bit: the exit status says which. */
EL1_TASK_FN static int task_work(uint64_t arg)
{
	volatile uint64_t *p = (volatile uint64_t *)TASK_VA;
	uint64_t words = TASK_PAGES * 4096 / 8, mine;
	int64_t child;
	int bad = 0;

	if (usys_mmap(TASK_VA, TASK_PAGES * 4096,
		      LIBOS_PROT_READ | LIBOS_PROT_WRITE,
		      LIBOS_MAP_FIXED) != (int64_t)TASK_VA)
		return 1;
	for (unsigned r = 0; r < TASK_ROUNDS; r++) {
		/* A new value each round: a copy a vCPU kept from an earlier
		 * turn is stale too. The others leave FP/SIMD alone. */
		if (uses_fp(arg))
			fp_set(fp_value(arg, r));
		for (uint64_t i = 0; i < words; i += 64)
			p[i] = (arg << 32) | (r << 16) | i;
		busy();
		usys_yield();
		for (uint64_t i = 0; i < words; i += 64)
			if (p[i] != ((arg << 32) | (r << 16) | i))
				bad |= 2;
		if (usys_getid() <= 0)
			bad |= 4;
		if (uses_fp(arg) && fp_get() != fp_value(arg, r))
			bad |= 8;
	}
	child = usys_clone();
	if (child < 0)
		return bad | 16;
	mine = child ? arg : ~arg;
	p[0] = mine;		/* copy-on-write: each its own page */
	for (unsigned r = 0; r < TASK_ROUNDS; r++) {
		usys_yield();
		if (p[0] != mine)
			bad |= 32;
	}
	if (usys_munmap(TASK_VA, TASK_PAGES * 4096))
		bad |= 64;
	return bad;
}

/* Long, with few system calls: fewer tasks than vCPUs, so the vCPUs left
 * without one must not take one another runs (each would make its calls
 * again: LONG_SYSCALLS each, counted). */
EL1_TASK_FN static int task_long(uint64_t arg)
{
	(void)arg;
	for (unsigned r = 0; r < LONG_SYSCALLS; r++) {
		busy();
		usys_yield();
	}
	return 0;
}

/* --- phases (EL1, every vCPU) ---------------------------------------------- */

static uint64_t zero_va;
static uint64_t extabt_va;
static unsigned extabt_taken[CPUS_MAX];

#define PHASES 4

static void touch_pages(unsigned cpu)
{
	uint64_t page = libos_mm_info()->page_size;

	for (unsigned i = 0; i < ZERO_PAGES; i++)
		*(volatile uint64_t *)(uintptr_t)(zero_va + i * page +
						  cpu * 8) = STAMP(cpu);
}

/* The hook runs on the vCPU that took the abort, under libos's lock. */
static bool on_extabt(struct libos_fault *f)
{
	if (f->far != extabt_va)
		return false;
	extabt_taken[libos_cpu_self()]++;
	f->elr += INSN_SIZE;	/* past the load */
	return true;
}

static void load_unbacked(void)
{
	for (unsigned i = 0; i < EXTABT_LOADS; i++) {
		uint64_t v;

		__asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(extabt_va)
				 : "memory");
	}
}

static unsigned arrived[PHASES + 1];

/* Every vCPU at the start line before any runs phase n (else, under
 * -icount's deterministic schedule, one vCPU may be done before the
 * others begin). */
static void barrier(unsigned n)
{
	__atomic_fetch_add(&arrived[n], 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&arrived[n], __ATOMIC_ACQUIRE) < cpus)
		exo_call0(EXO_HVC_YIELD);
}

static void phase(unsigned cpu, unsigned n)
{
	barrier(n);
	switch (n) {
	case 1:
		touch_pages(cpu);
		break;
	case 2:
		load_unbacked();
		break;
	default:	/* 3 and 4 */
		el1_tasks_run();
		break;
	}
}

static void wait_go(unsigned n)
{
	while (__atomic_load_n(&phase_go, __ATOMIC_ACQUIRE) < n)
		exo_call0(EXO_HVC_YIELD);
}

static void worker(unsigned cpu, void *arg)
{
	(void)arg;
	for (unsigned n = 1; n <= PHASES; n++) {
		wait_go(n);
		phase(cpu, n);
		__atomic_fetch_add(&phase_done, 1, __ATOMIC_RELEASE);
	}
}

/* vCPU 0: lets phase n start, runs it too, waits for the others. */
static void run_phase(unsigned n, unsigned started)
{
	__atomic_store_n(&phase_done, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&phase_go, n, __ATOMIC_RELEASE);
	phase(0, n);
	while (__atomic_load_n(&phase_done, __ATOMIC_ACQUIRE) != started)
		exo_call0(EXO_HVC_YIELD);
}

/* --- checks (vCPU 0) ------------------------------------------------------ */

static int add_region(uint64_t va, uint64_t pages)
{
	struct libos_region r = {
		.start = va, .end = va + pages * libos_mm_info()->page_size,
		.kind = LIBOS_REGION_ANON, .attrs = PGTABLE_KERNEL_RW,
	};

	return libos_region_insert(libos_kernel_aspace(), &r);
}

static bool every_stamp(void)
{
	uint64_t page = libos_mm_info()->page_size;

	for (unsigned i = 0; i < ZERO_PAGES; i++)
		for (unsigned c = 0; c < cpus; c++)
			if (*(volatile uint64_t *)(uintptr_t)(zero_va +
							      i * page +
							      c * 8) !=
			    STAMP(c))
				return false;
	return true;
}

static void check_tasks(const int *ids)
{
	unsigned good = 0, ran = 0, vcpus_ran = 0, calls = 0;

	for (int id = 1; id <= LIBOS_TASKS_MAX; id++) {
		struct libos_task *t = libos_task_get(id);

		if (!t)
			continue;
		ran++;
		calls += t->syscalls;
		if (t->state == LIBOS_TASK_EXITED && t->status == 0)
			good++;
		else
			kprintf("task %d: state %d, status %ld\n", id, t->state,
				(long)t->status);
	}
	for (unsigned c = 0; c < cpus; c++) {
		kprintf("vCPU %u entered tasks %u times\n", c,
			libos_tasks_entered(c));
		vcpus_ran += libos_tasks_entered(c) > 0;
	}
	(void)ids;
	TAP_CHECK(ran == 2 * TASKS && good == ran,
		  "%u of %u tasks (forks included) exited 0", good, ran);
	TAP_CHECK(vcpus_ran == cpus, "every vCPU ran tasks (%u of %u)",
		  vcpus_ran, cpus);
	TAP_CHECK(calls == TASKS * (PARENT_SYSCALLS + CHILD_SYSCALLS),
		  "each task ran once: %u system calls", calls);
}

/* Two long tasks, four vCPUs at tasks_run: the two left without one
 * return at once and run nobody's twice. */
static void check_long(const int *ids)
{
	unsigned good = 0;

	for (unsigned i = 0; i < LONG_TASKS; i++) {
		struct libos_task *t = libos_task_get(ids[i]);

		good += t && t->state == LIBOS_TASK_EXITED && t->status == 0 &&
			t->syscalls == LONG_SYSCALLS;
	}
	TAP_CHECK(good == LONG_TASKS,
		  "fewer tasks than vCPUs: each ran once (%u of %u)", good,
		  LONG_TASKS);
}

int main(int argc, char **argv)
{
	const struct libos_mm_info *mi = libos_mm_info();
	struct libos_vm_stats before, after;
	unsigned started = 0, taken = 0;
	int ids[TASKS];

	(void)argc, (void)argv;
	cpus = el1_boot_info()->cpus;
	if (cpus > CPUS_MAX)
		cpus = CPUS_MAX;
	zero_va = mi->vmap_base + 64 * mi->page_size;
	TAP_CHECK(add_region(zero_va, ZERO_PAGES) == 0,
		  "an anonymous region of %u pages", ZERO_PAGES);
	libos_dmap_map(UNBACKED_IPA, mi->page_size);
	extabt_va = (uint64_t)(uintptr_t)libos_dmap_phys_to_virt(UNBACKED_IPA);
	libos_fault_set_hook(on_extabt);
	TAP_CHECK(el1_tasks_init() == 0, "tasks set up");
	for (unsigned i = 0; i < TASKS; i++)
		ids[i] = el1_task_spawn(task_work, i + 1);
	for (unsigned c = 1; c < cpus; c++)
		started += el1_cpu_start(c, worker, NULL,
					 stacks[c] + STACK_BYTES) == 0;
	TAP_CHECK(started + 1 == cpus && cpus > 1, "%u vCPUs started",
		  started + 1);

	libos_vm_stats(&before);
	run_phase(1, started);
	libos_vm_stats(&after);
	TAP_CHECK(every_stamp(), "every page holds every vCPU's stamp");
	TAP_CHECK(after.demand_zero - before.demand_zero == ZERO_PAGES,
		  "each page zero-filled once (%lu for %u pages)",
		  (unsigned long)(after.demand_zero - before.demand_zero),
		  ZERO_PAGES);

	run_phase(2, started);
	for (unsigned c = 0; c < cpus; c++)
		taken += extabt_taken[c] == EXTABT_LOADS;
	TAP_CHECK(taken == cpus,
		  "every vCPU took its %u reflected aborts (%u of %u)",
		  EXTABT_LOADS, taken, cpus);

	run_phase(3, started);
	check_tasks(ids);
	for (unsigned i = 0; i < LONG_TASKS; i++)
		ids[i] = el1_task_spawn(task_long, i);
	run_phase(4, started);
	check_long(ids);
	kprintf("libos's lock: %lu waits, %lu slices yielded\n",
		(unsigned long)libos_lock.waits,
		(unsigned long)libos_lock.yields);
	libos_tasks_print_stats();
	TAP_CHECK(libos_check() == NULL, "pool and heap consistent");
	return tap_done();
}
