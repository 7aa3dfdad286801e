/*
 * The heap interface: policy registry, the adapters every call goes
 * through, and the page-source accounting.
 *
 * Owns: argument semantics shared by all policies (NULL, 0, overflow,
 * alignment checks), operation counters, and deriving realloc and
 * aligned_alloc for policies that lack them. Never: knows how any policy
 * lays out memory.
 */
#include "libos/heap/heap_impl.h"

#include <lib/fmt.h>
#include <string.h>

static const struct heap_ops *const heap_policies[] = {
    &heap_bump_ops, &heap_freelist_ops, &heap_buddy_ops,
    &heap_slab_ops, &heap_tlsf_ops, &heap_sizeclass_ops,
};

#define HEAP_NR_POLICIES (sizeof(heap_policies) / sizeof(heap_policies[0]))

/* Filled from heap_policies[] on first use: the registry is the only list
 * of names (a new policy is one line above; the host manifest checker and
 * every message take the names from here). */
static const char *heap_names[HEAP_NR_POLICIES + 1];

const char *const *heap_policy_names(void)
{
	for (size_t i = 0; i < HEAP_NR_POLICIES; i++)
		heap_names[i] = heap_policies[i]->name;
	return heap_names;
}

static const struct heap_ops *heap_find_policy(const char *name)
{
	for (size_t i = 0; i < HEAP_NR_POLICIES; i++)
		if (strcmp(heap_policies[i]->name, name) == 0)
			return heap_policies[i];
	return NULL;
}

size_t heap_policy_first_grow(const char *policy)
{
	const struct heap_ops *ops = policy ? heap_find_policy(policy) : NULL;

	return ops ? ops->first_grow : 0;
}

int heap_create(const char *policy, heap_grow_fn grow, heap_shrink_fn shrink,
		void *ctx, struct heap *out)
{
	const struct heap_ops *ops;

	if (!policy || !grow || !out)
		return HEAP_EINVAL;
	ops = heap_find_policy(policy);
	if (!ops)
		return HEAP_EPOLICY;
	memset(out, 0, sizeof(*out));
	out->ops = ops;
	out->alloc_fn = ops->alloc_entry;
	out->free_fn = ops->free_entry;
	out->src.grow = grow;
	out->src.shrink = shrink;
	out->src.ctx = ctx;
	if (!ops->init(out)) {
		out->ops = NULL;
		return HEAP_ENOMEM;
	}
	return HEAP_OK;
}

static int heap_list_names(char *buf, size_t size)
{
	const char *const *names = heap_policy_names();
	int n = 0;

	for (size_t i = 0; names[i]; i++) {
		size_t at = (size_t)n < size ? (size_t)n : size;

		n += fmt_snprintf(buf ? buf + at : NULL, size - at, "%s%s",
				  i ? ", " : "", names[i]);
	}
	return n;
}

int heap_strerror(int err, const char *policy, char *buf, size_t size)
{
	int n;
	size_t at;

	switch (err) {
	case HEAP_OK:
		return fmt_snprintf(buf, size, "heap: ok");
	case HEAP_ENOMEM:
		return fmt_snprintf(buf, size,
				    "heap: the page source refused the first "
				    "region");
	case HEAP_EINVAL:
		return fmt_snprintf(buf, size, "heap: missing argument");
	case HEAP_EPOLICY:
		break;
	default:
		return fmt_snprintf(buf, size, "heap: error %d", err);
	}
	n = fmt_snprintf(buf, size, "heap: unknown policy '%s' (valid: ",
			 policy ? policy : "(null)");
	at = (size_t)n < size ? (size_t)n : size;
	n += heap_list_names(buf ? buf + at : NULL, size - at);
	at = (size_t)n < size ? (size_t)n : size;
	return n + fmt_snprintf(buf ? buf + at : NULL, size - at, ")");
}

void heap_destroy(struct heap *h)
{
	if (!h->ops)
		return;
	h->ops->destroy(h);
	h->ops = NULL;
	h->priv = NULL;
}

const char *heap_policy(const struct heap *h)
{
	return h->ops ? h->ops->name : NULL;
}

/* ---- page source ---- */

void *heap_source_grow(struct heap_source *src, size_t bytes_min,
		       size_t *bytes_got)
{
	size_t want = heap_align_up(bytes_min, HEAP_PAGE_SIZE);
	size_t got = 0;
	void *base;

	if (bytes_min > HEAP_MAX_ALLOC * 2)
		return NULL;
	base = src->grow(src->ctx, want, &got);
	/* A source that breaks its contract is treated as empty. */
	if (!base || got < want || (uintptr_t)base % HEAP_PAGE_SIZE ||
	    got % HEAP_PAGE_SIZE)
		return NULL;
	src->footprint += got;
	if (src->footprint > src->peak_footprint)
		src->peak_footprint = src->footprint;
	src->grows++;
	*bytes_got = got;
	return base;
}

void heap_source_shrink(struct heap_source *src, void *base, size_t bytes)
{
	if (!src->shrink)
		return;
	src->shrink(src->ctx, base, bytes);
	src->footprint -= bytes;
	src->shrinks++;
}

bool heap_source_can_shrink(const struct heap_source *src)
{
	return src->shrink != NULL;
}

/* ---- adapters ---- */

static void *heap_counted(struct heap *h, void *p)
{
	if (p)
		h->allocs++;
	else
		h->failures++;
	return p;
}

void *heap_alloc_edge(struct heap *h, size_t size)
{
	if (size > HEAP_MAX_ALLOC)
		return heap_counted(h, NULL);
	/* size 0 gets a minimum block: unique and freeable. */
	return heap_counted(h, h->ops->alloc(h, size ? size : 1));
}

size_t heap_usable_size(struct heap *h, const void *ptr)
{
	return ptr ? h->ops->usable_size(h, ptr) : 0;
}

/* Derived realloc: keep the block when it is already big enough. */
static void *heap_realloc_generic(struct heap *h, void *ptr, size_t size)
{
	size_t old = h->ops->usable_size(h, ptr);
	void *p;

	if (size <= old)
		return ptr;
	p = h->ops->alloc(h, size);
	if (!p)
		return NULL;
	memcpy(p, ptr, old);
	h->ops->free(h, ptr);
	return p;
}

void *heap_realloc(struct heap *h, void *ptr, size_t size)
{
	void *p;

	if (!ptr)
		return heap_alloc(h, size);
	if (size == 0) {
		heap_free(h, ptr);
		return NULL;
	}
	h->reallocs++;
	if (size > HEAP_MAX_ALLOC) {
		h->failures++;
		return NULL;
	}
	if (h->ops->realloc)
		p = h->ops->realloc(h, ptr, size);
	else
		p = heap_realloc_generic(h, ptr, size);
	if (!p)
		h->failures++;
	return p;
}

/* Derived aligned_alloc: over-allocate to a power of two the policy
 * aligns naturally. */
static void *heap_memalign_generic(struct heap *h, size_t align, size_t size)
{
	if (align > h->ops->natural_align)
		return NULL;
	return h->ops->alloc(h, size > align ? size : align);
}

void *heap_aligned_alloc(struct heap *h, size_t align, size_t size)
{
	if (!heap_is_pow2(align) || align > HEAP_MAX_ALLOC ||
	    size > HEAP_MAX_ALLOC)
		return heap_counted(h, NULL);
	if (size == 0)
		size = 1;
	if (align <= HEAP_MIN_ALIGN)
		return heap_counted(h, h->ops->alloc(h, size));
	if (h->ops->memalign)
		return heap_counted(h, h->ops->memalign(h, align, size));
	return heap_counted(h, heap_memalign_generic(h, align, size));
}

void heap_stats(struct heap *h, struct heap_stats *st)
{
	memset(st, 0, sizeof(*st));
	h->ops->stats(h, st);
	st->footprint = h->src.footprint;
	st->peak_footprint = h->src.peak_footprint;
	st->grows = h->src.grows;
	st->shrinks = h->src.shrinks;
	st->allocs = h->allocs;
	st->frees = h->frees;
	st->reallocs = h->reallocs;
	st->failures = h->failures;
	st->bad_frees = h->bad_frees;
	if (st->bytes_free)
		st->fragmentation_pct =
		    (unsigned)(100 - (st->largest_free * 100) / st->bytes_free);
}

const char *heap_check(struct heap *h)
{
	struct heap_stats st;
	const char *why;

	if (!h->ops)
		return "heap not created";
	/* The policy first: stats trust the structures it verifies. */
	why = h->ops->check(h);
	if (why)
		return why;
	heap_stats(h, &st);
	if (st.largest_free > st.bytes_free)
		return "stats: largest free block above free bytes";
	if (st.bytes_in_use + st.bytes_free > st.footprint)
		return "stats: in use plus free above footprint";
	if (st.live_blocks != st.allocs - st.frees)
		return "stats: live blocks disagree with alloc/free counts";
	return NULL;
}
