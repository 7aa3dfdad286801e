/*
 * The VMID allocator (el2/vmid.c) with modelled CPUs: a guest keeps its
 * VMID while its generation is current; a rollover comes when a
 * generation's VMIDs are all given, and invalidates every VMID's entries
 * (TLBI ALLE1IS, recorded by the fake arch) before any VMID goes to another
 * guest; the VMIDs loaded on other CPUs at a rollover stay their guests'.
 * QEMU's TLBs are flushed more eagerly than the architecture allows, so a
 * missing invalidation would pass on target: these tests are the proof.
 */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/vmid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NR_CPUS 4u
#define VMIDS_8BIT 255u

static void setup(void)
{
	fake_reset();
	fake_s2_reset();
	vmid_init(8, EXO_MAX_VMS - 1);   /* more guests than VMIDs: leases */
}

TestSuite(vmid, .init = setup);

static size_t invalidations(void)
{
	return fake_s2.count[FAKE_S2_TLBI_ALL];
}

Test(vmid, a_guest_keeps_its_vmid_while_its_generation_is_current)
{
	cr_assert_eq(vmid_current(5), VMID_NONE, "no lease before a load");
	cr_assert_eq(vmid_load(5, 0), 5, "its VM id, free");
	for (unsigned vm = 6; vm < 100; vm++)
		vmid_load(vm, 0);
	cr_assert_eq(vmid_load(5, 1), 5, "on another CPU too");
	cr_assert_eq(vmid_load(5, 0), 5);
	cr_assert_eq(vmid_current(5), 5);
	cr_assert_eq(invalidations(), 0);
	cr_assert_eq(vmid_rollovers(), 0);
}

Test(vmid, ids_beyond_the_vmids_take_free_ones)
{
	cr_assert_eq(vmid_load(300, 0), 1, "300 has no 8-bit VMID: the first");
	cr_assert_eq(vmid_load(1, 0), 2, "VM 1's own VMID is taken");
	cr_assert_eq(vmid_per_generation(), VMIDS_8BIT);
}

/* The 256th guest finds every VMID given: a rollover, with the broadcast
 * invalidation, and it gets a VMID other than the one loaded on the CPU. */
Test(vmid, rollover_when_a_generation_is_used_up)
{
	for (unsigned vm = 1; vm <= VMIDS_8BIT; vm++)
		cr_assert_eq(vmid_load(vm, 0), vm);
	cr_assert_eq(invalidations(), 0);
	cr_assert_neq(vmid_load(VMIDS_8BIT + 1, 0), VMIDS_8BIT,
		      "VM 255's VMID was active on CPU 0 at the rollover");
	cr_assert_eq(invalidations(), 1);
	cr_assert_eq(vmid_rollovers(), 1);
	/* VM 1's lease is stale: it gets a VMID of the new generation. */
	cr_assert_neq(vmid_load(1, 0), vmid_current(VMIDS_8BIT + 1));
	cr_assert_eq(invalidations(), 1, "one rollover, one invalidation");
}

/* CPUs 1..3 run guests 1..3; CPU 0 goes through more guests than there are
 * VMIDs. Across each rollover the running guests keep their VMIDs (a
 * reload gives the same one, without a new invalidation) and nobody else
 * is given them. */
Test(vmid, vmids_active_on_other_cpus_survive_rollovers)
{
	unsigned mine[NR_CPUS];

	for (unsigned c = 1; c < NR_CPUS; c++)
		mine[c] = vmid_load(c, c);
	for (unsigned vm = 10; vm < 10 + 3 * VMIDS_8BIT; vm++) {
		unsigned n = vmid_load(vm, 0);

		for (unsigned c = 1; c < NR_CPUS; c++)
			cr_assert_neq(n, mine[c], "VM %u got CPU %u's VMID %u",
				      vm, c, n);
	}
	cr_assert_geq(vmid_rollovers(), 2, "two rollovers at least");
	for (unsigned c = 1; c < NR_CPUS; c++) {
		size_t before = invalidations();

		cr_assert_eq(vmid_current(c), mine[c]);
		cr_assert_eq(vmid_load(c, c), mine[c], "CPU %u's guest", c);
		cr_assert_eq(invalidations(), before);
	}
}

/* A guest running on two CPUs at a rollover (two vCPUs): both keep it. */
Test(vmid, a_guest_on_two_cpus_keeps_one_vmid)
{
	unsigned n = vmid_load(7, 1);

	cr_assert_eq(vmid_load(7, 2), n);
	for (unsigned vm = 20; vm < 20 + VMIDS_8BIT; vm++)
		cr_assert_neq(vmid_load(vm, 0), n);
	cr_assert_eq(vmid_rollovers(), 1);
	cr_assert_eq(vmid_load(7, 2), n);
	cr_assert_eq(vmid_load(7, 1), n);
}

Test(vmid, sixteen_bits_give_every_guest_its_id)
{
	vmid_init(16, EXO_MAX_VMS - 1);
	cr_assert(vmid_fixed, "1,023 ids, 65,535 VMIDs");
	for (unsigned vm = 1; vm < EXO_MAX_VMS; vm++) {
		cr_assert_eq(vmid_current(vm), vm, "before its first load");
		cr_assert_eq(vmid_load(vm, vm % NR_CPUS), vm);
	}
	cr_assert_eq(vmid_rollovers(), 0);
	cr_assert_eq(invalidations(), 0);
}

/* 8-bit VMIDs and no more guests than VMIDs (the manifest's ids 1..255):
 * each VMID is its guest's id for good, whatever loads where. */
Test(vmid, as_many_guests_as_vmids_keep_their_ids_for_good)
{
	vmid_init(8, VMIDS_8BIT);
	cr_assert(vmid_fixed);
	for (unsigned round = 0; round < 3; round++)
		for (unsigned vm = VMIDS_8BIT; vm >= 1; vm--) {
			cr_assert_eq(vmid_load(vm, (vm + round) % NR_CPUS), vm);
			cr_assert_eq(vmid_current(vm), vm);
		}
	cr_assert_eq(vmid_rollovers(), 0);
	cr_assert_eq(invalidations(), 0);
}

/* One guest more than VMIDs: leases, which roll over. */
Test(vmid, one_guest_more_than_vmids_takes_leases)
{
	vmid_init(8, VMIDS_8BIT + 1);
	cr_assert_not(vmid_fixed);
	cr_assert_eq(vmid_current(1), VMID_NONE, "no lease before a load");
	for (unsigned vm = 1; vm <= VMIDS_8BIT + 1; vm++)
		vmid_load(vm, 0);
	cr_assert_eq(vmid_rollovers(), 1);
	cr_assert_eq(invalidations(), 1);
}

/*
 * Random loads of up to 1,023 guests on NR_CPUS CPUs. After each:
 * - a VMID handed to a guest other than its last holder was invalidated
 *   (a TLBI ALLE1IS) since that holder took it: no guest ever hits
 *   another's entries;
 * - the guests running on the CPUs have distinct VMIDs, and each still
 *   has the VMID it was loaded with (nothing changed under it).
 */
struct holder {
	unsigned vm;
	size_t invalidations;   /* when it took the VMID */
};

static void check_running(const unsigned *running, const unsigned *loaded,
			  unsigned seed, unsigned step)
{
	for (unsigned c = 0; c < NR_CPUS; c++) {
		if (!running[c])
			continue;
		cr_assert_eq(vmid_current(running[c]), loaded[c],
			     "seed %u step %u: VM %u's VMID changed under it",
			     seed, step, running[c]);
		for (unsigned d = c + 1; d < NR_CPUS; d++)
			cr_assert(!running[d] || running[d] == running[c] ||
					  loaded[d] != loaded[c],
				  "seed %u step %u: CPUs %u and %u run VMs %u "
				  "and %u with VMID %u", seed, step, c, d,
				  running[c], running[d], loaded[c]);
	}
}

static void random_loads(unsigned seed, unsigned nr_vms, unsigned steps)
{
	static struct holder holder[1u << VMID_MAX_BITS];
	unsigned running[NR_CPUS] = { 0 }, loaded[NR_CPUS] = { 0 };

	srand(seed);
	memset(holder, 0, sizeof(holder));
	for (unsigned step = 0; step < steps; step++) {
		unsigned c = (unsigned)rand() % NR_CPUS;
		unsigned vm = 1 + (unsigned)rand() % nr_vms;
		unsigned n = vmid_load(vm, c);
		struct holder *h = &holder[n];

		cr_assert(n != VMID_NONE && n <= VMIDS_8BIT);
		if (h->vm && h->vm != vm)
			cr_assert_gt(invalidations(), h->invalidations,
				     "seed %u step %u: VMID %u went from VM %u "
				     "to VM %u with no invalidation", seed,
				     step, n, h->vm, vm);
		if (h->vm != vm)
			*h = (struct holder){ vm, invalidations() };
		running[c] = vm;
		loaded[c] = n;
		check_running(running, loaded, seed, step);
	}
}

Test(vmid, random_loads_never_share_a_vmid_without_invalidation)
{
	const char *env = getenv("EXO_VMID_SEED");
	unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : 0x5eed;

	for (unsigned round = 0; round < 8; round++, seed++) {
		setup();
		fprintf(stderr, "vmid random: seed %u (EXO_VMID_SEED=%u "
			"replays)\n", seed, seed);
		random_loads(seed, round % 2 ? EXO_MAX_VMS - 1 : 300, 20000);
		cr_assert_gt(vmid_rollovers(), 0, "seed %u: no rollover", seed);
	}
}
