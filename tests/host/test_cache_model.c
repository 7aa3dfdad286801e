/*
 * Every path that hands memory to a guest, run through the write-back
 * cache model of tests/host/fake_arch.h on RAM that starts as garbage (as
 * after a warm reset): what the guest would read with its MMU off or
 * through a non-cacheable mapping (DRAM) must be what EL2 meant it to see
 * (zeros, its image and DTB, or the owner's own data for what is shared,
 * lent or donated), never a stale line's worth of someone else's data.
 * Each clean EL2 does has a mutant in tests/mutants/mutants.txt ("issue
 * 14: cache") that one of these tests catches.
 *
 * Owns: the machine of these tests (RAM, guests, a guest image). Never:
 * tests what the frame DB decides (test_frames.c, test_mem_random.c).
 */
#include "elf_image.h"
#include "fake_arch.h"
#include "mem_machine.h"

#include <criterion/criterion.h>
#include <el2/elf.h>
#include <el2/faultinject.h>
#include <el2/frames.h>
#include <el2/guest_dt.h>
#include <el2/manifest.h>
#include <el2/mem.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <el2/vm_ops.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAM_BASE MEM_MACHINE_BASE
#define RAM_FRAMES 1024u        /* 4 MiB: two 2 MiB blocks */
#define EL2_FRAMES 16u
#define QUOTA 256u
#define NR_VMS 3u
#define GARBAGE_SEED UINT64_C(0x5eed0f14)
#define SECRET 0x5e

static struct vm vms[NR_VMS];
static uint64_t *roots[NR_VMS];

/* --- the machine -------------------------------------------------------- */

/* RAM full of garbage, the cache empty, the DB booted over it as EL2's boot
 * does (debug checks on: every frame handed out must read zero). */
static void boot_machine_dic(bool ctr_dic)
{
	cr_assert(mem_machine_map(RAM_FRAMES), "RAM at its PA");
	fake_reset();
	fake.ctr_dic = ctr_dic; /* before mem_init reads it */
	fake_cache_model(RAM_BASE, RAM_FRAMES);
	fake_cache_fill_garbage(GARBAGE_SEED);
	cr_assert_eq(mem_machine_boot(true, EL2_FRAMES), 0);
}

/* A CPU whose I-cache needs invalidation (CTR_EL0.DIC 0: the A72). */
static void boot_machine(void)
{
	boot_machine_dic(false);
}

static struct vm *guest(unsigned i)
{
	struct vm *vm = &vms[i];

	memset(vm, 0, sizeof(*vm));
	vm->id = i + 1;
	snprintf(vm->name, sizeof(vm->name), "g%u", i + 1);
	vm->state = VM_RUNNING;
	if (!roots[i])
		roots[i] = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
	cr_assert_eq(mem_vm_create(vm, QUOTA, roots[i]), EXO_OK);
	return vm;
}

static uint64_t alloc(struct vm *vm, uint64_t count)
{
	paddr_t pa;

	cr_assert_eq(mem_frame_alloc(vm, count, 0, &pa), EXO_OK);
	return pa_addr(pa);
}

/* The guest fills its frames with its secret, and the lines reach DRAM
 * (evicted: the worst case for what DRAM keeps when the frames leave). */
static void write_secret(uint64_t pa, uint64_t count, uint8_t secret)
{
	static uint8_t buf[EXO_FRAME_SIZE];

	memset(buf, secret, sizeof(buf));
	for (uint64_t i = 0; i < count; i++)
		fake_guest_write(pa + i * EXO_FRAME_SIZE, buf, sizeof(buf));
}

/* What a guest with its MMU off reads of [pa, +count) is what EL2 sees
 * there: no line EL2 wrote is left uncleaned. */
static void expect_coherent(uint64_t pa, uint64_t count, const char *what)
{
	static uint8_t dram[EXO_FRAME_SIZE];

	for (uint64_t i = 0; i < count; i++) {
		uint64_t f = pa + i * EXO_FRAME_SIZE;

		fake_nc_read(f, dram, sizeof(dram));
		cr_assert(!memcmp(dram, (const void *)(uintptr_t)f,
				  sizeof(dram)),
			  "%s: frame 0x%lx reads otherwise from DRAM than "
			  "through the cache (a line EL2 wrote was not "
			  "cleaned to the point of coherency)", what,
			  (unsigned long)f);
		cr_assert(!fake_frame_dirty(f), "%s: frame 0x%lx", what,
			  (unsigned long)f);
	}
}

/* ... and it reads zero. */
static void expect_zero_in_dram(uint64_t pa, uint64_t count,
				const char *what)
{
	static const uint8_t zero[EXO_FRAME_SIZE];
	static uint8_t dram[EXO_FRAME_SIZE];

	expect_coherent(pa, count, what);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t f = pa + i * EXO_FRAME_SIZE;

		fake_nc_read(f, dram, sizeof(dram));
		cr_assert(!memcmp(dram, zero, sizeof(zero)),
			  "%s: frame 0x%lx is not zero in DRAM", what,
			  (unsigned long)f);
	}
}

/* Every FREE frame (guests' frames and stage-2 table pages come back
 * here) is clean: DRAM holds what EL2 sees. */
static void expect_free_frames_clean(const char *what)
{
	for (uint64_t i = 0; i < RAM_FRAMES; i++) {
		uint64_t pa = RAM_BASE + i * EXO_FRAME_SIZE;
		struct frames_info info;

		if (frames_query(mem_frames_db(), pa, &info) ||
		    info.state != EXO_FRAME_FREE)
			continue;
		cr_assert(!fake_frame_dirty(pa), "%s: FREE frame 0x%lx has "
			  "lines not cleaned to DRAM", what, (unsigned long)pa);
	}
}

/* --- frames a guest allocates ------------------------------------------- */

/* RAM no guest had since boot holds garbage: the first hand-over scrubs
 * it (zero, then clean). */
Test(cache_model, fresh_frames_read_zero_from_dram)
{
	struct vm *a;
	uint64_t pa;

	boot_machine();
	a = guest(0);
	pa = alloc(a, 40);
	expect_zero_in_dram(pa, 40, "FRAME_ALLOC of never-used RAM");
	cr_assert_eq(mem_frame_alloc_at(a, pa_init(RAM_BASE + 600 *
						   EXO_FRAME_SIZE), 8),
		     EXO_OK);
	expect_zero_in_dram(RAM_BASE + 600 * EXO_FRAME_SIZE, 8,
			    "FRAME_ALLOC_AT of never-used RAM");
	expect_free_frames_clean("after the first allocations");
}

/* A frame one guest freed, taken by another at the same address. */
Test(cache_model, freed_frames_reused_read_zero)
{
	struct vm *a, *b;
	uint64_t pa;

	boot_machine();
	a = guest(0);
	b = guest(1);
	pa = alloc(a, 16);
	write_secret(pa, 16, SECRET);
	cr_assert_eq(mem_frame_free(a, pa_init(pa), 16), EXO_OK);
	expect_free_frames_clean("after FRAME_FREE");
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(pa), 16), EXO_OK);
	expect_zero_in_dram(pa, 16, "another guest's freed frames");
}

/* Where stage 2 forces every guest view Write-Back (FEAT_S2FWB), a scrub
 * zeroes with no clean (el2/mem.c, scrub_frames): the zeros a freed frame
 * and a frame at its first use get stay in dirty lines, above DRAM that
 * still holds the old data, and every party sees them, as a guest's
 * reads are Write-Back whatever its stage 1 says (its MMU off included):
 * the next owner reads zeros through the cache. The model's DRAM is then
 * what no one reads, which the frames' dirty lines show; the clean is the
 * third of a scrub this saves. */
Test(cache_model, with_fwb_a_scrub_zeroes_with_no_clean)
{
	static const uint8_t zero[EXO_FRAME_SIZE];
	struct vm *a, *b;
	uint64_t pa;

	boot_machine();
	s2_set_forced_wb(true);
	a = guest(0);
	b = guest(1);
	pa = alloc(a, 16);
	for (uint64_t i = 0; i < 16; i++)
		cr_assert(fake_frame_dirty(pa + i * EXO_FRAME_SIZE),
			  "zeroed at its first use, with no clean");
	write_secret(pa, 16, SECRET);
	cr_assert_eq(mem_frame_free(a, pa_init(pa), 16), EXO_OK);
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(pa), 16), EXO_OK);
	for (uint64_t i = 0; i < 16; i++) {
		uint64_t f = pa + i * EXO_FRAME_SIZE;

		cr_assert(!memcmp((const void *)(uintptr_t)f, zero,
				  sizeof(zero)),
			  "frame 0x%lx: another guest's freed frame, zero "
			  "through the cache every view uses",
			  (unsigned long)f);
		cr_assert(fake_frame_dirty(f), "frame 0x%lx: scrubbed with "
			  "no clean", (unsigned long)f);
	}
	s2_set_forced_wb(false);
}

/* A guest's end: its frames and its stage-2 table pages come back FREE
 * and clean, and the next guest reads zeros. */
Test(cache_model, teardown_then_reuse_reads_zero)
{
	struct vm *a, *b;
	uint64_t pa;

	boot_machine();
	a = guest(0);
	pa = alloc(a, 100);
	write_secret(pa, 100, SECRET);
	mem_vm_teardown(a);
	expect_free_frames_clean("after a teardown");
	b = guest(1);
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(pa), 100), EXO_OK);
	expect_zero_in_dram(pa, 100, "a torn-down guest's frames");
}

/* Stage-2 table pages (HYP, charged to the guest) hold descriptors EL2
 * wrote through its cache; walks are cacheable, so they need no clean
 * while in use (docs/stage2.md), but when the guest's end returns them
 * FREE they are scrubbed like any frame, and the next owner reads zeros. */
Test(cache_model, stage2_table_pages_come_back_clean)
{
	uint64_t tables[16], nr = 0;
	struct vm *a, *b;

	boot_machine();
	a = guest(0);
	alloc(a, 5);
	alloc(a, 200); /* level-2 and level-3 tables, and the reserve */
	for (uint64_t i = 0; i < RAM_FRAMES && nr < 16; i++) {
		uint64_t pa = RAM_BASE + i * EXO_FRAME_SIZE;
		struct frames_info info;

		if (!frames_query(mem_frames_db(), pa, &info) &&
		    info.state == EXO_FRAME_HYP && info.owner == a->id)
			tables[nr++] = pa;
	}
	cr_assert_geq(nr, 2, "the guest's stage 2 took table pages");
	mem_vm_teardown(a);
	expect_free_frames_clean("after the tables' owner ended");
	for (uint64_t i = 0; i < nr; i++) {
		struct frames_info info;

		cr_assert_eq(frames_query(mem_frames_db(), tables[i], &info), 0);
		cr_assert_eq(info.state, EXO_FRAME_FREE, "table page 0x%lx",
			     (unsigned long)tables[i]);
		expect_zero_in_dram(tables[i], 1, "a FREE stage-2 table page");
	}
	/* The next guest's tables come from the same top of RAM. */
	b = guest(1);
	alloc(b, 200);
	expect_free_frames_clean("after the next guest took table pages");
}

/* Forced revocation takes frames away with the guest's data in them. */
Test(cache_model, revoked_frames_read_zero)
{
	struct vm *a, *b;
	struct vm_run log[4];
	unsigned nr_log = 0;
	uint64_t pa;

	boot_machine();
	a = guest(0);
	b = guest(1);
	pa = alloc(a, 20);
	write_secret(pa, 20, SECRET);
	cr_assert_eq(mem_revoke(a, 20, log, 4, &nr_log), 20);
	expect_free_frames_clean("after a revocation");
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(pa), 20), EXO_OK);
	expect_zero_in_dram(pa, 20, "revoked frames");
}

/* Shared, lent and donated frames reach the other guest with the owner's
 * data, which EL2 never wrote over: what the recipient reads from DRAM is
 * the owner's, and nothing of EL2's sits in a dirty line above it. A
 * lent frame comes back to its owner with the borrower's data; one shared
 * frame taken back by the owner's end is scrubbed for the next. */
Test(cache_model, share_lend_donate_hand_over_the_owners_data)
{
	struct vm *a, *b, *c;
	uint64_t pa;

	boot_machine();
	a = guest(0);
	b = guest(1);
	c = guest(2);
	pa = alloc(a, 3);
	write_secret(pa, 3, SECRET);
	cr_assert_eq(mem_frame_share(a, b, pa_init(pa), 1, EXO_SHARE_RW),
		     EXO_OK);
	cr_assert_eq(mem_frame_lend(a, b, pa_init(pa + EXO_FRAME_SIZE), 1),
		     EXO_OK);
	cr_assert_eq(mem_frame_donate(a, c, pa_init(pa + 2 * EXO_FRAME_SIZE),
				      1), EXO_OK);
	expect_coherent(pa, 3, "shared, lent and donated frames");
	write_secret(pa + EXO_FRAME_SIZE, 1, SECRET + 1);
	cr_assert_eq(mem_frame_reclaim(a, b, pa_init(pa + EXO_FRAME_SIZE), 1),
		     EXO_OK);
	expect_coherent(pa + EXO_FRAME_SIZE, 1, "a reclaimed loan");
	mem_vm_teardown(a);
	expect_free_frames_clean("the owner's end took its share back");
	cr_assert_eq(mem_frame_alloc_at(c, pa_init(pa), 2), EXO_OK);
	expect_zero_in_dram(pa, 2, "what the ended owner shared and lent");
}

/* --- the instruction cache ---------------------------------------------- */

/* The model's CPU has CTR_EL0.DIC 0, as the Cortex-A72: an instruction
 * fetch hits whatever line the I-cache kept (fake_arch.h). A guest that
 * ran code from its frames leaves those lines behind; a hand-over must
 * drop them (el2/mem.c, scrub_frames; docs/security.md, row 142), or the
 * next owner's first fetch from the frame runs the old owner's code. */

/* The guest writes its code and runs it: every line of the frames is in
 * the I-cache, holding code. */
static void run_code(uint64_t pa, uint64_t count, uint8_t code)
{
	static uint8_t got[EXO_FRAME_SIZE];

	write_secret(pa, count, code);
	for (uint64_t i = 0; i < count; i++) {
		fake_guest_fetch(pa + i * EXO_FRAME_SIZE, got, sizeof(got));
		cr_assert_eq(got[0], code, "the guest runs what it wrote");
	}
}

/* What the new owner's first instruction fetch from [pa, +count) sees is
 * zeros, not a line the old owner ran. */
static void expect_fetch_zero(uint64_t pa, uint64_t count, const char *what)
{
	static const uint8_t zero[EXO_FRAME_SIZE];
	static uint8_t got[EXO_FRAME_SIZE];

	for (uint64_t i = 0; i < count; i++) {
		uint64_t f = pa + i * EXO_FRAME_SIZE;

		fake_guest_fetch(f, got, sizeof(got));
		cr_assert(!memcmp(got, zero, sizeof(zero)),
			  "%s: an instruction fetch from frame 0x%lx runs "
			  "the old owner's code (0x%02x): its I-cache lines "
			  "outlived the hand-over", what, (unsigned long)f,
			  got[0]);
	}
}

/* No FREE frame has a line in the I-cache, but the one a one-frame free
 * left (its guest's own, until someone else takes it and scrubs it). */
static void expect_free_frames_not_in_icache(const char *what)
{
	unsigned left_vm;
	uint64_t left = mem_left_frame(&left_vm);

	for (uint64_t i = 0; i < RAM_FRAMES; i++) {
		uint64_t pa = RAM_BASE + i * EXO_FRAME_SIZE;
		struct frames_info info;

		if (pa == left || frames_query(mem_frames_db(), pa, &info) ||
		    info.state != EXO_FRAME_FREE)
			continue;
		cr_assert(!fake_frame_in_icache(pa), "%s: FREE frame 0x%lx "
			  "still has lines in the I-cache", what,
			  (unsigned long)pa);
	}
}

static uint64_t alloc_one_frame(struct vm *vm, uint64_t flags)
{
	struct mem_alloc r = mem_frame_alloc_call(vm, 1, 0, 1, flags);

	cr_assert_eq(r.rc, EXO_OK);
	return pa_addr(r.pa);
}

/* The model itself: a scrub that leaves the I-cache alone hands the old
 * code to the next fetch; the one asked to drop it hands zeros. What
 * every hand-over below relies on. */
Test(cache_model, a_scrub_without_the_icache_leaves_the_old_code)
{
	uint8_t got[FAKE_CACHE_LINE];
	struct vm *a;
	uint64_t pa;

	boot_machine();
	a = guest(0);
	pa = alloc(a, 2);
	run_code(pa, 2, SECRET);
	arch_zero_frames(pa, 1, 0);
	arch_scrub_frames(pa + EXO_FRAME_SIZE, 1, 0);
	fake_guest_fetch(pa, got, sizeof(got));
	cr_assert_eq(got[0], SECRET, "DC ZVA alone: the old code runs");
	fake_guest_fetch(pa + EXO_FRAME_SIZE, got, sizeof(got));
	cr_assert_eq(got[0], SECRET, "zero and clean: the old code runs");
	run_code(pa, 2, SECRET);
	arch_zero_frames(pa, 1, ARCH_SCRUB_ICACHE);
	arch_scrub_frames(pa + EXO_FRAME_SIZE, 1, ARCH_SCRUB_ICACHE);
	expect_fetch_zero(pa, 2, "a scrub with the I-cache");
}

/* The one-frame paths: a free while another frame is left scrubs at
 * once (free_one); the frame left is scrubbed when another guest's
 * one-frame alloc takes it (alloc_one). */
Test(cache_model, one_frame_paths_drop_the_old_owners_code)
{
	uint64_t p1, p2, q1, q2;
	struct vm *a, *b;

	boot_machine();
	a = guest(0);
	b = guest(1);
	p1 = alloc_one_frame(a, 0);
	p2 = alloc_one_frame(a, 0);
	run_code(p1, 1, SECRET);
	run_code(p2, 1, SECRET + 1);
	cr_assert_eq(mem_frame_free(a, pa_init(p1), 1), EXO_OK); /* left */
	cr_assert_eq(mem_frame_free(a, pa_init(p2), 1), EXO_OK); /* scrubbed */
	expect_free_frames_not_in_icache("after the one-frame frees");
	q1 = alloc_one_frame(b, 0);
	q2 = alloc_one_frame(b, EXO_FRAME_ALLOC_NOZERO);
	cr_assert((q1 == p1 && q2 == p2) || (q1 == p2 && q2 == p1),
		  "the other guest gets the two frames back");
	expect_fetch_zero(p1, 1, "the frame another guest left");
	expect_fetch_zero(p2, 1, "a frame another guest freed");
}

/* The frame a guest left comes back to it with its own lines: nothing
 * to drop, and the NOZERO path spends no invalidation. */
Test(cache_model, the_left_frame_back_to_its_guest_keeps_its_lines)
{
	uint64_t pa, before;
	uint8_t got[FAKE_CACHE_LINE];
	struct vm *a;

	boot_machine();
	a = guest(0);
	pa = alloc_one_frame(a, 0);
	run_code(pa, 1, SECRET);
	before = fake.icache_lines_invalidated;
	cr_assert_eq(mem_frame_free(a, pa_init(pa), 1), EXO_OK);
	cr_assert_eq(alloc_one_frame(a, EXO_FRAME_ALLOC_NOZERO), pa);
	cr_assert_eq(fake.icache_lines_invalidated, before,
		     "no I-cache maintenance on the guest's own frame");
	fake_guest_fetch(pa, got, sizeof(got));
	cr_assert_eq(got[0], SECRET, "its own code, as it left it");
}

/* The general transaction (a run), FRAME_ALLOC_AT, and both after a
 * general free. */
Test(cache_model, general_alloc_and_alloc_at_drop_the_old_owners_code)
{
	uint64_t pa, at = RAM_BASE + 600 * EXO_FRAME_SIZE;
	struct vm *a, *b;

	boot_machine();
	a = guest(0);
	b = guest(1);
	pa = alloc(a, 16);
	run_code(pa, 16, SECRET);
	cr_assert_eq(mem_frame_alloc_at(a, pa_init(at), 8), EXO_OK);
	run_code(at, 8, SECRET + 1);
	cr_assert_eq(mem_frame_free(a, pa_init(pa), 16), EXO_OK);
	cr_assert_eq(mem_frame_free(a, pa_init(at), 8), EXO_OK);
	expect_free_frames_not_in_icache("after FRAME_FREE of runs");
	cr_assert_eq(alloc(b, 16), pa, "the general alloc takes the run back");
	expect_fetch_zero(pa, 16, "a run another guest freed");
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(at), 8), EXO_OK);
	expect_fetch_zero(at, 8, "FRAME_ALLOC_AT of frames another freed");
}

/* The highest FREE frame: where stage-2 table pages come from. */
static uint64_t highest_free_frame(void)
{
	for (uint64_t i = RAM_FRAMES; i-- > 0;) {
		uint64_t pa = RAM_BASE + i * EXO_FRAME_SIZE;
		struct frames_info info;

		if (!frames_query(mem_frames_db(), pa, &info) &&
		    info.state == EXO_FRAME_FREE)
			return pa;
	}
	cr_assert_fail("no FREE frame");
	return 0;
}

/* A frame a guest ran code in and left becomes another guest's stage-2
 * table page with no scrub (s2.c zeroes it): its lines outlive that, and
 * are dropped when the table's owner ends and the page is scrubbed. */
Test(cache_model, a_table_page_from_a_left_frame_drops_the_code)
{
	struct frames_info info;
	struct vm *a, *b, *c;
	uint64_t top;

	boot_machine();
	a = guest(0);
	b = guest(1);
	c = guest(2);
	/* a's tables for the upper 2 MiB first, then its top FREE frame. */
	cr_assert_eq(mem_frame_alloc_at(a, pa_init(RAM_BASE + 600 *
						   EXO_FRAME_SIZE), 1), EXO_OK);
	top = highest_free_frame();
	cr_assert_eq(mem_frame_alloc_at(a, pa_init(top), 1), EXO_OK);
	run_code(top, 1, SECRET);
	cr_assert_eq(mem_frame_free(a, pa_init(top), 1), EXO_OK);
	alloc(b, 200);
	cr_assert_eq(frames_query(mem_frames_db(), top, &info), 0);
	cr_assert(info.state == EXO_FRAME_HYP && info.owner == b->id,
		  "the frame a left is b's table page");
	mem_vm_teardown(b);
	expect_free_frames_not_in_icache("after the tables' owner ended");
	cr_assert_eq(mem_frame_alloc_at(c, pa_init(top), 1), EXO_OK);
	expect_fetch_zero(top, 1, "a table page that was a guest's code");
}

/* A guest's end: its runs and the frame it left. */
Test(cache_model, teardown_drops_the_old_owners_code)
{
	uint64_t pa, left;
	struct vm *a, *b;

	boot_machine();
	a = guest(0);
	pa = alloc(a, 100);
	run_code(pa, 100, SECRET);
	left = alloc_one_frame(a, 0);
	run_code(left, 1, SECRET + 1);
	cr_assert_eq(mem_frame_free(a, pa_init(left), 1), EXO_OK);
	mem_vm_teardown(a);
	expect_free_frames_not_in_icache("after a teardown");
	b = guest(1);
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(pa), 100), EXO_OK);
	expect_fetch_zero(pa, 100, "a torn-down guest's frames");
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(left), 1), EXO_OK);
	expect_fetch_zero(left, 1, "the frame a torn-down guest left");
}

Test(cache_model, revocation_drops_the_old_owners_code)
{
	struct vm_run log[4];
	unsigned nr_log = 0;
	struct vm *a, *b;
	uint64_t pa;

	boot_machine();
	a = guest(0);
	b = guest(1);
	pa = alloc(a, 20);
	run_code(pa, 20, SECRET);
	cr_assert_eq(mem_revoke(a, 20, log, 4, &nr_log), 20);
	expect_free_frames_not_in_icache("after a revocation");
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(pa), 20), EXO_OK);
	expect_fetch_zero(pa, 20, "revoked frames");
}

/* A share hands over no frame: the borrower's fetches see the owner's
 * code (its to give), never a third party's, as the frame's hand-over to
 * the owner dropped the previous owner's lines. */
Test(cache_model, a_share_shows_the_owners_code_not_the_last_owners)
{
	uint8_t got[EXO_FRAME_SIZE];
	struct vm *a, *b, *c;
	uint64_t pa;

	boot_machine();
	a = guest(0);
	b = guest(1);
	c = guest(2);
	pa = alloc(c, 1);
	run_code(pa, 1, SECRET);
	cr_assert_eq(mem_frame_free(c, pa_init(pa), 1), EXO_OK);
	cr_assert_eq(mem_frame_alloc_at(a, pa_init(pa), 1), EXO_OK);
	write_secret(pa, 1, SECRET + 1);
	cr_assert_eq(mem_frame_share(a, b, pa_init(pa), 1, EXO_SHARE_RW),
		     EXO_OK);
	fake_guest_fetch(pa, got, sizeof(got));
	for (size_t i = 0; i < sizeof(got); i++)
		cr_assert_eq(got[i], SECRET + 1, "byte %zu: the owner's code",
			     i);
}

/* FEAT_S2FWB spares the clean (fetches see the zero lines: LoUU 0), not
 * the I-cache: its lines of the old code are no data-cache line. */
Test(cache_model, with_fwb_the_icache_is_still_dropped)
{
	struct vm *a, *b;
	uint64_t pa;

	boot_machine();
	s2_set_forced_wb(true);
	a = guest(0);
	b = guest(1);
	pa = alloc(a, 8);
	run_code(pa, 8, SECRET);
	cr_assert_eq(mem_frame_free(a, pa_init(pa), 8), EXO_OK);
	expect_free_frames_not_in_icache("FRAME_FREE under FWB");
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(pa), 8), EXO_OK);
	expect_fetch_zero(pa, 8, "another guest's freed frames under FWB");
	s2_set_forced_wb(false);
}

/* Where CTR_EL0.DIC is 1 fetches see every write: EL2 spends no
 * invalidation, and the next owner still fetches zeros. */
Test(cache_model, with_dic_no_icache_maintenance)
{
	struct vm_run log[4];
	unsigned nr_log = 0;
	struct vm *a, *b;
	uint64_t pa;

	boot_machine_dic(true);
	a = guest(0);
	b = guest(1);
	pa = alloc(a, 20);
	run_code(pa, 20, SECRET);
	cr_assert_eq(mem_frame_free(a, pa_init(pa), 10), EXO_OK);
	cr_assert_eq(mem_revoke(a, 10, log, 4, &nr_log), 10);
	cr_assert_eq(mem_frame_alloc_at(b, pa_init(pa), 20), EXO_OK);
	expect_fetch_zero(pa, 20, "frames another guest ran code in");
	cr_assert_eq(fake.icache_lines_invalidated, 0,
		     "no IC IVAU where CTR_EL0.DIC is 1");
}

/* --- a guest's boot: image, DTB and boot frames (el2/vm.c) -------------- */

#define IMG_SIZE (3 * EXO_FRAME_SIZE)
#define IMG_TEXT 0x1800
#define IMG_ENTRY 0x1000
#define IMG_DATA_OFF 0x2000
#define IMG_DATA_FILESZ 0x100
#define IMG_DATA_MEMSZ 0x2100
#define BOOT_FRAMES 4u

static _Alignas(4096) uint8_t image[IMG_SIZE];
static struct manifest_guest entry;
static const char args[] = "g1";

static void set_phdr(int i, uint32_t flags, uint64_t off, uint64_t filesz,
		     uint64_t memsz)
{
	struct elf64_phdr *ph = (struct elf64_phdr *)(image +
		sizeof(struct elf64_ehdr)) + i;

	*ph = (struct elf64_phdr){ .p_type = ELF_PT_LOAD, .p_flags = flags,
		.p_offset = off, .p_vaddr = off, .p_paddr = off,
		.p_filesz = filesz, .p_memsz = memsz,
		.p_align = EXO_FRAME_SIZE };
}

/* A static PIE as the guests' link makes it (text, then data and bss),
 * bound to a manifest entry as manifest_bind_images does. */
static const struct manifest_guest *guest_entry(void)
{
	struct elf64_ehdr *eh = (struct elf64_ehdr *)image;
	char err[160];

	memset(image, 0, sizeof(image));
	memset(image + IMG_ENTRY, 0xaa, IMG_TEXT - IMG_ENTRY);
	memset(image + IMG_DATA_OFF, 0xbb, IMG_DATA_FILESZ);
	elf_image_header(eh, IMG_ENTRY, 2);
	set_phdr(0, ELF_PF_R | ELF_PF_X, 0, IMG_TEXT, IMG_TEXT);
	set_phdr(1, ELF_PF_R | ELF_PF_W, IMG_DATA_OFF, IMG_DATA_FILESZ,
		 IMG_DATA_MEMSZ);
	memset(&entry, 0, sizeof(entry));
	strcpy(entry.name, "g1");
	entry.quota_frames = QUOTA;
	entry.boot_frames = BOOT_FRAMES;
	entry.heap_policy = "tlsf";
	entry.args = args;
	entry.args_len = sizeof(args);
	entry.nr_args = 1;
	entry.timeslice_us = 10000;
	entry.granule = "4k";
	entry.granule_bytes = EXO_FRAME_SIZE;
	entry.blob = (struct bootpkg_blob){ "g1", image, sizeof(image) };
	cr_assert_eq(elf_check(image, sizeof(image), &entry.elf, err,
			       sizeof(err)), 0, "%s", err);
	return &entry;
}

/* What a guest fetches and loads at entry, with its MMU off, is its image
 * and DTB as EL2 wrote them, and zeros after them. */
static void expect_boot_run_in_dram(const struct vm *vm)
{
	uint64_t image_frames = elf_frames(&entry.elf);
	uint64_t pa = vm->boot_run.pa, dtb = pa + entry.elf.span;
	uint8_t got[IMG_TEXT];

	cr_assert_eq(vm->boot_run.count, image_frames + GUEST_DT_FRAMES +
		     BOOT_FRAMES);
	expect_coherent(pa, image_frames + GUEST_DT_FRAMES, "image and DTB");
	fake_nc_read(pa, got, sizeof(got));
	cr_assert(!memcmp(got, image, sizeof(got)), "the image's text");
	fake_nc_read(dtb, got, sizeof(uint32_t));
	cr_assert(!memcmp(got, "\xd0\x0d\xfe\xed", 4), "the DTB's magic");
	expect_zero_in_dram(dtb + GUEST_DT_FRAMES * EXO_FRAME_SIZE,
			    BOOT_FRAMES, "boot frames");
}

Test(cache_model, a_guest_boots_from_dram_what_el2_loaded)
{
	struct vm *vm = &vms[0];

	boot_machine();
	cr_assert_eq(vm_create(vm, 1, guest_entry(), 62500000, NULL), EXO_OK);
	expect_boot_run_in_dram(vm);
}

/* A restart: the old frames (the guest wrote its secret over its image)
 * scrubbed, the image loaded again into fresh frames, all in DRAM. */
Test(cache_model, a_restarted_guest_boots_from_dram_what_el2_loaded)
{
	struct vm *vm = &vms[0];
	uint64_t old;

	boot_machine();
	cr_assert_eq(vm_create(vm, 1, guest_entry(), 62500000, NULL), EXO_OK);
	old = vm->boot_run.pa;
	write_secret(old, vm->boot_run.count, SECRET);
	vm_restart(vm);
	while (!vm_reap_step(vm))
		;
	cr_assert_eq(vm->state, VM_RUNNING);
	cr_assert_eq(vm->stats.restarts, 1);
	expect_boot_run_in_dram(vm);
	expect_free_frames_clean("after a restart");
}

/* Fault injection's bit flip in a guest's boot run (a testing manifest's
 * corrupt-mem) is the one write EL2 makes to a frame a guest owns: the
 * guest reads the flip from DRAM, and no dirty line is left. */
Test(cache_model, an_injected_bit_flip_reaches_dram)
{
	struct manifest_guest *g = (struct manifest_guest *)guest_entry();
	struct vm *vm = &vms[0];
	uint64_t bytes;
	uint8_t *before;

	boot_machine();
	g->faults = 1u << MANIFEST_FAULT_CORRUPT_MEM;
	g->fault_param[MANIFEST_FAULT_CORRUPT_MEM] = 0; /* at once */
	cr_assert_eq(vm_create(vm, 1, g, 62500000, NULL), EXO_OK);
	faultinject_init(vm, g, GARBAGE_SEED);
	bytes = vm->boot_run.count * EXO_FRAME_SIZE;
	before = malloc(bytes);
	cr_assert(before);
	fake_nc_read(vm->boot_run.pa, before, bytes);
	faultinject_after_hvc(&vm->vcpu);
	expect_coherent(vm->boot_run.pa, vm->boot_run.count, "a flipped bit");
	cr_assert(memcmp(before, (const void *)(uintptr_t)vm->boot_run.pa,
			 bytes), "no bit was flipped");
	free(before);
}
