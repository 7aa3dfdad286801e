/* el2/frames.c: the frame ownership DB, transition by transition, against
 * the boot self-test's table and against a reference model. */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/frames.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(frames, selftest_table_passes)
{
	size_t size = frames_selftest_scratch_size();
	void *scratch = malloc(size);

	fake_reset();
	cr_expect_eq(frames_selftest(scratch, size), 0, "%s", fake.console);
	free(scratch);
	cr_assert_not_null(strstr(fake.console, "0 failed"));
}
