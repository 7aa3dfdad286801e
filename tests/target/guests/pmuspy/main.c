/*
 * pmuspy: the virtual PMU under attack (issue 14, tests/target/test_pmu.py).
 *
 *   pmuspy --spy=R      counts across R of its own yields and R null
 *                       hypercalls: the cycle counter and event counter 0
 *                       asking for EL2 too (NSH), event counter 1 for EL2
 *                       only, event counter 2 for EL1 only. It prints the
 *                       counts of a hypercall and the least and most of a
 *                       yield: with a PMU of its own they are the same, and
 *                       EL2 counts 0.
 *   pmuspy --victim=S   a secret S: for each bit set, hypercalls and a
 *                       loop at EL1 whose lengths depend on the bit; a
 *                       yield after each bit. It uses the PMU too.
 *   pmuspy --meddle=R   R times: resets and disables every counter, sets
 *                       every overflow flag and interrupt enable, asks for
 *                       EL2, then yields.
 *   pmuspy --el0=1|0    with 1 it lets EL0 use the PMU (PMUSERENR_EL0.EN)
 *                       and yields a few times; either way an EL0 task
 *                       reads the cycle counter: allowed with 1, killed
 *                       (the access trapped to this guest's EL1) with 0,
 *                       whatever another guest left in PMUSERENR_EL0.
 */
#include <arch/sysreg.h>
#include <el1/el0_task.h>
#include <el1/el1.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <stdbool.h>
#include <stdint.h>

#define ROUNDS_MAX 1000
#define SECRET_BITS 32
#define CALLS_PER_BIT 3         /* null hypercalls for a set bit ... */
#define LOOP_PER_BIT 100        /* ... and loop iterations, times the bit */
#define ALL_COUNTERS 0xffffffffull

static unsigned arg_uint(int argc, char **argv, const char *key, bool *given)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *k = key;

		while (*k && *a == *k)
			a++, k++;
		if (!*k) {
			unsigned v = 0;

			while (*a >= '0' && *a <= '9')
				v = v * 10 + (unsigned)(*a++ - '0');
			*given = true;
			return v;
		}
	}
	return 0;
}

/* --- spy ----------------------------------------------------------------- */

struct counts {
	uint64_t total, el2, el2_only, el1;
};

static void pmu_program(void)
{
	write_sysreg(PMU_FILTER_NSH | PMU_FILTER_U, pmccfiltr_el0);
	write_sysreg(PMU_FILTER_NSH | PMU_FILTER_U | PMU_EVENT_INST_RETIRED,
		     pmevtyper0_el0);
	write_sysreg(PMU_FILTER_P | PMU_FILTER_U | PMU_FILTER_NSH |
		     PMU_EVENT_INST_RETIRED, pmevtyper1_el0);
	write_sysreg(PMU_FILTER_U | PMU_EVENT_INST_RETIRED, pmevtyper2_el0);
	write_sysreg(PMCNTEN_C | BIT(0) | BIT(1) | BIT(2), pmcntenset_el0);
	write_sysreg(PMCR_E | PMCR_P | PMCR_C | PMCR_LC, pmcr_el0);
	isb();
}

/* One hypercall (fid) between two readings of every counter; the same
 * instructions at EL1 whatever fid is. */
static __attribute__((noinline)) struct counts across(uint64_t fid)
{
	struct counts a, b;

	isb();
	a.total = read_sysreg(pmccntr_el0);
	a.el2 = read_sysreg(pmevcntr0_el0);
	a.el2_only = read_sysreg(pmevcntr1_el0);
	a.el1 = read_sysreg(pmevcntr2_el0);
	exo_hvc(fid, 0, 0, 0, 0, 0, 0, 0);
	isb();
	b.total = read_sysreg(pmccntr_el0);
	b.el2 = read_sysreg(pmevcntr0_el0);
	b.el2_only = read_sysreg(pmevcntr1_el0);
	b.el1 = read_sysreg(pmevcntr2_el0);
	return (struct counts){ b.total - a.total, b.el2 - a.el2,
				b.el2_only - a.el2_only, b.el1 - a.el1 };
}

static void fold(struct counts *lo, struct counts *hi, struct counts c)
{
#define FOLD(f)                                                              \
	do {                                                                 \
		if (c.f < lo->f) lo->f = c.f;                                \
		if (c.f > hi->f) hi->f = c.f;                                \
	} while (0)
	FOLD(total);
	FOLD(el2);
	FOLD(el2_only);
	FOLD(el1);
#undef FOLD
}

static void print(const char *what, struct counts lo, struct counts hi)
{
	kprintf("spy: %s total %lu..%lu el2+ %lu..%lu el2 %lu..%lu "
		"el1 %lu..%lu\n", what, (unsigned long)lo.total,
		(unsigned long)hi.total, (unsigned long)lo.el2,
		(unsigned long)hi.el2, (unsigned long)lo.el2_only,
		(unsigned long)hi.el2_only, (unsigned long)lo.el1,
		(unsigned long)hi.el1);
}

static int spy(unsigned rounds)
{
	const struct counts none = { UINT64_MAX, UINT64_MAX, UINT64_MAX,
				     UINT64_MAX };
	struct counts call_lo = none, call_hi = { 0 };
	struct counts yield_lo = none, yield_hi = { 0 };

	pmu_program();
	for (unsigned i = 0; i < rounds; i++) {
		fold(&call_lo, &call_hi, across(EXO_HVC_VERSION));
		fold(&yield_lo, &yield_hi, across(EXO_HVC_YIELD));
	}
	print("hypercall", call_lo, call_hi);
	print("yield", yield_lo, yield_hi);
	return 0;
}

/* --- victim -------------------------------------------------------------- */

static int victim(unsigned secret)
{
	uint64_t start;

	pmu_program();
	start = read_sysreg(pmevcntr2_el0);
	for (unsigned bit = 0; bit < SECRET_BITS; bit++) {
		unsigned set = (secret >> bit) & 1;
		unsigned loops = set * LOOP_PER_BIT * (bit + 1);

		for (unsigned i = 0; i < set * CALLS_PER_BIT; i++)
			exo_hvc(EXO_HVC_VERSION, 0, 0, 0, 0, 0, 0, 0);
		for (volatile unsigned i = 0; i < loops; i++)
			;
		exo_yield();
	}
	kprintf("victim: done, %lu instructions at EL1\n",
		(unsigned long)(read_sysreg(pmevcntr2_el0) - start));
	return 0;
}

/* --- meddler ------------------------------------------------------------- */

static int meddle(unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++) {
		write_sysreg(PMCR_P | PMCR_C, pmcr_el0);
		write_sysreg(ALL_COUNTERS, pmcntenclr_el0);
		write_sysreg(ALL_COUNTERS, pmovsset_el0);
		write_sysreg(ALL_COUNTERS, pmintenset_el1);
		write_sysreg(PMU_FILTER_NSH, pmccfiltr_el0);
		write_sysreg(PMU_FILTER_NSH | PMU_EVENT_INST_RETIRED,
			     pmevtyper0_el0);
		write_sysreg(0, pmselr_el0);
		isb();
		exo_yield();
	}
	kprintf("meddler: %d rounds, overflow flags 0x%lx, PMCCFILTR 0x%lx\n",
		rounds, (unsigned long)read_sysreg(pmovsset_el0),
		(unsigned long)read_sysreg(pmccfiltr_el0));
	return 0;
}

/* --- EL0 access ---------------------------------------------------------- */

#define PMUSERENR_EN 1u
#define EL0_YIELDS 8

EL1_TASK_FN static int task_read_cycles(uint64_t arg)
{
	(void)arg;
	return read_sysreg(pmccntr_el0) == UINT64_MAX; /* 0: it was read */
}

static int el0(unsigned allow)
{
	int rc = el1_tasks_init(), id;
	struct libos_task *t;

	if (rc < 0) {
		kprintf("el0: no tasks (%d)\n", rc);
		return 1;
	}
	if (allow) {
		write_sysreg(PMUSERENR_EN, pmuserenr_el0);
		isb();
	}
	for (unsigned i = 0; i < EL0_YIELDS; i++)
		exo_yield();
	id = el1_task_spawn(task_read_cycles, 0);
	if (id < 0) {
		kprintf("el0: spawn failed (%d)\n", id);
		return 1;
	}
	el1_tasks_run();
	t = libos_task_get(id);
	kprintf("el0: PMUSERENR_EL0 0x%lx, the task %s with status %ld\n",
		(unsigned long)read_sysreg(pmuserenr_el0),
		t->state == LIBOS_TASK_KILLED ? "was killed" : "exited",
		(long)t->status);
	return 0;
}

EL1_GUEST_OPTIONS("--spy=", "--victim=", "--meddle=", "--el0=");

int main(int argc, char **argv)
{
	bool is_spy = false, is_victim = false, is_meddler = false;
	unsigned rounds = arg_uint(argc, argv, "--spy=", &is_spy);
	unsigned secret = arg_uint(argc, argv, "--victim=", &is_victim);
	unsigned meddles = arg_uint(argc, argv, "--meddle=", &is_meddler);
	bool is_el0 = false;
	unsigned allow = arg_uint(argc, argv, "--el0=", &is_el0);

	if (is_spy && rounds >= 1 && rounds <= ROUNDS_MAX)
		return spy(rounds);
	if (is_victim)
		return victim(secret);
	if (is_meddler && meddles <= ROUNDS_MAX)
		return meddle(meddles);
	if (is_el0 && allow <= 1)
		return el0(allow);
	kprintf("usage: --spy=1..%d | --victim=S | --meddle=0..%d | "
		"--el0=0|1\n",
		ROUNDS_MAX, ROUNDS_MAX);
	return 1;
}
