/*
 * Host tests of the ASID allocator (libos/task/asid.c): first allocation,
 * the fast path, roll-over (one flush, the running context keeps its
 * number, old contexts renumbered on their next switch, numbers kept when
 * free), width clamping, and a seeded random sequence checked against a
 * model TLB: a context never runs with an ASID whose TLB entries may still
 * belong to another context.
 */
#include "fake_libos_arch.h"
#include "fake_libos_irq.h"

#include <criterion/criterion.h>
#include <libos/task/asid.h>
#include <stdlib.h>

static struct asid_allocator a;

Test(asid, first_allocations_and_fast_path)
{
	uint64_t c1 = 0, c2 = 0;

	fake_libos_reset(NULL, 0);
	asid_init(&a, 8);
	cr_assert_eq(asid_switch(&a, &c1), 1);
	cr_assert_eq(asid_switch(&a, &c2), 2);
	cr_assert_eq(asid_switch(&a, &c1), 1);
	cr_assert_eq(a.stats.allocs, 2);
	cr_assert_eq(a.stats.fast, 1);
	cr_assert_eq(fake_libos.vmalle1is, 0);
	cr_assert(asid_current(&a, c1) && asid_current(&a, c2));
}

/* Several vCPUs: a roll-over keeps the context each one runs, so none
 * of them shares an ASID with a context given a number afterwards, and
 * each keeps its number at its next switch. */
Test(asid, rollover_keeps_every_vcpus_running_context)
{
	uint64_t c[8] = { 0 };

	fake_libos_reset(NULL, 0);
	asid_init(&a, 3);                 /* ASIDs 1..7 */
	for (unsigned i = 0; i < 7; i++) {
		fake_libos_cpu = i % 3;   /* c[4..6] run on vCPUs 1, 2, 0 */
		asid_switch(&a, &c[i]);
	}
	/* vCPU 1 runs c[4] (5), vCPU 2 c[5] (6), vCPU 0 c[6] (7). */
	fake_libos_cpu = 0;
	asid_switch(&a, &c[7]);           /* roll-over: 5, 6 reserved */
	cr_assert_eq(a.stats.rollovers, 1);
	cr_assert_eq(fake_libos.vmalle1is, 1, "one broadcast flush for all");
	for (unsigned n = 1; n < 8; n++) {
		uint64_t fresh = 0;

		if (n == 5 || n == 6 || n == asid_of(&a, c[7]))
			continue;
		fake_libos_cpu = 3;
		asid_switch(&a, &fresh);
		cr_assert(asid_of(&a, fresh) != 5 && asid_of(&a, fresh) != 6,
			  "a running vCPU's ASID handed out again");
	}
	fake_libos_cpu = 1;
	cr_assert_eq(asid_switch(&a, &c[4]), 5, "vCPU 1 keeps its number");
	fake_libos_cpu = 2;
	cr_assert_eq(asid_switch(&a, &c[5]), 6, "vCPU 2 keeps its number");
	fake_libos_cpu = 0;
}

Test(asid, width_is_clamped)
{
	asid_init(&a, 1);
	cr_assert_eq(a.bits, ASID_BITS_MIN);
	asid_init(&a, 20);
	cr_assert_eq(a.bits, ASID_BITS_MAX);
}

Test(asid, rollover_flushes_once_and_keeps_the_running_context)
{
	uint64_t c[4] = { 0 };

	fake_libos_reset(NULL, 0);
	asid_init(&a, 2);                 /* ASIDs 1..3 */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(asid_switch(&a, &c[i]), i + 1);
	/* c[2] runs; c[3] needs a fourth number: roll over. */
	cr_assert_eq(asid_switch(&a, &c[3]), 1);
	cr_assert_eq(a.stats.rollovers, 1);
	cr_assert_eq(fake_libos.vmalle1is, 1);
	cr_assert(!asid_current(&a, c[0]) && !asid_current(&a, c[1]));
	/* c[2] was running: its number (3) stayed reserved for it. */
	cr_assert_eq(asid_switch(&a, &c[2]), 3);
	cr_assert(asid_current(&a, c[2]));
	/* c[1]'s old number 2 is free: kept. c[0]'s 1 is c[3]'s now. */
	cr_assert_eq(asid_switch(&a, &c[1]), 2);
	cr_assert_eq(a.stats.kept, 2);
	cr_assert_eq(fake_libos.vmalle1is, 1);
	/* c[0] finds no number left: a second roll-over. */
	asid_switch(&a, &c[0]);
	cr_assert_eq(a.stats.rollovers, 2);
	cr_assert_eq(fake_libos.vmalle1is, 2);
	cr_assert_neq(asid_of(&a, c[0]), asid_of(&a, c[1]));
}

Test(asid, deactivated_context_is_not_reserved)
{
	uint64_t c[4] = { 0 };

	asid_init(&a, 2);
	for (int i = 0; i < 3; i++)
		asid_switch(&a, &c[i]);
	asid_deactivate(&a);
	asid_switch(&a, &c[3]);
	cr_assert_eq(a.reserved[0], 0);
	cr_assert_eq(asid_of(&a, c[3]), 1);
}

#define CTXS 40

/* Model TLB: owner[n] = the context whose entries ASID n may hold. */
static void random_run(unsigned bits, unsigned seed)
{
	uint64_t ctx[CTXS] = { 0 };
	int owner[1 << 6];
	unsigned flushes = 0;

	srand(seed);
	fake_libos_reset(NULL, 0);
	asid_init(&a, bits);
	for (unsigned i = 0; i < (1u << bits); i++)
		owner[i] = -1;
	for (unsigned step = 0; step < 5000; step++) {
		int i = rand() % CTXS;
		uint16_t n;

		if (rand() % 50 == 0) {    /* the context goes away */
			if (a.active[0] == ctx[i] && ctx[i])
				asid_deactivate(&a);
			for (unsigned k = 0; k < (1u << bits); k++)
				if (owner[k] == i)
					owner[k] = -1;  /* TLBI ASIDE1IS */
			ctx[i] = 0;
			continue;
		}
		n = asid_switch(&a, &ctx[i]);
		if (fake_libos.vmalle1is != flushes) {
			flushes = fake_libos.vmalle1is;
			for (unsigned k = 0; k < (1u << bits); k++)
				owner[k] = -1;
		}
		cr_assert(n > 0 && n < (1u << bits), "seed %u: ASID %u", seed,
			  n);
		cr_assert(owner[n] == -1 || owner[n] == i,
			  "seed %u step %u: context %d runs with ASID %u whose "
			  "TLB entries are context %d's",
			  seed, step, i, n, owner[n]);
		owner[n] = i;
		/* Current-generation contexts never share a number. */
		for (int j = 0; j < CTXS; j++)
			if (j != i && asid_current(&a, ctx[j]))
				cr_assert_neq(asid_of(&a, ctx[j]), n,
					      "seed %u: %d and %d share %u",
					      seed, i, j, n);
	}
	cr_assert_eq(a.stats.flushes, a.stats.rollovers);
	if (bits <= 4)
		cr_assert_gt(a.stats.rollovers, 0);
}

Test(asid, random_switches_against_a_model_tlb)
{
	for (unsigned bits = 2; bits <= 6; bits++)
		for (unsigned seed = 1; seed <= 4; seed++)
			random_run(bits, seed * 7919 + bits);
}
