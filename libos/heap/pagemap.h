/*
 * A page map for the heap policies: which owner (a buddy arena) holds an
 * address, in three dependent loads instead of a walk over the owners.
 *
 * Owns: a three-level radix tree over 256 KiB windows of the low 48 bits of
 * an address; each window names at most two owners (one ending in it, one
 * starting in it: owners are at least a window apart, see heap_pagemap_add).
 * Its interior nodes come from the heap's page source (counted in the
 * footprint) and go back when they empty. Never: decides whether an address
 * is inside an owner (the caller compares it with the owner's range).
 */
#ifndef EXO_LIBOS_HEAP_PAGEMAP_H
#define EXO_LIBOS_HEAP_PAGEMAP_H

#include "libos/heap/heap.h"

#define HEAP_PAGEMAP_WINDOW_SHIFT 18
#define HEAP_PAGEMAP_BITS	  10
#define HEAP_PAGEMAP_FAN	  (1u << HEAP_PAGEMAP_BITS)
#define HEAP_PAGEMAP_OWNERS	  2 /* per window */

struct heap_pagemap_leaf;

struct heap_pagemap_mid {
	size_t bytes; /* what the source gave, for shrink */
	size_t used;  /* non-NULL leaves */
	struct heap_pagemap_leaf *leaf[HEAP_PAGEMAP_FAN];
};

struct heap_pagemap_leaf {
	size_t bytes;
	size_t used; /* owner slots taken */
	void *owner[HEAP_PAGEMAP_FAN][HEAP_PAGEMAP_OWNERS];
};

struct heap_pagemap {
	struct heap_source *src;
	struct heap_pagemap_mid *root[HEAP_PAGEMAP_FAN];
};

static inline unsigned heap_pagemap_index(uintptr_t p, unsigned level)
{
	return (unsigned)(p >> (HEAP_PAGEMAP_WINDOW_SHIFT +
				level * HEAP_PAGEMAP_BITS)) &
	       (HEAP_PAGEMAP_FAN - 1);
}

/* The owner slots of p's window; NULL when nothing was ever mapped near. */
static inline void *const *heap_pagemap_lookup(const struct heap_pagemap *pm,
					       uintptr_t p)
{
	const struct heap_pagemap_mid *mid = pm->root[heap_pagemap_index(p, 2)];
	const struct heap_pagemap_leaf *leaf;

	if (!mid)
		return NULL;
	leaf = mid->leaf[heap_pagemap_index(p, 1)];
	return leaf ? leaf->owner[heap_pagemap_index(p, 0)] : NULL;
}

void heap_pagemap_init(struct heap_pagemap *pm, struct heap_source *src);
/* Names owner in every window [lo, hi) touches. All or nothing: false
 * (nothing changed) when the source has no page for a node or a window
 * already has two owners. */
bool heap_pagemap_add(struct heap_pagemap *pm, uintptr_t lo, uintptr_t hi,
		      void *owner);
/* Undoes heap_pagemap_add(pm, lo, hi, owner); empty nodes go back. */
void heap_pagemap_remove(struct heap_pagemap *pm, uintptr_t lo, uintptr_t hi,
			 void *owner);
/* Every node back to the source (heap_destroy). */
void heap_pagemap_release(struct heap_pagemap *pm);

#endif
