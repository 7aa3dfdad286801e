/*
 * libos frame pool: the guest's cache of physical frames between EL2 and
 * everything in libos that needs frames (the heap, later stage-1 tables).
 *
 * Frames come from a source (on target EL2's FRAME_ALLOC / FRAME_FREE) in
 * chunks: naturally aligned runs of 2^k frames, one source call each, at
 * least 2^batch_order frames so that single-frame requests rarely reach
 * EL2 (batches double as the chunk table fills). Inside a chunk one bit per
 * frame says "free in the pool": a single frame is one bit scan; a run of n
 * frames is placed buddy-style in a naturally aligned block of 2^ceil(log2 n)
 * frames (only n are taken, the tail stays free) and coalescing is implicit in
 * the bitmap. When more than high_water frames sit free, whole free chunks go
 * back to the source.
 *
 * Revocation (docs/libos.md, "Revocation"): on EL2's request the pool gives
 * back free frames, whole free chunks first, then free units inside chunks
 * still in use (pool_give_back); when EL2 took frames by force the pool is
 * repaired (pool_revoked): those frames are marked gone, never handed out
 * again, and what was in use among them is reported. A gone frame is one a
 * chunk no longer holds; a chunk whose every frame is gone leaves the table.
 * Partial give-back works in units of 2^unit_order frames (the direct map's
 * page: a unit is unmapped as a whole before its free frames go back).
 *
 * Owns: which frames the guest holds and which of them are handed out.
 * Never: reads or writes a frame's contents (its state lives outside the
 * frames, so it works before and after the MMU is on), converts addresses
 * (callers use libos/addr.h), or locks (one pool per CPU, or the caller
 * serialises).
 */
#ifndef EXO_LIBOS_POOL_H
#define EXO_LIBOS_POOL_H

#include <exo/frame.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_FRAME_SHIFT EXO_FRAME_SHIFT /* the pool holds EL2's frames */
#define POOL_FRAME_SIZE	 ((uint64_t)1 << POOL_FRAME_SHIFT)
/* Largest chunk, and so largest run: 2^9 frames (2 MiB). */
#define POOL_MAX_ORDER 9
#define POOL_MAX_RUN   ((uint64_t)1 << POOL_MAX_ORDER)
/* Chunks held at once: up to 128 MiB in 2 MiB chunks. */
#define POOL_MAX_CHUNKS 64
#define POOL_MAP_WORDS	(POOL_MAX_RUN / 64)

#define POOL_DEFAULT_BATCH_ORDER 4  /* 16 frames (64 KiB) per source call */
#define POOL_DEFAULT_HIGH_WATER	 64 /* free frames kept before giving back */

/*
 * Where frames come from. alloc returns 0 and the physical address of
 * 2^order frames aligned to their size in *pa, or a negative error; free
 * gives back exactly such a run, and returns 0 or a negative error.
 */
struct pool_source {
	int (*alloc)(void *ctx, unsigned order, uint64_t *pa);
	int (*free)(void *ctx, uint64_t pa, unsigned order);
	void *ctx;
	/* Optional, for revocation (NULL: only whole chunks go back).
	 * unmap makes 2^unit_order frames at pa (one unit) unreachable;
	 * free_frames gives back count frames of units already unmapped. */
	int (*unmap)(void *ctx, uint64_t pa, uint64_t count);
	int (*free_frames)(void *ctx, uint64_t pa, uint64_t count);
};

struct pool_chunk {
	uint64_t pa;	/* first frame, aligned to 2^order frames */
	unsigned order; /* 2^order frames */
	unsigned nfree; /* set bits in free_map */
	unsigned ngone; /* set bits in gone_map */
	bool used;	/* slot holds a chunk */
	uint64_t free_map[POOL_MAP_WORDS]; /* bit i: frame i is free */
	uint64_t gone_map[POOL_MAP_WORDS]; /* bit i: frame i no longer held */
	/* free_map's words below this one are all clear (every free bit set
	 * lowers it; the single-frame take's scan starts here). */
	unsigned first_word;
};

struct pool_stats {
	uint64_t frames_held;	  /* from the source, not given back: now */
	uint64_t frames_free;	  /* held and not handed out */
	uint64_t frames_in_use;	  /* handed out */
	uint64_t frames_from_src; /* obtained from the source, in all */
	uint64_t frames_returned; /* given back to the source, in all */
	uint64_t peak_held;
	uint64_t chunks; /* held now */
	uint64_t src_allocs, src_frees, src_failures;
	uint64_t allocs, frees; /* successful calls */
	uint64_t failures;	/* allocations that returned no frames */
	uint64_t bad_frees;	/* frees of frames not handed out */
	uint64_t high_water;
	/* Revocation */
	uint64_t frames_given;	  /* given back on request (in returned) */
	uint64_t frames_revoked;  /* taken by force (not in returned) */
	uint64_t lost_in_use;	  /* taken by force while handed out */
};

/* What pool_revoked found in a run EL2 took. */
struct pool_repair {
	uint64_t dropped_free;	/* free frames dropped from the pool */
	uint64_t lost_in_use;	/* frames that were handed out */
	uint64_t foreign;	/* frames the pool did not hold */
	uint64_t lost_pa;	/* first frame lost in use (when any) */
};

struct pool {
	struct pool_source src;
	unsigned batch_order;
	uint64_t high_water;
	unsigned unit_order; /* partial give-back unit: 2^unit_order frames */
	struct pool_chunk chunks[POOL_MAX_CHUNKS];
	/* The chunk slot of the last frame taken or given back: a single
	 * frame is taken from it, and a free looks in it, before any search
	 * of the table (a hint: anything checks it). */
	unsigned hint;
	struct pool_stats st;
};

/* Empty pool over src; batch_order <= POOL_MAX_ORDER. */
void pool_init(struct pool *p, const struct pool_source *src,
	       unsigned batch_order, uint64_t high_water);
/* Changes when free chunks go back; gives back at once what is above it. */
void pool_set_high_water(struct pool *p, uint64_t high_water);

/* Frames a fresh pool with the default batch takes from its source to
 * serve its first request of count frames (1..POOL_MAX_RUN): a whole batch,
 * or the request rounded up to a power of two. */
uint64_t pool_first_chunk_frames(uint64_t count);

/*
 * count frames (1..POOL_MAX_RUN), contiguous, the first aligned to
 * 2^ceil(log2 count) frames. Returns false (and counts a failure) when
 * neither the pool nor the source has them.
 */
bool pool_alloc(struct pool *p, uint64_t count, uint64_t *pa);
/*
 * One frame, only when pool_alloc would take it from the hinted chunk (no
 * search, no source call): what pool_alloc(p, 1, pa) does then, exactly.
 * false changes nothing (pool_alloc would search on; the fault fast path
 * leaves that to the slow path).
 */
bool pool_take_hinted(struct pool *p, uint64_t *pa);
/*
 * O(1), inline (the fault fast path's page, no call): the hinted chunk's
 * first free frame when the word pool_take_hinted's scan starts at holds
 * one, taken exactly as pool_take_hinted (and so pool_alloc(p, 1, pa))
 * would take it. false changes nothing: the word is empty (the scan would
 * move on) or the chunk is gone; pool_alloc decides.
 */
static inline bool pool_take_first(struct pool *p, uint64_t *pa)
{
	struct pool_chunk *c = &p->chunks[p->hint];
	/* Every field read before the first store (none reloaded). */
	unsigned w = c->first_word, nfree = c->nfree;
	uint64_t base = c->pa, m;

	if (!c->used || !(m = c->free_map[w])) /* w < POOL_MAP_WORDS */
		return false;
	c->free_map[w] = m & (m - 1); /* its lowest set bit: the frame */
	*pa = base + (((uint64_t)w * 64 + (uint64_t)__builtin_ctzll(m))
		      << POOL_FRAME_SHIFT);
	c->nfree = nfree - 1;
	p->st.frames_free--;
	p->st.allocs++;
	return true;
}
static inline bool pool_alloc_frame(struct pool *p, uint64_t *pa)
{
	return pool_alloc(p, 1, pa);
}

/*
 * Gives back count frames at pa, all handed out by this pool (any sub-run
 * of what pool_alloc returned). Anything else changes nothing, counts a
 * bad free and returns false.
 */
bool pool_free(struct pool *p, uint64_t pa, uint64_t count);

/* Returns every wholly free chunk to the source; the frames given back. */
uint64_t pool_trim(struct pool *p);

/* Partial give-back works in units of 2^order frames (default 0); at most
 * POOL_MAX_ORDER. */
void pool_set_unit(struct pool *p, unsigned order);

/*
 * EL2 asks for want frames back: gives back whole free chunks that fit,
 * then free units of chunks in use, then larger free chunks, until want
 * frames have gone or nothing free is left. Returns the frames given.
 */
uint64_t pool_give_back(struct pool *p, uint64_t want);

/*
 * EL2 took [pa, pa + count frames) by force: marks the frames gone (free
 * ones leave the free map; handed-out ones are counted as lost, and a
 * later pool_free of them is accepted and drops them), unmaps units that
 * are wholly gone, drops wholly gone chunks. Fills *r. Never calls the
 * source's free: the frames are EL2's already.
 */
void pool_revoked(struct pool *p, uint64_t pa, uint64_t count,
		  struct pool_repair *r);

/* Whether pa is a frame the pool holds (free or handed out). */
bool pool_holds(const struct pool *p, uint64_t pa);

void pool_stats(const struct pool *p, struct pool_stats *st);

/* Calls fn for every maximal run of frames the pool holds (gone frames
 * left out) whose frames are all free or all handed out, chunk by chunk:
 * what the pool holds, as ranges, for a report. */
typedef void (*pool_run_fn)(void *ctx, uint64_t pa, uint64_t count,
			    bool free);
void pool_runs(const struct pool *p, pool_run_fn fn, void *ctx);

/* NULL when the bitmaps, counters and chunks agree, else what is wrong. */
const char *pool_check(const struct pool *p);

#endif
