/*
 * What the producer and consumer examples share: the seeded pseudo-random
 * stream (xorshift64*), the checksum (FNV-1a, 64 bit) and their options
 * (--bytes=N, --seed=N, --peer=name, --ring-order=N).
 */
#ifndef EXO_GUESTS_STREAM_H
#define EXO_GUESTS_STREAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_BLOCK 4096u

/* The options stream_opts reads (EL1_GUEST_OPTIONS). */
#define STREAM_OPTIONS "--bytes=", "--seed=", "--peer=", "--ring-order="

struct stream_opts {
	uint64_t bytes, seed;
	const char *peer;
	unsigned ring_order;
};

static inline void stream_opts(int argc, char **argv, struct stream_opts *o,
			       const char *default_peer)
{
	*o = (struct stream_opts){ 4ull << 20, 1, default_peer, 6 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "--bytes=", 8))
			o->bytes = strtoul(a + 8, NULL, 0);
		else if (!strncmp(a, "--seed=", 7))
			o->seed = strtoul(a + 7, NULL, 0);
		else if (!strncmp(a, "--peer=", 7))
			o->peer = a + 7;
		else if (!strncmp(a, "--ring-order=", 13))
			o->ring_order = (unsigned)strtoul(a + 13, NULL, 0);
	}
}

/* The next len bytes (a multiple of 8) of the stream seeded *state. */
static inline void stream_fill(uint64_t *state, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t x = *state;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		*state = x;
		x *= 0x2545f4914f6cdd1dull;
		memcpy(buf + i, &x, 8);
	}
}

static inline uint64_t stream_seed(uint64_t seed)
{
	return seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
}

static inline uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ull

#endif
