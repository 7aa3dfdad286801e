/*
 * revokee: the guest side of visible revocation (tests/target/
 * test_revoke.py). Its manifest entry has a revoke-schedule.
 *   --comply  fills its pool with free frames, then computes: EL2's event
 *             interrupt reaches libos, whose pool gives frames back in time.
 *   --defy    masks IRQs and computes past the deadline: EL2 takes frames
 *             by force. It touches a frame EL2 took before acknowledging
 *             (an abort, not counted as a violation), then unmasks: libos
 *             reads REVOKED, repairs its pool and heap, acknowledges; the
 *             guest checks nothing it allocates afterwards is a revoked
 *             frame, and finishes.
 *   --reset-after-force  loses frames by force as --defy, then asks for
 *             PSCI SYSTEM_RESET before acknowledging; its second life
 *             finds no run taken, no revocation event pending and no
 *             second request (test_revoke.py).
 *   --touch-taken=N  (with --defy) touches the taken frame N times, not
 *             once: EL2's uncounted reports of it stay within its report
 *             budget (test_console.py).
 *   --spinner (before the others; the guest has cpus = <2>) starts vCPU 1
 *             spinning for good once the pool is filled: the guest's CPU
 *             time, which the revoke-schedule counts, then grows on vCPU
 *             1's CPU too while the request or the forced taking is for
 *             vCPU 0, on another (test_smp.py).
 */
#include <el1/el1.h>
#include <el1/smp.h>
#include <exo/guest_dt.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <libfdt.h>
#include <libos/libos.h>
#include <stdlib.h>
#include <string.h>

#include "../faultcatch.h"
#include "../restarts.h"
#include "../spin.h"
#include "../tap.h"

#define FRAME EXO_FRAME_SIZE
#define BLOCKS 96

static void *blocks[BLOCKS];

static uint64_t charged(void)
{
	return exo_vm_info().x3;
}

#define SPINNER_STACK_BYTES 4096

static uint8_t spinner_stack[SPINNER_STACK_BYTES] __attribute__((aligned(16)));
static volatile uint64_t spins;

/* vCPU 1: no libos, no fault, no call: it only uses CPU time. */
static void spinner(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	for (;;)
		spins = spins + 1;
}

static bool spinner_wanted;

static void start_spinner(void)
{
	TAP_CHECK(el1_cpu_start(1, spinner, NULL,
				spinner_stack + SPINNER_STACK_BYTES) == 0,
		  "started vCPU 1 spinning");
	while (!spins)
		exo_yield();
}

/* Grows the heap by BLOCKS frames, then frees every other block; with
 * --spinner, vCPU 1 starts spinning after the first fill. */
static void fill_pool(bool free_all)
{
	for (unsigned i = 0; i < BLOCKS; i++) {
		blocks[i] = libos_malloc(FRAME);
		if (blocks[i])
			memset(blocks[i], 0xa5, FRAME);
	}
	for (unsigned i = 0; i < BLOCKS; i++) {
		if (free_all || i % 2) {
			libos_free(blocks[i]);
			blocks[i] = NULL;
		}
	}
	if (spinner_wanted && !spins)
		start_spinner();
}

/* --- compliant ---------------------------------------------------------- */

static bool given(void)
{
	struct libos_event_stats e;

	libos_event_stats(&e);
	return e.requests && e.frames_given >= e.frames_asked;
}

static int comply(void)
{
	struct libos_event_stats e;
	struct libos_stats st;
	uint64_t peak;

	fill_pool(true);
	libos_stats(&st);
	/* The request may come while the pool fills: the peak is what it
	 * would hold without it. */
	peak = charged() + st.pool.frames_returned;
	TAP_CHECK(spin_until(given), "libos gave back what EL2 asked for");
	libos_event_stats(&e);
	TAP_CHECK(e.requests == 1 && e.frames_asked > 0,
		  "one request, for %lu frames", (unsigned long)e.frames_asked);
	TAP_CHECK(e.pending_seen & EXO_EVENT_REVOKE_REQUEST,
		  "the event interrupt carried EXO_EVENT_REVOKE_REQUEST");
	libos_stats(&st);
	TAP_CHECK(st.pool.frames_returned >= e.frames_given &&
			  charged() < peak,
		  "the pool returned them to EL2 (charged %lu, peak %lu)",
		  (unsigned long)charged(), (unsigned long)peak);
	TAP_CHECK(e.runs_revoked == 0, "nothing was taken by force");
	TAP_CHECK(libos_check() == NULL, "pool and heap consistent");
	fill_pool(true);
	TAP_CHECK(libos_check() == NULL, "the heap grows again afterwards");
	libos_events_print();
	return tap_done();
}

/* --- non-compliant ------------------------------------------------------- */

static bool forced(void)
{
	return exo_revoked(0).status == EXO_OK;
}

#define RUNS_MAX 16
static struct { uint64_t pa, count; } runs[RUNS_MAX];
static unsigned nr_runs;

static bool in_runs(uint64_t pa, uint64_t bytes)
{
	for (unsigned i = 0; i < nr_runs; i++)
		if (pa < runs[i].pa + runs[i].count * FRAME &&
		    runs[i].pa < pa + bytes)
			return true;
	return false;
}

/* A block on a frame EL2 took is wrong only while the frame is not ours
 * again: EL2 may hand a scrubbed frame it took back to us later. */
static bool stale(uint64_t pa, uint64_t bytes)
{
	struct exo_ret q = exo_frame_query(pa & ~(uint64_t)(FRAME - 1));

	return in_runs(pa, bytes) &&
	       !(q.status == EXO_OK && q.x1 == EXO_FRAME_OWNED && q.x2);
}

static int defy(unsigned touches)
{
	struct libos_event_stats e;
	unsigned n, clash = 0, aborted = 0;
	struct exo_ret r;

	faultcatch_install();
	__asm__ volatile("msr daifset, #2" : : : "memory");  /* ignore EL2 */
	fill_pool(false);
	TAP_CHECK(spin_until(forced), "EL2 took frames by force");
	while (nr_runs < RUNS_MAX &&
	       (r = exo_revoked(nr_runs)).status == EXO_OK) {
		runs[nr_runs].pa = r.x1;
		runs[nr_runs++].count = r.x2;
	}
	TAP_CHECK(nr_runs > 0, "REVOKED lists %u run(s), the first 0x%lx+%lu",
		  nr_runs, (unsigned long)runs[0].pa,
		  (unsigned long)runs[0].count);
	for (unsigned i = 0; i < touches; i++) {
		n = caught.count;
		probe_read(runs[0].pa);
		aborted += faultcatch_external(n, runs[0].pa);
	}
	TAP_CHECK(aborted == touches,
		  "touching a revoked frame before the ack aborts (%u of %u "
		  "touches)", aborted, touches);
	libos_event_stats(&e);
	TAP_CHECK(e.acks == 0, "libos has not acknowledged yet (IRQs masked)");

	__asm__ volatile("msr daifclr, #2" : : : "memory");  /* the IRQ now */
	libos_event_stats(&e);
	TAP_CHECK(e.acks == 1 && e.runs_revoked == nr_runs,
		  "libos read the %lu run(s) and acknowledged",
		  (unsigned long)e.runs_revoked);
	TAP_CHECK(e.pending_seen & EXO_EVENT_REVOKED,
		  "the event interrupt carried EXO_EVENT_REVOKED");
	TAP_CHECK(exo_revoked(0).status == EXO_ENOENT,
		  "EL2 forgot the runs after the ack");
	TAP_CHECK(libos_check() == NULL, "pool consistent after the repair");
	for (unsigned i = 0; i < BLOCKS; i++) {
		void *p = libos_malloc(FRAME);

		if (!p)
			break;
		clash += stale(libos_dmap_virt_to_phys(p), FRAME);
		memset(p, 0x5a, FRAME);
	}
	TAP_CHECK(clash == 0, "no block allocated afterwards is on a revoked "
		  "frame not given back to it");
	TAP_CHECK(libos_check() == NULL, "pool and heap consistent at the end");
	libos_events_print();
	return tap_done();
}

static int reset_after_force(void)
{
	struct exo_ret ev;

	if (restarts() == 0) {
		__asm__ volatile("msr daifset, #2" : : : "memory");
		fill_pool(false);
		/* Its TAP is the second life's: the first says in comments. */
		if (!spin_until(forced)) {
			kprintf("# EL2 took nothing by force\n");
			return 3;
		}
		kprintf("# EL2 took frames by force; restarting before the "
			"ack\n");
		exo_call0(EXO_PSCI_SYSTEM_RESET);
		kprintf("# SYSTEM_RESET returned\n");
		return 3;
	}
	TAP_CHECK(restarts() == 1, "second life (restarts %u)", restarts());
	TAP_CHECK(exo_revoked(0).status == EXO_ENOENT,
		  "the new life has no run taken by force");
	ev = exo_events();
	TAP_CHECK(ev.status == EXO_OK &&
		  !(ev.x1 & (EXO_EVENT_REVOKE_REQUEST | EXO_EVENT_REVOKED)) &&
		  ev.x2 == 0,
		  "no revocation event or request pending (events 0x%lx, "
		  "want %lu)", (unsigned long)ev.x1, (unsigned long)ev.x2);
	fill_pool(false);
	TAP_CHECK(libos_check() == NULL, "its pool works in the new life");
	return tap_done();
}

#define TOUCH_TAKEN "--touch-taken="
EL1_GUEST_OPTIONS("--comply", "--defy", "--reset-after-force", TOUCH_TAKEN,
		  "--spinner");

int main(int argc, char **argv)
{
	unsigned touches = 1;

	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], TOUCH_TAKEN, sizeof(TOUCH_TAKEN) - 1))
			touches = (unsigned)strtoul(argv[i] +
						    sizeof(TOUCH_TAKEN) - 1,
						    NULL, 10);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--spinner"))
			spinner_wanted = true;
		if (!strcmp(argv[i], "--comply"))
			return comply();
		if (!strcmp(argv[i], "--defy"))
			return defy(touches ? touches : 1);
		if (!strcmp(argv[i], "--reset-after-force"))
			return reset_after_force();
	}
	return 2;
}
