/*
 * The frame pool (libos/pool/pool.h): chunks from the source, one free bit
 * per frame, buddy-aligned placement of runs, and giving whole free chunks
 * back above the high-water mark; revocation: giving free frames back on
 * request, and repair after EL2 took frames by force (gone frames).
 *
 * Owns: struct pool's chunk table and counters. Never: touches the memory
 * of a frame, or gives back part of a chunk except through the source's
 * unmap and free_frames (revocation).
 */
#include "libos/pool/pool.h"

#include <string.h>

static uint64_t chunk_frames(const struct pool_chunk *c)
{
	return (uint64_t)1 << c->order;
}

static uint64_t chunk_end(const struct pool_chunk *c)
{
	return c->pa + (chunk_frames(c) << POOL_FRAME_SHIFT);
}

/* Smallest k with 2^k >= n; n >= 1. */
static unsigned order_for(uint64_t n)
{
	unsigned k = 0;

	while (((uint64_t)1 << k) < n)
		k++;
	return k;
}

/* Bits [lo, hi) of a word, 0 <= lo < hi <= 64. */
static uint64_t word_mask(unsigned lo, unsigned hi)
{
	uint64_t m =
	    hi - lo == 64 ? ~(uint64_t)0 : (((uint64_t)1 << (hi - lo)) - 1);

	return m << lo;
}

static bool bit(const uint64_t *map, uint64_t i)
{
	return (map[i / 64] >> (i % 64)) & 1;
}

static void bit_set(uint64_t *map, uint64_t i)
{
	map[i / 64] |= (uint64_t)1 << (i % 64);
}

static void bit_clear(uint64_t *map, uint64_t i)
{
	map[i / 64] &= ~((uint64_t)1 << (i % 64));
}

enum range_op { RANGE_SET, RANGE_CLEAR, RANGE_ALL_SET, RANGE_ALL_CLEAR };

/* Applies op to frames [first, first + n) of c; the tests return whether
 * every bit matched, the updates true. */
static bool range(struct pool_chunk *c, uint64_t first, uint64_t n,
		  enum range_op op)
{
	uint64_t end = first + n;

	for (uint64_t w = first / 64; w * 64 < end; w++) {
		unsigned lo = w * 64 > first ? 0 : (unsigned)(first - w * 64);
		unsigned hi =
		    end >= w * 64 + 64 ? 64 : (unsigned)(end - w * 64);
		uint64_t m = word_mask(lo, hi);

		switch (op) {
		case RANGE_SET:
			c->free_map[w] |= m;
			if (w < c->first_word)
				c->first_word = (unsigned)w;
			break;
		case RANGE_CLEAR:
			c->free_map[w] &= ~m;
			break;
		case RANGE_ALL_SET:
			if ((c->free_map[w] & m) != m)
				return false;
			break;
		case RANGE_ALL_CLEAR:
			if (c->free_map[w] & m)
				return false;
			break;
		}
	}
	return true;
}

/* Bits at multiples of 2^k in a word, k < 6. */
static uint64_t aligned_starts(unsigned k)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < 64; i += 1u << k)
		m |= (uint64_t)1 << i;
	return m;
}

/* First free, naturally aligned block of 2^k frames in c; -1 if none. */
static int64_t find_block(const struct pool_chunk *c, unsigned k)
{
	uint64_t words = (chunk_frames(c) + 63) / 64;

	if (k > c->order || c->nfree < ((uint64_t)1 << k))
		return -1;
	if (k >= 6) {
		uint64_t step = (uint64_t)1 << (k - 6);

		for (uint64_t w = 0; w < words; w += step) {
			uint64_t i = 0;

			while (i < step && c->free_map[w + i] == ~(uint64_t)0)
				i++;
			if (i == step)
				return (int64_t)(w * 64);
		}
		return -1;
	}
	for (uint64_t w = 0; w < words; w++) {
		uint64_t m = c->free_map[w];

		/* Bit i survives when bits i .. i + 2^k - 1 are all free. */
		for (unsigned s = 1; s < (1u << k); s <<= 1)
			m &= m >> s;
		m &= aligned_starts(k);
		if (m)
			return (int64_t)(w * 64 + (uint64_t)__builtin_ctzll(m));
	}
	return -1;
}

void pool_init(struct pool *p, const struct pool_source *src,
	       unsigned batch_order, uint64_t high_water)
{
	memset(p, 0, sizeof(*p));
	p->src = *src;
	p->batch_order =
	    batch_order > POOL_MAX_ORDER ? POOL_MAX_ORDER : batch_order;
	p->high_water = high_water;
	p->st.high_water = high_water;
}

static struct pool_chunk *free_slot(struct pool *p)
{
	for (unsigned i = 0; i < POOL_MAX_CHUNKS; i++)
		if (!p->chunks[i].used)
			return &p->chunks[i];
	return NULL;
}

/* One chunk of 2^order frames from the source, all free; NULL if refused. */
static struct pool_chunk *chunk_get(struct pool *p, unsigned order)
{
	struct pool_chunk *c = free_slot(p);
	uint64_t pa;

	if (!c)
		return NULL;
	if (p->src.alloc(p->src.ctx, order, &pa) != 0 ||
	    pa % (POOL_FRAME_SIZE << order)) {
		p->st.src_failures++;
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->pa = pa;
	c->order = order;
	c->nfree = (unsigned)((uint64_t)1 << order);
	range(c, 0, c->nfree, RANGE_SET);
	p->st.src_allocs++;
	p->st.chunks++;
	p->st.frames_from_src += c->nfree;
	p->st.frames_held += c->nfree;
	p->st.frames_free += c->nfree;
	if (p->st.frames_held > p->st.peak_held)
		p->st.peak_held = p->st.frames_held;
	return c;
}

/* Takes a chunk whose every frame is gone out of the table. */
static void chunk_drop(struct pool *p, struct pool_chunk *c)
{
	c->used = false;
	p->st.chunks--;
}

static uint64_t unit_frames(const struct pool *p, const struct pool_chunk *c)
{
	uint64_t u = (uint64_t)1 << p->unit_order;

	return u < chunk_frames(c) ? u : chunk_frames(c);
}

/*
 * Gives back the free frames of the unit at frame `first` of c, whose
 * frames are all free or gone (at least one free): unmaps the unit, frees
 * each free sub-run, marks them gone. false (nothing changed) when the
 * source cannot, or refuses the unmap.
 */
static bool give_unit(struct pool *p, struct pool_chunk *c, uint64_t first)
{
	uint64_t n = unit_frames(p, c), given = 0;

	if (!p->src.unmap || !p->src.free_frames ||
	    p->src.unmap(p->src.ctx, c->pa + (first << POOL_FRAME_SHIFT), n)) {
		p->st.src_failures++;
		return false;
	}
	for (uint64_t i = first; i < first + n;) {
		uint64_t j = i;

		while (j < first + n && bit(c->free_map, j))
			j++;
		if (j > i) {
			/* Unmapped already: even if EL2 refused, the frames
			 * are out of reach; they count as gone. */
			if (p->src.free_frames(p->src.ctx,
					       c->pa + (i << POOL_FRAME_SHIFT),
					       j - i))
				p->st.src_failures++;
			range(c, i, j - i, RANGE_CLEAR);
			for (uint64_t k = i; k < j; k++)
				bit_set(c->gone_map, k);
			given += j - i;
			i = j;
		} else {
			i++;
		}
	}
	c->nfree -= (unsigned)given;
	c->ngone += (unsigned)given;
	p->st.frames_free -= given;
	p->st.frames_held -= given;
	p->st.frames_returned += given;
	p->st.src_frees++;
	if (c->ngone == chunk_frames(c))
		chunk_drop(p, c);
	return true;
}

/* Does every frame of c's unit at `first` hold free or gone, and one free? */
static bool unit_releasable(const struct pool *p, const struct pool_chunk *c,
			    uint64_t first)
{
	bool any_free = false;

	for (uint64_t i = first; i < first + unit_frames(p, c); i++) {
		if (bit(c->free_map, i))
			any_free = true;
		else if (!bit(c->gone_map, i))
			return false;
	}
	return any_free;
}

/* Gives a chunk back whose frames are all free (or gone); false (chunk
 * kept) if the source refuses. */
static bool chunk_put(struct pool *p, struct pool_chunk *c)
{
	uint64_t n = chunk_frames(c);

	if (c->ngone) {
		for (uint64_t u = 0; c->used && u < n; u += unit_frames(p, c))
			if (unit_releasable(p, c, u) && !give_unit(p, c, u))
				return false;
		return true;
	}
	if (p->src.free(p->src.ctx, c->pa, c->order) != 0) {
		p->st.src_failures++;
		return false;
	}
	chunk_drop(p, c);
	p->st.src_frees++;
	p->st.frames_returned += n;
	p->st.frames_held -= n;
	p->st.frames_free -= n;
	return true;
}

static bool chunk_all_free(const struct pool_chunk *c)
{
	return c->nfree && c->nfree + c->ngone == chunk_frames(c);
}

/* The fullest chunk with a free aligned block of 2^k frames: filling
 * chunks that are already in use leaves the others free to go back. */
static struct pool_chunk *best_chunk(struct pool *p, unsigned k, int64_t *first)
{
	struct pool_chunk *best = NULL;

	for (unsigned i = 0; i < POOL_MAX_CHUNKS; i++) {
		struct pool_chunk *c = &p->chunks[i];
		int64_t at;

		if (!c->used || (best && c->nfree >= best->nfree))
			continue;
		at = find_block(c, k);
		if (at >= 0) {
			best = c;
			*first = at;
		}
	}
	return best;
}

/* Batches double each time another quarter of the chunk table fills, so
 * the table holds up to 16 * (1 + 2 + 4 + 8) batches. */
static unsigned batch_order(const struct pool *p)
{
	uint64_t order = p->batch_order + p->st.chunks / (POOL_MAX_CHUNKS / 4);

	return order > POOL_MAX_ORDER ? POOL_MAX_ORDER : (unsigned)order;
}

/* A new chunk for a run of 2^k frames: a whole batch, or the run. */
static unsigned chunk_order(unsigned k, unsigned batch)
{
	return k > batch ? k : batch;
}

uint64_t pool_first_chunk_frames(uint64_t count)
{
	return (uint64_t)1 << chunk_order(order_for(count),
					  POOL_DEFAULT_BATCH_ORDER);
}

static struct pool_chunk *chunk_for(struct pool *p, unsigned k, int64_t *first)
{
	struct pool_chunk *c = best_chunk(p, k, first);
	unsigned order = chunk_order(k, batch_order(p));

	if (c)
		return c;
	c = chunk_get(p, order);
	/* Short of quota for a whole batch: exactly what is needed. */
	if (!c && order > k)
		c = chunk_get(p, k);
	*first = 0;
	return c;
}

static unsigned slot_of(const struct pool *p, const struct pool_chunk *c)
{
	return (unsigned)(c - p->chunks);
}

/* The hinted chunk's first free frame, taken: a scan of at most
 * POOL_MAP_WORDS words, whatever the number of chunks, from the chunk's
 * first word that may hold a free bit (the scan moves it up). */
bool pool_take_hinted(struct pool *p, uint64_t *pa)
{
	struct pool_chunk *c = &p->chunks[p->hint];
	uint64_t *map = c->free_map, words, w = c->first_word, m = 0;
	unsigned nfree = c->nfree;

	if (!c->used || !nfree)
		return false;
	words = (chunk_frames(c) + 63) / 64;
	while (w < words && !(m = map[w]))
		w++;
	if (!m)
		return false;
	/* Every field read, now the stores (no reload between them). */
	map[w] = m & (m - 1);	/* its lowest set bit: the frame */
	*pa = c->pa + ((w * 64 + (uint64_t)__builtin_ctzll(m))
		       << POOL_FRAME_SHIFT);
	c->first_word = (unsigned)w;
	c->nfree = nfree - 1;
	p->st.frames_free--;
	p->st.allocs++;
	return true;
}

bool pool_alloc(struct pool *p, uint64_t count, uint64_t *pa)
{
	struct pool_chunk *c;
	int64_t first;

	if (count == 1 && pool_take_hinted(p, pa))
		return true;
	if (count == 0 || count > POOL_MAX_RUN) {
		p->st.failures++;
		return false;
	}
	c = chunk_for(p, order_for(count), &first);
	if (!c) {
		p->st.failures++;
		return false;
	}
	range(c, (uint64_t)first, count, RANGE_CLEAR);
	c->nfree -= (unsigned)count;
	p->st.frames_free -= count;
	p->st.allocs++;
	p->hint = slot_of(p, c);
	*pa = c->pa + ((uint64_t)first << POOL_FRAME_SHIFT);
	return true;
}

/* The chunk holding frame pa, or -1. Chunks' ranges may overlap where
 * frames of one are gone (given back or revoked, then handed to us again
 * in a new chunk): the holder is the one for which pa is not gone. */
static bool holds(const struct pool_chunk *c, uint64_t pa)
{
	return c->used && pa >= c->pa && pa < chunk_end(c) &&
	       !bit(c->gone_map, (pa - c->pa) >> POOL_FRAME_SHIFT);
}

static int holder(const struct pool *p, uint64_t pa)
{
	if (holds(&p->chunks[p->hint], pa))
		return (int)p->hint;
	for (unsigned i = 0; i < POOL_MAX_CHUNKS; i++)
		if (holds(&p->chunks[i], pa))
			return (int)i;
	return -1;
}

static struct pool_chunk *chunk_of(struct pool *p, uint64_t pa)
{
	int i = holder(p, pa);

	return i < 0 ? NULL : &p->chunks[i];
}

/* Gives back wholly free chunks while more than high_water frames are free. */
static uint64_t release_above(struct pool *p, uint64_t high_water)
{
	uint64_t before = p->st.frames_returned;

	for (unsigned i = 0; i < POOL_MAX_CHUNKS; i++) {
		struct pool_chunk *c = &p->chunks[i];

		if (p->st.frames_free <= high_water)
			break;
		if (c->used && chunk_all_free(c) && !chunk_put(p, c))
			break;
	}
	return p->st.frames_returned - before;
}

bool pool_free(struct pool *p, uint64_t pa, uint64_t count)
{
	struct pool_chunk *c = chunk_of(p, pa);
	uint64_t first;

	if (!c || count == 0 || count > POOL_MAX_RUN || pa % POOL_FRAME_SIZE)
		goto bad;
	first = (pa - c->pa) >> POOL_FRAME_SHIFT;
	if (first + count > chunk_frames(c) ||
	    !range(c, first, count, RANGE_ALL_CLEAR))
		goto bad;
	if (c->ngone) {
		/* Frames EL2 took while they were handed out stay gone. */
		uint64_t back = 0;

		for (uint64_t i = first; i < first + count; i++) {
			if (!bit(c->gone_map, i)) {
				bit_set(c->free_map, i);
				if (i / 64 < c->first_word)
					c->first_word = (unsigned)(i / 64);
				back++;
			}
		}
		count = back;
	} else {
		range(c, first, count, RANGE_SET);
	}
	c->nfree += (unsigned)count;
	p->st.frames_free += count;
	p->st.frees++;
	p->hint = slot_of(p, c);
	if (p->st.frames_free > p->high_water)
		release_above(p, p->high_water);
	return true;
bad:
	p->st.bad_frees++;
	return false;
}

uint64_t pool_trim(struct pool *p)
{
	return release_above(p, 0);
}

void pool_set_high_water(struct pool *p, uint64_t high_water)
{
	p->high_water = high_water;
	p->st.high_water = high_water;
	release_above(p, high_water);
}

void pool_set_unit(struct pool *p, unsigned order)
{
	p->unit_order = order > POOL_MAX_ORDER ? POOL_MAX_ORDER : order;
}

/* Whole free chunks until frames_given reaches want; with fit, only those
 * that do not overshoot. */
static void give_chunks(struct pool *p, uint64_t want, bool fit)
{
	for (unsigned i = 0; i < POOL_MAX_CHUNKS; i++) {
		struct pool_chunk *c = &p->chunks[i];
		uint64_t before = p->st.frames_returned;

		if (p->st.frames_given >= want)
			return;
		if (!c->used || !chunk_all_free(c) ||
		    (fit && c->nfree > want - p->st.frames_given))
			continue;
		if (chunk_put(p, c))
			p->st.frames_given += p->st.frames_returned - before;
	}
}

uint64_t pool_give_back(struct pool *p, uint64_t want)
{
	uint64_t start = p->st.frames_given;

	want += start;   /* frames_given counts over the pool's life */
	give_chunks(p, want, true);
	for (unsigned i = 0; i < POOL_MAX_CHUNKS && p->st.frames_given < want;
	     i++) {
		struct pool_chunk *c = &p->chunks[i];

		for (uint64_t u = 0; c->used && u < chunk_frames(c) &&
				     p->st.frames_given < want;
		     u += unit_frames(p, c)) {
			uint64_t before = c->nfree;

			if (unit_releasable(p, c, u) && give_unit(p, c, u))
				p->st.frames_given += before - c->nfree;
		}
	}
	give_chunks(p, want, false);
	return p->st.frames_given - start;
}

static bool unit_gone(const struct pool *p, const struct pool_chunk *c,
		      uint64_t i)
{
	uint64_t unit = unit_frames(p, c), u = i & ~(unit - 1);

	for (uint64_t j = u; j < u + unit; j++)
		if (!bit(c->gone_map, j))
			return false;
	return true;
}

/* Frame i of c, which c holds, was taken by EL2: it is gone. */
static void revoke_frame(struct pool *p, struct pool_chunk *c, uint64_t i,
			 struct pool_repair *r)
{
	uint64_t unit = unit_frames(p, c);

	if (bit(c->free_map, i)) {
		bit_clear(c->free_map, i);
		c->nfree--;
		p->st.frames_free--;
		r->dropped_free++;
	} else {
		if (!r->lost_in_use)
			r->lost_pa = c->pa + (i << POOL_FRAME_SHIFT);
		r->lost_in_use++;
		p->st.lost_in_use++;
	}
	bit_set(c->gone_map, i);
	c->ngone++;
	p->st.frames_held--;
	p->st.frames_revoked++;
	/* The frame that completes a unit takes the unit out of the direct
	 * map. */
	if (unit_gone(p, c, i) && p->src.unmap)
		p->src.unmap(p->src.ctx,
			     c->pa + ((i & ~(unit - 1)) << POOL_FRAME_SHIFT),
			     unit);
	if (c->ngone == chunk_frames(c))
		chunk_drop(p, c);
}

void pool_revoked(struct pool *p, uint64_t pa, uint64_t count,
		  struct pool_repair *r)
{
	memset(r, 0, sizeof(*r));
	pa &= ~(POOL_FRAME_SIZE - 1);
	for (uint64_t f = 0; f < count; f++, pa += POOL_FRAME_SIZE) {
		struct pool_chunk *c = chunk_of(p, pa);

		if (c)
			revoke_frame(p, c, (pa - c->pa) >> POOL_FRAME_SHIFT, r);
		else
			r->foreign++;
	}
}

bool pool_holds(const struct pool *p, uint64_t pa)
{
	return holder(p, pa) >= 0;
}

void pool_stats(const struct pool *p, struct pool_stats *st)
{
	*st = p->st;
	st->frames_in_use = p->st.frames_held - p->st.frames_free;
}

enum frame_kind { FRAME_GONE, FRAME_IN_USE, FRAME_FREE };

static enum frame_kind frame_kind(const struct pool_chunk *c, uint64_t i)
{
	if (bit(c->gone_map, i))
		return FRAME_GONE;
	return bit(c->free_map, i) ? FRAME_FREE : FRAME_IN_USE;
}

static void chunk_runs(const struct pool_chunk *c, pool_run_fn fn, void *ctx)
{
	uint64_t n = chunk_frames(c), start = 0;

	for (uint64_t i = 1; i <= n; i++) {
		enum frame_kind kind = frame_kind(c, start);

		if (i < n && frame_kind(c, i) == kind)
			continue;
		if (kind != FRAME_GONE)
			fn(ctx, c->pa + (start << POOL_FRAME_SHIFT), i - start,
			   kind == FRAME_FREE);
		start = i;
	}
}

void pool_runs(const struct pool *p, pool_run_fn fn, void *ctx)
{
	for (unsigned i = 0; i < POOL_MAX_CHUNKS; i++)
		if (p->chunks[i].used)
			chunk_runs(&p->chunks[i], fn, ctx);
}

static const char *check_chunk(const struct pool_chunk *c)
{
	uint64_t n = chunk_frames(c), words = (n + 63) / 64, set = 0, gone = 0;

	if (c->order > POOL_MAX_ORDER)
		return "chunk order above POOL_MAX_ORDER";
	if (c->pa % (POOL_FRAME_SIZE << c->order))
		return "chunk not aligned to its size";
	if (c->first_word >= POOL_MAP_WORDS) /* pool_take_first reads it */
		return "chunk's first word beyond its bitmap";
	for (uint64_t w = 0; w < POOL_MAP_WORDS; w++) {
		unsigned bits = n >= 64 ? 64 : (unsigned)n;
		uint64_t valid = w < words ? word_mask(0, bits) : 0;

		if ((c->free_map[w] | c->gone_map[w]) & ~valid)
			return "free or gone bit set beyond the end of a chunk";
		if (c->free_map[w] & c->gone_map[w])
			return "a frame is both free and gone";
		if (w < c->first_word && c->free_map[w])
			return "a free frame below the chunk's first word";
		set += (uint64_t)__builtin_popcountll(c->free_map[w]);
		gone += (uint64_t)__builtin_popcountll(c->gone_map[w]);
	}
	if (gone != c->ngone)
		return "chunk ngone differs from its bitmap";
	if (gone == n)
		return "a wholly gone chunk is still in the table";
	return set == c->nfree ? NULL : "chunk nfree differs from its bitmap";
}

/* Do overlapping chunks c and o both hold a frame? */
static bool held_by_both(const struct pool_chunk *c, const struct pool_chunk *o)
{
	uint64_t lo = c->pa > o->pa ? c->pa : o->pa;
	uint64_t hi = chunk_end(c) < chunk_end(o) ? chunk_end(c) : chunk_end(o);

	for (uint64_t pa = lo; pa < hi; pa += POOL_FRAME_SIZE)
		if (!bit(c->gone_map, (pa - c->pa) >> POOL_FRAME_SHIFT) &&
		    !bit(o->gone_map, (pa - o->pa) >> POOL_FRAME_SHIFT))
			return true;
	return false;
}

const char *pool_check(const struct pool *p)
{
	uint64_t held = 0, nfree = 0, chunks = 0;

	for (unsigned i = 0; i < POOL_MAX_CHUNKS; i++) {
		const struct pool_chunk *c = &p->chunks[i];
		const char *err;

		if (!c->used)
			continue;
		err = check_chunk(c);
		if (err)
			return err;
		for (unsigned j = 0; j < i; j++) {
			const struct pool_chunk *o = &p->chunks[j];

			if (o->used && o->pa < chunk_end(c) &&
			    c->pa < chunk_end(o) && held_by_both(c, o))
				return "two chunks hold the same frame";
		}
		held += chunk_frames(c) - c->ngone;
		nfree += c->nfree;
		chunks++;
	}
	if (held != p->st.frames_held || nfree != p->st.frames_free ||
	    chunks != p->st.chunks)
		return "pool counters differ from the chunks";
	if (p->st.frames_from_src - p->st.frames_returned -
		    p->st.frames_revoked != held)
		return "frames from the source minus returned and revoked "
		       "!= held";
	return NULL;
}
