/*
 * libFuzzer target: the libos heap policies (libos/heap/) through the one
 * interface. The input is a page-source configuration and a sequence of
 * operations; the same sequence runs on every policy heap_policy_names()
 * lists, each over a page source with a limit (so exhaustion is reached)
 * that hands out regions from the host heap and checks that shrink only
 * ever returns a whole region it gave.
 *
 * After every operation: heap_check() holds, and stats agree with a shadow
 * of the live blocks (count, bytes in use, footprint). Each block is filled
 * with its own pattern when it is handed out and verified before it is
 * freed or reallocated (realloc keeps the prefix) and at the end; blocks
 * are aligned as asked, at least as large as asked, and never overlap.
 * Requests above HEAP_MAX_ALLOC and non-power-of-two alignments return
 * NULL. At the end every block is freed and heap_destroy() gives every
 * region back.
 *
 * Operation bytes: [op][slot][size tag + payload]...; see run_op().
 */
#define _GNU_SOURCE /* posix_memalign, strnlen */
#include "fuzz_common.h"

#include <libos/heap/heap.h>
#include <lib/panic.h>

void arch_halt(int status)
{
	(void)status;
	abort();
}

/* --- page source --------------------------------------------------------- */

#define SRC_REGIONS 256

struct src {
	size_t limit, outstanding, round;
	void *base[SRC_REGIONS];
	size_t bytes[SRC_REGIONS];
};

static void *src_grow(void *ctx, size_t bytes_min, size_t *bytes_got)
{
	struct src *s = ctx;
	size_t got;

	if (bytes_min > s->limit)
		return NULL;
	got = (bytes_min + s->round - 1) / s->round * s->round;
	if (!got || got > s->limit - s->outstanding)
		return NULL;
	for (int i = 0; i < SRC_REGIONS; i++) {
		if (s->base[i])
			continue;
		if (posix_memalign(&s->base[i], HEAP_PAGE_SIZE, got))
			return s->base[i] = NULL;
		/* Not zeroed: ASan fills fresh memory with 0xbe. */
		s->bytes[i] = got;
		s->outstanding += got;
		*bytes_got = got;
		return s->base[i];
	}
	return NULL;
}

static void src_shrink(void *ctx, void *base, size_t bytes)
{
	struct src *s = ctx;

	for (int i = 0; i < SRC_REGIONS; i++) {
		if (s->base[i] != base)
			continue;
		FUZZ_CHECK(s->bytes[i] == bytes,
			   "shrink of %zu bytes of a %zu-byte region", bytes,
			   s->bytes[i]);
		free(base);
		s->base[i] = NULL;
		s->outstanding -= bytes;
		return;
	}
	fuzz_fail("shrink of a region grow never gave: %p", base);
}

/* --- shadow of the live blocks ----------------------------------------- */

#define SLOTS 32

struct block {
	uint8_t *p;
	size_t size, align;
	uint8_t seed;
};

struct model {
	const char *policy;
	struct heap h;
	struct src s;
	struct block b[SLOTS];
	unsigned live;
	uint8_t next_seed;
};

static uint8_t pat(const struct block *b, size_t i)
{
	return (uint8_t)(b->seed + i * 7 + (i >> 8));
}

/* Bytes of a block that carry its pattern: all of a small block; of a
 * large one the first and last KiB (where allocator metadata would land)
 * and every 61st byte between. */
#define DENSE 1024

static size_t next_byte(size_t i, size_t n)
{
	if (n <= 2 * DENSE || i < DENSE - 1 || i >= n - DENSE)
		return i + 1;
	return i + 61 < n - DENSE ? i + 61 : n - DENSE;
}

static void fill(struct block *b)
{
	for (size_t i = 0; i < b->size; i = next_byte(i, b->size))
		b->p[i] = pat(b, i);
}

static void verify(struct model *m, const struct block *b, size_t n,
		   const char *when)
{
	for (size_t i = 0; i < n; i = next_byte(i, b->size))
		if (b->p[i] != pat(b, i))
			fuzz_fail("%s: %s: byte %zu of a %zu-byte block at %p "
				  "changed", m->policy, when, i, b->size,
				  (void *)b->p);
}

static void placed(struct model *m, struct block *nb, const char *what)
{
	size_t usable = heap_usable_size(&m->h, nb->p);
	uintptr_t lo = (uintptr_t)nb->p, hi = lo + usable;

	FUZZ_CHECK(lo % nb->align == 0 && lo % HEAP_MIN_ALIGN == 0,
		   "%s: %s returned %p, not aligned to %zu", m->policy, what,
		   (void *)nb->p, nb->align);
	FUZZ_CHECK(usable >= nb->size, "%s: %s: usable %zu below %zu",
		   m->policy, what, usable, nb->size);
	for (int i = 0; i < SLOTS; i++) {
		const struct block *o = &m->b[i];
		uintptr_t olo = (uintptr_t)o->p;

		if (!o->p || o == nb)
			continue;
		FUZZ_CHECK(!(lo < olo + heap_usable_size(&m->h, o->p) &&
			     olo < hi),
			   "%s: %s: block %p (+%zu) overlaps %p", m->policy,
			   what, (void *)nb->p, usable, (void *)o->p);
	}
}

static void check(struct model *m, const char *after)
{
	struct heap_stats st;
	size_t in_use = 0;
	const char *why = heap_check(&m->h);

	FUZZ_CHECK(!why, "%s: heap_check after %s: %s", m->policy, after, why);
	for (int i = 0; i < SLOTS; i++)
		if (m->b[i].p)
			in_use += heap_usable_size(&m->h, m->b[i].p);
	heap_stats(&m->h, &st);
	FUZZ_CHECK(st.live_blocks == m->live,
		   "%s: after %s: %zu live blocks, %u handed out", m->policy,
		   after, st.live_blocks, m->live);
	FUZZ_CHECK(st.bytes_in_use == in_use,
		   "%s: after %s: bytes_in_use %zu, usable sizes sum to %zu",
		   m->policy, after, st.bytes_in_use, in_use);
	FUZZ_CHECK(st.footprint == m->s.outstanding,
		   "%s: after %s: footprint %zu, source says %zu", m->policy,
		   after, st.footprint, m->s.outstanding);
	FUZZ_CHECK(st.fragmentation_pct <= 100 &&
			   st.largest_free <= st.bytes_free &&
			   st.peak_footprint >= st.footprint,
		   "%s: after %s: inconsistent stats", m->policy, after);
}

/* --- operations ------------------------------------------------------------ */

static size_t decode_size(struct fuzz_in *in)
{
	uint8_t tag = fuzz_u8(in);

	switch (tag % 6) {
	case 0:
		return fuzz_u8(in);
	case 1:
		return fuzz_u16(in) % 4096;
	case 2:
		return fuzz_u32(in) % (256u << 10);
	case 3: { /* around a power of two */
		size_t v = (size_t)1 << (fuzz_u8(in) % 21);

		return v + fuzz_u8(in) % 3 - 1;
	}
	case 4: /* near and above the limit */
		return HEAP_MAX_ALLOC + fuzz_u8(in) % 3 - 1;
	default:
		return fuzz_u64(in);
	}
}

static void take(struct model *m, struct block *b, uint8_t *p, size_t size,
		 size_t align, const char *what)
{
	b->p = p;
	b->size = size;
	b->align = align < HEAP_MIN_ALIGN ? HEAP_MIN_ALIGN : align;
	b->seed = m->next_seed++;
	m->live++;
	placed(m, b, what);
	fill(b);
}

static void drop(struct model *m, struct block *b, const char *what)
{
	verify(m, b, b->size, what);
	heap_free(&m->h, b->p);
	b->p = NULL;
	m->live--;
}

/* Sizes this big would be refused by any source; the large ones are only
 * tried when the source limit could not cover them anyway. */
static bool must_fail(size_t size)
{
	return size > HEAP_MAX_ALLOC;
}

static void run_op(struct model *m, uint8_t op, uint8_t slot, size_t size,
		   size_t align_raw)
{
	struct block *b = &m->b[slot % SLOTS];
	uint8_t *p;

	switch (op % 6) {
	case 0: /* alloc, or free what is in the slot */
	case 1:
		if (b->p) {
			drop(m, b, "free");
			break;
		}
		p = heap_alloc(&m->h, size);
		FUZZ_CHECK(!p || !must_fail(size), "%s: alloc(%zu) succeeded",
			   m->policy, size);
		if (p)
			take(m, b, p, size, HEAP_MIN_ALIGN, "alloc");
		break;
	case 2: { /* aligned_alloc: a power of two, or not */
		size_t align = align_raw & 0x80 ? align_raw & 0x7f
						 : (size_t)1 << (align_raw % 17);
		bool pow2 = align && !(align & (align - 1));

		if (b->p)
			drop(m, b, "free before aligned_alloc");
		p = heap_aligned_alloc(&m->h, align, size);
		FUZZ_CHECK(!p || (pow2 && !must_fail(size)),
			   "%s: aligned_alloc(%zu, %zu) succeeded", m->policy,
			   align, size);
		if (p)
			take(m, b, p, size, align, "aligned_alloc");
		break;
	}
	case 3: { /* realloc, including realloc(NULL, n) and (p, 0) */
		size_t old = b->size;

		if (b->p)
			verify(m, b, b->size, "before realloc");
		p = heap_realloc(&m->h, b->p, size);
		if (b->p && size == 0) {
			FUZZ_CHECK(!p, "%s: realloc(p, 0) returned %p",
				   m->policy, (void *)p);
			b->p = NULL;
			m->live--;
			break;
		}
		FUZZ_CHECK(!p || !must_fail(size), "%s: realloc(%zu) succeeded",
			   m->policy, size);
		if (!p) {
			if (b->p)
				verify(m, b, b->size, "after failed realloc");
			break;
		}
		if (!b->p) {
			take(m, b, p, size, HEAP_MIN_ALIGN, "realloc(NULL)");
			break;
		}
		b->p = p;
		b->align = HEAP_MIN_ALIGN;
		verify(m, b, size < old ? size : old, "after realloc");
		b->size = size;
		placed(m, b, "realloc");
		fill(b);
		break;
	}
	case 4: /* free(NULL) is nothing */
		heap_free(&m->h, NULL);
		FUZZ_CHECK(heap_usable_size(&m->h, NULL) == 0,
			   "%s: usable_size(NULL) != 0", m->policy);
		break;
	default: /* verify one block */
		if (b->p)
			verify(m, b, b->size, "verify");
		break;
	}
	check(m, "an operation");
}

static const size_t limits[] = { 16u << 10, 64u << 10, 1u << 20, 4u << 20 };
static const size_t rounds[] = { HEAP_PAGE_SIZE, 4 * HEAP_PAGE_SIZE,
				 16 * HEAP_PAGE_SIZE, 64 * HEAP_PAGE_SIZE };

static void run_policy(const char *policy, const uint8_t *data, size_t size)
{
	static struct model m;
	struct fuzz_in in = fuzz_in(data, size);
	uint8_t cfg = fuzz_u8(&in);
	int err;

	memset(&m, 0, sizeof(m));
	m.policy = policy;
	m.s.limit = limits[cfg % 4];
	m.s.round = rounds[(cfg / 4) % 4];
	err = heap_create(policy, src_grow, cfg & 0x80 ? NULL : src_shrink,
			  &m.s, &m.h);
	if (err) {
		FUZZ_CHECK(err == HEAP_ENOMEM, "%s: heap_create: %d", policy,
			   err);
		FUZZ_CHECK(!m.s.outstanding, "%s: failed create kept memory",
			   policy);
		return;
	}
	check(&m, "create");
	for (unsigned n = 0; n < 512 && !fuzz_done(&in); n++) {
		uint8_t op = fuzz_u8(&in), slot = fuzz_u8(&in);
		size_t sz = op % 6 <= 3 ? decode_size(&in) : 0;
		size_t align = op % 6 == 2 ? fuzz_u8(&in) : 0;

		run_op(&m, op, slot, sz, align);
	}
	for (int i = 0; i < SLOTS; i++)
		if (m.b[i].p)
			drop(&m, &m.b[i], "final free");
	check(&m, "freeing everything");
	heap_destroy(&m.h);
	if (!(cfg & 0x80))
		FUZZ_CHECK(!m.s.outstanding, "%s: %zu bytes not given back",
			   policy, m.s.outstanding);
	for (int i = 0; i < SRC_REGIONS; i++) /* no-shrink runs keep them */
		if (m.s.base[i])
			free(m.s.base[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (const char *const *p = heap_policy_names(); *p; p++)
		run_policy(*p, data, size);
	return 0;
}
