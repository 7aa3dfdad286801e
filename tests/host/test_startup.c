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

/* Each policy's first region, as the pool's first chunk: a batch of 16
 * frames at least, a power of two above it. */
Test(startup, heap_batch_per_policy)
{
	cr_assert_eq(need_of("4k", "bump", BOOT_RUN_4K, 0, NULL).heap, 16);
	cr_assert_eq(need_of("4k", "freelist", BOOT_RUN_4K, 0, NULL).heap, 16);
	cr_assert_eq(need_of("4k", "tlsf", BOOT_RUN_4K, 0, NULL).heap, 16);
	/* 256 KiB */
	cr_assert_eq(need_of("4k", "buddy", BOOT_RUN_4K, 0, NULL).heap, 64);
	/* 48 KiB (state, a 16 KiB slab at 16 KiB alignment): 12 -> 16 */
	cr_assert_eq(need_of("4k", "slab", BOOT_RUN_4K, 0, NULL).heap, 16);
}

/* --va-bits=39: one level fewer for the 4K and 64K granules. */
Test(startup, va_bits_from_the_arguments)
{
	char *argv[] = { "g", "--sw-af", "--va-bits=39", NULL };

	cr_assert_eq(libos_mm_va_bits(3, argv), 39);
	cr_assert_eq(libos_mm_va_bits(2, argv), 48);
	cr_assert_eq(libos_mm_boot_table_pages(PGTABLE_GRANULE_4K, 39,
					       IMAGE_BYTES, BOOT_RUN_4K * 4096),
		     10);
	/* 64K: 2 roots + 1 each for the image, direct and identity map. */
	cr_assert_eq(need_of("64k", "tlsf", 176, 3, argv).s1_tables, 5 * 16);
}

/* A boot run of several MiB: a last-level table per 2 MiB (4K). */
Test(startup, large_boot_run)
{
	uint64_t run = 100 + 2 + 2048; /* 8 MiB of boot-frames */
	struct libos_startup_need n = need_of("4k", "tlsf", run, 0, NULL);

	/* 2 roots + image 3 + direct map (1 + 1 + 5 + 1) + identity 4 */
	cr_assert_eq(libos_mm_boot_table_pages(PGTABLE_GRANULE_4K, 48,
					       IMAGE_BYTES, run * 4096), 17);
	cr_assert_eq(n.s1_tables, 32);
	/* 2 kept + 1 GiB + 5 x 2 MiB + the crossing */
	cr_assert_eq(n.s2_tables, 9, "%lu", (unsigned long)n.s2_tables);
}

/* The refill rule: a batch whenever the cache is down to its reserve. */
Test(startup, table_frames_follow_the_refill_rule)
{
	cr_assert_eq(libos_mm_table_frames(PGTABLE_GRANULE_4K, 0), 0);
	cr_assert_eq(libos_mm_table_frames(PGTABLE_GRANULE_4K, 13), 16);
	cr_assert_eq(libos_mm_table_frames(PGTABLE_GRANULE_4K, 14), 32);
	cr_assert_eq(libos_mm_table_frames(PGTABLE_GRANULE_16K, 11), 64);
	cr_assert_eq(libos_mm_table_frames(PGTABLE_GRANULE_64K, 8), 128);
}

Test(startup, refuses_what_it_cannot_count)
{
	struct libos_startup_params p = {
		.heap_policy = "jemalloc", .image_bytes = IMAGE_BYTES,
		.boot_run_frames = BOOT_RUN_4K,
	};
	struct libos_startup_need n;

	cr_assert_str_eq(libos_startup_need(&p, &n), "unknown heap policy");
	cr_assert_eq(n.total, 0);
	p.heap_policy = "tlsf";
	p.granule = "8k";
	cr_assert_str_eq(libos_startup_need(&p, &n),
			 "exo,granule is not 4k, 16k or 64k");
}

Test(startup, message)
{
	struct libos_startup_need n = need_of("4k", "tlsf", BOOT_RUN_4K, 0,
					      NULL);
	char line[160];

	libos_startup_format(&n, 190, line, sizeof(line));
	cr_assert_str_eq(line, "start-up needs 203 frames, quota 190 (image "
			 "100, boot 66, tables 21, heap batch 16)");
}
