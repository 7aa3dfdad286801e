/*
 * producer: streams --bytes (default 4 MiB) of seeded pseudo-random data to
 * guest --peer (default "consumer") through a libos channel (libos/chan),
 * then prints its checksum. The consumer prints the checksum of what it
 * received: they must match (tests/target/test_channel.py).
 */
#include <el1/el1.h>
#include <lib/print.h>
#include <libos/chan/chan.h>
#include <libos/libos.h>

#include "stream.h"

static uint8_t block[STREAM_BLOCK];

EL1_GUEST_OPTIONS(STREAM_OPTIONS);

int main(int argc, char **argv)
{
	struct stream_opts o;
	struct chan c;
	uint64_t state, sum = FNV_OFFSET, sent = 0;
	int rc;

	stream_opts(argc, argv, &o, "consumer");
	state = stream_seed(o.seed);
	rc = chan_create(&c, o.peer, o.ring_order);
	if (rc) {
		kprintf("producer: no channel to '%s': %s\n", o.peer,
			chan_strerror(rc));
		return 1;
	}
	kprintf("producer: ring of %lu bytes shared with '%s'\n",
		(unsigned long)c.size, o.peer);
	while (sent < o.bytes) {
		size_t n = o.bytes - sent < STREAM_BLOCK
				   ? (size_t)(o.bytes - sent) : STREAM_BLOCK;

		stream_fill(&state, block, STREAM_BLOCK);
		sum = fnv1a(sum, block, n);
		rc = chan_send(&c, block, n);
		if (rc) {
			kprintf("producer: send failed after %lu bytes: %s\n",
				(unsigned long)sent, chan_strerror(rc));
			return 1;
		}
		sent += n;
	}
	chan_close(&c);
	rc = chan_wait_done(&c);
	kprintf("producer: sent %lu bytes, checksum 0x%016lx\n",
		(unsigned long)sent, (unsigned long)sum);
	kprintf("producer: %lu waits, %lu notifies, ring full %lu times\n",
		(unsigned long)c.st.waits, (unsigned long)c.st.notifies,
		(unsigned long)c.st.full);
	if (rc)
		kprintf("producer: the consumer ended first: %s\n",
			chan_strerror(rc));
	chan_destroy(&c);
	return rc ? 1 : 0;
}
