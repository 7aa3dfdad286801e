/*
 * Slab policy: 14 size classes from 16 to 2048 bytes (two per power of
 * two, so at most a third of a block is slack), each served from 16 KiB
 * slabs of equal objects; anything larger comes straight from the buddy
 * engine (buddy.c), which also supplies the slabs. Alloc and free of small
 * objects are O(1): pop or push a slab's free list.
 *
 * Owns: the slab headers (magic, free list, a bitmap of live objects that
 * catches double frees) and the per-class partial and full lists. Keeps at
 * most one empty slab per class; the others go back to the buddy engine,
 * which gives whole arenas back to the source.
 * Never: puts an object at a slab's start (the header is there), so a
 * pointer the buddy engine knows as a block start is a large object.
 */
#include "libos/heap/heap_impl.h"

#include <string.h>

#define SLAB_ORDER	 14
#define SLAB_BYTES	 ((size_t)1 << SLAB_ORDER)
/* The first region: the state, then room for a slab at buddy alignment. */
#define SLAB_FIRST_GROW (2 * BUDDY_BASE_ALIGN + SLAB_BYTES)
#define SLAB_MAX_SMALL	 ((size_t)2048)
#define SLAB_NR_CLASSES	 14
#define SLAB_MAX_OBJECTS (SLAB_BYTES / HEAP_MIN_ALIGN)
#define SLAB_MAP_WORDS	 (SLAB_MAX_OBJECTS / 64)
#define SLAB_MAGIC	 ((uintptr_t)0x51ab51ab51ab0000ull)
/* Large blocks are at least a page: smaller ones would be slab objects. */
#define SLAB_LARGE_MIN_ORDER 12

static const uint16_t slab_sizes[SLAB_NR_CLASSES] = {
    16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
};

struct slab_free {
	struct slab_free *next;
};

struct slab {
	uintptr_t magic; /* SLAB_MAGIC ^ own address */
	struct slab *next, *prev;
	struct slab_free *free;
	uint16_t cls, nfree, total, first; /* first: offset of object 0 */
	uint64_t live[SLAB_MAP_WORDS];	   /* bit i: object i is live */
};

#define SLAB_HDR heap_align_up(sizeof(struct slab), 64)

struct slab_class {
	struct slab *partial; /* with a free object (empty ones too) */
	struct slab *full;
	unsigned nempty;
};

struct slab_heap {
	struct buddy engine;
	struct slab_class classes[SLAB_NR_CLASSES];
	size_t region_bytes; /* of the first region, which holds us */
	size_t small_in_use, small_live, small_free;
	size_t large_in_use, large_live;
};

#define SLAB_STATE_SIZE heap_align_up(sizeof(struct slab_heap), HEAP_MIN_ALIGN)

static struct slab_heap *slab_of(struct heap *h)
{
	return h->priv;
}

/* Offset of object 0: past the header, aligned as the size allows. */
static size_t slab_first(size_t size)
{
	return heap_align_up(SLAB_HDR, size & -size);
}

static void slab_link(struct slab **list, struct slab *s)
{
	s->prev = NULL;
	s->next = *list;
	if (s->next)
		s->next->prev = s;
	*list = s;
}

static void slab_unlink(struct slab **list, struct slab *s)
{
	if (s->next)
		s->next->prev = s->prev;
	if (s->prev)
		s->prev->next = s->next;
	else
		*list = s->next;
}

static struct slab *slab_new(struct slab_heap *sh, unsigned cls)
{
	size_t size = slab_sizes[cls];
	struct slab *s = buddy_alloc_order(&sh->engine, SLAB_ORDER);

	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->magic = SLAB_MAGIC ^ (uintptr_t)s;
	s->cls = (uint16_t)cls;
	s->first = (uint16_t)slab_first(size);
	s->total = (uint16_t)((SLAB_BYTES - s->first) / size);
	s->nfree = s->total;
	/* Lowest addresses first out, for locality. */
	for (size_t i = s->total; i-- > 0;) {
		struct slab_free *o =
		    (struct slab_free *)((uintptr_t)s + s->first + i * size);

		o->next = s->free;
		s->free = o;
	}
	sh->small_free += s->total * size;
	sh->classes[cls].nempty++;
	slab_link(&sh->classes[cls].partial, s);
	return s;
}

static size_t slab_index(const struct slab *s, uintptr_t p)
{
	return (p - (uintptr_t)s - s->first) / slab_sizes[s->cls];
}

static void *slab_pop(struct slab_heap *sh, unsigned cls)
{
	struct slab_class *c = &sh->classes[cls];
	struct slab *s = c->partial ? c->partial : slab_new(sh, cls);
	struct slab_free *o;
	size_t i;

	if (!s)
		return NULL;
	if (s->nfree == s->total)
		c->nempty--;
	o = s->free;
	s->free = o->next;
	i = slab_index(s, (uintptr_t)o);
	s->live[i / 64] |= (uint64_t)1 << (i % 64);
	if (--s->nfree == 0) {
		slab_unlink(&c->partial, s);
		slab_link(&c->full, s);
	}
	sh->small_in_use += slab_sizes[cls];
	sh->small_free -= slab_sizes[cls];
	sh->small_live++;
	return o;
}

static void *slab_large(struct slab_heap *sh, size_t size)
{
	unsigned order = buddy_order_for(size);
	void *p;

	if (order < SLAB_LARGE_MIN_ORDER)
		order = SLAB_LARGE_MIN_ORDER;
	p = buddy_alloc_order(&sh->engine, order);
	if (p) {
		sh->large_in_use += (size_t)1 << order;
		sh->large_live++;
	}
	return p;
}

/* First class of at least size bytes whose objects are align-aligned. */
static int slab_class_for(size_t size, size_t align)
{
	for (unsigned i = 0; i < SLAB_NR_CLASSES; i++)
		if (slab_sizes[i] >= size && slab_sizes[i] % align == 0)
			return (int)i;
	return -1;
}

static void *slab_memalign(struct heap *h, size_t align, size_t size)
{
	int cls = slab_class_for(size, align);

	if (cls >= 0)
		return slab_pop(slab_of(h), (unsigned)cls);
	if (align > BUDDY_BASE_ALIGN)
		return NULL; /* beyond what buddy blocks guarantee */
	return slab_large(slab_of(h), size > align ? size : align);
}

static void *slab_alloc(struct heap *h, size_t size)
{
	return slab_memalign(h, HEAP_MIN_ALIGN, size);
}

/* The slab holding p, if p is a live object of one. */
static struct slab *slab_owner(struct slab_heap *sh, uintptr_t p)
{
	struct slab *s = (struct slab *)(p & ~(SLAB_BYTES - 1));
	size_t i;

	if (buddy_block_order(&sh->engine, s) != SLAB_ORDER ||
	    s->magic != (SLAB_MAGIC ^ (uintptr_t)s) ||
	    p < (uintptr_t)s + s->first)
		return NULL;
	i = slab_index(s, p);
	if (i >= s->total ||
	    (uintptr_t)s + s->first + i * slab_sizes[s->cls] != p ||
	    !(s->live[i / 64] & ((uint64_t)1 << (i % 64))))
		return NULL;
	return s;
}

static void slab_release(struct slab_heap *sh, struct slab *s)
{
	struct slab_class *c = &sh->classes[s->cls];

	slab_unlink(&c->partial, s);
	c->nempty--;
	sh->small_free -= (size_t)s->total * slab_sizes[s->cls];
	s->magic = 0;
	buddy_free_block(&sh->engine, s, SLAB_ORDER);
}

static void slab_push(struct slab_heap *sh, struct slab *s, uintptr_t p)
{
	struct slab_class *c = &sh->classes[s->cls];
	struct slab_free *o = (struct slab_free *)p;
	size_t i = slab_index(s, p);

	s->live[i / 64] &= ~((uint64_t)1 << (i % 64));
	o->next = s->free;
	s->free = o;
	if (s->nfree++ == 0) {
		slab_unlink(&c->full, s);
		slab_link(&c->partial, s);
	}
	sh->small_in_use -= slab_sizes[s->cls];
	sh->small_free += slab_sizes[s->cls];
	sh->small_live--;
	if (s->nfree < s->total)
		return;
	/* Keep one empty slab per class against alloc/free ping-pong. */
	c->nempty++;
	if (c->nempty > 1)
		slab_release(sh, s);
}

static bool slab_is_large(struct slab_heap *sh, const void *ptr, int *order)
{
	*order = buddy_block_order(&sh->engine, ptr);
	return *order >= SLAB_LARGE_MIN_ORDER &&
	       !(*order == SLAB_ORDER &&
		 ((struct slab *)ptr)->magic == (SLAB_MAGIC ^ (uintptr_t)ptr));
}

static bool slab_free_ptr(struct heap *h, void *ptr)
{
	struct slab_heap *sh = slab_of(h);
	struct slab *s;
	int order;

	if (slab_is_large(sh, ptr, &order)) {
		sh->large_in_use -= (size_t)1 << order;
		sh->large_live--;
		buddy_free_block(&sh->engine, ptr, (unsigned)order);
		return true;
	}
	s = slab_owner(sh, (uintptr_t)ptr);
	if (!s)
		return false;
	slab_push(sh, s, (uintptr_t)ptr);
	return true;
}

static size_t slab_usable_size(struct heap *h, const void *ptr)
{
	struct slab_heap *sh = slab_of(h);
	struct slab *s;
	int order;

	if (slab_is_large(sh, ptr, &order))
		return (size_t)1 << order;
	s = slab_owner(sh, (uintptr_t)ptr);
	return s ? slab_sizes[s->cls] : 0;
}

static bool slab_init(struct heap *h)
{
	size_t got;
	struct slab_heap *sh =
	    heap_source_grow(&h->src, h->ops->first_grow, &got);

	if (!sh)
		return false;
	memset(sh, 0, sizeof(*sh));
	sh->region_bytes = got;
	buddy_init(&sh->engine, &h->src, (uint8_t *)sh + SLAB_STATE_SIZE,
		   got - SLAB_STATE_SIZE);
	h->priv = sh;
	return true;
}

static void slab_stats(struct heap *h, struct heap_stats *st)
{
	struct slab_heap *sh = slab_of(h);
	size_t largest = buddy_largest_free(&sh->engine);

	st->bytes_in_use = sh->small_in_use + sh->large_in_use;
	st->bytes_free = sh->small_free + sh->engine.bytes_free;
	st->live_blocks = sh->small_live + sh->large_live;
	for (unsigned i = 0; i < SLAB_NR_CLASSES; i++)
		if (sh->classes[i].partial && slab_sizes[i] > largest)
			largest = slab_sizes[i];
	st->largest_free = largest;
}

static unsigned slab_popcount(const struct slab *s)
{
	unsigned n = 0;

	for (unsigned w = 0; w < SLAB_MAP_WORDS; w++)
		n += (unsigned)__builtin_popcountll(s->live[w]);
	return n;
}

static const char *slab_check_one(struct slab_heap *sh, struct slab *s,
				  unsigned cls)
{
	size_t size = slab_sizes[cls], n = 0;

	if (s->magic != (SLAB_MAGIC ^ (uintptr_t)s) || s->cls != cls ||
	    buddy_block_order(&sh->engine, s) != SLAB_ORDER)
		return "slab: bad slab header";
	for (struct slab_free *o = s->free; o; o = o->next) {
		uintptr_t p = (uintptr_t)o;
		size_t i = slab_index(s, p);

		if (p < (uintptr_t)s + s->first || i >= s->total ||
		    (uintptr_t)s + s->first + i * size != p ||
		    (s->live[i / 64] & ((uint64_t)1 << (i % 64))) ||
		    ++n > s->nfree)
			return "slab: bad free list";
	}
	if (n != s->nfree ||
	    slab_popcount(s) != (unsigned)(s->total - s->nfree))
		return "slab: free count disagrees";
	return NULL;
}

struct slab_tally {
	size_t in_use, live, free_bytes, slabs;
};

static const char *slab_check_list(struct slab_heap *sh, struct slab *list,
				   unsigned cls, bool full,
				   struct slab_tally *n, unsigned *nempty)
{
	const char *why;

	for (struct slab *s = list, *prev = NULL; s; prev = s, s = s->next) {
		if (s->prev != prev || (s->nfree == 0) != full)
			return "slab: slab on the wrong list";
		why = slab_check_one(sh, s, cls);
		if (why)
			return why;
		*nempty += s->nfree == s->total;
		n->in_use += (size_t)(s->total - s->nfree) * slab_sizes[cls];
		n->live += s->total - s->nfree;
		n->free_bytes += (size_t)s->nfree * slab_sizes[cls];
		n->slabs++;
	}
	return NULL;
}

static const char *slab_check(struct heap *h)
{
	struct slab_heap *sh = slab_of(h);
	struct slab_tally n = {0};
	const char *why = buddy_check(&sh->engine);

	for (unsigned i = 0; !why && i < SLAB_NR_CLASSES; i++) {
		struct slab_class *c = &sh->classes[i];
		unsigned nempty = 0;

		why = slab_check_list(sh, c->partial, i, false, &n, &nempty);
		if (!why)
			why =
			    slab_check_list(sh, c->full, i, true, &n, &nempty);
		if (!why && (nempty != c->nempty || nempty > 1))
			why = "slab: empty slab count wrong";
	}
	if (why)
		return why;
	if (n.in_use != sh->small_in_use || n.live != sh->small_live ||
	    n.free_bytes != sh->small_free)
		return "slab: objects disagree with stats";
	if (sh->engine.live_blocks != n.slabs + sh->large_live ||
	    sh->engine.bytes_in_use != n.slabs * SLAB_BYTES + sh->large_in_use)
		return "slab: buddy blocks disagree with slabs and large";
	return NULL;
}

static void slab_destroy(struct heap *h)
{
	struct slab_heap *sh = slab_of(h);

	buddy_release_all(&sh->engine);
	heap_source_shrink(&h->src, sh, sh->region_bytes);
}

HEAP_COUNTED_ENTRIES(slab_alloc, slab_free_ptr)

const struct heap_ops heap_slab_ops = {
    .name = "slab",
    .init = slab_init,
    .alloc = slab_alloc,
    .free = slab_free_ptr,
    .alloc_entry = slab_alloc_entry,
    .free_entry = slab_free_ptr_entry,
    .memalign = slab_memalign,
    .usable_size = slab_usable_size,
    .stats = slab_stats,
    .check = slab_check,
    .destroy = slab_destroy,
    .natural_align = BUDDY_BASE_ALIGN,
    .first_grow = SLAB_FIRST_GROW,
};
