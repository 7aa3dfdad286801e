/*
 * consumer: receives the producer's stream through a libos channel
 * (libos/chan), checksums it, checks it byte for byte against the same
 * seeded stream, and prints the checksum (it must match the producer's).
 */
#include <el1/el1.h>
#include <lib/print.h>
#include <libos/chan/chan.h>
#include <libos/libos.h>

#include "../producer/stream.h"

static uint8_t buf[STREAM_BLOCK], want[STREAM_BLOCK];

EL1_GUEST_OPTIONS(STREAM_OPTIONS);

int main(int argc, char **argv)
{
	struct stream_opts o;
	struct chan c;
	uint64_t state, sum = FNV_OFFSET, got = 0, bad = 0;
	size_t have = 0;   /* bytes of want[] not compared yet */
	size_t at = 0;
	int64_t n;
	int rc;

	stream_opts(argc, argv, &o, "producer");
	state = stream_seed(o.seed);
	rc = chan_connect(&c, o.peer);
	if (rc) {
		kprintf("consumer: no channel from '%s': %s\n", o.peer,
			chan_strerror(rc));
		return 1;
	}
	while ((n = chan_recv(&c, buf, sizeof(buf))) > 0) {
		sum = fnv1a(sum, buf, (size_t)n);
		for (int64_t i = 0; i < n; i++) {
			if (!have) {
				stream_fill(&state, want, STREAM_BLOCK);
				have = STREAM_BLOCK;
				at = 0;
			}
			bad += buf[i] != want[at];
			at++;
			have--;
		}
		got += (uint64_t)n;
	}
	chan_finish(&c);
	chan_destroy(&c);
	if (n < 0) {
		kprintf("consumer: receive failed after %lu bytes: %s\n",
			(unsigned long)got, chan_strerror((int)n));
		return 1;
	}
	kprintf("consumer: received %lu bytes, checksum 0x%016lx\n",
		(unsigned long)got, (unsigned long)sum);
	kprintf("consumer: %lu bytes differ from the seeded stream; %lu waits, "
		"ring empty %lu times\n",
		(unsigned long)bad, (unsigned long)c.st.waits,
		(unsigned long)c.st.empty);
	return bad || got != o.bytes ? 1 : 0;
}
