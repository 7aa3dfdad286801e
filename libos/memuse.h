/*
 * The guest's own account of its frames by use, as ranges ("memuse:"
 * lines), printed at exit when EL2's memory snapshot asks for it (/chosen
 * exo,memory-report, docs/memory-model.md). EL2 knows which frames a guest
 * holds and what it loaded into them, not what the guest made of the rest:
 * stage-1 tables and heap chunks are the library OS's business (no policy
 * in EL2), so the guest says, and tools/memmap believes it only about
 * frames EL2 says the guest holds.
 *
 * Owns: the line format, the use names, merging adjacent runs of one use,
 * the totals. Never: looks at the pool, the heap or the tables itself
 * (libos/stats.c hands it runs), or allocates.
 */
#ifndef EXO_LIBOS_MEMUSE_H
#define EXO_LIBOS_MEMUSE_H

#include <stdint.h>

enum memuse_kind {
	MEMUSE_S1_TABLES,    /* stage-1 table pages, in use or cached */
	MEMUSE_HEAP,	     /* pool frames the heap grew into */
	MEMUSE_REGION_PAGES, /* pool frames handed out for region/task pages */
	MEMUSE_POOL_FREE,    /* frames the pool holds, not handed out */
	MEMUSE_KINDS
};

/* One finished line, without a newline. */
typedef void (*memuse_out_fn)(void *ctx, const char *line);

struct memuse {
	memuse_out_fn out;
	void *ctx;
	uint64_t pa, frames; /* the run being extended */
	enum memuse_kind kind;
	uint64_t total[MEMUSE_KINDS];
};

void memuse_init(struct memuse *m, memuse_out_fn out, void *ctx);
/* frames 4 KiB frames at pa are used for kind: printed as
 * "memuse: <pa> <frames> <use>", merged with the previous run when it
 * ends at pa with the same use. */
void memuse_add(struct memuse *m, enum memuse_kind kind, uint64_t pa,
		uint64_t frames);
/* The last run, then "memuse: total <use> <n>... untracked <n>":
 * untracked counts frames the guest holds for a use but could not place. */
void memuse_finish(struct memuse *m, uint64_t untracked);
const char *memuse_name(enum memuse_kind kind);

#endif
