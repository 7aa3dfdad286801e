/*
 * libos's event handler (libos_events_handle) on the simulated EL2: a
 * request met from the pool's free frames, a request the pool meets later
 * as frames come free, forced revocation repaired and acknowledged with
 * the heap retired when its frames were taken, and the entry points
 * running with IRQs masked.
 */
#include "fake_libos_el2.h"
#include "fake_libos_irq.h"

#include <criterion/criterion.h>
#include <exo/hvc.h>
#include <lib/print.h>
#include <libos/addr.h>
#include <libos/libos.h>
#include <string.h>

static void quiet(const char *s, size_t n)
{
	(void)s, (void)n;
}

static void start(void)
{
	static char *argv[] = {"t", "--pool-high-water=4096", NULL};
	struct libos_config cfg = { .name = "t", .heap_policy = "tlsf",
				    .argc = 2, .argv = argv };

	fake_el2_reset(2048);
	print_set_console(quiet, "");
	cr_assert_eq(libos_init(&cfg), LIBOS_OK);
}

static void grow_and_free(int n)
{
	void *p[64];

	for (int i = 0; i < n; i++)
		cr_assert_not_null(p[i] = libos_malloc(8192));
	for (int i = 0; i < n; i++)
		libos_free(p[i]);
}

Test(libos_events, a_request_is_met_from_free_frames)
{
	struct libos_event_stats e;
	uint64_t before;

	start();
	grow_and_free(32);
	before = fake_el2.charged;
	fake_el2_ask(20);
	libos_events_handle();
	libos_event_stats(&e);
	cr_assert_eq(e.requests, 1);
	cr_assert_eq(e.frames_asked, 20);
	cr_assert_geq(e.frames_given, 20);
	cr_assert_eq(fake_el2.want, 0, "EL2's request is met");
	cr_assert_leq(fake_el2.charged, before - 20);
	cr_assert_null(libos_check());
	cr_assert_eq(fake_el2.bad_frees, 0);
}

Test(libos_events, a_request_is_met_later_as_frames_come_free)
{
	struct libos_event_stats e;
	void *p[16];

	start();
	for (int i = 0; i < 16; i++)
		cr_assert_not_null(p[i] = libos_malloc(65536));
	fake_el2_ask(64);
	libos_events_handle();   /* little is free yet */
	for (int i = 0; i < 16; i++)
		libos_free(p[i]);
	libos_event_stats(&e);
	cr_assert_eq(e.requests, 1, "retries are not new requests");
	cr_assert_geq(e.frames_given, 64);
	cr_assert_eq(fake_el2.want, 0);
	cr_assert_null(libos_check());
}

Test(libos_events, forced_revocation_is_repaired_and_acknowledged)
{
	struct libos_event_stats e;
	void *keep, *p;
	uint64_t pa;

	start();
	keep = libos_malloc(100);     /* the heap's first region */
	pa = libos_virt_to_phys(keep) & ~(uint64_t)4095;
	fake_el2_take(pa, 1);
	libos_events_handle();
	libos_event_stats(&e);
	cr_assert_eq(e.runs_revoked, 1);
	cr_assert_eq(e.lost_in_use, 1);
	cr_assert_eq(e.acks, 1);
	cr_assert_eq(fake_el2.acks, 1);
	cr_assert_eq(e.heaps_retired, 1, "the heap lost a frame it used");
	cr_assert_eq(fake_el2.nr_taken, 0, "EL2 forgot the runs");
	libos_free(keep);             /* a retired block: ignored */
	libos_event_stats(&e);
	cr_assert_eq(e.retired_frees, 1);
	p = libos_malloc(100);        /* a fresh heap */
	cr_assert_not_null(p);
	cr_assert_neq(libos_virt_to_phys(p) & ~(uint64_t)4095, pa);
	cr_assert_null(libos_check());
	libos_free(p);
}

Test(libos_events, free_frames_taken_by_force_are_dropped)
{
	struct libos_event_stats e;
	struct libos_stats st;
	uint64_t pa;

	start();
	grow_and_free(8);
	cr_assert(libos_frames_alloc(1, &pa));
	libos_frames_free(pa, 1);     /* pa is free in the pool now */
	fake_el2_take(pa, 1);
	libos_events_handle();
	libos_event_stats(&e);
	cr_assert_eq(e.dropped_free, 1);
	cr_assert_eq(e.heaps_retired, 0);
	libos_stats(&st);
	cr_assert_eq(st.pool.frames_revoked, 1);
	for (int i = 0; i < 32; i++) {
		uint64_t q;

		cr_assert(libos_frames_alloc(1, &q));
		cr_assert_neq(q, pa, "a revoked frame was handed out");
	}
	cr_assert_null(libos_check());
}

Test(libos_events, entry_points_mask_irqs)
{
	unsigned before;

	start();
	before = fake_irq.saves;
	libos_free(libos_malloc(10));
	cr_assert_geq(fake_irq.saves, before + 2);
	cr_assert_eq(fake_irq.masked, 0, "unmasked again afterwards");
}

Test(libos_events, frames_an_owner_took_back_are_remembered_and_acknowledged)
{
	struct libos_event_stats e;
	uint64_t pa = 0x7f0000000000ull;

	start();
	fake_el2_reclaim(pa, 2);
	libos_events_handle();
	libos_event_stats(&e);
	cr_assert_eq(e.runs_reclaimed, 1);
	cr_assert_eq(e.frames_reclaimed, 2);
	cr_assert_eq(e.reclaim_acks, 1);
	cr_assert_eq(fake_el2.nr_lost, 0, "EL2 forgot the runs");
	cr_assert(libos_frame_reclaimed(pa + 4096));
	cr_assert_not(libos_frame_reclaimed(pa + 2 * 4096));
	cr_assert_null(libos_check(), "the heap is untouched");
}

Test(libos_events, a_run_that_comes_before_the_ack_is_read_again)
{
	struct libos_event_stats e;
	uint64_t pa = 0x7f0000000000ull, late = pa + 0x100000;

	start();
	fake_el2_reclaim(pa, 1);
	fake_el2.late_pa = late;
	fake_el2.late_count = 3;
	libos_events_handle();
	libos_event_stats(&e);
	cr_assert_eq(fake_el2.stale_acks, 1, "the first ack came too early");
	cr_assert_eq(e.stale_acks, 1);
	cr_assert_eq(e.reclaim_acks, 1);
	cr_assert_eq(fake_el2.nr_lost, 0);
	cr_assert(libos_frame_reclaimed(late + 2 * 4096),
		  "the late run is remembered, not lost to the ack");
	cr_assert(libos_frame_reclaimed(pa));
}
