/*
 * Memory hypercalls as transactions over the frame DB and the stage-2
 * tables: check (may fail, changes nothing), prepare (table pages charged to
 * the guest), then commit (cannot fail). Arguments reach here already
 * shape-checked by el2/dispatch.c.
 */
#ifndef EXO_EL2_MEM_H
#define EXO_EL2_MEM_H

#include <el2/paddr.h>
#include <el2/vm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t mem_frame_alloc(struct vm *vm, uint64_t count, unsigned align_log2,
			paddr_t *pa);
/* FRAME_ALLOC's bounded form: finds a run of count FREE frames within the
 * quota, as mem_frame_alloc, but takes only its first part frames (1 <=
 * part <= count; EXO_EINVAL otherwise). */
int64_t mem_frame_alloc_part(struct vm *vm, uint64_t count, unsigned align_log2,
			     uint64_t part, paddr_t *pa);
/* mem_frame_alloc_part with its result in two registers (struct of two
 * words): el2/dispatch.c's FRAME_ALLOC keeps nothing in memory. pa is
 * the run's first frame when rc is EXO_OK. */
struct mem_alloc {
	int64_t rc;
	paddr_t pa;
};
/* flags: FRAME_ALLOC's (EXO_FRAME_ALLOC_NOZERO), checked by the caller. */
struct mem_alloc mem_frame_alloc_call(struct vm *vm, uint64_t count,
				      unsigned align_log2, uint64_t part,
				      uint64_t flags);
int64_t mem_frame_alloc_at(struct vm *vm, paddr_t pa, uint64_t count);
/* On success the count frames are FREE: the caller reports them to whoever
 * counts frames given back (revocation); mem calls nothing above it. */
int64_t mem_frame_free(struct vm *vm, paddr_t pa, uint64_t count);
/* The bounded forms (FRAME_ALLOC_AT, FRAME_FREE): the whole range of
 * count frames must lie in RAM (EXO_ERANGE otherwise), then only its
 * first part frames are handled (1 <= part <= count; EXO_EINVAL
 * otherwise). */
int64_t mem_frame_alloc_at_part(struct vm *vm, paddr_t pa, uint64_t count,
				uint64_t part);
int64_t mem_frame_free_part(struct vm *vm, paddr_t pa, uint64_t count,
			    uint64_t part);
/* FRAME_ALLOC of one frame with no alignment and FRAME_FREE of one frame,
 * the commonest calls, straight from el2/dispatch.c's table once it has
 * checked their shape (x1 = 1, x2 = 0, known flags in x3; x1 an aligned
 * PA, x2 = 1, no revocation request active): x is the calling vCPU's
 * x0-x3, and the call's result goes there as docs/abi.md gives it (x0 the
 * status; alloc: x1 the frame, x2 the 1 frame taken; free: x1 the 1
 * frame freed; every other register of the four zero). The caller is the
 * guest running on this CPU, so its stage 2 is the one loaded: the free's
 * TLBIs switch no VMID. Verdicts and state changes are
 * mem_frame_alloc_call's and mem_frame_free_part's (the one-frame paths
 * first, the general transaction when they decline). */
#define MEM_CALL_REGS 4
void mem_frame_alloc_one_call(struct vm *vm, uint64_t x[MEM_CALL_REGS]);
void mem_frame_free_one_call(struct vm *vm, uint64_t x[MEM_CALL_REGS]);
int64_t mem_frame_query(struct vm *vm, paddr_t pa, uint64_t *state,
			uint64_t *access);
void mem_vm_usage(struct vm *vm, uint64_t *quota, uint64_t *used);
/* The frames vm owns (kept, shared or lent out): its charge less its
 * stage-2 table pages, which follow what it maps (revocation's level). */
uint64_t mem_vm_owned(struct vm *vm);

/* Between guests (the caller checked the manifest allows it). perm is
 * EXO_SHARE_R or EXO_SHARE_RW. */
int64_t mem_frame_share(struct vm *owner, struct vm *borrower, paddr_t pa,
			uint64_t count, unsigned perm);
int64_t mem_frame_unshare(struct vm *owner, struct vm *borrower, paddr_t pa,
			  uint64_t count);
int64_t mem_frame_lend(struct vm *owner, struct vm *borrower, paddr_t pa,
		       uint64_t count);
int64_t mem_frame_reclaim(struct vm *owner, struct vm *borrower, paddr_t pa,
			  uint64_t count);
int64_t mem_frame_donate(struct vm *owner, struct vm *to, paddr_t pa,
			 uint64_t count);
/* The owner's side of an offer (el2/offers.h) of kind EXO_OFFER_*, as
 * the transaction would find it now: ownership and the frames' state.
 * What the recipient lacks (quota, table pages) is decided when it
 * accepts, so it is not an error here. Changes nothing. */
int64_t mem_frame_offer_check(struct vm *owner, struct vm *to, paddr_t pa,
			      uint64_t count, unsigned kind);

/* Revocation by force: up to want frames the VM holds outside its boot
 * run, owned first, then shared out, then lent out (every borrower loses
 * them first and is told, el2/lost.h); unmapped, scrubbed and freed; the
 * runs go to log. Returns the count. */
uint64_t mem_revoke(struct vm *vm, uint64_t want, struct vm_run *log,
		    unsigned log_max, unsigned *nr_log);
/* The same down to a level: until the frames the VM owns (its charge
 * less its table pages, mem_vm_owned) fall to level, *wanted being how
 * many that was. Both read with mem's gate closed, with the taking, so a
 * frame the guest frees meanwhile on another CPU (a one-frame FRAME_FREE
 * takes no lock above mem) is not taken a second time. */
uint64_t mem_revoke_to_level(struct vm *vm, uint64_t level,
			     struct vm_run *log, unsigned log_max,
			     unsigned *nr_log, uint64_t *wanted);

/* VM life. s2_root: S2_ROOT_SIZE bytes, S2_ROOT_SIZE-aligned, EL2's. From
 * a successful create to the end of its teardown, mem knows the VM by id
 * (the other side of a share or loan). */
int64_t mem_vm_create(struct vm *vm, uint64_t quota, uint64_t *s2_root);
/* A teardown in slices (el2/vm.c): begin when the VM's end begins (its
 * stage 2 gone, what it shared or lent taken back from the borrowers, what
 * it borrowed returned), then steps of at most budget frames scrubbed and
 * freed, *c zeroed at the first, until a step returns true: everything
 * is back and mem forgets the VM. Between steps the DB and every running
 * guest's stage 2 agree; the VM's frames stay OWNED until scrubbed. A step
 * that reaches a new run walks it once in the DB (at most all of RAM). */
#define MEM_TEARDOWN_STEP_FRAMES EXO_CALL_MAX_FRAMES
void mem_vm_teardown_begin(struct vm *vm);
bool mem_vm_teardown_step(struct vm *vm, struct mem_teardown *c,
			  uint64_t budget);
/* Begin and every step at once: a VM that never ran, and host tests. */
void mem_vm_teardown(struct vm *vm);

/* Panics (EL2 bug) unless vm's stage 2 maps exactly what the DB allows. */
void mem_check_invariant(struct vm *vm);
/* Checks completed so far, and the stage-2 pages they compared: debug
 * builds print them at the end, so a test sees the checks ran. */
void mem_invariant_counts(uint64_t *checks, uint64_t *pages);
/* Debug builds: FREE frames are checked to be zero when handed out (the
 * stage-2 invariant is checked by system_check_invariants). The debug EL2
 * and host tests only: the release EL2 has no such checks. */
void mem_set_debug_checks(bool on);
/* The one-frame paths of FRAME_ALLOC, FRAME_FREE and an offer's check (on
 * from boot): host tests turn them off to compare the state and verdicts
 * the general paths leave. Host tests only: EL2 always has them. */
void mem_set_fast_paths(bool on);
/* Calls the one-frame paths answered while the debug checks were on
 * (tests: they did run). */
uint64_t mem_fast_path_calls(void);
/* The FREE frame a guest left unscrubbed (docs/memory-model.md,
 * "Scrubbing"): its PA, and the guest whose data it may hold in *vm; 0
 * when there is none. For tests. */
uint64_t mem_left_frame(unsigned *vm);

/* Boot: the DB over a span of RAM frames, its storage carved by the caller. */
size_t mem_storage_size(uint64_t span_frames);
int mem_init(uint64_t span_base, uint64_t span_frames, void *storage,
	     size_t size);
int mem_add_ram(uint64_t pa, uint64_t count);
uint64_t mem_ram_frames(void);
/* The frame DB, read-only: for reports (el2/snapshot.c) and tests. Read it
 * where no memory hypercall can run at the same time. */
struct frames_db;
const struct frames_db *mem_frames_db(void);
int mem_claim_hyp(uint64_t pa, uint64_t count);
void mem_totals(uint64_t *free, uint64_t *hyp, uint64_t *held);
int mem_selftest(void *scratch, size_t size);

#endif
