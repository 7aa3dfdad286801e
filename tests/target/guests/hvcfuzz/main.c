/*
 * hvcfuzz: a seeded stream of random hypercalls (args: seed count), for
 * the debug EL2 which checks every guest's stage 2 against the frame DB
 * after each call that can change a mapping. Arguments are drawn to hit
 * edges: zero, huge and wrapping counts, unaligned and wild addresses,
 * frames it holds, frames others hold, ids of no guest. Every status must
 * be one docs/abi.md lists; the guest never touches memory, so the only
 * way to fail is a wrong answer or an EL2 that stops answering.
 */
#include <exo/hypercall.h>
#include <lib/print.h>
#include <stdlib.h>

#define RAM_BASE 0x40000000ul
#define RAM_SIZE 0x40000000ul
#define HELD_MAX 64
#define NR_STATUS 15             /* EXO_OK .. EXO_ESTATE */

static uint64_t rng;
static uint64_t held[HELD_MAX], held_count[HELD_MAX];
static unsigned nr_held;
static uint64_t by_status[NR_STATUS], calls, bad;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t pick_pa(void)
{
	switch (next() % 6) {
	case 0: return nr_held ? held[next() % nr_held] : RAM_BASE;
	case 1: return RAM_BASE + (next() % (RAM_SIZE >> 12) << 12);
	case 2: return next();                           /* wild */
	case 3: return RAM_BASE + (next() % RAM_SIZE);   /* unaligned */
	case 4: return RAM_BASE + RAM_SIZE - ((next() % 4) << 12);
	default: return 0x40200000ul;                    /* EL2's image */
	}
}

static uint64_t pick_count(void)
{
	switch (next() % 5) {
	case 0: return 0;
	case 1: return next();
	case 2: return 1ul << (next() % 21);
	default: return 1 + next() % 8;
	}
}

static void remember(uint64_t pa, uint64_t count)
{
	if (nr_held < HELD_MAX) {
		held[nr_held] = pa;
		held_count[nr_held++] = count;
	}
}

static void record(int64_t st)
{
	calls++;
	if (st > 0 || st < -(NR_STATUS - 1)) {
		bad++;
		kprintf("call %lu: status %ld is not in the ABI\n",
			(unsigned long)calls, (long)st);
		return;
	}
	by_status[-st]++;
}

/* Any ID in the exo range but EXIT (which ends the run) and WAIT (which
 * blocks until a peer notifies), with random arguments. */
static int64_t random_id(void)
{
	uint32_t fid = EXO_HVC(next() % 64);

	if (fid == EXO_HVC_EXIT || fid == EXO_HVC_WAIT)
		fid = EXO_HVC_VERSION;
	return exo_hvc(fid, next(), next(), next(), next(), next(), next(),
		       next()).status;
}

static void one_call(uint64_t peer)
{
	uint64_t pa = pick_pa(), n = pick_count(), who = next() % 4 ? peer : next();
	struct exo_ret r;
	unsigned i;

	switch (next() % 14) {
	case 0:
		r = exo_frame_alloc(n, (unsigned)(next() % 20));
		if (r.status == EXO_OK)
			remember(r.x1, n);
		record(r.status);
		break;
	case 1:
		r.status = exo_frame_alloc_at(pa, n);
		if (r.status == EXO_OK)
			remember(pa, n);
		record(r.status);
		break;
	case 2:
		if (nr_held && next() % 2) {
			i = (unsigned)(next() % nr_held);
			record(exo_frame_free(held[i], held_count[i]));
			held[i] = held[--nr_held];
			held_count[i] = held_count[nr_held];
		} else {
			record(exo_frame_free(pa, n));
		}
		break;
	case 3: record(exo_frame_query(pa).status); break;
	case 4: record(exo_frame_share(pa, n, who, (unsigned)(next() % 4))); break;
	case 5: record(exo_frame_unshare(pa, n, who)); break;
	case 6: record(exo_frame_lend(pa, n, who)); break;
	case 7: record(exo_frame_reclaim(pa, n, who)); break;
	case 8: record(exo_frame_donate(pa, n, who)); break;
	case 9: record(exo_notify(who)); break;
	case 10: record(exo_events().status); break;
	case 11:
		record(random_id());
		break;
	case 12: record(exo_revoked(next() % 4).status); break;
	default: record(exo_vm_info().status); break;
	}
}

int main(int argc, char **argv)
{
	uint64_t count = argc > 2 ? strtoul(argv[2], NULL, 0) : 100000;
	uint64_t peer = exo_vm_lookup(argc > 3 ? argv[3] : "").x1;

	rng = (argc > 1 ? strtoul(argv[1], NULL, 0) : 1) | 1;
	kprintf("hvcfuzz: seed 0x%lx, %lu calls, peer %lu\n",
		(unsigned long)rng, (unsigned long)count, (unsigned long)peer);
	for (uint64_t i = 0; i < count; i++)
		one_call(peer);
	kprintf("hvcfuzz: %lu calls, %lu outside the ABI; by status:",
		(unsigned long)calls, (unsigned long)bad);
	for (int s = 0; s < NR_STATUS; s++)
		kprintf(" %d:%lu", -s, (unsigned long)by_status[s]);
	kprintf("\n");
	return bad ? 1 : 0;
}
