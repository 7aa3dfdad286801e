/*
 * quota: the frame quota and the argument checks of the memory hypercalls,
 * seen from a guest. Asks FRAME_ALLOC for more than its quota (EXO_EQUOTA),
 * keeps running, allocates within the quota up to the cap, checks the
 * VM_INFO numbers before and after each step, frees everything, and checks
 * the documented error of each malformed call (docs/abi.md). Every failed
 * call must leave VM_INFO's count unchanged. Reports in TAP ("ok N - ...",
 * plan last; always the same number of tests, a check that depends on
 * where EL2 put the frames is a "# SKIP" when it cannot be made) and exits
 * 0 only when every check passed.
 *
 * args: "--quota=N", the quota-frames its manifest entry gives it.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../faultcatch.h"

#define FRAME_SIZE EXO_FRAME_SIZE
#define RUN 16u			/* frames of the within-quota run */
#define CHUNK 8u		/* frames per allocation when filling */
#define MAX_ALLOCS 1024u	/* allocations kept while filling */
/* Stage-2 table pages an allocation may charge on top of its frames, and
 * what may stay charged after a free (EL2 keeps a small table cache). */
#define TABLE_SLACK 8u
#define PEER_SCAN 4096u		/* frames scanned each side for a peer's */
#define EL2_IMAGE_PA 0x40200000ul	/* docs/manifest.md: QEMU loads EL2 here */

static unsigned tests, failures;

static void check(int ok, const char *what)
{
	tests++;
	if (!ok)
		failures++;
	kprintf("%sok %u - %s\n", ok ? "" : "not ", tests, what);
}

static void skip(const char *what, const char *why)
{
	tests++;
	kprintf("ok %u - %s # SKIP %s\n", tests, what, why);
}

static void note_status(const char *call, int64_t got, int64_t want)
{
	if (got != want)
		kprintf("# %s: status %ld, wanted %ld\n", call, (long)got,
			(long)want);
}

/* Frames charged to this guest now (VM_INFO x3). */
static uint64_t used(void)
{
	return exo_vm_info().x3;
}

/* A failing call: the documented status, and no charge left behind. */
static void expect_refused(const char *what, struct exo_ret r, int64_t want,
			   uint64_t used_before)
{
	uint64_t now = used();

	note_status(what, r.status, want);
	if (now != used_before)
		kprintf("# %s: used %lu -> %lu\n", what,
			(unsigned long)used_before, (unsigned long)now);
	check(r.status == want && now == used_before, what);
}

static struct exo_ret ret(int64_t status)
{
	return (struct exo_ret){ status, 0, 0, 0 };
}

static uint64_t quota_arg(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--quota=", 8))
			return strtoul(argv[i] + 8, NULL, 0);
	return 0;
}

/* The guest's MMU is on: frames are reached through the libos direct map,
 * mapped only while they are looked at. */
static int frames_are(uint64_t pa, uint64_t count, uint64_t word)
{
	const volatile uint64_t *p = pa_map(pa, count * FRAME_SIZE);
	int same = 1;

	for (uint64_t i = 0; same && i < count * FRAME_SIZE / sizeof(*p); i++)
		same = p[i] == word;
	pa_unmap(pa, count * FRAME_SIZE);
	return same;
}

static void fill(uint64_t pa, uint64_t count, uint64_t word)
{
	volatile uint64_t *p = pa_map(pa, count * FRAME_SIZE);

	for (uint64_t i = 0; i < count * FRAME_SIZE / sizeof(*p); i++)
		p[i] = word;
	pa_unmap(pa, count * FRAME_SIZE);
}

/* 1: what VM_INFO says at the start. */
static void test_vm_info(uint64_t want_quota, uint64_t *quota)
{
	struct exo_ret vm = exo_vm_info();

	kprintf("# vm info: id %lu, quota %lu, used %lu\n",
		(unsigned long)vm.x1, (unsigned long)vm.x2,
		(unsigned long)vm.x3);
	check(vm.status == EXO_OK, "VM_INFO succeeds");
	check(vm.x2 == want_quota, "VM_INFO quota is the manifest's "
	      "quota-frames");
	check(vm.x3 > 0 && vm.x3 < vm.x2, "VM_INFO used is above 0 (the "
	      "image) and below the quota");
	*quota = vm.x2;
}

/* 2: malformed arguments: EINVAL or ERANGE, nothing charged. */
static void test_bad_arguments(void)
{
	uint64_t u = used();

	expect_refused("FRAME_ALLOC of 0 frames is EXO_EINVAL",
		       exo_frame_alloc(0, 0), EXO_EINVAL, u);
	expect_refused("FRAME_ALLOC above EXO_FRAME_MAX_COUNT is EXO_EINVAL",
		       exo_frame_alloc(EXO_FRAME_MAX_COUNT + 1, 0), EXO_EINVAL,
		       u);
	expect_refused("FRAME_ALLOC of 2^64-1 frames is EXO_EINVAL",
		       exo_frame_alloc(UINT64_MAX, 0), EXO_EINVAL, u);
	expect_refused("FRAME_ALLOC alignment above the limit is EXO_EINVAL",
		       exo_frame_alloc(1, EXO_FRAME_MAX_ALIGN_LOG2 + 1),
		       EXO_EINVAL, u);
	expect_refused("FRAME_ALLOC with unknown flags is EXO_EINVAL",
		       exo_call3(EXO_HVC_FRAME_ALLOC, 1, 0,
				 EXO_FRAME_ALLOC_FLAGS + 1),
		       EXO_EINVAL, u);
	expect_refused("FRAME_FREE of 0 frames is EXO_EINVAL",
		       ret(exo_frame_free(EL2_IMAGE_PA, 0)), EXO_EINVAL, u);
}

/* 3: more than the quota: EQUOTA, nothing charged, the guest goes on. */
static void test_over_quota(uint64_t quota)
{
	uint64_t u = used();

	expect_refused("FRAME_ALLOC of quota + 1 frames is EXO_EQUOTA",
		       exo_frame_alloc(quota + 1, 0), EXO_EQUOTA, u);
	expect_refused("FRAME_ALLOC of one frame more than is left is "
		       "EXO_EQUOTA", exo_frame_alloc(quota - u + 1, 0),
		       EXO_EQUOTA, u);
	expect_refused("FRAME_ALLOC_AT over the quota is EXO_EQUOTA",
		       ret(exo_frame_alloc_at(0x7f000000ul, quota)),
		       EXO_EQUOTA, u);
	exo_yield();
	check(used() == u, "still running after EXO_EQUOTA, nothing charged");
}

/* A range that starts with our run and runs one frame past it: refused
 * whole (all-or-nothing), with the error of the frame that is not ours. */
static void test_past_the_run(uint64_t pa, uint64_t used_now)
{
	const char *what = "FRAME_FREE running one frame past our run is "
			   "refused whole";
	const char *untouched = "the run is untouched by the refused free";
	struct exo_ret next = exo_frame_query(pa + RUN * FRAME_SIZE);
	int64_t want;

	switch (next.status == EXO_OK && !next.x2 ? next.x1 : EXO_FRAME_NONE) {
	case EXO_FRAME_HYP:
		want = EXO_EHYP;
		break;
	case EXO_FRAME_FREE:		/* nobody's */
	case EXO_FRAME_OWNED:		/* another guest's */
		want = EXO_EPERM;
		break;
	default:			/* ours, or not RAM */
		skip(what, "the next frame is ours or not RAM");
		skip(untouched, "no free was tried");
		return;
	}
	expect_refused(what, ret(exo_frame_free(pa, RUN + 1)), want, used_now);
	check(frames_are(pa, RUN, 0x5a5a5a5a5a5a5a5aull) &&
	      exo_frame_query(pa).x2 == 1, untouched);
}

/* 4: a run within the quota: charged, zeroed, ours; freed: uncharged. */
static void test_within_quota(uint64_t quota)
{
	uint64_t before = used(), after, pa;
	struct exo_ret a = exo_frame_alloc(RUN, 0), q;

	note_status("FRAME_ALLOC within quota", a.status, EXO_OK);
	check(a.status == EXO_OK && a.x1 && !(a.x1 % FRAME_SIZE),
	      "FRAME_ALLOC of 16 frames within quota succeeds");
	if (a.status != EXO_OK)
		return;
	pa = a.x1;
	after = used();
	kprintf("# alloc %u: used %lu -> %lu of %lu\n", RUN,
		(unsigned long)before, (unsigned long)after,
		(unsigned long)quota);
	check(after >= before + RUN && after <= before + RUN + TABLE_SLACK &&
	      after <= quota, "VM_INFO charges the 16 frames (and at most a "
	      "few table pages)");
	q = exo_frame_query(pa + (RUN - 1) * FRAME_SIZE);
	check(q.status == EXO_OK && q.x1 == EXO_FRAME_OWNED && q.x2 == 1,
	      "FRAME_QUERY: the run is OWNED and accessible");
	check(frames_are(pa, RUN, 0), "the frames arrive zeroed");
	fill(pa, RUN, 0x5a5a5a5a5a5a5a5aull);
	check(frames_are(pa, RUN, 0x5a5a5a5a5a5a5a5aull),
	      "the frames hold what was written");

	expect_refused("FRAME_FREE of an unaligned PA is EXO_ERANGE",
		       ret(exo_frame_free(pa + 8, 1)), EXO_ERANGE, after);
	expect_refused("FRAME_ALLOC_AT of an unaligned PA is EXO_ERANGE",
		       ret(exo_frame_alloc_at(pa + FRAME_SIZE + 1, 1)),
		       EXO_ERANGE, after);
	expect_refused("FRAME_QUERY of an unaligned PA is EXO_ERANGE",
		       exo_frame_query(pa + 1), EXO_ERANGE, after);
	test_past_the_run(pa, after);

	check(exo_frame_free(pa, RUN) == EXO_OK, "FRAME_FREE of the run");
	after = used();
	kprintf("# free %u: used %lu\n", RUN, (unsigned long)after);
	check(after >= before && after <= before + TABLE_SLACK,
	      "VM_INFO uncharges the freed frames");
	q = exo_frame_query(pa);
	check(q.status == EXO_OK && q.x2 == 0, "FRAME_QUERY: a freed frame is "
	      "no longer accessible");
	expect_refused("FRAME_FREE of a frame freed already is EXO_EPERM",
		       ret(exo_frame_free(pa, 1)), EXO_EPERM, after);
}

/* 5: allocations up to the cap, then EQUOTA, then everything back. */
static void test_fill_to_cap(uint64_t quota)
{
	static uint64_t pas[MAX_ALLOCS], counts[MAX_ALLOCS];
	uint64_t before = used(), at_cap, frames = 0, chunk = CHUNK;
	unsigned n = 0, freed = 0;
	struct exo_ret a = { EXO_OK, 0, 0, 0 };

	while (n < MAX_ALLOCS) {
		a = exo_frame_alloc(chunk, 0);
		if (a.status == EXO_EQUOTA && chunk > 1) {
			chunk = 1;	/* then frame by frame to the last one */
			continue;
		}
		if (a.status != EXO_OK)
			break;
		fill(a.x1, chunk, a.x1);
		pas[n] = a.x1;
		counts[n++] = chunk;
		frames += chunk;
	}
	at_cap = used();
	kprintf("# filled: %lu frames in %u allocations, used %lu -> %lu of "
		"%lu, stopped by %ld\n", (unsigned long)frames, n,
		(unsigned long)before, (unsigned long)at_cap,
		(unsigned long)quota, (long)a.status);
	check(a.status == EXO_EQUOTA, "allocating until refused ends in "
	      "EXO_EQUOTA");
	check(at_cap <= quota && at_cap + TABLE_SLACK >= quota,
	      "at the cap VM_INFO used is within a few table pages of the "
	      "quota, never above");
	check(frames + before <= at_cap, "VM_INFO charged every frame "
	      "allocated");
	expect_refused("at the cap, one more frame is EXO_EQUOTA",
		       exo_frame_alloc(1, 0), EXO_EQUOTA, at_cap);

	for (unsigned i = 0; i < n; i++) {
		int64_t st;

		if (!frames_are(pas[i], counts[i], pas[i]))
			break;
		st = exo_frame_free(pas[i], counts[i]);
		note_status("FRAME_FREE", st, EXO_OK);
		if (st != EXO_OK)
			break;
		freed++;
	}
	check(freed == n, "every allocation kept its contents and was freed");
	kprintf("# after freeing: used %lu\n", (unsigned long)used());
	check(used() >= before && used() <= before + TABLE_SLACK,
	      "VM_INFO is back where it was before filling");
	a = exo_frame_alloc(RUN, 0);
	check(a.status == EXO_OK && exo_frame_free(a.x1, RUN) == EXO_OK,
	      "after freeing, frames can be allocated again");
}

/* 6: frames this guest does not own. */
static void test_not_ours(void)
{
	const struct el1_boot_info *bi = el1_boot_info();
	uint64_t lo = bi->mem[0].base, hi = lo + bi->mem[0].size, u = used();
	uint64_t peer = 0;
	struct exo_ret q = exo_frame_query(EL2_IMAGE_PA);

	check(q.status == EXO_OK && q.x1 == EXO_FRAME_HYP && q.x2 == 0,
	      "FRAME_QUERY: EL2's image is HYP and not ours");
	expect_refused("FRAME_FREE of EL2's frame is EXO_EHYP",
		       ret(exo_frame_free(EL2_IMAGE_PA, 1)), EXO_EHYP, u);

	for (uint64_t i = 0; i < PEER_SCAN && !peer; i++) {
		uint64_t cand[2] = { hi + i * FRAME_SIZE,
				     lo - (i + 1) * FRAME_SIZE };

		for (unsigned k = 0; k < 2 && !peer; k++) {
			q = exo_frame_query(cand[k]);
			if (q.status == EXO_OK && q.x1 == EXO_FRAME_OWNED &&
			    q.x2 == 0)
				peer = cand[k];
		}
	}
	if (!peer) {	/* every other guest has exited already */
		skip("FRAME_FREE of another guest's frame is EXO_EPERM",
		     "no other guest's frame near ours");
		skip("the other guest's frame is still OWNED by it",
		     "no other guest's frame near ours");
		return;
	}
	kprintf("# another guest's frame: 0x%lx\n", (unsigned long)peer);
	expect_refused("FRAME_FREE of another guest's frame is EXO_EPERM",
		       ret(exo_frame_free(peer, 1)), EXO_EPERM, u);
	/* Its owner may have exited meanwhile (then it is FREE): what matters
	 * is that the refused free did not make it ours. */
	q = exo_frame_query(peer);
	check(q.status == EXO_OK && q.x2 == 0 &&
		      (q.x1 == EXO_FRAME_OWNED || q.x1 == EXO_FRAME_FREE),
	      "the other guest's frame is still OWNED by it");
}

EL1_GUEST_OPTIONS("--quota=");

int main(int argc, char **argv)
{
	uint64_t want = quota_arg(argc, argv), quota;

	kprintf("# %s: quota and frame-call checks, quota-frames %lu\n",
		argv[0], (unsigned long)want);
	/* First, while every other guest still holds its boot frames. */
	test_not_ours();
	test_vm_info(want, &quota);
	test_bad_arguments();
	test_over_quota(quota);
	test_within_quota(quota);
	test_fill_to_cap(quota);
	kprintf("1..%u\n", tests);
	if (failures)
		kprintf("# %u of %u failed\n", failures, tests);
	return failures ? 1 : 0;
}
