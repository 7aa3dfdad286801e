/*
 * TLSF policy: two-level segregated fit (Masmano et al., ECRTS'04). Free
 * blocks sit in lists indexed by (power of two, one of 16 linear steps);
 * two bitmap levels find a big-enough non-empty list with two bit scans,
 * so alloc and free are O(1) whatever the heap holds. Boundary tags
 * (a pointer to the previous physical block) give immediate coalescing.
 *
 * Owns: its regions: [region header | blocks ... | end sentinel]; each block
 * a 16-byte header (previous block, size and free bit), free ones also two
 * list links. Gives back a region once it is one free block (not the
 * first, which holds this state).
 * Never: searches a list (only its head is taken), or lets two free
 * blocks touch.
 */
#include "libos/heap/heap_impl.h"

#include <string.h>

#define TLSF_GROW_MIN	((size_t)64 * 1024)
#define TLSF_SL_LOG2	4
#define TLSF_SL_COUNT	(1u << TLSF_SL_LOG2)
#define TLSF_ALIGN_LOG2 4 /* HEAP_MIN_ALIGN */
/* Blocks below 256 bytes share first-level list 0, in 16-byte steps. */
#define TLSF_FL_SHIFT (TLSF_SL_LOG2 + TLSF_ALIGN_LOG2)
#define TLSF_SMALL    ((size_t)1 << TLSF_FL_SHIFT)
/* Blocks up to 2^42 bytes: HEAP_MAX_ALLOC plus alignment slack. */
#define TLSF_FL_MAX   42
#define TLSF_FL_COUNT (TLSF_FL_MAX - TLSF_FL_SHIFT + 1)
#define TLSF_FREE     ((size_t)1)

struct tlsf_block {
	struct tlsf_block *prev_phys; /* NULL for a region's first block */
	size_t size; /* whole block with header, multiple of 16; TLSF_FREE */
	/* Only in free blocks: */
	struct tlsf_block *next_free, *prev_free;
};

#define TLSF_HDR       offsetof(struct tlsf_block, next_free)
#define TLSF_MIN_BLOCK sizeof(struct tlsf_block)

struct tlsf_region {
	struct tlsf_region *next, *prev;
	size_t bytes;
	size_t pad; /* keeps blocks 16-byte aligned */
};

struct tlsf {
	uint64_t fl_map;
	uint32_t sl_map[TLSF_FL_COUNT];
	struct tlsf_block *lists[TLSF_FL_COUNT][TLSF_SL_COUNT];
	struct tlsf_region *regions; /* the first region holds us */
	size_t bytes_in_use;
	size_t bytes_free;
	size_t live_blocks;
};

#define TLSF_STATE_SIZE heap_align_up(sizeof(struct tlsf), HEAP_MIN_ALIGN)

static struct tlsf *tlsf_of(struct heap *h)
{
	return h->priv;
}

static size_t tlsf_size(const struct tlsf_block *b)
{
	return b->size & ~TLSF_FREE;
}

static bool tlsf_is_free(const struct tlsf_block *b)
{
	return b->size & TLSF_FREE;
}

static struct tlsf_block *tlsf_next_phys(const struct tlsf_block *b)
{
	return (struct tlsf_block *)((uintptr_t)b + tlsf_size(b));
}

static void *tlsf_payload(struct tlsf_block *b)
{
	return (void *)((uintptr_t)b + TLSF_HDR);
}

/* The list a block of this size belongs to. */
static void tlsf_mapping(size_t size, unsigned *fl, unsigned *sl)
{
	unsigned f;

	if (size < TLSF_SMALL) {
		*fl = 0;
		*sl = (unsigned)(size / (TLSF_SMALL / TLSF_SL_COUNT));
		return;
	}
	f = heap_fls(size);
	*sl = (unsigned)(size >> (f - TLSF_SL_LOG2)) ^ TLSF_SL_COUNT;
	*fl = f - (TLSF_FL_SHIFT - 1);
}

/* The first list whose every block holds size: round up to its start. */
static void tlsf_mapping_search(size_t size, unsigned *fl, unsigned *sl)
{
	if (size >= TLSF_SMALL)
		size += ((size_t)1 << (heap_fls(size) - TLSF_SL_LOG2)) - 1;
	tlsf_mapping(size, fl, sl);
}

static void tlsf_insert(struct tlsf *t, struct tlsf_block *b)
{
	unsigned fl, sl;

	tlsf_mapping(tlsf_size(b), &fl, &sl);
	b->size |= TLSF_FREE;
	b->prev_free = NULL;
	b->next_free = t->lists[fl][sl];
	if (b->next_free)
		b->next_free->prev_free = b;
	t->lists[fl][sl] = b;
	t->fl_map |= (uint64_t)1 << fl;
	t->sl_map[fl] |= 1u << sl;
	t->bytes_free += tlsf_size(b) - TLSF_HDR;
}

static void tlsf_remove(struct tlsf *t, struct tlsf_block *b)
{
	unsigned fl, sl;

	tlsf_mapping(tlsf_size(b), &fl, &sl);
	if (b->next_free)
		b->next_free->prev_free = b->prev_free;
	if (b->prev_free)
		b->prev_free->next_free = b->next_free;
	else
		t->lists[fl][sl] = b->next_free;
	if (!t->lists[fl][sl]) {
		t->sl_map[fl] &= ~(1u << sl);
		if (!t->sl_map[fl])
			t->fl_map &= ~((uint64_t)1 << fl);
	}
	b->size &= ~TLSF_FREE;
	t->bytes_free -= tlsf_size(b) - TLSF_HDR;
}

/* Head of the first non-empty list at or above (fl, sl): two bit scans. */
static struct tlsf_block *tlsf_find(struct tlsf *t, size_t size)
{
	unsigned fl, sl;
	uint32_t sl_map;
	uint64_t fl_map;

	tlsf_mapping_search(size, &fl, &sl);
	if (fl >= TLSF_FL_COUNT)
		return NULL;
	sl_map = t->sl_map[fl] & (~0u << sl);
	if (!sl_map) {
		fl_map =
		    fl + 1 < 64 ? t->fl_map & (~(uint64_t)0 << (fl + 1)) : 0;
		if (!fl_map)
			return NULL;
		fl = heap_ffs(fl_map);
		sl_map = t->sl_map[fl];
	}
	return t->lists[fl][heap_ffs(sl_map)];
}

static void tlsf_link_next(struct tlsf_block *b)
{
	tlsf_next_phys(b)->prev_phys = b;
}

/* Cuts b (in use, not listed) down to size; a big enough tail becomes
 * free, merged with a free successor. */
static void tlsf_trim(struct tlsf *t, struct tlsf_block *b, size_t size)
{
	struct tlsf_block *rest, *next;

	if (tlsf_size(b) - size < TLSF_MIN_BLOCK)
		return;
	rest = (struct tlsf_block *)((uintptr_t)b + size);
	rest->size = tlsf_size(b) - size;
	rest->prev_phys = b;
	b->size = size;
	next = tlsf_next_phys(rest);
	if (tlsf_is_free(next)) {
		tlsf_remove(t, next);
		rest->size += tlsf_size(next);
	}
	tlsf_link_next(rest);
	tlsf_insert(t, rest);
}

static void tlsf_add_region(struct tlsf *t, struct tlsf_region *r,
			    uintptr_t first)
{
	struct tlsf_block *b = (struct tlsf_block *)first;
	struct tlsf_block *end =
	    (struct tlsf_block *)((uintptr_t)r + r->bytes - TLSF_HDR);

	r->prev = NULL;
	r->next = t->regions;
	if (r->next)
		r->next->prev = r;
	t->regions = r;
	b->prev_phys = NULL;
	b->size = (uintptr_t)end - first;
	end->prev_phys = b;
	end->size = 0; /* the sentinel: in use, size 0 */
	tlsf_insert(t, b);
}

static bool tlsf_init(struct heap *h)
{
	size_t got;
	struct tlsf_region *r = heap_source_grow(&h->src, h->ops->first_grow, &got);
	struct tlsf *t;

	if (!r)
		return false;
	r->bytes = got;
	t = (struct tlsf *)((uintptr_t)r + sizeof(*r));
	memset(t, 0, sizeof(*t));
	h->priv = t;
	tlsf_add_region(t, r, (uintptr_t)t + TLSF_STATE_SIZE);
	return true;
}

static bool tlsf_grow(struct heap *h, size_t need)
{
	size_t got, want = need + sizeof(struct tlsf_region) + TLSF_HDR;
	struct tlsf_region *r;

	/* Rounded up to the next list boundary, so tlsf_find accepts it. */
	want += want >> TLSF_SL_LOG2;
	r = heap_source_grow(&h->src,
			     want > TLSF_GROW_MIN ? want : TLSF_GROW_MIN, &got);
	if (!r)
		return false;
	r->bytes = got;
	tlsf_add_region(tlsf_of(h), r, (uintptr_t)r + sizeof(*r));
	return true;
}

static size_t tlsf_block_size(size_t size)
{
	size_t need = heap_align_up(size, HEAP_MIN_ALIGN) + TLSF_HDR;

	return need < TLSF_MIN_BLOCK ? TLSF_MIN_BLOCK : need;
}

/* A free block of at least need bytes, taken off its list, or NULL. */
static struct tlsf_block *tlsf_take(struct heap *h, size_t need)
{
	struct tlsf *t = tlsf_of(h);
	struct tlsf_block *b = tlsf_find(t, need);

	if (!b && tlsf_grow(h, need))
		b = tlsf_find(t, need);
	if (b)
		tlsf_remove(t, b);
	return b;
}

static void *tlsf_hand_out(struct tlsf *t, struct tlsf_block *b, size_t need)
{
	tlsf_trim(t, b, need);
	t->bytes_in_use += tlsf_size(b) - TLSF_HDR;
	t->live_blocks++;
	return tlsf_payload(b);
}

static void *tlsf_alloc(struct heap *h, size_t size)
{
	size_t need = tlsf_block_size(size);
	struct tlsf_block *b = tlsf_take(h, need);

	return b ? tlsf_hand_out(tlsf_of(h), b, need) : NULL;
}

/* Splits the first gap bytes of b off as a free block; returns the rest. */
static struct tlsf_block *tlsf_cut_front(struct tlsf *t, struct tlsf_block *b,
					 size_t gap)
{
	struct tlsf_block *nb;

	if (!gap)
		return b;
	nb = (struct tlsf_block *)((uintptr_t)b + gap);
	nb->size = tlsf_size(b) - gap;
	nb->prev_phys = b;
	tlsf_link_next(nb);
	b->size = gap;
	tlsf_insert(t, b); /* its predecessor is not free: b was */
	return nb;
}

static void *tlsf_memalign(struct heap *h, size_t align, size_t size)
{
	size_t need = tlsf_block_size(size);
	struct tlsf_block *b = tlsf_take(h, need + align + TLSF_MIN_BLOCK);
	uintptr_t pay, p;

	if (!b)
		return NULL;
	pay = (uintptr_t)tlsf_payload(b);
	p = heap_align_up_ptr(pay, align);
	/* A gap in front must hold a free block of its own. */
	if (p != pay && p - pay < TLSF_MIN_BLOCK)
		p = heap_align_up_ptr(pay + TLSF_MIN_BLOCK, align);
	b = tlsf_cut_front(tlsf_of(h), b, p - pay);
	return tlsf_hand_out(tlsf_of(h), b, need);
}

static struct tlsf_block *tlsf_block_of(const void *ptr)
{
	return (struct tlsf_block *)((uintptr_t)ptr - TLSF_HDR);
}

/* Plausibility of a pointer handed to free: in use, and its neighbours
 * point back at it. O(1); catches double frees and most stray pointers. */
static bool tlsf_owns(const void *ptr)
{
	struct tlsf_block *b = tlsf_block_of(ptr);
	size_t size = tlsf_size(b);

	if (tlsf_is_free(b) || size < TLSF_MIN_BLOCK || size % HEAP_MIN_ALIGN)
		return false;
	if (b->prev_phys && tlsf_next_phys(b->prev_phys) != b)
		return false;
	return tlsf_next_phys(b)->prev_phys == b;
}

/* Gives back a region that became one free block b (not the first). */
static bool tlsf_maybe_release(struct heap *h, struct tlsf_block *b)
{
	struct tlsf *t = tlsf_of(h);
	struct tlsf_region *r;

	if (b->prev_phys || tlsf_next_phys(b)->size != 0 ||
	    (uintptr_t)b == (uintptr_t)t + TLSF_STATE_SIZE ||
	    !heap_source_can_shrink(&h->src))
		return false;
	r = (struct tlsf_region *)((uintptr_t)b - sizeof(*r));
	if (r->next)
		r->next->prev = r->prev;
	if (r->prev)
		r->prev->next = r->next;
	else
		t->regions = r->next;
	heap_source_shrink(&h->src, r, r->bytes);
	return true;
}

static bool tlsf_free(struct heap *h, void *ptr)
{
	struct tlsf *t = tlsf_of(h);
	struct tlsf_block *b = tlsf_block_of(ptr), *next;

	if (!tlsf_owns(ptr))
		return false;
	t->bytes_in_use -= tlsf_size(b) - TLSF_HDR;
	t->live_blocks--;
	if (b->prev_phys && tlsf_is_free(b->prev_phys)) {
		struct tlsf_block *prev = b->prev_phys;

		tlsf_remove(t, prev);
		prev->size += tlsf_size(b);
		b = prev;
	}
	next = tlsf_next_phys(b);
	if (tlsf_is_free(next)) {
		tlsf_remove(t, next);
		b->size += tlsf_size(next);
	}
	tlsf_link_next(b);
	if (!tlsf_maybe_release(h, b))
		tlsf_insert(t, b);
	return true;
}

/* In place when the block or its free successor suffices. */
static void *tlsf_realloc(struct heap *h, void *ptr, size_t size)
{
	struct tlsf *t = tlsf_of(h);
	struct tlsf_block *b = tlsf_block_of(ptr), *next;
	size_t need = tlsf_block_size(size), old;
	void *p;

	if (!tlsf_owns(ptr))
		return NULL;
	old = tlsf_size(b);
	next = tlsf_next_phys(b);
	if (need > old && tlsf_is_free(next) && old + tlsf_size(next) >= need) {
		tlsf_remove(t, next);
		b->size += tlsf_size(next);
		tlsf_link_next(b);
	}
	if (tlsf_size(b) >= need) {
		tlsf_trim(t, b, need);
		t->bytes_in_use += tlsf_size(b) - old;
		return ptr;
	}
	p = tlsf_alloc(h, size);
	if (!p)
		return NULL;
	memcpy(p, ptr, old - TLSF_HDR);
	tlsf_free(h, ptr);
	return p;
}

static size_t tlsf_usable_size(struct heap *h, const void *ptr)
{
	(void)h;
	return tlsf_owns(ptr) ? tlsf_size(tlsf_block_of(ptr)) - TLSF_HDR : 0;
}

static void tlsf_stats(struct heap *h, struct heap_stats *st)
{
	struct tlsf *t = tlsf_of(h);
	unsigned fl, sl;

	st->bytes_in_use = t->bytes_in_use;
	st->bytes_free = t->bytes_free;
	st->live_blocks = t->live_blocks;
	if (!t->fl_map)
		return;
	/* The largest block is in the highest non-empty list. */
	fl = heap_fls(t->fl_map);
	sl = heap_fls(t->sl_map[fl]);
	for (struct tlsf_block *b = t->lists[fl][sl]; b; b = b->next_free)
		if (tlsf_size(b) - TLSF_HDR > st->largest_free)
			st->largest_free = tlsf_size(b) - TLSF_HDR;
}

struct tlsf_tally {
	size_t used, live, free_bytes, nfree;
};

static const char *tlsf_check_region(struct tlsf_region *r, uintptr_t first,
				     struct tlsf_tally *n)
{
	struct tlsf_block *b = (struct tlsf_block *)first, *prev = NULL;
	uintptr_t end = (uintptr_t)r + r->bytes - TLSF_HDR;

	while ((uintptr_t)b < end) {
		size_t size = tlsf_size(b);

		if (b->prev_phys != prev)
			return "tlsf: boundary tag disagrees";
		if (size < TLSF_MIN_BLOCK || size % HEAP_MIN_ALIGN ||
		    size > end - (uintptr_t)b)
			return "tlsf: block size out of its region";
		if (tlsf_is_free(b) && prev && tlsf_is_free(prev))
			return "tlsf: two free blocks touch";
		if (tlsf_is_free(b)) {
			n->free_bytes += size - TLSF_HDR;
			n->nfree++;
		} else {
			n->used += size - TLSF_HDR;
			n->live++;
		}
		prev = b;
		b = tlsf_next_phys(b);
	}
	if ((uintptr_t)b != end || b->size != 0 || b->prev_phys != prev)
		return "tlsf: region does not end in its sentinel";
	return NULL;
}

static const char *tlsf_check_list(struct tlsf *t, unsigned fl, unsigned sl,
				   size_t *listed)
{
	struct tlsf_block *prev = NULL;
	bool bit = t->sl_map[fl] & (1u << sl);

	if (bit != (t->lists[fl][sl] != NULL))
		return "tlsf: bitmap disagrees with a list";
	for (struct tlsf_block *b = t->lists[fl][sl]; b; b = b->next_free) {
		unsigned f, s;

		tlsf_mapping(tlsf_size(b), &f, &s);
		if (!tlsf_is_free(b) || f != fl || s != sl)
			return "tlsf: block in the wrong list";
		if (b->prev_free != prev)
			return "tlsf: list links disagree";
		prev = b;
		++*listed;
	}
	return NULL;
}

static const char *tlsf_check(struct heap *h)
{
	struct tlsf *t = tlsf_of(h);
	struct tlsf_tally n = {0};
	size_t listed = 0;
	const char *why;

	for (struct tlsf_region *r = t->regions; r; r = r->next) {
		uintptr_t first = (uintptr_t)r + sizeof(*r);

		if (r->next && r->next->prev != r)
			return "tlsf: region links disagree";
		if (first == (uintptr_t)t)
			first += TLSF_STATE_SIZE;
		why = tlsf_check_region(r, first, &n);
		if (why)
			return why;
	}
	for (unsigned fl = 0; fl < TLSF_FL_COUNT; fl++) {
		if (!!(t->fl_map & ((uint64_t)1 << fl)) != !!t->sl_map[fl])
			return "tlsf: first-level bitmap disagrees";
		for (unsigned sl = 0; sl < TLSF_SL_COUNT; sl++) {
			why = tlsf_check_list(t, fl, sl, &listed);
			if (why)
				return why;
		}
	}
	if (listed != n.nfree)
		return "tlsf: free block missing from the lists";
	if (n.used != t->bytes_in_use || n.live != t->live_blocks ||
	    n.free_bytes != t->bytes_free)
		return "tlsf: blocks disagree with stats";
	return NULL;
}

static void tlsf_destroy(struct heap *h)
{
	struct tlsf_region *r = tlsf_of(h)->regions;

	while (r) {
		struct tlsf_region *next = r->next;

		heap_source_shrink(&h->src, r, r->bytes);
		r = next;
	}
}

HEAP_COUNTED_ENTRIES(tlsf_alloc, tlsf_free)

const struct heap_ops heap_tlsf_ops = {
    .name = "tlsf",
    .init = tlsf_init,
    .alloc = tlsf_alloc,
    .free = tlsf_free,
    .alloc_entry = tlsf_alloc_entry,
    .free_entry = tlsf_free_entry,
    .realloc = tlsf_realloc,
    .memalign = tlsf_memalign,
    .usable_size = tlsf_usable_size,
    .stats = tlsf_stats,
    .check = tlsf_check,
    .destroy = tlsf_destroy,
    .natural_align = HEAP_MIN_ALIGN,
    .first_grow = TLSF_GROW_MIN,
};
