/*
 * hvcfuzz: a seeded stream of random hypercalls (args: seed count peer),
 * for the debug EL2 which checks every guest's stage 2 against the frame DB
 * after each call that can change a mapping. Arguments are drawn to hit
 * edges: zero, huge and wrapping counts, unaligned and wild addresses,
 * frames it holds, frames others hold, ids of no guest.
 *
 * Every status is predicted from the guest's own model (model.c): which
 * frames it owns, shares with its peer (and how), lends to it; its quota;
 * whether its peer still runs; which arguments docs/abi.md refuses. What the
 * guest cannot know (frames of others, the peer's quota, EL2's table pages)
 * widens a prediction to the statuses the ABI allows there. A status outside
 * the prediction is a TAP failure naming the call, its arguments, what was
 * expected and what came back; the guest never touches memory, so the only
 * ways to fail are a wrong answer or an EL2 that stops answering.
 */
#include "model.h"

#include <exo/hypercall.h>
#include <exo/frame_state.h>
#include <lib/print.h>
#include <stdlib.h>

#include "../tap.h"

#define NR_STATUS 16             /* EXO_OK .. EXO_EFULL */
#define MISMATCHES_SHOWN 20

static uint64_t rng;
static uint64_t by_status[NR_STATUS], calls, bad, memory_calls, exact;
static uint64_t mismatches;
static struct model m;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/* Three in eight aim at frames the guest holds: where its model answers
 * with one status. */
static uint64_t pick_pa(void)
{
	switch (next() % 8) {
	case 0:
	case 1:
	case 2: return model_some_frame(&m, next());
	case 3: return MODEL_RAM_BASE + (next() % (MODEL_RAM_SIZE >> 12) << 12);
	case 4: return next();                                 /* wild */
	case 5: return MODEL_RAM_BASE + (next() % MODEL_RAM_SIZE); /* unaligned */
	case 6: return MODEL_RAM_BASE + MODEL_RAM_SIZE - ((next() % 4) << 12);
	default: return MODEL_EL2_IMAGE;
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

static void record(int64_t st)
{
	calls++;
	if (st > 0 || st < -(NR_STATUS - 1)) {
		bad++;
		return;
	}
	by_status[-st]++;
}

static void show_mask(uint32_t mask)
{
	const char *sep = "";

	for (int s = 0; s < NR_STATUS; s++) {
		if (mask >> s & 1) {
			kprintf("%s%d", sep, -s);
			sep = ",";
		}
	}
}

static bool allowed(uint32_t want, int64_t status)
{
	return status <= 0 && status > -NR_STATUS && (want >> -status & 1);
}

/* Compares, counts and, for the first few, reports as a TAP failure. */
static void judge(const struct model_call *c, uint32_t want, int64_t got)
{
	record(got);
	if (model_is_memory_call(c->fid))
		memory_calls++;
	exact += want && (want & (want - 1)) == 0;
	if (allowed(want, got))
		return;
	if (++mismatches > MISMATCHES_SHOWN)
		return;
	tap_count++;
	tap_failed++;
	kprintf("not ok %u - call %lu: %s(0x%lx, 0x%lx, 0x%lx, 0x%lx): "
		"expected {", tap_count, (unsigned long)calls,
		model_call_name(c->fid), (unsigned long)c->x[0],
		(unsigned long)c->x[1], (unsigned long)c->x[2],
		(unsigned long)c->x[3]);
	show_mask(want);
	kprintf("}, got %ld\n", (long)got);
}

/* A call's results (not its status) disagree with what the guest holds. */
static void results_mismatch(const struct model_call *c,
			     const struct exo_ret *r)
{
	if (++mismatches > MISMATCHES_SHOWN)
		return;
	tap_count++;
	tap_failed++;
	kprintf("not ok %u - call %lu: %s(0x%lx, 0x%lx): results 0x%lx, 0x%lx "
		"disagree with what the guest holds\n", tap_count,
		(unsigned long)calls, model_call_name(c->fid),
		(unsigned long)c->x[0], (unsigned long)c->x[1],
		(unsigned long)r->x1, (unsigned long)r->x2);
}

/* The call with its arguments, drawn at random. */
static struct model_call draw(uint64_t peer)
{
	uint64_t pa = pick_pa(), n = pick_count(), who = next() % 4 ? peer : next();
	static const uint32_t fids[] = {
		EXO_HVC_FRAME_ALLOC, EXO_HVC_FRAME_ALLOC_AT, EXO_HVC_FRAME_FREE,
		EXO_HVC_FRAME_QUERY, EXO_HVC_FRAME_SHARE, EXO_HVC_FRAME_UNSHARE,
		EXO_HVC_FRAME_LEND, EXO_HVC_FRAME_RECLAIM, EXO_HVC_FRAME_DONATE,
		EXO_HVC_NOTIFY, EXO_HVC_EVENTS, 0, EXO_HVC_REVOKED,
		EXO_HVC_VM_INFO };
	struct model_call c = { .fid = fids[next() % 14],
				.x = { pa, n, who, next() % 4 } };

	if (c.fid == EXO_HVC_FRAME_ALLOC) {
		c.x[0] = n;
		c.x[1] = next() % 20;
		c.x[2] = c.x[3] = 0;   /* no flags (NOZERO: hvcabi) */
	} else if (c.fid == EXO_HVC_NOTIFY) {
		c.x[0] = who;
	} else if (c.fid == EXO_HVC_REVOKED) {
		c.x[0] = next() % 4;
	} else if (c.fid == 0) {
		/* Any ID in the exo range but EXIT (which ends the run) and
		 * WAIT (which blocks until a peer notifies). */
		c.fid = EXO_HVC(next() % 64);
		if (c.fid == EXO_HVC_EXIT || c.fid == EXO_HVC_WAIT)
			c.fid = EXO_HVC_VERSION;
		for (int i = 0; i < MODEL_CALL_ARGS; i++)
			c.x[i] = next();
	}
	return c;
}

static struct exo_ret perform(const struct model_call *c)
{
	return exo_hvc(c->fid, c->x[0], c->x[1], c->x[2], c->x[3], c->x[4],
		       c->x[5], c->x[6]);
}

/* Calls between guests reach it (not ended, not being scrubbed). */
static bool peer_runs(const char *peer_name)
{
	struct exo_ret r = exo_vm_lookup(peer_name);

	return r.status == EXO_OK && r.x2 == EXO_VM_RUNS;
}

static void one_call(uint64_t peer, const char *peer_name)
{
	struct model_call c = draw(peer);
	struct exo_ret r;
	uint32_t want;

	while (model_touches_vital(&m, &c))
		c = draw(peer);
	/* The peer ending changes what this guest holds (its shares and
	 * loans come back): looked up before each call, and again after a
	 * surprise, in case it ended during the call. */
	if (m.peer_runs && !peer_runs(peer_name))
		model_peer_ended(&m);
	want = model_predict(&m, &c);
	r = perform(&c);
	if (!allowed(want, r.status) && m.peer_runs && !peer_runs(peer_name)) {
		model_peer_ended(&m);
		want |= model_predict(&m, &c);
	}
	judge(&c, want, r.status);
	if (!model_learn(&m, &c, &r))
		results_mismatch(&c, &r);
}

int main(int argc, char **argv)
{
	uint64_t count = argc > 2 ? strtoul(argv[2], NULL, 0) : 100000;
	const char *peer_name = argc > 3 ? argv[3] : "";
	uint64_t peer = exo_vm_lookup(peer_name).x1;
	struct exo_ret info = exo_vm_info();

	rng = (argc > 1 ? strtoul(argv[1], NULL, 0) : 1) | 1;
	kprintf("hvcfuzz: seed 0x%lx, %lu calls, peer %lu\n",
		(unsigned long)rng, (unsigned long)count, (unsigned long)peer);
	model_init(&m, info.x1, peer, info.x2,
		   exo_frame_query(MODEL_EL2_IMAGE).x1 == EXO_FRAME_HYP);
	model_scan_own(&m);
	kprintf("hvcfuzz: runs on %lu frames in 0x%lx-0x%lx, left alone\n",
		(unsigned long)m.nr_held, (unsigned long)m.vital_lo,
		(unsigned long)m.vital_hi);
	for (uint64_t i = 0; i < count; i++)
		one_call(peer, peer_name);
	kprintf("hvcfuzz: %lu calls, %lu outside the ABI; by status:",
		(unsigned long)calls, (unsigned long)bad);
	for (int s = 0; s < NR_STATUS; s++)
		kprintf(" %d:%lu", -s, (unsigned long)by_status[s]);
	kprintf("\n");
	kprintf("hvcfuzz: %lu memory calls, %lu predicted exactly, %lu "
		"mismatches, %lu frames held at the end\n",
		(unsigned long)memory_calls, (unsigned long)exact,
		(unsigned long)mismatches, (unsigned long)m.nr_held);
	TAP_CHECK(!mismatches && !bad,
		  "%lu calls: every status as the model predicts",
		  (unsigned long)calls);
	return tap_done();
}
