/*
 * Minimal reproducers of bugs the libFuzzer targets (tests/fuzz/) found,
 * one Test each; the fuzz inputs themselves are kept in
 * tests/fuzz/corpus/<target>/.
 */
#include <criterion/criterion.h>
#include <el2/manifest.h>
#include <libfdt.h>
#include <string.h>

/*
 * fuzz_manifest: a manifest DTB whose header says version 15 (older than
 * 16: node names are full paths) made manifest_parse crash EL2. libfdt
 * 1.6.1's fdt_check_full() dereferences fdt_get_name()'s result for the
 * root node, which is NULL for an old-version tree whose root name has no
 * '/'. manifest_parse must refuse it with a reason instead.
 */
Test(fuzz_findings, manifest_old_dtb_version_is_refused)
{
	static char blob[512] __attribute__((aligned(8)));
	static struct manifest m;
	void *f = blob;

	cr_assert_eq(fdt_create(f, sizeof(blob)), 0);
	fdt_finish_reservemap(f);
	fdt_begin_node(f, "");
	fdt_property_string(f, "compatible", "exo,system");
	fdt_begin_node(f, "guests");
	fdt_end_node(f);
	fdt_end_node(f);
	cr_assert_eq(fdt_finish(f), 0);
	fdt_set_version(f, 15);
	fdt_set_last_comp_version(f, 2);

	cr_assert_eq(manifest_parse(blob, fdt_totalsize(f), 1024, &m), -1);
	cr_assert(strstr(m.error, "version") != NULL, "error: %s", m.error);
}
