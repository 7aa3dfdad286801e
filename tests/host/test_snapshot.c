/*
 * el2/snapshot.c at shutdown, over a DB on the host: EL2's own frames by
 * part (the ranges noted at boot, then the revocation reserve merged into
 * runs), the DB runs and totals; and the fixed list of boot ranges refusing
 * one too many (main.c stops the boot then).
 */
#include <criterion/criterion.h>
#include <el2/mem.h>
#include <el2/snapshot.h>
#include <lib/print.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAM_BASE   UINT64_C(0x40000000)
#define RAM_FRAMES 4096u
#define PAGE	   4096u

static char out[16384];
static size_t out_len;

static void capture(const char *s, size_t n)
{
	if (n > sizeof(out) - 1 - out_len)
		n = sizeof(out) - 1 - out_len;
	memcpy(out + out_len, s, n);
	out_len += n;
	out[out_len] = '\0';
}

static void db(void)
{
	size_t size = mem_storage_size(RAM_FRAMES);
	void *storage = calloc(1, size);

	cr_assert_eq(mem_init(RAM_BASE, RAM_FRAMES, storage, size), 0);
	cr_assert_eq(mem_add_ram(RAM_BASE, RAM_FRAMES), 0);
	out_len = 0;
	out[0] = '\0';
	print_set_console(capture, "");
}

static void claim(enum snapshot_hyp part, uint64_t pa, uint64_t frames)
{
	cr_assert_eq(mem_claim_hyp(pa, frames), 0);
	cr_assert(snapshot_note_hyp(part, pa, frames));
}

Test(snapshot, el2_frames_by_part_then_the_db)
{
	char line[96];

	db();
	claim(SNAPSHOT_HYP_DTB, RAM_BASE, 16);
	claim(SNAPSHOT_HYP_TEXT, RAM_BASE + 32 * PAGE, 8);
	cr_assert_eq(mem_reserve_init(), 0);
	snapshot_enable(true);
	snapshot_system();
	cr_assert(strstr(out, "snap: begin 2 0x40000000 4096\n"), "%s", out);
	cr_assert(strstr(out, "snap: hyp 0x40000000 16 dtb\n"), "%s", out);
	cr_assert(strstr(out, "snap: hyp 0x40020000 8 text\n"), "%s", out);
	snprintf(line, sizeof(line), "snap: hyp 0x%lx %u revoke-reserve\n",
		 (unsigned long)(RAM_BASE + (RAM_FRAMES - MEM_REVOKE_RESERVE) *
						(uint64_t)PAGE),
		 MEM_REVOKE_RESERVE);
	cr_assert(strstr(out, line), "one sorted run: %s", out);
	snprintf(line, sizeof(line), "snap: totals free %u hyp %u held 0\n",
		 RAM_FRAMES - 24 - MEM_REVOKE_RESERVE, 24 + MEM_REVOKE_RESERVE);
	cr_assert(strstr(out, line), "%s", out);
	cr_assert(strstr(out, "snap: hyp") < strstr(out, "snap: frames"),
		  "parts before the DB runs");
}

Test(snapshot, nothing_unless_enabled)
{
	db();
	claim(SNAPSHOT_HYP_DTB, RAM_BASE, 16);
	snapshot_enable(false);
	snapshot_system();
	cr_assert_eq(out_len, 0, "%s", out);
}

Test(snapshot, the_boot_range_list_refuses_one_too_many)
{
	for (unsigned i = 0; i < SNAPSHOT_HYP_RANGES_MAX; i++)
		cr_assert(snapshot_note_hyp(SNAPSHOT_HYP_DATA,
					    RAM_BASE + i * PAGE, 1));
	cr_assert_not(snapshot_note_hyp(SNAPSHOT_HYP_DATA, RAM_BASE, 1));
	cr_assert_str_eq(snapshot_hyp_name(SNAPSHOT_HYP_PARTS), "?");
}
