/*
 * libos/startup.c: what a guest needs to start, part by part, against the
 * counts worked out by hand from the rule in docs/manifest.md ("How large
 * a quota") and measured on target (tests/target/test_startup.py boots
 * the same image at these quotas).
 */
#include <criterion/criterion.h>
#include <libos/mm/boot_need.h>
#include <libos/startup.h>
#include <string.h>

/* An image of 100 frames (tests/target/guests' size class), the default
 * 64 boot-frames and the 2-frame guest DTB. */
#define IMAGE_BYTES (100u * 4096u)
#define BOOT_RUN_4K 166u

static struct libos_startup_need need_of(const char *granule,
					 const char *policy,
					 uint64_t boot_run, int argc,
					 char *const *argv)
{
	struct libos_startup_params p = {
		.granule = granule, .argc = argc, .argv = argv,
		.heap_policy = policy, .image_bytes = IMAGE_BYTES,
		.boot_run_frames = boot_run,
	};
	struct libos_startup_need n;

	cr_assert_null(libos_startup_need(&p, &n));
	cr_assert_eq(n.total, boot_run + n.tables + n.heap);
	cr_assert_eq(n.tables, n.s1_tables + n.s2_tables);
	cr_assert_eq(n.image + n.boot, boot_run);
	return n;
}

Test(startup, granule_4k)
{
	struct libos_startup_need n = need_of("4k", "tlsf", BOOT_RUN_4K, 0,
					      NULL);

	/* 13 table pages (2 roots, 3 for the image, 4 each for the direct and
	 * the identity map): one batch of 16. */
	cr_assert_eq(libos_mm_boot_table_pages(PGTABLE_GRANULE_4K, 48,
					       IMAGE_BYTES, BOOT_RUN_4K * 4096), 13);
	cr_assert_eq(n.s1_tables, 16);
	cr_assert_eq(n.heap, 16);       /* tlsf's 64 KiB: one pool batch */
	cr_assert_eq(n.s2_tables, 5);   /* 2 kept + 1 GiB + 2 MiB + crossing */
	cr_assert_eq(n.total, 203);
}

Test(startup, granule_16k_and_64k)
{
	struct libos_startup_need n16 = need_of("16k", "tlsf", 168, 0, NULL);
	struct libos_startup_need n64 = need_of("64k", "tlsf", 176, 0, NULL);

	cr_assert_eq(n16.s1_tables, 64, "%lu", (unsigned long)n16.s1_tables);
	cr_assert_eq(n16.total, 253, "%lu", (unsigned long)n16.total);
	cr_assert_eq(n64.s1_tables, 128, "%lu", (unsigned long)n64.s1_tables);
	cr_assert_eq(n64.total, 325, "%lu", (unsigned long)n64.total);
}
