/*
 * A reference model of the frame DB for the host tests (issue 17): who owns
 * each frame, who borrows it with which permission, to whom it is lent, what
 * each guest is charged, and which stage-2 table pages each guest needs.
 * Written from docs/memory-model.md and docs/abi.md, not from el2/: each
 * model_* call returns the status EL2's mem_* call must return and, when that
 * is EXO_OK, applies the transition to the model.
 *
 * Owns: the model's own arrays. Never: calls into el2/ or reads its state;
 * the only facts it takes from outside are the stage-2 table frames a guest
 * is charged for right now (model_observe_tables), because how many spare
 * table pages EL2 keeps cached is its policy, not a rule of the ABI.
 *
 * Limits (the test keeps within them): RAM inside one 1 GiB region, ranges
 * shorter than a 2 MiB block (so stage 2 never uses blocks and a guest's
 * table pages are one level-2 table plus a level-3 table per 2 MiB region it
 * maps something in), guests never touch the top `zone` frames, where EL2
 * keeps its reserve and takes table pages from.
 */
#ifndef EXO_TESTS_MEM_MODEL_H
#define EXO_TESTS_MEM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#define MODEL_MAX_FRAMES 16384u
#define MODEL_MAX_VMS 8u            /* ids 1..MODEL_MAX_VMS - 1 */
#define MODEL_REGION_FRAMES 512u     /* a 2 MiB stage-2 block */
#define MODEL_MAX_REGIONS (MODEL_MAX_FRAMES / MODEL_REGION_FRAMES)
#define MODEL_UNKNOWN INT64_MIN      /* the call touches frames not modelled */

enum model_state {
	MODEL_FREE,
	MODEL_HYP,      /* EL2's reserve */
	MODEL_OWNED,
	MODEL_SHARED,
	MODEL_LENT,
	MODEL_ZONE,     /* FREE or a table page: not modelled */
};

struct model_frame {
	uint8_t state;
	uint8_t owner;      /* OWNED, SHARED, LENT */
	uint8_t peer;       /* LENT: the borrower */
	uint8_t borrowers;  /* SHARED: bit h, h borrows */
	uint8_t rw;         /* SHARED: bit h, with RW */
};

struct model_vm {
	bool live;
	uint64_t quota;
	uint64_t owned;     /* OWNED, SHARED and LENT frames it owns */
	uint64_t borrowed;  /* frames shared with it or lent to it */
	uint64_t lent_out;
	uint64_t tables;    /* stage-2 table frames charged (in use + cached) */
	uint64_t mapped;    /* frames its stage 2 maps */
	uint32_t region_mapped[MODEL_MAX_REGIONS];
};

struct mem_model {
	uint64_t base, nr, zone_first;  /* guests use [0, zone_first) */
	uint32_t shares_left;           /* share records: one per SHARED frame */
	struct model_frame f[MODEL_MAX_FRAMES];
	struct model_vm vm[MODEL_MAX_VMS];
};

/* nr frames at base; the top `reserve` are EL2's (HYP), the `zone` frames
 * below them unmodelled. */
void model_init(struct mem_model *m, uint64_t base, uint64_t nr,
		unsigned reserve, unsigned zone, uint32_t share_records);
void model_vm_create(struct mem_model *m, unsigned vm, uint64_t quota);
/* The table frames EL2 charges vm for now (before a call). */
void model_observe_tables(struct mem_model *m, unsigned vm, uint64_t tables);
/* Table pages vm's stage 2 uses (not cached ones), as the model has it. */
uint64_t model_tables_in_use(const struct mem_model *m, unsigned vm);

int64_t model_alloc(struct mem_model *m, unsigned vm, uint64_t count,
		    unsigned align_log2, uint64_t *pa);
int64_t model_alloc_at(struct mem_model *m, unsigned vm, uint64_t pa,
		       uint64_t count);
int64_t model_free(struct mem_model *m, unsigned vm, uint64_t pa,
		   uint64_t count);
int64_t model_share(struct mem_model *m, unsigned a, unsigned b, uint64_t pa,
		    uint64_t count, unsigned perm);
int64_t model_unshare(struct mem_model *m, unsigned a, unsigned b,
		      uint64_t pa, uint64_t count);
int64_t model_lend(struct mem_model *m, unsigned a, unsigned b, uint64_t pa,
		   uint64_t count);
int64_t model_reclaim(struct mem_model *m, unsigned a, unsigned b,
		      uint64_t pa, uint64_t count);
int64_t model_donate(struct mem_model *m, unsigned a, unsigned b,
		     uint64_t pa, uint64_t count);
/* Everything vm holds goes back; afterwards every guest's `tables` is what
 * EL2 must charge it. */
void model_teardown(struct mem_model *m, unsigned vm);

#endif
