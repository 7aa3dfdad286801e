/*
 * A frame-DB share record as masks of VM ids, for host tests whose VMs
 * have ids below 64: compared with a model's masks, and hashed, without
 * depending on which slot each borrower took.
 */
#ifndef EXO_TESTS_HOST_SHARE_BITS_H
#define EXO_TESTS_HOST_SHARE_BITS_H

#include <el2/frames.h>
#include <lib/panic.h>
#include <stdint.h>

/* Bit h: VM h borrows (rw: borrows with RW). */
static inline uint64_t share_bits(const struct frames_share *s, bool rw)
{
	uint64_t bits = 0;

	for (unsigned k = 0; k < FRAMES_SHARE_SLOTS; k++) {
		unsigned h = s->borrower[k];

		CHECK(h < 64);
		if (h && (!rw || s->rw >> k & 1))
			bits |= UINT64_C(1) << h;
	}
	return bits;
}

#endif
