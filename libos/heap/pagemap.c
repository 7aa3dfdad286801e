/*
 * The heap page map (pagemap.h): a radix tree of 256 KiB windows, nodes
 * from the page source.
 */
#include "libos/heap/pagemap.h"

#include "libos/heap/heap_impl.h"

#include <string.h>

#define PM_WINDOW ((uintptr_t)1 << HEAP_PAGEMAP_WINDOW_SHIFT)

void heap_pagemap_init(struct heap_pagemap *pm, struct heap_source *src)
{
	memset(pm, 0, sizeof(*pm));
	pm->src = src;
}

static void *pm_node_new(struct heap_pagemap *pm, size_t size)
{
	size_t got;
	size_t *node = heap_source_grow(pm->src, size, &got);

	if (!node)
		return NULL;
	memset(node, 0, size);
	node[0] = got; /* both node kinds start with `bytes` */
	return node;
}

/* Drops the leaf of p's window (and its mid) if they hold nothing. */
static void pm_prune(struct heap_pagemap *pm, uintptr_t p)
{
	struct heap_pagemap_mid **mid = &pm->root[heap_pagemap_index(p, 2)];
	struct heap_pagemap_leaf **leaf;

	if (!*mid)
		return;
	leaf = &(*mid)->leaf[heap_pagemap_index(p, 1)];
	if (*leaf && !(*leaf)->used && heap_source_can_shrink(pm->src)) {
		heap_source_shrink(pm->src, *leaf, (*leaf)->bytes);
		*leaf = NULL;
		(*mid)->used--;
	}
	if (!(*mid)->used && heap_source_can_shrink(pm->src)) {
		heap_source_shrink(pm->src, *mid, (*mid)->bytes);
		*mid = NULL;
	}
}

/* The owner slots of p's window, creating the nodes on the way. */
static void **pm_slots(struct heap_pagemap *pm, uintptr_t p)
{
	struct heap_pagemap_mid **mid = &pm->root[heap_pagemap_index(p, 2)];
	struct heap_pagemap_leaf **leaf;

	if (!*mid && !(*mid = pm_node_new(pm, sizeof(**mid))))
		return NULL;
	leaf = &(*mid)->leaf[heap_pagemap_index(p, 1)];
	if (!*leaf) {
		*leaf = pm_node_new(pm, sizeof(**leaf));
		if (!*leaf) {
			pm_prune(pm, p);
			return NULL;
		}
		(*mid)->used++;
	}
	return (*leaf)->owner[heap_pagemap_index(p, 0)];
}

static struct heap_pagemap_leaf *pm_leaf(struct heap_pagemap *pm, uintptr_t p)
{
	struct heap_pagemap_mid *mid = pm->root[heap_pagemap_index(p, 2)];

	return mid->leaf[heap_pagemap_index(p, 1)];
}

static void pm_drop(struct heap_pagemap *pm, uintptr_t w, void *owner)
{
	void **slot = pm_leaf(pm, w)->owner[heap_pagemap_index(w, 0)];

	for (unsigned i = 0; i < HEAP_PAGEMAP_OWNERS; i++) {
		if (slot[i] == owner) {
			slot[i] = NULL;
			pm_leaf(pm, w)->used--;
			break;
		}
	}
	pm_prune(pm, w);
}

void heap_pagemap_remove(struct heap_pagemap *pm, uintptr_t lo, uintptr_t hi,
			 void *owner)
{
	for (uintptr_t w = lo & ~(PM_WINDOW - 1); w < hi; w += PM_WINDOW)
		pm_drop(pm, w, owner);
}

bool heap_pagemap_add(struct heap_pagemap *pm, uintptr_t lo, uintptr_t hi,
		      void *owner)
{
	for (uintptr_t w = lo & ~(PM_WINDOW - 1); w < hi; w += PM_WINDOW) {
		void **slot = pm_slots(pm, w);
		unsigned i = 0;

		while (slot && i < HEAP_PAGEMAP_OWNERS && slot[i])
			i++;
		if (!slot || i == HEAP_PAGEMAP_OWNERS) {
			if (slot)
				pm_prune(pm, w);
			heap_pagemap_remove(pm, lo, w, owner);
			return false;
		}
		slot[i] = owner;
		pm_leaf(pm, w)->used++;
	}
	return true;
}

void heap_pagemap_release(struct heap_pagemap *pm)
{
	for (unsigned i = 0; i < HEAP_PAGEMAP_FAN; i++) {
		struct heap_pagemap_mid *mid = pm->root[i];

		if (!mid)
			continue;
		for (unsigned j = 0; j < HEAP_PAGEMAP_FAN; j++)
			if (mid->leaf[j])
				heap_source_shrink(pm->src, mid->leaf[j],
						   mid->leaf[j]->bytes);
		heap_source_shrink(pm->src, mid, mid->bytes);
		pm->root[i] = NULL;
	}
}
