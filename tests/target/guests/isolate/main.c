/*
 * isolate: two or more copies of this guest attack each other. Each fills
 * frames of its own with a pattern, finds frames owned by another guest
 * (FRAME_QUERY: OWNED but not accessible to it) and tries to read, write
 * and execute them by physical address, and to take them with
 * FRAME_ALLOC_AT and FRAME_FREE; it also probes EL2's frames. Every attempt
 * must fail (a reflected external abort, or the documented error), and its
 * own pattern must be intact at the end.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>

#include "../faultcatch.h"
#include "../tap.h"

#define OWN_FRAMES 16
#define FRAME_SIZE EXO_FRAME_SIZE
#define YIELDS 20
#define RAM_BASE 0x40000000ul
#define RAM_SCAN_FRAMES 65536    /* the first 256 MiB: where guests live */

static uint64_t pattern(uint64_t id, uint64_t i)
{
	return (id << 48) ^ (i * 0x9e3779b97f4a7c15ull);
}

static bool is_own(uint64_t pa)
{
	const struct el1_boot_info *b = el1_boot_info();

	for (unsigned i = 0; i < b->mem_count; i++)
		if (pa >= b->mem[i].base && pa < b->mem[i].base + b->mem[i].size)
			return true;
	return false;
}

/* The first frame with this state that the caller may not access. */
static uint64_t find_foreign(uint64_t state)
{
	for (uint64_t f = 0; f < RAM_SCAN_FRAMES; f++) {
		uint64_t pa = RAM_BASE + f * FRAME_SIZE;
		struct exo_ret q = exo_frame_query(pa);

		if (q.status == EXO_OK && q.x1 == state && q.x2 == 0 && !is_own(pa))
			return pa;
	}
	return 0;
}

static void attack(uint64_t pa, const char *whose, int64_t alloc_err,
		   int64_t free_err)
{
	unsigned n = caught.count;

	probe_read(pa);
	TAP_CHECK(faultcatch_external(n, pa), "read of %s frame 0x%lx aborts",
		  whose, (unsigned long)pa);
	n = caught.count;
	probe_write(pa, 0xbad);
	TAP_CHECK(faultcatch_external(n, pa), "write to %s frame 0x%lx aborts",
		  whose, (unsigned long)pa);
	n = caught.count;
	probe_exec(pa);
	TAP_CHECK(caught.count == n + 1 && caught.far == probe_va,
		  "execute of %s frame 0x%lx aborts", whose, (unsigned long)pa);
	TAP_CHECK(exo_frame_alloc_at(pa, 1) == alloc_err,
		  "FRAME_ALLOC_AT of %s frame refused (%ld)", whose,
		  (long)alloc_err);
	TAP_CHECK(exo_frame_free(pa, 1) == free_err,
		  "FRAME_FREE of %s frame refused (%ld)", whose, (long)free_err);
}

int main(int argc, char **argv)
{
	uint64_t id = exo_vm_info().x1, bad = 0, foreign, hyp;
	struct exo_ret a = exo_frame_alloc(OWN_FRAMES, 0);
	volatile uint64_t *own = pa_map(a.x1, OWN_FRAMES * FRAME_SIZE);
	uint64_t words = OWN_FRAMES * FRAME_SIZE / sizeof(uint64_t);

	(void)argc;
	faultcatch_install();
	TAP_CHECK(a.status == EXO_OK, "%s: own frames at 0x%lx", argv[0],
		  (unsigned long)a.x1);
	for (uint64_t i = 0; i < words; i++)
		own[i] = pattern(id, i);
	for (int i = 0; i < YIELDS; i++)
		exo_yield();   /* let the others set up */

	foreign = find_foreign(EXO_FRAME_OWNED);
	TAP_CHECK(foreign != 0, "found another guest's frame 0x%lx",
		  (unsigned long)foreign);
	if (foreign)
		attack(foreign, "another guest's", EXO_EBUSY, EXO_EPERM);
	hyp = find_foreign(EXO_FRAME_HYP);
	TAP_CHECK(hyp != 0, "found an EL2 frame 0x%lx", (unsigned long)hyp);
	if (hyp)
		attack(hyp, "EL2's", EXO_EHYP, EXO_EHYP);

	for (int i = 0; i < YIELDS; i++)
		exo_yield();   /* let the others attack */
	for (uint64_t i = 0; i < words; i++)
		bad += own[i] != pattern(id, i);
	TAP_CHECK(bad == 0, "own pattern intact after the attacks (%lu bad)",
		  (unsigned long)bad);
	pa_unmap(a.x1, OWN_FRAMES * FRAME_SIZE);
	TAP_CHECK(exo_frame_free(a.x1, OWN_FRAMES) == EXO_OK, "own frames freed");
	return tap_done();
}
