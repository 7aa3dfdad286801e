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

/*
 * fuzz_manifest (make test, 5 s run): a manifest whose property "image" has
 * length 0xfffffff4 (tests/fuzz/corpus/manifest/prop-length-wraps). libfdt
 * 1.6.1 adds 12 + len to an int offset, which wraps back onto the same tag,
 * so fdt_check_full() looped forever (and EL2 with it at boot).
 * manifest_parse must refuse it at once, saying which property and why (the
 * .timeout turns a hang back into a failure).
 */
Test(fuzz_findings, manifest_property_length_near_2_pow_32_is_refused,
     .timeout = 10)
{
	static char blob[512] __attribute__((aligned(8)));
	static struct manifest m;
	void *f = blob;
	int guests, hello, prop;
	fdt32_t *len;

	cr_assert_eq(fdt_create(f, sizeof(blob)), 0);
	fdt_finish_reservemap(f);
	fdt_begin_node(f, "");
	fdt_property_string(f, "compatible", "exo,system");
	fdt_begin_node(f, "guests");
	fdt_begin_node(f, "hello");
	fdt_property_string(f, "image", "hello.elf");
	fdt_property_u32(f, "quota-frames", 512);
	fdt_end_node(f);
	fdt_end_node(f);
	fdt_end_node(f);
	cr_assert_eq(fdt_finish(f), 0);
	guests = fdt_subnode_offset(f, 0, "guests");
	hello = fdt_subnode_offset(f, guests, "hello");
	prop = fdt_first_property_offset(f, hello);
	cr_assert_geq(prop, 0);
	len = (fdt32_t *)(blob + fdt_off_dt_struct(f) + prop + 4);
	*len = cpu_to_fdt32(0xfffffff4);

	cr_assert_eq(manifest_parse(blob, fdt_totalsize(f), 1024, &m), -1);
	cr_assert(strstr(m.error, "manifest: not a valid DTB: property at 0x"),
		  "error: %s", m.error);
	cr_assert(strstr(m.error, " has length 0xfffffff4, past the end of the "
			 "structure block (0x"), "error: %s", m.error);
}
