/*
 * Sizes the documents state, held to the code: a change of layout fails
 * here and names the sentence to update. Exact sizes of layouts that are a
 * design point (8 bytes a frame) are _Static_asserts next to the struct
 * (el2/frames.h); the rest the docs give to the nearest KiB, checked here.
 * The host build is LP64 like the target, with the same alignments.
 */
#include <criterion/criterion.h>
#include <el2/frames.h>
#include <el2/vm.h>
#include <libos/pool/pool.h>
#include <stddef.h>

#define KIB 1024u

/* sizeof in whole KiB, rounded to the nearest. */
static size_t nearest_kib(size_t bytes)
{
	return (bytes + KIB / 2) / KIB;
}

Test(doc_sizes, frames_db_as_docs_memory_model_says)
{
	/* docs/memory-model.md, "Accounts": "the whole struct frames_db is
	 * about 73 KiB". */
	cr_assert_eq(nearest_kib(sizeof(struct frames_db)), 73,
		     "struct frames_db is %zu bytes: update docs/memory-model.md",
		     sizeof(struct frames_db));
}

Test(doc_sizes, pool_as_docs_libos_says)
{
	/* docs/libos.md, the frame pool: "struct pool, about 10 KiB". */
	cr_assert_eq(nearest_kib(sizeof(struct pool)), 10,
		     "struct pool is %zu bytes: update docs/libos.md",
		     sizeof(struct pool));
}

Test(doc_sizes, nearest_kib_rounds_half_up)
{
	cr_assert_eq(nearest_kib(KIB / 2 - 1), 0);
	cr_assert_eq(nearest_kib(KIB / 2), 1);
	cr_assert_eq(nearest_kib(4 * KIB), 4);
	cr_assert_eq(nearest_kib(10 * KIB - KIB / 2 - 1), 9);
}
