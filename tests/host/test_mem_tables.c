/*
 * Stage-2 table pages a guest keeps empty (el2/s2.h, el2/mem.c): reused
 * by the next map in their region with no new charge, given back (scrubbed,
 * uncharged) under quota pressure, by revocation and at teardown, and the
 * guest's charge exact at every step.
 *
 * Owns: the machine of these tests (RAM, one guest). Never: tests what
 * the frame DB decides (test_frames.c, test_mem_random.c).
 */
#include "fake_arch.h"
#include "mem_machine.h"

#include <criterion/criterion.h>
#include <el2/frames.h>
#include <el2/mem.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAM_BASE MEM_MACHINE_BASE
#define RAM_FRAMES 1024u   /* two 2 MiB regions */
#define REGION_FRAMES 512u /* one level-3 table's */
#define EL2_FRAMES 16u
#define QUOTA 64u
#define RESERVE EXO_S2_TABLE_RESERVE

static struct vm g;
static uint64_t *root;

static void boot(void)
{
	cr_assert(mem_machine_map(RAM_FRAMES), "RAM at its PA");
	fake_reset();
	cr_assert_eq(mem_machine_boot(false, EL2_FRAMES), 0);
	memset(&g, 0, sizeof(g));
	g.id = 1;
	snprintf(g.name, sizeof(g.name), "g");
	g.state = VM_RUNNING;
	root = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
	cr_assert_eq(mem_vm_create(&g, QUOTA, root), EXO_OK);
}

static void done(void)
{
	mem_machine_unmap();
	free(root);
}

static uint64_t frame(unsigned region, unsigned i)
{
	return RAM_BASE + ((uint64_t)region * REGION_FRAMES + i) *
				  EXO_FRAME_SIZE;
}

static const struct frames_account *account(void)
{
	return frames_account(mem_frames_db(), g.id);
}

static void alloc_at(uint64_t pa, uint64_t n)
{
	cr_assert_eq(mem_frame_alloc_at(&g, pa_init(pa), n), EXO_OK);
	mem_check_invariant(&g);
}

static void free_at(uint64_t pa, uint64_t n)
{
	cr_assert_eq(mem_frame_free(&g, pa_init(pa), n), EXO_OK);
	mem_check_invariant(&g);
}

/* The charge is what the guest owns plus every table page it holds: in
 * its stage 2 (empty ones too) and in its cache. */
static void expect_charge(void)
{
	cr_assert_eq(account()->tables, g.s2.nr_tables + g.s2_cache.nr,
		     "charged %lu table pages, holds %u + %u cached",
		     (unsigned long)account()->tables, g.s2.nr_tables,
		     g.s2_cache.nr);
	cr_assert_eq(account()->used, mem_vm_owned(&g) + account()->tables);
}

Test(mem_tables, an_empty_table_is_kept_and_reused_with_no_new_charge,
     .init = boot, .fini = done)
{
	uint64_t tables;

	alloc_at(frame(0, 7), 1);
	tables = account()->tables;
	cr_assert_eq(g.s2.nr_tables, 2, "a level-2 and a level-3 table");
	free_at(frame(0, 7), 1);
	cr_assert_eq(s2_empty_tables(&g.s2), 1, "the level-3 table stays");
	cr_assert_eq(g.s2.nr_tables, 2);
	cr_assert_eq(account()->tables, tables, "still charged");
	expect_charge();
	alloc_at(frame(0, 9), 1);
	cr_assert_eq(s2_empty_tables(&g.s2), 0, "reused");
	cr_assert_eq(g.s2.nr_tables, 2, "no new table");
	cr_assert_eq(account()->tables, tables, "no new charge");
	expect_charge();
}

/* A map in another region takes a kept table from elsewhere before it is
 * charged a new page. */
Test(mem_tables, a_map_short_of_pages_takes_kept_tables_first,
     .init = boot, .fini = done)
{
	uint64_t tables;

	alloc_at(frame(0, 0), 1);
	free_at(frame(0, 0), 1);
	tables = account()->tables;
	alloc_at(frame(1, 0), 1);
	cr_assert_eq(account()->tables, tables, "region 0's table moved");
	cr_assert_eq(s2_empty_tables(&g.s2), 0);
	cr_assert_eq(g.s2.nr_tables, 2);
	expect_charge();
}

/* Two empty level-3 tables and the reserve use the quota an allocation
 * needs: it succeeds only because they go back, and the charge after it
 * is exact. */
Test(mem_tables, quota_pressure_gives_empty_tables_back,
     .init = boot, .fini = done)
{
	uint64_t want;

	alloc_at(frame(0, 0), 1);
	alloc_at(frame(1, 0), 1);
	free_at(frame(0, 0), 1);
	free_at(frame(1, 0), 1);
	cr_assert_eq(s2_empty_tables(&g.s2), 2);
	cr_assert_eq(account()->tables, 3 + RESERVE);
	/* Needs a level-2 and a level-3 table and the reserve once the kept
	 * ones are gone: QUOTA - 4 frames fit then, not before. */
	want = QUOTA - 2 - RESERVE;
	cr_assert_gt(want + account()->tables, QUOTA, "needs them back");
	alloc_at(frame(0, 0), want);
	cr_assert_eq(s2_empty_tables(&g.s2), 0);
	cr_assert_eq(account()->tables, 2 + RESERVE);
	cr_assert_eq(account()->used, QUOTA);
	expect_charge();
	/* Past the quota still fails, and changes nothing visible. */
	cr_assert_eq(mem_frame_alloc_at(&g, pa_init(frame(0, 400)), 1),
		     EXO_EQUOTA);
	cr_assert_eq(account()->used, QUOTA);
	mem_check_invariant(&g);
}

Test(mem_tables, revocation_gives_empty_tables_back,
     .init = boot, .fini = done)
{
	struct vm_run log[4];
	unsigned nr_log;

	alloc_at(frame(0, 0), 4);
	alloc_at(frame(1, 0), 1);
	free_at(frame(1, 0), 1);
	cr_assert_eq(s2_empty_tables(&g.s2), 1);
	cr_assert_eq(mem_revoke(&g, 2, log, 4, &nr_log), 2);
	cr_assert_eq(s2_empty_tables(&g.s2), 0, "region 1's table went");
	cr_assert_eq(g.s2.nr_tables, 2, "region 0's tables still map");
	cr_assert_leq(g.s2_cache.nr, RESERVE);
	expect_charge();
	mem_check_invariant(&g);
}

Test(mem_tables, teardown_gives_every_table_back, .init = boot, .fini = done)
{
	uint64_t free_before, hyp, held;

	mem_totals(&free_before, &hyp, &held);
	alloc_at(frame(0, 3), 2);
	alloc_at(frame(1, 5), 1);
	free_at(frame(0, 3), 2);
	free_at(frame(1, 5), 1);
	cr_assert_eq(s2_empty_tables(&g.s2), 2);
	mem_vm_teardown(&g);
	mem_totals(&free_before, &hyp, &held);
	cr_assert_eq(held, 0, "nothing charged to a guest is left");
	cr_assert_eq(free_before, RAM_FRAMES - EL2_FRAMES);
}

/* A call refused even after the give back changes no charge: what went
 * back is charged again (all-or-nothing, as the consent test's EQUOTA
 * accept asks). */
Test(mem_tables, a_refusal_after_a_give_back_changes_no_charge,
     .init = boot, .fini = done)
{
	uint64_t used, tables;

	alloc_at(frame(0, 0), 1);
	alloc_at(frame(1, 0), 1);
	free_at(frame(1, 0), 1);
	cr_assert_eq(s2_empty_tables(&g.s2), 1);
	used = account()->used;
	tables = account()->tables;
	cr_assert_eq(mem_frame_alloc_at(&g, pa_init(frame(0, 10)), QUOTA),
		     EXO_EQUOTA);
	cr_assert_eq(account()->used, used);
	cr_assert_eq(account()->tables, tables);
	expect_charge();
	mem_check_invariant(&g);
}
