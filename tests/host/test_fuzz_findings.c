/*
 * Minimal reproducers of bugs the libFuzzer targets (tests/fuzz/) found,
 * one Test each; the fuzz inputs themselves are kept in
 * tests/fuzz/corpus/<target>/.
 */
#define _GNU_SOURCE /* MAP_FIXED_NOREPLACE */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/frames.h>
#include <el2/manifest.h>
#include <el2/mem.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>


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

/*
 * fuzz_hvc: a refused call between guests changed the borrower's charge.
 * Guest 1 shares part of a 2 MiB block with guest 2 and exits; taking the
 * share back reserves table pages for guest 2 (unmap_from) and leaves them
 * in its cache. Guest 1, created again, then asks to UNSHARE frames it
 * does not own: EPERM, and yet mem.c trimmed guest 2's cache to the
 * reserve on its way out, freeing a page charged to guest 2. A refused
 * call must leave no trace (tests/fuzz/corpus/hvc/refused-unshare-trims).
 */
#define FINDING_RAM_BASE UINT64_C(0x40000000)
#define FINDING_RAM_FRAMES 2048u
#define FINDING_QUOTA 1024u
#define BLOCK_FRAMES 512u
#define BLOCK_ALIGN_LOG2 9u

static struct vm finding_vms[2];
static uint64_t finding_roots[2][S2_ROOT_SIZE / sizeof(uint64_t)]
	__attribute__((aligned(S2_ROOT_SIZE)));

static void finding_create(unsigned i)
{
	memset(&finding_vms[i], 0, sizeof(finding_vms[i]));
	finding_vms[i].id = i + 1;
	finding_vms[i].state = VM_RUNNING;
	cr_assert_eq(mem_vm_create(&finding_vms[i], FINDING_QUOTA,
				   finding_roots[i]), EXO_OK);
}

Test(fuzz_findings, refused_unshare_leaves_the_borrower_charged)
{
	size_t size = mem_storage_size(FINDING_RAM_FRAMES);
	void *ram = mmap((void *)FINDING_RAM_BASE,
			 FINDING_RAM_FRAMES * FRAMES_SIZE,
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED_NOREPLACE, -1, 0);
	void *storage = calloc(1, size);
	struct vm *a = &finding_vms[0], *b = &finding_vms[1];
	uint64_t block, mine, used, free_before, free_after, hyp, held;
	paddr_t at;
	unsigned cached;

	cr_assert_eq(ram, (void *)FINDING_RAM_BASE, "RAM at its PA");
	fake_reset();
	cr_assert_eq(mem_init(FINDING_RAM_BASE, FINDING_RAM_FRAMES, storage,
			      size), 0);
	cr_assert_eq(mem_add_ram(FINDING_RAM_BASE, FINDING_RAM_FRAMES), 0);
	finding_create(0);
	finding_create(1);
	cr_assert_eq(mem_frame_alloc(a, BLOCK_FRAMES, BLOCK_ALIGN_LOG2, &at),
		     EXO_OK);
	block = pa_addr(at);
	cr_assert_eq(mem_frame_share(a, b, pa_init(block + 7 * FRAMES_SIZE), 21,
				     EXO_SHARE_R),
		     EXO_OK);
	cr_assert_eq(mem_frame_alloc(b, 2, 0, &at), EXO_OK);
	mine = pa_addr(at);
	a->state = VM_EXITED;
	mem_vm_teardown(a);
	finding_create(0);

	used = frames_account(mem_frames_db(), b->id)->used;
	cached = b->s2_cache.nr;
	mem_totals(&free_before, &hyp, &held);
	cr_assert_eq(mem_frame_unshare(a, b, pa_init(mine), 2), EXO_EPERM);
	mem_totals(&free_after, &hyp, &held);
	cr_expect_eq(frames_account(mem_frames_db(), b->id)->used, used,
		     "guest 2 charged %lu before the refused call, %lu after",
		     (unsigned long)used,
		     (unsigned long)frames_account(mem_frames_db(),
						   b->id)->used);
	cr_expect_eq(b->s2_cache.nr, cached, "guest 2's table cache changed");
	cr_expect_eq(free_after, free_before, "FREE frames changed");
	mem_vm_teardown(a);
	mem_vm_teardown(b);
	free(storage);
	munmap(ram, FINDING_RAM_FRAMES * FRAMES_SIZE);
}

/*
 * fuzz_hvc: revocation took frames of the guest's boot run (its image,
 * DTB and first stack, which EL2 promises never to take). mem_revoke
 * skipped the boot run only at the head or the tail of an owned run; when
 * the guest's own allocations lay on both sides of it, the DB held one
 * run around it and all of it was taken
 * (tests/fuzz/corpus/hvc/revoke-around-boot-run).
 */
/* Frames [100, 102), the boot run [102, 106), frames [106, 108). */
#define AROUND_FIRST 100u
#define AROUND_BOOT 102u
#define AROUND_BOOT_FRAMES 4u
#define AROUND_LAST 106u
#define AROUND_SIDE_FRAMES 2u

Test(fuzz_findings, revocation_spares_a_boot_run_between_allocations)
{
	size_t size = mem_storage_size(FINDING_RAM_FRAMES);
	void *ram = mmap((void *)FINDING_RAM_BASE,
			 FINDING_RAM_FRAMES * FRAMES_SIZE,
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED_NOREPLACE, -1, 0);
	void *storage = calloc(1, size);
	struct vm *v = &finding_vms[0];
	uint64_t boot = FINDING_RAM_BASE + AROUND_BOOT * FRAMES_SIZE;
	struct vm_run log[VM_REVOKED_MAX];
	unsigned nr = 0;
	uint64_t took;

	cr_assert_eq(ram, (void *)FINDING_RAM_BASE, "RAM at its PA");
	fake_reset();
	cr_assert_eq(mem_init(FINDING_RAM_BASE, FINDING_RAM_FRAMES, storage,
			      size), 0);
	cr_assert_eq(mem_add_ram(FINDING_RAM_BASE, FINDING_RAM_FRAMES), 0);
	finding_create(0);
	cr_assert_eq(mem_frame_alloc_at(v, pa_init(boot), AROUND_BOOT_FRAMES),
		     EXO_OK);
	v->boot_run = (struct vm_run){ boot, AROUND_BOOT_FRAMES };
	cr_assert_eq(mem_frame_alloc_at(v, pa_init(FINDING_RAM_BASE +
					AROUND_FIRST * FRAMES_SIZE),
					AROUND_SIDE_FRAMES), EXO_OK);
	cr_assert_eq(mem_frame_alloc_at(v, pa_init(FINDING_RAM_BASE +
					AROUND_LAST * FRAMES_SIZE),
					AROUND_SIDE_FRAMES), EXO_OK);

	took = mem_revoke(v, FINDING_QUOTA, log, VM_REVOKED_MAX, &nr);
	cr_expect_eq(took, 2 * AROUND_SIDE_FRAMES,
		     "took %lu frames; only the %u around the boot run may go",
		     (unsigned long)took, 2 * AROUND_SIDE_FRAMES);
	for (unsigned i = 0; i < nr; i++)
		cr_expect(log[i].pa + log[i].count * FRAMES_SIZE <= boot ||
				  log[i].pa >= boot +
				  AROUND_BOOT_FRAMES * FRAMES_SIZE,
			  "run [0x%lx, +%lu) overlaps the boot run",
			  (unsigned long)log[i].pa,
			  (unsigned long)log[i].count);
	mem_vm_teardown(v);
	free(storage);
	munmap(ram, FINDING_RAM_FRAMES * FRAMES_SIZE);
}
