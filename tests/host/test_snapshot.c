/*
 * el2/snapshot.c at shutdown, over a DB on the host: EL2's own frames by
 * part (the ranges noted at boot, then the revocation reserve merged into
 * runs), the DB runs and totals; and the fixed list of boot ranges refusing
 * one too many (main.c stops the boot then).
 */
#include "console_capture.h"

#include <criterion/criterion.h>
#include <el2/mem.h>
#include <el2/snapshot.h>
#include <exo/frame.h>
#include <lib/print.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAM_BASE   UINT64_C(0x40000000)
#define RAM_FRAMES 4096u


static void db(void)
{
	size_t size = mem_storage_size(RAM_FRAMES);
	void *storage = calloc(1, size);

	cr_assert_eq(mem_init(RAM_BASE, RAM_FRAMES, storage, size), 0);
	cr_assert_eq(mem_add_ram(RAM_BASE, RAM_FRAMES), 0);
	capture_len = 0;
	capture_out[0] = '\0';
	print_set_console(capture_console, "");
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
	claim(SNAPSHOT_HYP_TEXT, RAM_BASE + 32 * EXO_FRAME_SIZE, 8);
	snapshot_enable(true);
	snapshot_system();
	cr_assert(strstr(capture_out, "snap: begin 2 0x40000000 4096\n"), "%s", capture_out);
	cr_assert(strstr(capture_out, "snap: hyp 0x40000000 16 dtb\n"), "%s", capture_out);
	cr_assert(strstr(capture_out, "snap: hyp 0x40020000 8 text\n"), "%s", capture_out);
	cr_assert_null(strstr(capture_out, "reserve"), "EL2 keeps no frames "
		       "back: %s", capture_out);
	snprintf(line, sizeof(line), "snap: totals free %u hyp %u held 0\n",
		 RAM_FRAMES - 24, 24);
	cr_assert(strstr(capture_out, line), "%s", capture_out);
	cr_assert(strstr(capture_out, "snap: hyp") < strstr(capture_out, "snap: frames"),
		  "parts before the DB runs");
}

Test(snapshot, nothing_unless_enabled)
{
	db();
	claim(SNAPSHOT_HYP_DTB, RAM_BASE, 16);
	snapshot_enable(false);
	snapshot_system();
	cr_assert_eq(capture_len, 0, "%s", capture_out);
}

Test(snapshot, the_boot_range_list_refuses_one_too_many)
{
	for (unsigned i = 0; i < SNAPSHOT_HYP_RANGES_MAX; i++)
		cr_assert(snapshot_note_hyp(SNAPSHOT_HYP_DATA,
					    RAM_BASE + i * EXO_FRAME_SIZE, 1));
	cr_assert_not(snapshot_note_hyp(SNAPSHOT_HYP_DATA, RAM_BASE, 1));
	cr_assert_str_eq(snapshot_hyp_name(SNAPSHOT_HYP_PARTS), "?");
}
