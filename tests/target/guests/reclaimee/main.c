/*
 * reclaimee: revocation against guests that share (issue 13, rules 3 and
 * 4; tests/target/test_coop_revoke.py). Each mode keeps IRQs masked where
 * it must see EL2's view before its library OS handles the event.
 *   --hoarder  shares 192 frames with 'sink' and ignores EL2's request
 *              for 160: forced revocation takes shared frames too (the
 *              dodge no longer works).
 *   --sink     borrows them; its libos is told (EXO_EVENT_RECLAIMED) and
 *              acknowledges; it prints how many frames it lost.
 *   --churn    answers EL2's request by freeing one frame and allocating
 *              it again, over and over: EVENTS still asks as much, and
 *              EL2 takes the frames by force at the deadline.
 *   --lender   lends frames to 'user' and takes them back while it uses
 *              them.
 *   --user     touches the frames after the lender took them back: an
 *              abort, not a violation; reads RECLAIMED, acknowledges.
 */
#include <el1/el1.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <libos/libos.h>
#include <string.h>

#include "../accept.h"
#include "../faultcatch.h"
#include "../spin.h"
#include "../tap.h"

#define FRAME EXO_FRAME_SIZE
#define HOARD 192         /* frames the hoarder shares; EL2 asks 160 */
#define CHURN_RUN 64      /* frames it holds (EL2 takes the 32 it asks from them) */
#define CHURN_ROUNDS 64
#define LENT 2            /* frames the lender lends */
#define WAKES_MAX 64
#define MAGIC 0x7265636c61696d21ull   /* "reclaim!" */
#define SCAN_FROM 0x40000000ul
#define SCAN_FRAMES 65536

struct mailbox {
	uint64_t magic, lent;
};

static void irqs_off(void)
{
	__asm__ volatile("msr daifset, #2" : : : "memory");
}

static void irqs_on(void)
{
	__asm__ volatile("msr daifclr, #2" : : : "memory");
}

static uint64_t peer(const char *name)
{
	struct exo_ret r = exo_vm_lookup(name);

	return r.status == EXO_OK ? r.x1 : 0;
}

/* WAIT until `from` notifies: an event also ends a WAIT, with no bit. */
static bool wait_for(uint64_t from)
{
	for (unsigned i = 0; i < WAKES_MAX; i++) {
		struct exo_ret w = exo_wait();

		if (exo_wait_from(&w, from))
			return true;
	}
	return false;
}

static bool forced(void)
{
	return exo_revoked(0).status == EXO_OK;
}

/* --- sharing does not dodge revocation ------------------------------------ */

/* Shares HOARD frames and ignores EL2's request. Forced revocation takes
 * what it owns outright first: its libos's own frames, among them its
 * stage-1 tables, so it cannot run its handlers afterwards and the
 * excused-touch limit stops it (docs/testing.md, "Soak"). What counts is
 * what EL2 took, and what the sink was told. */
static int hoarder(void)
{
	uint64_t s = peer("sink");
	struct exo_ret a = exo_frame_alloc(HOARD, 0);

	irqs_off();   /* its libos never gives anything back */
	TAP_CHECK(a.status == EXO_OK, "allocated %u frames", HOARD);
	TAP_CHECK(exo_frame_share(a.x1, HOARD, s, EXO_SHARE_RW) == EXO_OK,
		  "shared them all with the sink");
	TAP_CHECK(exo_notify(s) == EXO_OK, "told the sink");
	spin_until(forced);
	return tap_done();
}

static int sink(void)
{
	uint64_t h = peer("hoarder");
	struct libos_event_stats e;

	TAP_CHECK(wait_for(h), "the hoarder offered");
	TAP_CHECK(accept_from(h) == 1, "accepted the hoarder's share");
	/* Its end notifies (share-with): it does not outlive its loss. */
	TAP_CHECK(wait_for(h), "the hoarder lost frames by force and ended");
	libos_event_stats(&e);
	TAP_CHECK(e.pending_seen & EXO_EVENT_RECLAIMED,
		  "the event interrupt carried EXO_EVENT_RECLAIMED");
	TAP_CHECK(e.frames_reclaimed > 0 && e.reclaim_acks > 0,
		  "lost %lu shared frames, told and acknowledged",
		  (unsigned long)e.frames_reclaimed);
	TAP_CHECK(exo_reclaimed(0).status == EXO_ENOENT,
		  "EL2 forgot the runs after libos's ack");
	libos_events_print();
	return tap_done();
}

/* --- giving back means frames returned ------------------------------------ */

static bool asked(void)
{
	return exo_events().x2 > 0;
}

static int churn(void)
{
	struct exo_ret a = exo_frame_alloc(CHURN_RUN, 0), ev;
	uint64_t first, lowest = UINT64_MAX;
	unsigned ok = 0;

	irqs_off();   /* EVENTS is read here, not by libos */
	TAP_CHECK(a.status == EXO_OK, "allocated %u frames", CHURN_RUN);
	TAP_CHECK(spin_until(asked), "EL2 asks for frames back");
	first = exo_events().x2;
	for (unsigned i = 0; i < CHURN_ROUNDS; i++) {
		ok += exo_frame_free(a.x1, 1) == EXO_OK &&
		      exo_frame_alloc_at(a.x1, 1) == EXO_OK;
		ev = exo_events();
		if (ev.x2 < lowest)
			lowest = ev.x2;
	}
	TAP_CHECK(ok == CHURN_ROUNDS, "freed and took a frame again %u times",
		  ok);
	TAP_CHECK(lowest >= first,
		  "EVENTS still asks %lu frames (first %lu)",
		  (unsigned long)lowest, (unsigned long)first);
	TAP_CHECK(spin_until(forced), "EL2 took frames by force");
	TAP_CHECK(exo_revoked_ack() == EXO_OK, "acknowledged");
	irqs_on();
	return tap_done();
}

/* --- a borrower's touch of what its owner took back ----------------------- */

static uint64_t alloc(unsigned n)
{
	struct exo_ret a = exo_frame_alloc(n, 0);

	return a.status == EXO_OK ? a.x1 : 0;
}

static int lender(void)
{
	uint64_t u = peer("user"), box = alloc(1), lent = alloc(LENT);
	volatile struct mailbox *mb = pa_map(box, FRAME);

	*mb = (struct mailbox){ MAGIC, lent };
	TAP_CHECK(exo_frame_share(box, 1, u, EXO_SHARE_R) == EXO_OK,
		  "shared the mailbox");
	TAP_CHECK(exo_frame_lend(lent, LENT, u) == EXO_OK, "lent %u frames",
		  LENT);
	TAP_CHECK(exo_notify(u) == EXO_OK, "told the user");
	TAP_CHECK(wait_for(u), "the user is using them");
	TAP_CHECK(exo_frame_reclaim(lent, LENT, u) == EXO_OK,
		  "took them back mid-use");
	TAP_CHECK(exo_notify(u) == EXO_OK, "told the user");
	TAP_CHECK(wait_for(u), "the user is done");
	return tap_done();
}

static volatile struct mailbox *find_mailbox(void)
{
	for (uint64_t f = 0; f < SCAN_FRAMES; f++) {
		uint64_t pa = SCAN_FROM + f * FRAME;
		struct exo_ret q = exo_frame_query(pa);

		if (q.status == EXO_OK && q.x1 == EXO_FRAME_SHARED && q.x2 &&
		    *pa_ptr(pa) == MAGIC)
			return (volatile struct mailbox *)pa_ptr(pa);
	}
	return NULL;
}

static int user(void)
{
	uint64_t l = peer("lender"), lent;
	volatile struct mailbox *mb;
	struct exo_ret ev, run;
	unsigned n;

	faultcatch_install();
	irqs_off();   /* it sees EL2's notice before its libos does */
	TAP_CHECK(wait_for(l), "the lender offered");
	TAP_CHECK(accept_from(l) == 2, "accepted the mailbox and the loan");
	mb = find_mailbox();
	TAP_CHECK(mb != NULL, "found the mailbox");
	if (!mb)
		return tap_done();
	lent = mb->lent;
	probe_write(lent, 0x5eed);
	TAP_CHECK(probe_read(lent) == 0x5eed, "uses the lent frames");
	TAP_CHECK(exo_notify(l) == EXO_OK, "told the lender");
	TAP_CHECK(wait_for(l), "the lender took them back");
	n = caught.count;
	probe_read(lent);
	TAP_CHECK(faultcatch_external(n, lent),
		  "a touch of them aborts (and the guest goes on)");
	ev = exo_events();
	TAP_CHECK(ev.status == EXO_OK && (ev.x1 & EXO_EVENT_RECLAIMED),
		  "EVENTS carries EXO_EVENT_RECLAIMED (0x%lx)",
		  (unsigned long)ev.x1);
	run = exo_reclaimed(0);
	TAP_CHECK(run.status == EXO_OK && run.x1 == lent && run.x2 == LENT,
		  "RECLAIMED(0) is the lent run 0x%lx+%lu",
		  (unsigned long)run.x1, (unsigned long)run.x2);
	TAP_CHECK(exo_reclaimed(1).status == EXO_ENOENT, "and only it");
	n = caught.count;
	probe_read(lent + FRAME);
	TAP_CHECK(faultcatch_external(n, lent + FRAME),
		  "a second touch aborts too");
	TAP_CHECK(exo_reclaimed_ack(run.x3 + 1) == EXO_ESTATE,
		  "an ack of another generation is refused");
	TAP_CHECK(exo_reclaimed_ack(run.x3) == EXO_OK, "acknowledged");
	TAP_CHECK(exo_reclaimed(0).status == EXO_ENOENT,
		  "EL2 forgot the run");
	TAP_CHECK(exo_notify(l) == EXO_OK, "told the lender");
	irqs_on();
	return tap_done();
}

EL1_GUEST_OPTIONS("--hoarder", "--sink", "--churn", "--lender", "--user");

int main(int argc, char **argv)
{
	static const struct {
		const char *arg;
		int (*run)(void);
	} modes[] = {
		{ "--hoarder", hoarder }, { "--sink", sink },
		{ "--churn", churn },     { "--lender", lender },
		{ "--user", user },
	};

	for (unsigned i = 0; argc > 1 && i < sizeof(modes) / sizeof(modes[0]);
	     i++) {
		if (!strcmp(argv[1], modes[i].arg))
			return modes[i].run();
	}
	return 2;
}
