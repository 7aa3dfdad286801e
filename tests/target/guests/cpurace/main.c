/*
 * cpurace: guests whose vCPUs run on several physical CPUs at once
 * (issue 16; tests/target/test_smp.py, systems/cpurace.dts).
 *
 * "--owner" and "--reader" race an unshare against reads on other CPUs:
 * the owner shares a frame with the reader, whose three started vCPUs
 * (each on its own CPU, away from the owner's) read it in a loop
 * (reader.S); the owner unshares it, fills it with poison and notifies;
 * the reader's vCPU 0 then sets a control word the readers load (with
 * acquire) before each read. Every read after the unshare completed must
 * abort: a reader that saw the control word set and still read the frame,
 * or read the poison, is a failure. Each reader must end in an abort.
 *
 * "--teardown": once the reader (whose vCPUs share their CPUs) has ended,
 * vCPU 0 starts its three others spinning on their CPUs, waits until each
 * has run, and exits under them: EL2 must stop them on their CPUs
 * before it scrubs a frame (the system's end and the summary's frames
 * show it).
 *
 * "--sibling-exits": vCPU 1 ends the guest (EXIT) while vCPU 0 yields in a
 * loop: the teardown's turns are vCPU 0's, and they must come once vCPU 1
 * has left its CPU, on the same CPU as vCPU 0 (one CPU) or another.
 */
#include <el1/el1.h>
#include <el1/smp.h>
#include <exo/frame.h>
#include <exo/hypercall.h>
#include <string.h>

#include "../accept.h"
#include "../faultcatch.h"
#include "../tap.h"

#define GOOD 0x676f6f64676f6f64ull     /* "goodgood" */
#define POISON 0x706f69736f6e2121ull   /* "poison!!" */
#define STACK_BYTES 8192
#define CACHE_LINE 64

/* reader.S's slot, one cache line per vCPU. */
struct reader_slot {
	uint64_t reads, late, poison, aborted, esr;
} __attribute__((aligned(CACHE_LINE)));

void reader_run(volatile uint64_t *shared, volatile uint64_t *control,
		volatile struct reader_slot *slot, uint64_t good);

static uint8_t stacks[EXO_VM_MAX_VCPUS][STACK_BYTES]
	__attribute__((aligned(16)));
static volatile struct reader_slot slots[EXO_VM_MAX_VCPUS];
static volatile uint64_t control;
static volatile uint64_t *shared;
static volatile uint64_t spins[EXO_VM_MAX_VCPUS * (CACHE_LINE / 8)];

static uint64_t peer(const char *name)
{
	struct exo_ret r = exo_vm_lookup(name);

	TAP_CHECK(r.status == EXO_OK, "found '%s': VM %lu", name,
		  (unsigned long)r.x1);
	return r.x1;
}

static void *stack_top(unsigned cpu)
{
	return stacks[cpu] + STACK_BYTES;
}

static void wait_off(unsigned cpus)
{
	for (unsigned c = 1; c < cpus; c++)
		while (el1_cpu_state(c) != EXO_PSCI_AFF_OFF)
			exo_yield();
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/* --- the owner ------------------------------------------------------------ */

static int owner(void)
{
	uint64_t r = peer("reader");
	struct exo_ret a = exo_frame_alloc(1, 0);
	volatile uint64_t *words;

	TAP_CHECK(a.status == EXO_OK, "allocated the frame to share");
	if (a.status != EXO_OK)
		return tap_done();
	words = pa_map(a.x1, EXO_FRAME_SIZE);
	for (unsigned i = 0; i < EXO_FRAME_SIZE / 8; i++)
		words[i] = GOOD;
	TAP_CHECK(exo_frame_share(a.x1, 1, r, EXO_SHARE_R) == EXO_OK &&
			  exo_notify(r) == EXO_OK,
		  "offered it to the reader");
	wait_notified(r);   /* its readers run */
	TAP_CHECK(exo_frame_unshare(a.x1, 1, r) == EXO_OK,
		  "unshared it while the readers read");
	for (unsigned i = 0; i < EXO_FRAME_SIZE / 8; i++)
		words[i] = POISON;
	TAP_CHECK(exo_notify(r) == EXO_OK, "poisoned it and told the reader");
	wait_notified(r);   /* the reader has checked */
	return tap_done();
}

/* --- the reader ----------------------------------------------------------- */

static void reader(unsigned cpu, void *arg)
{
	(void)arg;
	reader_run(shared, &control, &slots[cpu], GOOD);
}

static uint64_t accept_share(uint64_t o)
{
	struct exo_ret r;

	wait_notified(o);
	r = exo_frame_offer(0);
	if (r.status != EXO_OK || EXO_OFFER_SENDER(r.x1) != o)
		return 0;
	return exo_frame_accept(r.x2, r.x3, o, (unsigned)EXO_OFFER_KIND(r.x1)) ==
			       EXO_OK
		       ? r.x2
		       : 0;
}

static bool readers_read(unsigned cpus)
{
	for (unsigned c = 1; c < cpus; c++)
		if (!slots[c].reads && el1_cpu_state(c) == EXO_PSCI_AFF_ON)
			return false;
	return true;
}

static void check_readers(unsigned cpus)
{
	for (unsigned c = 1; c < cpus; c++) {
		TAP_CHECK(slots[c].reads > 0, "reader %u read the share %lu times",
			  c, (unsigned long)slots[c].reads);
		TAP_CHECK(!slots[c].late && !slots[c].poison,
			  "reader %u: no read after the unshare completed", c);
		TAP_CHECK(slots[c].aborted &&
				  ESR_EC(slots[c].esr) == ESR_EC_DABT_CUR,
			  "reader %u ended in a data abort (ESR 0x%lx)", c,
			  (unsigned long)slots[c].esr);
	}
}

static int read_race(void)
{
	uint64_t o = peer("owner"), pa = accept_share(o);
	unsigned cpus = el1_boot_info()->cpus, n;
	bool ok = true;

	TAP_CHECK(pa != 0, "accepted the owner's share");
	if (!pa)
		return tap_done();
	faultcatch_install();
	shared = pa_map(pa, EXO_FRAME_SIZE);
	TAP_CHECK(*shared == GOOD, "vCPU 0 reads it");
	for (unsigned c = 1; c < cpus; c++)
		ok &= el1_cpu_start(c, reader, NULL, stack_top(c)) == 0;
	TAP_CHECK(ok, "started %u readers", cpus - 1);
	while (!readers_read(cpus))
		exo_yield();
	TAP_CHECK(exo_notify(o) == EXO_OK, "the readers read: told the owner");
	wait_notified(o);
	__atomic_store_n(&control, 1, __ATOMIC_RELEASE);
	wait_off(cpus);
	check_readers(cpus);
	n = caught.count;
	probe_read(pa);
	TAP_CHECK(faultcatch_external(n, pa), "vCPU 0 cannot read it either");
	TAP_CHECK(exo_notify(o) == EXO_OK, "told the owner");
	return tap_done();
}

/* --- teardown under running vCPUs ----------------------------------------- */

static void spinner(unsigned cpu, void *arg)
{
	volatile uint64_t *count = &spins[cpu * (CACHE_LINE / 8)];

	(void)arg;
	for (;;)
		*count = *count + 1;
}

static _Noreturn void teardown(void)
{
	unsigned cpus = el1_boot_info()->cpus;
	bool ok = true;

	/* The reader's vCPUs share CPUs 1-3 with the spinners: once it has
	 * ended, the spinners on CPUs other than this vCPU's have theirs to
	 * themselves, so they are on them when this one exits, however the
	 * slices fall (under -icount every instruction count along the way
	 * fixes that), and the reader's race meets no spinner. */
	while (exo_vm_lookup("reader").x2 & EXO_VM_RUNS)
		exo_yield();
	for (unsigned c = 1; c < cpus; c++)
		ok &= el1_cpu_start(c, spinner, NULL, stack_top(c)) == 0;
	TAP_CHECK(ok, "started %u spinning vCPUs", cpus - 1);
	for (unsigned c = 1; c < cpus; c++)
		while (!spins[c * (CACHE_LINE / 8)])
			exo_yield();
	TAP_CHECK(true, "each of them ran");
	exo_exit(tap_done());   /* under them */
}

static void exits(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	exo_exit(0);
}

static _Noreturn void sibling_exits(void)
{
	TAP_CHECK(el1_cpu_start(1, exits, NULL, stack_top(1)) == 0,
		  "started vCPU 1, which exits");
	for (;;)
		exo_yield();
}

EL1_GUEST_OPTIONS("--owner", "--reader", "--teardown", "--sibling-exits");

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--owner"))
		return owner();
	if (argc > 1 && !strcmp(argv[1], "--reader"))
		return read_race();
	if (argc > 1 && !strcmp(argv[1], "--teardown"))
		teardown();
	if (argc > 1 && !strcmp(argv[1], "--sibling-exits"))
		sibling_exits();
	TAP_CHECK(false, "an option: --owner, --reader, --teardown or "
			 "--sibling-exits");
	return tap_done();
}
