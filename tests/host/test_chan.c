/*
 * libos/chan's ring on the host, one thread: both ends over the same
 * memory, the peer's steps run from the fake WAIT so every interleaving the
 * protocol must survive is played in order: wrap-around, full and empty,
 * the waiting flags and NOTIFY, a lost-wakeup window, end of stream, a
 * peer that has ended, and a peer that writes nonsense into the header.
 */
#include "fake_libos_irq.h"

#include <criterion/criterion.h>
#include <libos/chan/chan.h>
#include <stdlib.h>
#include <string.h>

#define RING 64   /* data bytes: header + 64 + a little */

static _Alignas(64) uint8_t mem[CHAN_HEADER_BYTES + RING + 40];
static struct chan prod, cons;

/* The fake EL2: counts, and runs the peer's next step from WAIT. */
static struct {
	unsigned notifies[3], waits;
	bool peer_alive;
	void (*on_wait)(void);
} env_state;

static int64_t fake_notify(void *ctx, uint64_t vm)
{
	(void)ctx;
	env_state.notifies[vm]++;
	return 0;
}

static uint64_t fake_wait(void *ctx)
{
	(void)ctx;
	env_state.waits++;
	if (env_state.on_wait)
		env_state.on_wait();
	return 0;
}

static bool fake_alive(void *ctx, const struct chan *c)
{
	(void)ctx, (void)c;
	return env_state.peer_alive;
}

static const struct chan_env env = { fake_notify, fake_wait, fake_alive,
				     NULL };

/* Producer is VM 1, consumer VM 2. */
static void setup(void)
{
	memset(mem, 0, sizeof(mem));
	memset(&env_state, 0, sizeof(env_state));
	env_state.peer_alive = true;
	cr_assert_eq(chan_attach(&prod, mem, sizeof(mem), true, 1, 2, &env), 0);
	cr_assert_eq(chan_attach(&cons, mem, sizeof(mem), false, 2, 1, &env), 0);
	cr_assert_eq(prod.size, RING, "the largest power of two that fits");
}

static void pattern(uint8_t *buf, size_t n, unsigned start)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(start + i * 7);
}

Test(chan, wrap_around_keeps_the_order)
{
	uint8_t out[RING], in[RING];
	unsigned at = 0;

	setup();
	for (int round = 0; round < 200; round++) {
		size_t n = 1 + (size_t)(round * 13) % (RING - 1);

		pattern(out, n, at);
		cr_assert_eq(chan_write(&prod, out, n), n);
		memset(in, 0, sizeof(in));
		cr_assert_eq(chan_read(&cons, in, sizeof(in)), (int64_t)n);
		cr_assert_eq(memcmp(in, out, n), 0, "round %d", round);
		at += (unsigned)n;
	}
	cr_assert_gt(prod.sh->head, 10 * RING, "the indices wrapped often");
	cr_assert_eq(prod.sh->head, prod.sh->tail);
}

Test(chan, full_and_empty)
{
	uint8_t buf[RING * 2];

	setup();
	cr_assert_eq(chan_read(&cons, buf, 8), 0, "empty");
	pattern(buf, sizeof(buf), 0);
	cr_assert_eq(chan_write(&prod, buf, sizeof(buf)), RING, "fills up");
	cr_assert_eq(chan_write(&prod, buf, 1), 0, "full");
	cr_assert_eq(chan_read(&cons, buf, 10), 10);
	cr_assert_eq(chan_write(&prod, buf, 100), 10, "exactly the room");
	cr_assert_eq(chan_read(&cons, buf, sizeof(buf)), RING);
	cr_assert_eq(chan_read(&cons, buf, 1), 0, "empty again");
}

Test(chan, no_notify_unless_the_other_side_waits)
{
	uint8_t b[4] = { 1, 2, 3, 4 };

	setup();
	chan_write(&prod, b, 4);
	chan_read(&cons, b, 4);
	cr_assert_eq(env_state.notifies[1] + env_state.notifies[2], 0);
	cons.sh->cons_waiting = 1;
	chan_write(&prod, b, 4);
	cr_assert_eq(env_state.notifies[2], 1, "the waiting consumer is told");
	cr_assert_gt(fake_irq.dmbs, 0, "DMB ISH between index and flag");
}

/* The consumer waits on an empty ring; while it "sleeps" the producer
 * writes. */
static void producer_writes(void)
{
	uint8_t b[5];

	pattern(b, 5, 9);
	cr_assert(cons.sh->cons_waiting, "the flag is up while in WAIT");
	chan_write(&prod, b, 5);
}

Test(chan, recv_waits_then_gets_the_data)
{
	uint8_t in[16], want[5];

	setup();
	env_state.on_wait = producer_writes;
	cr_assert_eq(chan_recv(&cons, in, sizeof(in)), 5);
	pattern(want, 5, 9);
	cr_assert_eq(memcmp(in, want, 5), 0);
	cr_assert_eq(env_state.waits, 1);
	cr_assert_eq(env_state.notifies[2], 1, "the producer saw the flag");
	cr_assert_eq(cons.sh->cons_waiting, 0, "flag down after WAIT");
}

/* Data arrives between "flag up" and "look again": no WAIT at all. The
 * fake's acquire of head is the moment; we publish before recv starts and
 * check the consumer did not wait. */
Test(chan, data_before_the_wait_means_no_wait)
{
	uint8_t b[3] = { 1, 2, 3 }, in[3];

	setup();
	chan_write(&prod, b, 3);
	cr_assert_eq(chan_recv(&cons, in, 3), 3);
	cr_assert_eq(env_state.waits, 0);
}

/* The producer finds the ring full, waits; the consumer drains meanwhile. */
static void consumer_drains(void)
{
	uint8_t in[RING];

	cr_assert(prod.sh->prod_waiting);
	chan_read(&cons, in, sizeof(in));
}

Test(chan, send_blocks_on_a_full_ring_and_resumes)
{
	static uint8_t big[RING * 10];

	setup();
	pattern(big, sizeof(big), 3);
	env_state.on_wait = consumer_drains;
	cr_assert_eq(chan_send(&prod, big, sizeof(big)), CHAN_OK);
	cr_assert_eq(prod.st.bytes, sizeof(big));
	cr_assert_geq(env_state.waits, 9, "one wait per ring-full");
	cr_assert_geq(env_state.notifies[1], 9,
		      "the consumer told the waiting producer");
}

Test(chan, end_of_stream)
{
	uint8_t b[10], in[64];

	setup();
	pattern(b, 10, 0);
	chan_write(&prod, b, 10);
	chan_close(&prod);
	cr_assert_eq(chan_recv(&cons, in, 4), 4);
	cr_assert_eq(chan_recv(&cons, in, 64), 6, "the rest after close");
	cr_assert_eq(chan_recv(&cons, in, 64), 0, "then the end");
	cr_assert_eq(env_state.waits, 0);
	chan_finish(&cons);
	cr_assert_eq(chan_wait_done(&prod), CHAN_OK);
	cr_assert_eq(env_state.waits, 0, "done was already set");
}

Test(chan, a_peer_that_ended_is_not_waited_for)
{
	uint8_t in[8];
	static uint8_t big[RING * 2];

	setup();
	env_state.peer_alive = false;
	cr_assert_eq(chan_recv(&cons, in, 8), CHAN_EPEER);
	cr_assert_eq(chan_send(&prod, big, sizeof(big)), CHAN_EPEER);
	cr_assert_eq(chan_wait_done(&prod), CHAN_EPEER);
	cr_assert_eq(env_state.waits, 0, "never a WAIT for a dead peer");
}

Test(chan, send_stops_when_the_consumer_let_go)
{
	static uint8_t big[RING * 2];

	setup();
	chan_finish(&cons);
	cr_assert_eq(chan_send(&prod, big, sizeof(big)), CHAN_EPEER);
	cr_assert_eq(env_state.waits, 0);
}

Test(chan, the_consumer_checks_the_header)
{
	struct chan c;

	setup();
	cr_assert_eq(chan_attach(&c, mem, sizeof(mem), false, 3, 1, &env),
		     CHAN_ECORRUPT, "not for VM 3");
	cr_assert_eq(chan_attach(&c, mem, sizeof(mem), false, 2, 5, &env),
		     CHAN_ECORRUPT, "not from VM 5");
	prod.sh->size = 48;
	cr_assert_eq(chan_attach(&c, mem, sizeof(mem), false, 2, 1, &env),
		     CHAN_ECORRUPT, "size not a power of two");
	prod.sh->size = 1 << 20;
	cr_assert_eq(chan_attach(&c, mem, sizeof(mem), false, 2, 1, &env),
		     CHAN_ECORRUPT, "size beyond the shared bytes");
	prod.sh->magic = 0;
	cr_assert_eq(chan_attach(&c, mem, sizeof(mem), false, 2, 1, &env),
		     CHAN_ECORRUPT, "no magic");
}

Test(chan, nonsense_indices_are_refused)
{
	uint8_t b[8];

	setup();
	prod.sh->head = 1000;   /* more than the ring holds */
	cr_assert_eq(chan_read(&cons, b, 8), CHAN_ECORRUPT);
	prod.sh->head = 0;
	cons.sh->tail = 5;      /* the consumer claims to be ahead */
	cr_assert_eq(chan_write(&prod, b, 8), 0, "no room rather than overrun");
}
