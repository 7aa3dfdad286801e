/*
 * The model checker's machine (model_machine.c), shared by the checker's
 * two files only (model_check.h is the checker's interface): the guests
 * and the steps run since boot, running a step, what a guest holds,
 * snapshots and state hashes.
 *
 * Owns: nothing (declarations). Never: included outside the checker and
 * the threaded tests (tests/host/tsan/), which run its machine.
 */
#ifndef EXO_TESTS_MODEL_MACHINE_H
#define EXO_TESTS_MODEL_MACHINE_H

#include "model_check.h"

#include <el2/vm.h>
#include <exo/frame.h>
#include <stdbool.h>
#include <stdint.h>

#define MM_BLOCK_FRAMES 512u    /* one 2 MiB stage-2 block */
#define MM_FRAME_BYTES (UINT64_C(1) << EXO_FRAME_SHIFT)
#define MM_NOT_RUN INT64_MIN    /* a step of a guest that is not running */

extern struct vm mm_vms[MC_GUESTS];
extern bool mm_live[MC_GUESTS];
extern const uint64_t *mm_quota;
extern uint64_t mm_ram_frames;
/* The steps since boot that led to the state now (a probe's steps, run
 * from a snapshot, are not added). */
extern struct mc_call mm_path[MC_MAX_STEPS + 1];
extern unsigned mm_path_len;
extern uint64_t mm_gen;         /* changes whenever the machine may */
extern uint64_t mm_replayed;    /* steps run to reach states again */

uint64_t mm_pa(uint64_t frame);
const struct frames_db *mm_db(void);
/* A fresh machine (every guest created, the path empty). */
void mm_boot(void);
/* Guest index g created (again, after its teardown) with the machine's
 * quota; mm_live[g] says whether it was. */
bool mm_create(unsigned g);
bool mm_between_two(enum mc_kind k);
/* Runs a step (*rc = MM_NOT_RUN for a guest that is not running); false
 * if EL2 stopped: fake_halt_line says why, and the machine must boot or
 * be restored before the next step. */
bool mm_run(const struct mc_call *c, int64_t *rc);
/* mem_check_invariant for guest index g; false if it panicked. */
bool mm_invariant_holds(unsigned g);
/* EL2's own HYP frames (its revocation reserve). */
uint64_t mm_reserve(void);

/* What a step names, found in the state now. */
enum run_kind { RUN_OWNED, RUN_SHAREABLE, RUN_SHARED_WITH, RUN_LENT_TO,
		NR_RUN_KINDS };
/* The lowest run of frames guest a owns (OWNED), may share with b, shares
 * with b or lends to b; at most a block. */
bool mm_find_run(enum run_kind k, unsigned a, unsigned b, uint64_t *first,
		 uint64_t *n);

struct mm_snapshot;
struct mm_snapshot *mm_snapshot_new(void);
void mm_save(struct mm_snapshot *sn);
/* The state saved, its path included (replayed when it cannot be copied
 * back). */
void mm_restore(const struct mm_snapshot *sn);

/* This very state; the state up to swapping guests 1 and 2 when their
 * quotas are equal. */
uint64_t mm_state_hash(void);
uint64_t mm_state_class_hash(void);

#endif
