/*
 * libos start-up (libos.c), the heap and malloc entry points (malloc.c),
 * the pool (guest_pool.c) and the stats (stats.c) on a simulated EL2
 * (fake_libos_el2.c): start-up (policy names, default, options), the
 * malloc-like entry points for every policy, the heap created at the first
 * allocation, frames back to EL2 through the pool, and the stats report.
 */
#include "fake_libos_el2.h"
#include "console_capture.h"

#include <criterion/criterion.h>
#include <lib/print.h>
#include <libos/libos.h>
#include <stdio.h>
#include <string.h>


static int start_with(const char *policy, int argc, char **argv,
		      const char *const *guest_options)
{
	struct libos_config cfg = { .name = "t", .heap_policy = policy,
				    .argc = argc, .argv = argv,
				    .guest_options = guest_options };

	fake_el2_reset(2048);
	capture_len = 0;
	capture_out[0] = '\0';
	print_set_console(capture_console, "");
	return libos_init(&cfg);
}

static int start(const char *policy, int argc, char **argv)
{
	return start_with(policy, argc, argv, NULL);
}

static char *no_args[] = {"t", NULL};

Test(libos, unknown_policy_lists_the_valid_ones)
{
	cr_assert_eq(start("jemalloc", 1, no_args), LIBOS_EPOLICY);
	cr_assert(strstr(capture_out, "libos: t: heap: unknown policy 'jemalloc' "
			      "(valid: bump, freelist, buddy, slab, tlsf, sizeclass)"),
		  "%s", capture_out);
	cr_assert_null(libos_malloc(16), "a heap after a refused start");
	cr_assert_eq(fake_el2.charged, 0);
}

Test(libos, no_policy_means_tlsf)
{
	struct libos_stats st;

	cr_assert_eq(start(NULL, 1, no_args), LIBOS_OK);
	libos_stats(&st);
	cr_assert_str_eq(st.policy, "tlsf");
}

Test(libos, bad_option_is_refused)
{
	char *argv[] = {"t", "--pool-high-water=12x", NULL};

	cr_assert_eq(start("tlsf", 2, argv), LIBOS_EOPTION);
	cr_assert(strstr(capture_out, "bad option '--pool-high-water=12x'"), "%s", capture_out);
}

Test(libos, unknown_option_is_refused_and_the_known_ones_listed)
{
	char *argv[] = {"t", "--stats", "--foo", NULL};

	cr_assert_eq(start("tlsf", 3, argv), LIBOS_EUNKNOWN_OPTION);
	cr_assert(strstr(capture_out, "libos: unknown option '--foo' in args; known: "
			      "--stats --ptdump --pool-high-water=N"),
		  "%s", capture_out);
	cr_assert(strstr(capture_out, "--asid-bits=N (libos's)\n"
			      "libos:   none of the guest's own\n"), "%s", capture_out);
	cr_assert_null(libos_malloc(16), "a heap after a refused start");
	cr_assert_eq(fake_el2.charged, 0);
}

Test(libos, unknown_option_report_lines_fit_el2s_console_line)
{
	static const char *const guest[] = {"--seed=", "--ops=", "--burst=",
					    "--a-rather-long-option-name=",
					    "--verbose", NULL};
	char *argv[] = {"t", "--sed=7", NULL};
	size_t line = 0;

	cr_assert_eq(start_with("tlsf", 2, argv, guest),
		     LIBOS_EUNKNOWN_OPTION);
	cr_assert(strstr(capture_out, "unknown option '--sed=7' in args"), "%s", capture_out);
	cr_assert(strstr(capture_out, "(libos's)\nlibos:   --seed=N --ops=N --burst=N"),
		  "%s", capture_out);
	cr_assert(strstr(capture_out, "--verbose (the guest's)\n"), "%s", capture_out);
	for (const char *c = capture_out; *c; c++) {
		line = *c == '\n' ? 0 : line + 1;
		cr_assert_lt(line, 120, "%s", capture_out);  /* el2/vm.h */
	}
}

Test(libos, guest_options_and_plain_arguments_pass)
{
	static const char *const guest[] = {"--seed=", "--verbose", NULL};
	char *argv[] = {"t", "--seed=7", "--verbose", "plain", "-x",
			"--sw-af", "--va-bits=39", "--asid-bits=4", "--ptdump",
			NULL};

	cr_assert_eq(start_with("tlsf", 9, argv, guest), LIBOS_OK, "%s", capture_out);
	cr_assert_str_eq(capture_out, "");
}

Test(libos, a_value_option_needs_its_equals_and_a_flag_matches_whole)
{
	static const char *const guest[] = {"--seed=", "--verbose", NULL};
	char *seed_no_value[] = {"t", "--seed", NULL};
	char *longer_flag[] = {"t", "--verbosely", NULL};
	char *va_bits_40[] = {"t", "--va-bits=40", NULL};

	cr_assert_eq(start_with("tlsf", 2, seed_no_value, guest),
		     LIBOS_EUNKNOWN_OPTION);
	cr_assert_eq(start_with("tlsf", 2, longer_flag, guest),
		     LIBOS_EUNKNOWN_OPTION);
	cr_assert_eq(start_with("tlsf", 2, va_bits_40, guest),
		     LIBOS_EUNKNOWN_OPTION);
}

Test(libos, heap_is_created_at_the_first_allocation)
{
	struct libos_stats st;
	void *p;

	cr_assert_eq(start("slab", 1, no_args), LIBOS_OK);
	cr_assert_eq(fake_el2.charged, 0, "frames taken before any malloc");
	libos_stats(&st);
	cr_assert_not(st.heap_created);
	p = libos_malloc(100);
	cr_assert_not_null(p);
	libos_stats(&st);
	cr_assert(st.heap_created);
	cr_assert_eq(st.pool.frames_held, fake_el2.charged);
	cr_assert_gt(fake_el2.charged, 0);
	libos_free(p);
}

static void exercise(const char *policy)
{
	char *a, *b, *z;
	const char *err;

	cr_assert_eq(start(policy, 1, no_args), LIBOS_OK, "%s", policy);
	a = libos_malloc(1000);
	cr_assert_not_null(a);
	cr_assert_geq(libos_usable_size(a), 1000);
	memset(a, 0xab, 1000);
	a = libos_realloc(a, 20000);
	cr_assert_not_null(a);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq((unsigned char)a[i], 0xab,
			     "%s: realloc lost byte %d", policy, i);
	b = libos_aligned_alloc(4096, 100);
	cr_assert_not_null(b);
	cr_assert_eq((uintptr_t)b % 4096, 0);
	z = libos_calloc(64, 64);
	cr_assert_not_null(z);
	for (int i = 0; i < 64 * 64; i++)
		cr_assert_eq(z[i], 0);
	cr_assert_null(libos_calloc(SIZE_MAX / 2, 4), "calloc overflow");
	err = libos_check();
	cr_assert_null(err, "%s: %s", policy, err);
	libos_free(a);
	libos_free(b);
	libos_free(z);
	libos_free(NULL);
	err = libos_check();
	cr_assert_null(err, "%s: %s", policy, err);
}

Test(libos, every_policy_through_the_entry_points)
{
	for (const char *const *n = heap_policy_names(); *n; n++)
		exercise(*n);
}

Test(libos, frames_go_back_to_el2)
{
	char *argv[] = {"t", "--pool-high-water=0", NULL};
	void *p[64];
	uint64_t peak;
	struct libos_stats st;

	cr_assert_eq(start("tlsf", 2, argv), LIBOS_OK);
	for (int i = 0; i < 64; i++)
		cr_assert_not_null(p[i] = libos_malloc(8192));
	peak = fake_el2.charged;
	for (int i = 0; i < 64; i++)
		libos_free(p[i]);
	cr_assert_lt(fake_el2.charged, peak / 4, "%lu of %lu frames kept",
		     (unsigned long)fake_el2.charged, (unsigned long)peak);
	libos_stats(&st);
	cr_assert_gt(st.pool.frames_returned, 0);
	cr_assert_eq(st.pool.frames_free, 0);
	cr_assert_eq(fake_el2.bad_frees, 0);
}

Test(libos, stats_at_exit_only_with_the_option)
{
	char *argv[] = {"t", "--stats", NULL};

	cr_assert_eq(start("buddy", 1, no_args), LIBOS_OK);
	libos_free(libos_malloc(10));
	libos_fini();
	cr_assert_eq(capture_len, 0, "printed without --stats: %s", capture_out);
	cr_assert_eq(start("buddy", 2, argv), LIBOS_OK);
	libos_free(libos_malloc(10));
	libos_fini();
	cr_assert(strstr(capture_out, "libos: frames: "), "%s", capture_out);
	cr_assert(strstr(capture_out, "libos: table pages: 0"), "%s", capture_out);
	cr_assert(strstr(capture_out, "libos: vm info: quota 2048 frames"), "%s", capture_out);
	cr_assert(strstr(capture_out, "libos: heap buddy: 0 B in use"), "%s", capture_out);
	cr_assert(strstr(capture_out, "fragmentation"), "%s", capture_out);
}

/* Start-up against the quota (libos/startup.h): the simulated EL2 has
 * already charged the boot run and tables; what is left must hold the
 * pool's first chunk for the heap, or libos says what start-up needs. */
static int start_charged(uint64_t quota, uint64_t charged)
{
	struct libos_config cfg = { .name = "t", .heap_policy = "tlsf",
				    .argc = 1, .argv = no_args,
				    .image_bytes = 100 * 4096,
				    .boot_run_frames = 166 };

	fake_el2_reset(quota);
	fake_el2.charged = charged;
	capture_len = 0;
	capture_out[0] = '\0';
	print_set_console(capture_console, "");
	return libos_init(&cfg);
}

Test(libos, startup_refuses_a_quota_without_room_for_the_heap)
{
	cr_assert_eq(start_charged(201, 186), LIBOS_EQUOTA);
	cr_assert_str_eq(capture_out, "libos: start-up needs 203 frames, quota 201 "
			 "(image 100, boot 66, tables 21, heap batch 16); 186 "
			 "charged\n");
	cr_assert_null(libos_malloc(16));
	fake_el2.charged = 0;
}

Test(libos, startup_takes_a_quota_with_room_for_the_heap)
{
	cr_assert_eq(start_charged(202, 186), LIBOS_OK);
	cr_assert_str_empty(capture_out);
	fake_el2.charged = 0;
}

/* After a failed MMU start: the start-up line only when the quota cannot
 * give another batch of table pages (16 frames, 4K). */
Test(libos, startup_report_only_when_the_quota_fell_short)
{
	struct libos_config cfg = { .name = "t", .heap_policy = "tlsf",
				    .argc = 1, .argv = no_args,
				    .image_bytes = 100 * 4096,
				    .boot_run_frames = 166 };

	capture_len = 0;
	capture_out[0] = '\0';
	print_set_console(capture_console, "");
	fake_el2_reset(185);
	fake_el2.charged = 170;
	cr_assert(libos_startup_report(&cfg));
	cr_assert_str_eq(capture_out, "libos: start-up needs 203 frames, quota 185 "
			 "(image 100, boot 66, tables 21, heap batch 16); 170 "
			 "charged\n");
	capture_len = 0;
	capture_out[0] = '\0';
	fake_el2_reset(186);
	fake_el2.charged = 170;
	cr_assert_not(libos_startup_report(&cfg));
	cr_assert_str_empty(capture_out);
	fake_el2.charged = 0;
}
