/*
 * Memory hypercalls as transactions over the frame DB (el2/frames.c) and a
 * guest's stage 2 (el2/s2.c):
 *   1. count the stage-2 table pages each stage 2 the call changes lacks
 *      (s2_check_pages, one walk, less what its page cache holds; empty
 *      tables it keeps elsewhere are given back to the cache first),
 *   2. one DB check (ownership, state, quota, and those table pages,
 *      reserved and charged to the guest whose stage 2 needs them; may
 *      fail, changes nothing),
 *   3. the commits, which cannot fail (s2_commit: one walk, no second
 *      check).
 * Stage-2 tables left empty stay in place, charged, for the next map in
 * their region (el2/s2.h); they go back to the pool under memory pressure
 * (a map short of cache pages takes them first: cache_refill; a check
 * refused for quota is made once more after the guest gives them back:
 * give_back_tables), by revocation and at teardown.
 * Callers above are told what happened (what was freed, taken) and act on
 * it; nothing here calls up. A borrower that loses frames through its
 * owner (UNSHARE, RECLAIM, the owner's end or forced revocation) is told
 * through el2/lost.c, a leaf: a list in its struct vm and an event.
 * Frames leaving a guest are unmapped (with TLB maintenance), then zeroed,
 * then FREE: no guest ever sees another's data. Locks (several CPUs
 * online; below mem_gate): every entry point here closes mem's gate and
 * runs alone in mem, but the one-frame FRAME_ALLOC and FRAME_FREE, which
 * pass it together under their VM's lock and the frame DB's short one;
 * nothing here takes a lock outside mem.
 */
#include <el2/arch.h>
#include <el2/frames.h>
#include <el2/lost.h>
#include <el2/mem.h>
#include <el2/mem_gate.h>
#include <el2/percpu.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <exo/hvc.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <el2/hyp_lock.h>
#include <lib/spinlock.h>
#include <string.h>

/* Table pages each guest keeps in its cache beyond an operation's needs,
 * so that freeing part of a 2 MiB block (a split) rarely needs a new one.
 * Part of the ABI: guests count it in what start-up needs. */
#define MEM_TABLE_RESERVE EXO_S2_TABLE_RESERVE
#define MEM_GUEST_PROT (S2_PROT_R | S2_PROT_W | S2_PROT_X)
/* Teardown's transitions: their unmaps need no table page (unmap_from). */
static const struct frames_tables no_tables;

static struct frames_db mem_db;
/* The VMs whose memory mem manages, by id (from mem_vm_create to the end of
 * mem_vm_teardown): how a teardown reaches the other side of a share or
 * loan without asking the layers above. */
static struct vm *mem_vms[EXO_MAX_VMS];
/* VMs whose end began (mem_vm_teardown_begin) that mem has not forgotten
 * yet: every call between two guests naming one, and its revocation, is
 * refused (EXO_ENOENT, as once the DB forgets it). With several CPUs,
 * another guest's accept or take-back, or a revocation, checked the VM
 * was running before its end began on another CPU and reaches mem after:
 * nothing may be shared, lent or given to or by a VM whose frames are
 * being scrubbed, nor freed under its teardown's steps
 * (tests/host/tsan/mem_threads.c, the teardown scenario). */
static bool mem_ending[EXO_MAX_VMS];
/* On several CPUs (docs/architecture.md, "Locking"): the one-frame
 * FRAME_ALLOC and FRAME_FREE pass mem_gate together, then take their VM's
 * s2_lock and, over the frame DB, the unscrubbed bits and the left
 * frames, mem_db_lock for a few loads and stores (one_frame_enter); every
 * other entry point here closes the gate (mem_close), so it runs alone in
 * mem and takes neither. Order: the gate, a VM's lock, mem_db_lock. */
static struct mem_gate mem_gate = MEM_GATE_INIT;
static struct spinlock mem_db_lock = SPINLOCK_INIT;

static inline void mem_close(void)
{
	if (hyp_lock_on)
		mem_gate_close(&mem_gate);
}

static inline void mem_open(void)
{
	if (hyp_lock_on)
		mem_gate_open(&mem_gate);
}

/* A one-frame call on several CPUs, past the gate, with vm's lock. */
static inline void one_frame_enter(struct vm *vm)
{
	mem_gate_enter(&mem_gate);
	spin_lock(&vm->s2_lock);
}

static inline void one_frame_leave(struct vm *vm)
{
	spin_unlock(&vm->s2_lock);
	mem_gate_leave();
}

/* The DB section of a one-frame call: smp is a constant at each call
 * site, false with one CPU online and behind a closed gate. */
static inline void db_lock(bool smp)
{
	if (smp)
		spin_lock(&mem_db_lock);
}

static inline void db_unlock(bool smp)
{
	if (smp)
		spin_unlock(&mem_db_lock);
}
/* The debug checks (mem_set_debug_checks): the debug EL2 and host tests
 * turn them on; the release EL2 never does, so there they are compiled
 * out and its one-frame paths test no flag. */
#if defined(EXO_DEBUG) || defined(EXO_HOST)
static bool mem_debug_checks;
#else
#define mem_debug_checks false
#endif
/* The one-frame paths of FRAME_ALLOC and FRAME_FREE (alloc_one, free_one)
 * and of an offer's check (mem_frame_offer_check); off only in host
 * tests, which compare them with the general paths: always on in EL2. */
#ifdef EXO_HOST
static bool mem_fast_paths = true;
#else
#define mem_fast_paths true
#endif
/* Calls they answered, counted with the debug checks only (a test's
 * proof that they ran; no store on the release path). */
static uint64_t mem_fast_calls;
/* One bit per frame of the span: set while DRAM may still hold what the
 * frame held before EL2 booted (RAM is not zero after a warm reset; QEMU's
 * happens to be). Set by mem_add_ram, cleared by a scrub: a FREE frame is
 * scrubbed when it leaves a guest, or at its first hand-over when it never
 * belonged to one (map_new_frames), so boot pays nothing for RAM no guest
 * takes. In the storage mem_init is given, after the DB's. */
static uint64_t *unscrubbed;
#define BITS_PER_WORD 64u
/* Per CPU, the one FREE frame that may hold a guest's data, the left
 * frame (struct percpu's left_frame and left_vm): the one-frame free
 * leaves the frame it frees unscrubbed while this CPU has no other left
 * (free_one), its unscrubbed bit set, so whoever else takes it scrubs it
 * first (scrub forgets it then). Only vm, the guest that freed it, gets it
 * back unscrubbed (on this CPU, or on another with none left when it is
 * the lowest FREE frame: take_left_elsewhere), and only when it says it
 * need not find it zeroed (EXO_FRAME_ALLOC_NOZERO, alloc_one); vm's end scrubs every one
 * it left (mem_vm_teardown_begin), so a later life with the same id never
 * does. Per CPU so that vCPUs of one guest that free and allocate on
 * several CPUs each keep theirs: with one for all, every free but the
 * first found it taken and scrubbed at once. A left frame's unscrubbed
 * bit is set: only a scrub of frames with a bit set looks for one. */
/* cpu has no frame left. Written under mem_db_lock (or the gate closed),
 * but read by cpu's own one-frame free outside it (left_vm_unlocked):
 * atomic. Only cpu itself leaves a frame there. */
static inline void left_none(struct percpu *cpu)
{
	__atomic_store_n(&cpu->left_vm, FRAMES_VM_EL2, __ATOMIC_RELAXED);
}

/* This CPU's left frame's guest, read outside mem_db_lock: another CPU
 * may forget the frame meanwhile (left_none), but none leaves one here,
 * so none (FRAMES_VM_EL2) stays none. */
static inline unsigned left_vm_unlocked(const struct percpu *here)
{
	return __atomic_load_n(&here->left_vm, __ATOMIC_RELAXED);
}

/* The frames of span indexes [i, +count) are left no more, by any CPU.
 * A frame is left by one CPU at most (leaving needs it OWNED, and taking
 * it forgets it): the commonest, this CPU's own left frame scrubbed by
 * its zeroed alloc, ends the search at once. */
static void forget_left_range(uint64_t i, uint64_t count)
{
	struct percpu *here = this_cpu();

	if (count == 1 && here->left_frame == i &&
	    here->left_vm != FRAMES_VM_EL2) {
		left_none(here);
		return;
	}
	for (unsigned c = 0; c < EL2_MAX_CPUS; c++)
		if (el2_percpus[c].left_frame - i < count)
			left_none(&el2_percpus[c]);
}

/* A table page taken from the pool (cache_take) is zeroed by s2.c with
 * its unscrubbed bit still set, and scrubbed when it leaves the cache:
 * if it was a left frame, no guest may take it back as such. */
static void forget_left(uint64_t pa)
{
	forget_left_range((pa - mem_db.base) >> FRAMES_SHIFT, 1);
}

static uint64_t bytes(uint64_t frames)
{
	return frames << FRAMES_SHIFT;
}

/* A guest's frame is mapped at its own address (el2/paddr.h). */
static ipaddr_t ipa_of(uint64_t pa)
{
	return ipa_of_pa(pa_init(pa));
}

/* The commits' stage-2 changes, with the table pages the check counted in
 * the guest's cache: they cannot fail. */
static inline void map_frames(struct vm *vm, uint64_t pa, uint64_t count,
			      unsigned prot)
{
	s2_commit(&vm->s2, &vm->s2_cache, S2_OP_MAP, ipa_of(pa), bytes(count),
		  prot);
}

static inline void unmap_frames(struct vm *vm, uint64_t pa, uint64_t count)
{
	s2_commit(&vm->s2, &vm->s2_cache, S2_OP_UNMAP, ipa_of(pa), bytes(count),
		  0);
}

/* A lender's view of what it lent: the translation stays with no access
 * (S2_PROT_NONE), and its table pages with it, so taking the frames back
 * (RECLAIM, the borrower's end) needs no page. */
static inline void protect_frames(struct vm *vm, uint64_t pa, uint64_t count,
				  unsigned prot)
{
	s2_commit(&vm->s2, &vm->s2_cache, S2_OP_PROTECT, ipa_of(pa),
		  bytes(count), prot);
}

#if defined(EXO_DEBUG) || defined(EXO_HOST)
void mem_set_debug_checks(bool on)
{
	mem_debug_checks = on;
}
#endif

#ifdef EXO_HOST
void mem_set_fast_paths(bool on)
{
	mem_fast_paths = on;
}
#endif

uint64_t mem_fast_path_calls(void)
{
	return mem_fast_calls;
}

/* Either side of a call between two guests is ending (mem_ending). */
static bool ending(const struct vm *a, const struct vm *b)
{
	return mem_ending[a->id] || mem_ending[b->id];
}

/* vm's own call once its end began: another of its vCPUs, on another CPU,
 * can make one before the kick takes it off (el2/vm.c's reap_begin), and
 * a one-frame call takes none of the locks above mem. Refused, as a call naming
 * it from another guest is: its stage 2 was emptied at the beginning and
 * gets no table back (so the one-frame paths, which need the frame's
 * level-3 table, decline), and its frames are freed by the steps alone. */
static bool own_call_refused(const struct vm *vm)
{
	return mem_ending[vm->id];
}

/* A VM mem knows has an id below EXO_MAX_VMS (mem_vm_create). */
static void note_peak(struct vm *vm)
{
	uint64_t peak = mem_db.acct[vm->id].peak;

	if (peak > vm->stats.frames_peak)
		vm->stats.frames_peak = peak;
}

/* The table pages a check reserved, into the stage-2 caches, before the
 * commit (frames_op_table_next): the first op->nr_own_tables to own's,
 * the rest to peer's (el2/frames.h). */
static void cache_take(struct vm *own, struct vm *peer,
		       const struct frames_op *op)
{
	struct frames_table_cursor c = { 0 };
	uint64_t pa;
	unsigned id;

	if (!op->nr_tables)
		return;
	while (frames_op_table_next(&mem_db, op, &c, &pa, &id)) {
		struct vm *vm = id == own->id ? own : peer;

		forget_left(pa);
		s2_cache_push(&vm->s2_cache, (void *)(uintptr_t)pa);
	}
}

/* Pages of vm's cache beyond those its blocks keep for their splits
 * (el2/s2.h): what an operation may count on. */
static unsigned cache_spare(const struct vm *vm)
{
	return vm->s2_cache.nr - s2_blocks(&vm->s2);
}

/* Frames leaving a guest or EL2's tables, before they are FREE: zeroed,
 * and the zeros cleaned to the point of coherency (scrub_frames). DC ZVA
 * leaves them in dirty cache lines while DRAM still holds the old
 * contents, which the next owner would read with its MMU off or through
 * a non-cacheable mapping where stage 2 does not force Write-Back
 * (docs/security.md, "Caches"; the host model in tests/host/fake_arch.c
 * checks every FREE frame is clean, or zero in the cache under FWB). */
static void mark_unscrubbed(uint64_t pa, uint64_t count, bool set)
{
	uint64_t i = (pa - mem_db.base) >> FRAMES_SHIFT;

	for (uint64_t end = i + count; i < end; i++) {
		uint64_t bit = UINT64_C(1) << (i % BITS_PER_WORD);

		if (set)
			unscrubbed[i / BITS_PER_WORD] |= bit;
		else
			unscrubbed[i / BITS_PER_WORD] &= ~bit;
	}
}

/* By the frame's index in the span (the DB's index too). */
static bool is_unscrubbed_at(uint64_t i)
{
	return unscrubbed[i / BITS_PER_WORD] >> (i % BITS_PER_WORD) & 1;
}

static bool is_unscrubbed(uint64_t pa)
{
	return is_unscrubbed_at((pa - mem_db.base) >> FRAMES_SHIFT);
}

/* ARCH_SCRUB_ICACHE where the CPUs' instruction caches may keep a
 * frame's old lines past its scrub (CTR_EL0.DIC clear, as on the
 * Cortex-A72 and QEMU's max), else 0: read at mem_init, the same on
 * every online CPU. */
static unsigned mem_scrub_icache;

/* The zeros are cleaned to the point of coherency unless stage 2 forces
 * every guest view of RAM Write-Back (FEAT_S2FWB, el2/s2.h): then no
 * guest reads DRAM past a cache line (its MMU off and Non-cacheable
 * mappings are Write-Back too), EL2 uses Write-Back, stage-2 walks are
 * cacheable, and no DMA master is assigned to a guest, so every party
 * sees the zeros in the cache (docs/security.md, rows 72 and 126). The
 * clean was a third of a frame's scrub. Where the I-cache is not
 * coherent, its lines of the frames go too: the next owner's first
 * instruction fetch from them would run the old owner's code
 * (docs/security.md, row 142). */
static inline void scrub_frames(uint64_t pa, uint64_t count)
{
	if (s2_forced_wb())
		arch_zero_frames(pa, count, mem_scrub_icache);
	else
		arch_scrub_frames(pa, count, mem_scrub_icache);
}

/* A scrub's bookkeeping, before or after the zeroing itself: the
 * frames' unscrubbed bits clear, and no CPU's left frame among them. Out
 * of line: the one-frame alloc calls it only for a frame another guest
 * left or unused since boot, and keeps no register for it. */
static __attribute__((noinline)) void scrub_noted(uint64_t pa,
						  uint64_t count)
{
	/* A left frame's bit is set: a frame whose bit is clear is none. */
	bool maybe_left = count > 1 || is_unscrubbed(pa);

	mark_unscrubbed(pa, count, false);
	if (maybe_left)
		forget_left_range((pa - mem_db.base) >> FRAMES_SHIFT, count);
}

static void scrub(uint64_t pa, uint64_t count)
{
	scrub_frames(pa, count);
	scrub_noted(pa, count);
}

/* The zeroing the one-frame alloc does after its DB section (the frame
 * vm's by then, unmapped): out of line, as scrub_noted. */
static __attribute__((noinline)) void scrub_one_unnoted(uint64_t pa)
{
	scrub_frames(pa, 1);
}

/* The frame vm frees, unmapped, left FREE with what vm wrote in it, as
 * this CPU's left frame (left: this_cpu(), where the caller saw no
 * frame left). */
static inline void leave_unscrubbed(struct percpu *left, struct vm *vm,
				    uint64_t i)
{
	unscrubbed[i / BITS_PER_WORD] |= UINT64_C(1) << (i % BITS_PER_WORD);
	left->left_frame = i;
	left->left_vm = vm->id;
}

/* This CPU's left frame i handed back to its guest, unscrubbed: nothing
 * is left here and its bit is clear (the bit marks FREE frames only). */
static inline void take_left(struct percpu *left, uint64_t i)
{
	unscrubbed[i / BITS_PER_WORD] &= ~(UINT64_C(1) << (i % BITS_PER_WORD));
	left_none(left);
}

/* The frame i, unscrubbed, that vm left on another CPU (its vCPU there
 * freed it), handed back to vm on this one: vm's own data, so no scrub,
 * and that CPU has nothing left. Without it, a NOZERO alloc on a CPU whose
 * frame another of vm's vCPUs took would take (and scrub) the next CPU's,
 * and so on round the CPUs. False, with nothing changed, when i is no
 * frame vm left (first use since boot, or another guest's). Out of line:
 * only an alloc that found an unscrubbed frame asks. */
static __attribute__((noinline)) bool take_left_elsewhere(struct vm *vm,
							  uint64_t i)
{
	for (unsigned c = 0; c < EL2_MAX_CPUS; c++) {
		struct percpu *other = &el2_percpus[c];

		if (other->left_vm == vm->id && other->left_frame == i) {
			take_left(other, i);
			return true;
		}
	}
	return false;
}

uint64_t mem_left_frame(unsigned *vm)
{
	const struct percpu *left = this_cpu();

	*vm = left->left_vm;
	return left->left_vm == FRAMES_VM_EL2
		       ? 0 : mem_db.base + bytes(left->left_frame);
}

/* The frames of [pa, +count) no scrub has reached since boot, scrubbed
 * before a guest gets them: at most the count a call may hand out, so the
 * cost is bounded as a free's is (rule 5). */
static void scrub_first_use(uint64_t pa, uint64_t count)
{
	for (uint64_t end = pa + bytes(count); pa < end; pa += FRAMES_SIZE)
		if (is_unscrubbed(pa))
			scrub(pa, 1);
}

/* Cache pages beyond keep (the blocks' included) go back to the pool,
 * scrubbed. Out of line: its op stays off the callers' frames. */
static __attribute__((noinline)) void cache_trim_pages(struct vm *vm,
							unsigned keep)
{
	struct frames_op op;
	void *page;

	while (vm->s2_cache.nr > keep && (page = s2_cache_pop(&vm->s2_cache))) {
		uint64_t pa = (uint64_t)(uintptr_t)page;

		scrub(pa, 1);
		CHECK(!frames_table_free_check(&mem_db, vm->id, pa, &op));
		frames_table_free_commit(&mem_db, &op);
	}
}

/* Table frames beyond keep and the pages the blocks keep go back to the
 * pool, scrubbed. Inline: after most calls there is nothing to trim. */
static inline void cache_trim(struct vm *vm, unsigned keep)
{
	keep += s2_blocks(&vm->s2);
	if (vm->s2_cache.nr > keep)
		cache_trim_pages(vm, keep);
}

/* free_one's trim: on several CPUs, past the gate, the pages' DB
 * changes under mem_db_lock (smp). */
static inline void cache_trim_one_frame(struct vm *vm, bool smp)
{
	unsigned keep = MEM_TABLE_RESERVE + s2_blocks(&vm->s2);

	if (vm->s2_cache.nr > keep) {
		db_lock(smp);
		cache_trim_pages(vm, keep);
		db_unlock(smp);
	}
}

/* Empty tables vm keeps, outside [pa, +count) (which the op may reuse),
 * into its cache until it holds spare pages (or none are left): pages
 * already charged, so the op charges no new one while vm keeps empty
 * tables. */
static void cache_refill(struct vm *vm, uint64_t pa, uint64_t count,
			 unsigned spare)
{
	if (s2_empty_tables(&vm->s2) && spare > cache_spare(vm))
		s2_reclaim(&vm->s2, &vm->s2_cache, spare - cache_spare(vm),
			   ipa_of(pa), bytes(count));
}

static unsigned tables_short(struct vm *vm, uint64_t pa, uint64_t count,
			     unsigned needed)
{
	needed += MEM_TABLE_RESERVE;
	cache_refill(vm, pa, count, needed);
	return needed > cache_spare(vm) ? needed - cache_spare(vm) : 0;
}

/* Memory pressure: vm's empty tables go back to the pool (scrubbed,
 * uncharged), with its cache beyond the reserve. Returns how many table
 * frames it is charged less. */
static unsigned give_back_tables(struct vm *vm)
{
	uint64_t before = frames_account(&mem_db, vm->id)->tables;

	s2_reclaim(&vm->s2, &vm->s2_cache, UINT32_MAX, ipa_of(0), 0);
	cache_trim(vm, MEM_TABLE_RESERVE);
	return (unsigned)(before - frames_account(&mem_db, vm->id)->tables);
}

/* The charge a give back dropped, taken again into vm's cache when the
 * call it was for still fails: a refused call changes no charge (FREE
 * frames, and the lock held since the give back freed as many). */
static void take_back_tables(struct vm *vm, unsigned n)
{
	struct frames_op op;

	CHECK(!frames_table_check(&mem_db, vm->id, n, &op));
	cache_take(vm, vm, &op);
	frames_table_commit(&mem_db, &op);
}

/* A check refused for want of quota is made once more when vm (whose
 * charge it would grow) had tables to give back; a second refusal puts
 * the charge back as it was. */
#define CHECK_AFTER_GIVE_BACK(rc, vm, check)                                  \
	do {                                                                  \
		unsigned given_;                                              \
		if ((rc) == EXO_EQUOTA && (given_ = give_back_tables(vm))) { \
			(rc) = (check);                                       \
			if (rc)                                               \
				take_back_tables(vm, given_);                 \
		}                                                             \
	} while (0)

static void after_call(struct vm *vm)
{
	note_peak(vm);
}

/* FREE frames are zero (scrubbed when freed): debug builds verify it. */
static __attribute__((noinline)) void check_zeroed(uint64_t pa,
						   uint64_t count)
{
	const uint64_t *w = (const uint64_t *)(uintptr_t)pa;

	for (uint64_t i = 0; i < bytes(count) / sizeof(*w); i++) {
		if (w[i])
			panic("FREE frame 0x%lx was not scrubbed",
			      (unsigned long)(pa + i * sizeof(*w)));
	}
}

/* Table pages vm's cache lacks for an s2 op on [pa, +count) (0 when it
 * has them), or the stage-2 check's refusal: counted before the DB check,
 * which reserves them. */
static int tables_lacking(struct vm *vm, enum s2_op op, uint64_t pa,
			  uint64_t count, unsigned prot, unsigned *lacking)
{
	unsigned need;
	int rc = s2_check_pages(&vm->s2, op, ipa_of(pa), bytes(count), prot,
				&need);

	*lacking = 0;
	if (rc)
		return rc;
	cache_refill(vm, pa, count, need);
	if (need > cache_spare(vm))
		*lacking = need - cache_spare(vm);
	return EXO_OK;
}

/* The DB's verdict comes first; a stage-2 refusal (never expected while
 * the invariant holds) is reported only when the DB would allow the op. */
static int64_t first_error(int db_rc, int s2_rc)
{
	return db_rc ? db_rc : s2_rc;
}

/* The commit of an allocation whose check found op->pa and reserved its
 * table pages. */
static void map_new_frames(struct vm *vm, const struct frames_op *op)
{
	scrub_first_use(op->pa, op->count);
	if (mem_debug_checks)
		check_zeroed(op->pa, op->count);
	cache_take(vm, vm, op);
	frames_alloc_commit(&mem_db, op);
	map_frames(vm, op->pa, op->count, MEM_GUEST_PROT);
}

/* Table pages a new mapping of [pa, +count) lacks, the guest's reserve
 * kept (tables_short), or the stage-2 check's refusal. */
static int tables_to_map(struct vm *vm, uint64_t pa, uint64_t count,
			 unsigned *lacking)
{
	unsigned need;
	int rc = s2_check_pages(&vm->s2, S2_OP_MAP, ipa_of(pa), bytes(count),
				MEM_GUEST_PROT, &need);

	*lacking = rc ? 0 : tables_short(vm, pa, count, need);
	return rc;
}

/* The run's address decides the table pages it needs, and only the DB's
 * search finds it: when the cache lacks pages for that run, the check is
 * made again at that address with them (the one transaction with two).
 * The search and the quota are for the whole count; only the first part
 * frames are taken (the per-call bound; the caller continues with
 * FRAME_ALLOC_AT at the run's address + part). */
static int64_t alloc_check(struct vm *vm, uint64_t count, unsigned align_log2,
			   uint64_t part, struct frames_op *op)
{
	unsigned lacking = 0;
	int64_t rc = frames_alloc_check(&mem_db, vm->id, count, align_log2, 0,
					op);

	if (!rc)
		rc = tables_to_map(vm, op->pa, part, &lacking);
	if (!rc && (lacking || part < count))
		rc = frames_alloc_at_check(&mem_db, vm->id, op->pa, part,
					   lacking, op);
	return rc;
}

/* The debug checks of a one-frame call (out of line: off on the release
 * path): a frame handed out is zero (check_zeroed) unless it is the one
 * the caller left (own), one freed has its unscrubbed bit clear (set
 * only on FREE frames and table pages); and the call is counted. */
static __attribute__((noinline)) void fast_call_checked(uint64_t pa,
							bool alloc, bool own)
{
	if (alloc && !own)
		check_zeroed(pa, 1);
	else if (!alloc)
		CHECK(!is_unscrubbed(pa));
	__atomic_fetch_add(&mem_fast_calls, 1, __ATOMIC_RELAXED);
}

/*
 * The one-frame paths: FRAME_ALLOC of one frame with no alignment and
 * FRAME_FREE of one frame, the commonest calls. One DB check and its
 * commit (the one-frame pair: the frame's index is all they share, no op
 * is filled) and one stage-2 walk that the check and the commit share
 * (s2_page_slot, passed in registers). They take only the case where the
 * general transaction would need no table page and change no stage-2
 * table but the frame's own entry: the level-3 table is there, and
 * (alloc) the cache holds its reserve, so that tables_short would neither
 * give back kept tables nor ask for pages. Anything else (a refusal
 * included) returns false with nothing changed, and the general path
 * decides: every verdict and every state change is the general path's
 * (tests/host/test_mem_fast.c compares the two). No local here lives in
 * memory: no stack protector, no frame beyond the saved registers. The
 * peak they move is the DB's alone: vm's stats take it at the end of a
 * general call (note_peak) and at vm's end (mem_vm_teardown_begin), so
 * the summary's is whole. smp: on several CPUs, past mem's gate with vm's
 * lock, so the stage 2 and its cache are theirs alone; what other guests'
 * calls share (the DB, the unscrubbed bits, the left frames) is read and
 * written in short sections under mem_db_lock (db_lock), the zeroing, the
 * TLB maintenance and the map outside it.
 */
static inline __attribute__((always_inline)) bool
alloc_one(struct vm *vm, uint64_t flags, paddr_t *pa, bool smp)
{
	uint64_t at;
	struct s2_slot slot;
	struct percpu *left = this_cpu();
	bool own = false, fresh = false;
	int64_t i = -1;

	if (!mem_fast_paths || cache_spare(vm) < MEM_TABLE_RESERVE)
		return false;
	db_lock(smp);
	/* The frame vm left, when it asks for a frame it need not find
	 * zeroed: its own data back, unscrubbed (own). Else the lowest FREE
	 * one, which cannot be the left frame for vm then: that check
	 * refused only for what refuses this one too. */
	if ((flags & EXO_FRAME_ALLOC_NOZERO) && left->left_vm == vm->id) {
		i = frames_alloc_one_check_at(&mem_db, vm->id, left->left_frame);
		own = i >= 0;
	}
	if (!own)
		i = frames_alloc_one_check(&mem_db, vm->id);
	if (i < 0)
		goto decline;
	at = mem_db.base + bytes((uint64_t)i);
	slot = s2_page_slot(&vm->s2, ipa_of(at));
	if (!s2_slot_found(slot) || s2_slot_mapped(slot))
		goto decline;
	/* map_new_frames, with the slot for the map (scrub_first_use of
	 * one frame), but for vm's own left frame, which vm owned before in
	 * this life (its end forgets it): in vm's span already. A frame to
	 * scrub (fresh) is noted scrubbed here and zeroed after the DB's
	 * section: vm's by then, unmapped, and vm's lock held. */
	if (own) {
		take_left(left, (uint64_t)i);
	} else if (is_unscrubbed_at((uint64_t)i)) {
		own = (flags & EXO_FRAME_ALLOC_NOZERO) &&
		      take_left_elsewhere(vm, (uint64_t)i);
		fresh = !own;
		if (fresh)
			scrub_noted(at, 1);
	}
	frames_alloc_one_commit(&mem_db, vm->id, (uint64_t)i, own);
	db_unlock(smp);
	if (fresh)
		scrub_one_unnoted(at);
	if (mem_debug_checks)
		fast_call_checked(at, true, own);
	s2_map_slot(&vm->s2, &vm->s2_cache, slot, ipa_of(at), MEM_GUEST_PROT);
	*pa = pa_init(at);
	return true;
decline:
	db_unlock(smp);
	return false;
}

/* free_locked's commits, in its order, but for the scrub: the frame is
 * left unscrubbed (the left frame) when this CPU has no other left, and
 * scrubbed otherwise, before the DB's section makes it FREE. An OWNED
 * frame's unscrubbed bit is clear (map_new_frames, alloc_one). Inline in its callers: one frame, not two, on the
 * commonest FRAME_FREE. loaded: vm is the guest running on this CPU (its
 * own call), whose stage 2 and VMID VTTBR_EL2 holds (s2_unmap_slot). */
static inline __attribute__((always_inline)) bool
free_one(struct vm *vm, uint64_t pa, bool loaded, bool smp)
{
	struct s2_slot slot;
	struct percpu *left;
	bool leave;
	int64_t i;

	if (!mem_fast_paths)
		return false;
	/* On several CPUs, read with no lock (frames_free_one_peek): frame
	 * i stays vm's while vm's lock is held, as whatever changes an entry
	 * that names vm holds that lock or closes the gate. */
	i = smp ? frames_free_one_peek(&mem_db, vm->id, pa)
		: frames_free_one_check(&mem_db, vm->id, pa);
	if (i < 0)
		return false;
	slot = s2_page_slot(&vm->s2, ipa_of(pa));
	if (!s2_slot_found(slot) || !s2_slot_mapped(slot))
		return false;
	s2_unmap_slot(&vm->s2, slot, ipa_of(pa), loaded);
	left = this_cpu();
	leave = left_vm_unlocked(left) == FRAMES_VM_EL2;
	if (!leave)
		scrub_frames(pa, 1);
	db_lock(smp);
	if (mem_debug_checks)
		fast_call_checked(pa, false, false);
	if (leave)
		leave_unscrubbed(left, vm, (uint64_t)i);
	frames_free_one_commit(&mem_db, vm->id, (uint64_t)i);
	db_unlock(smp);
	cache_trim_one_frame(vm, smp);
	return true;
}

/* The one-frame paths as a call tries them: with one CPU online as they
 * are; on several, past the gate with vm's lock. Both inline, each with
 * its constant smp: one test of hyp_lock_on is all the one-CPU paths pay
 * (out of line, the several-CPU variants cost a call and a result in
 * memory, about 50 instructions an alloc+free). */
static inline __attribute__((always_inline)) bool
alloc_one_smp(struct vm *vm, uint64_t flags, paddr_t *pa)
{
	bool done;

	one_frame_enter(vm);
	done = alloc_one(vm, flags, pa, true);
	one_frame_leave(vm);
	return done;
}

static inline __attribute__((always_inline)) bool
try_alloc_one(struct vm *vm, uint64_t flags, paddr_t *pa)
{
	if (hyp_lock_on)
		return alloc_one_smp(vm, flags, pa);
	return alloc_one(vm, flags, pa, false);
}

static inline __attribute__((always_inline)) bool
free_one_smp(struct vm *vm, uint64_t pa, bool loaded)
{
	bool done;

	one_frame_enter(vm);
	done = free_one(vm, pa, loaded, true);
	one_frame_leave(vm);
	return done;
}

static inline __attribute__((always_inline)) bool
try_free_one(struct vm *vm, uint64_t pa, bool loaded)
{
	if (hyp_lock_on)
		return free_one_smp(vm, pa, loaded);
	return free_one(vm, pa, loaded, false);
}

/* The general transaction, out of line: the one-frame path before it
 * keeps a small frame. */
static __attribute__((noinline)) struct mem_alloc
alloc_general(struct vm *vm, uint64_t count, unsigned align_log2,
	      uint64_t part)
{
	struct frames_op op;
	struct mem_alloc r = { EXO_OK, pa_init(0) };

	mem_close();
	if (own_call_refused(vm)) {
		mem_open();
		return (struct mem_alloc){ EXO_ENOENT, pa_init(0) };
	}
	r.rc = alloc_check(vm, count, align_log2, part, &op);
	CHECK_AFTER_GIVE_BACK(r.rc, vm,
			      alloc_check(vm, count, align_log2, part, &op));
	if (!r.rc) {
		map_new_frames(vm, &op);
		r.pa = pa_init(op.pa);
		after_call(vm);
	}
	mem_open();
	return r;
}

/* The one-frame attempt first (FRAME_ALLOC of one frame with no
 * alignment, the commonest call); one that fails changed nothing, and
 * the general transaction then runs under its own hold of the lock. */
struct mem_alloc mem_frame_alloc_call(struct vm *vm, uint64_t count,
				      unsigned align_log2, uint64_t part,
				      uint64_t flags)
{
	struct mem_alloc r = { EXO_OK, pa_init(0) };
	bool done;

	if (!part || part > count)
		return (struct mem_alloc){ EXO_EINVAL, pa_init(0) };
	if (count != 1 || align_log2)
		return alloc_general(vm, count, align_log2, part);
	done = try_alloc_one(vm, flags, &r.pa);
	return done ? r : alloc_general(vm, 1, 0, 1);
}

int64_t mem_frame_alloc_part(struct vm *vm, uint64_t count, unsigned align_log2,
			     uint64_t part, paddr_t *pa)
{
	struct mem_alloc r = mem_frame_alloc_call(vm, count, align_log2, part,
						  0);

	if (!r.rc)
		*pa = r.pa;
	return r.rc;
}

int64_t mem_frame_alloc(struct vm *vm, uint64_t count, unsigned align_log2,
			paddr_t *pa)
{
	return mem_frame_alloc_part(vm, count, align_log2, count, pa);
}

static int64_t alloc_at_check(struct vm *vm, uint64_t pa, uint64_t count,
			      struct frames_op *op)
{
	unsigned lacking;
	int rc = tables_to_map(vm, pa, count, &lacking);

	return first_error(frames_alloc_at_check(&mem_db, vm->id, pa, count,
						 lacking, op), rc);
}

static int64_t alloc_at_locked(struct vm *vm, uint64_t pa, uint64_t count)
{
	struct frames_op op;
	int64_t rc;

	if (own_call_refused(vm))
		return EXO_ENOENT;
	rc = alloc_at_check(vm, pa, count, &op);
	CHECK_AFTER_GIVE_BACK(rc, vm, alloc_at_check(vm, pa, count, &op));
	if (!rc) {
		map_new_frames(vm, &op);
		after_call(vm);
	}
	return rc;
}

int64_t mem_frame_alloc_at(struct vm *vm, paddr_t at, uint64_t count)
{
	int64_t rc;

	mem_close();
	rc = alloc_at_locked(vm, pa_addr(at), count);
	mem_open();
	return rc;
}

/* A bounded call (FRAME_ALLOC_AT, FRAME_FREE) handles only a part of the
 * range it was given, but the range is refused as a whole when it does not
 * lie in RAM, as if it were handled at once (docs/abi.md, "Bounded work
 * per call"): its last frame decides. */
static int64_t whole_range(uint64_t pa, uint64_t count)
{
	struct frames_info info;
	uint64_t len = count << FRAMES_SHIFT;

	if (!count || count > (UINT64_MAX >> FRAMES_SHIFT) ||
	    len - 1 > UINT64_MAX - pa)
		return EXO_ERANGE;
	return frames_query(&mem_db, pa + (len - 1), &info) == EXO_ERANGE
		       ? EXO_ERANGE : EXO_OK;
}

/* The checks of a bounded call on [at, +count) that handles its first
 * part frames: the whole range in RAM, then a part that fits. Under the
 * lock, with the call: the DB's entries are read (another CPU's call
 * writes them). */
static int64_t part_check(paddr_t at, uint64_t count, uint64_t part)
{
	int64_t rc = whole_range(pa_addr(at), count);

	return !rc && (!part || part > count) ? EXO_EINVAL : rc;
}

/* A bounded call's part (FRAME_ALLOC_AT's, FRAME_FREE's): its checks,
 * then locked's work on the first part frames, mem's gate closed. */
static int64_t part_call(struct vm *vm, paddr_t at, uint64_t count,
			 uint64_t part,
			 int64_t (*locked)(struct vm *, uint64_t, uint64_t))
{
	int64_t rc;

	mem_close();
	rc = part_check(at, count, part);
	if (!rc)
		rc = locked(vm, pa_addr(at), part);
	mem_open();
	return rc;
}

int64_t mem_frame_alloc_at_part(struct vm *vm, paddr_t at, uint64_t count,
				uint64_t part)
{
	return part_call(vm, at, count, part, alloc_at_locked);
}

static unsigned share_prot(unsigned perm)
{
	return perm == EXO_SHARE_RW ? MEM_GUEST_PROT : S2_PROT_R;
}

/* Every transaction below: count the table pages each stage 2 lacks, one
 * DB check that reserves them (may fail, changes nothing), then the
 * commits, which cannot fail: the reserved pages into the caches, the
 * unmaps (and scrubbing), the DB commit, the maps. */
static int64_t share_check(struct vm *owner, struct vm *b, uint64_t pa,
			   uint64_t count, unsigned perm, struct frames_op *op)
{
	enum frames_perm fperm = perm == EXO_SHARE_RW ? FRAMES_PERM_RW
						      : FRAMES_PERM_R;
	unsigned lacking;
	int rc = tables_lacking(b, S2_OP_MAP, pa, count, share_prot(perm),
				&lacking);

	return first_error(frames_share_check(&mem_db, owner->id, b->id, pa,
					      count, fperm, lacking, op), rc);
}

int64_t mem_frame_share(struct vm *owner, struct vm *b, paddr_t at,
			uint64_t count, unsigned perm)
{
	uint64_t pa = pa_addr(at);
	struct frames_op op;
	int64_t rc;

	mem_close();
	rc = ending(owner, b) ? EXO_ENOENT
			      : share_check(owner, b, pa, count, perm, &op);
	CHECK_AFTER_GIVE_BACK(rc, b, share_check(owner, b, pa, count, perm, &op));
	if (!rc) {
		cache_take(owner, b, &op);
		frames_share_commit(&mem_db, &op);
		map_frames(b, pa, count, share_prot(perm));
		note_peak(b);
	}
	mem_open();
	return rc;
}

int64_t mem_frame_unshare(struct vm *owner, struct vm *b, paddr_t at,
			  uint64_t count)
{
	uint64_t pa = pa_addr(at);
	struct frames_op op;
	unsigned lacking;
	int64_t rc;

	mem_close();
	if (ending(owner, b)) {
		mem_open();
		return EXO_ENOENT;
	}
	rc = tables_lacking(b, S2_OP_UNMAP, pa, count, 0, &lacking);
	rc = first_error(frames_unshare_check(&mem_db, owner->id, b->id, pa,
					      count, lacking, &op), rc);
	if (!rc) {
		cache_take(owner, b, &op);
		unmap_frames(b, pa, count);
		frames_unshare_commit(&mem_db, &op);
		cache_trim(b, MEM_TABLE_RESERVE);
		lost_tell(b, pa, count);
	}
	mem_open();
	return rc;
}

/* The table pages of a move from one stage 2 to another: from's side
 * (own: an unmap for a donation, a protect to no access for a loan; no
 * page either way) and to's map (peer). */
static int tables_to_move(struct vm *from, struct vm *to, uint64_t pa,
			  uint64_t count, bool donate, struct frames_tables *t)
{
	int rc_from = donate ? tables_lacking(from, S2_OP_UNMAP, pa, count, 0,
					      &t->own)
			     : tables_lacking(from, S2_OP_PROTECT, pa, count,
					      S2_PROT_NONE, &t->own);
	int rc_to = tables_lacking(to, S2_OP_MAP, pa, count, MEM_GUEST_PROT,
				   &t->peer);

	return rc_from ? rc_from : rc_to;
}

/* Lend and donate both move access from the owner to another guest. */
static int64_t move_check(struct vm *from, struct vm *to, uint64_t pa,
			  uint64_t count, bool donate, struct frames_op *op)
{
	struct frames_tables t;
	int s2_rc = tables_to_move(from, to, pa, count, donate, &t);

	return first_error(
		donate ? frames_donate_check(&mem_db, from->id, to->id, pa,
					     count, t, op)
		       : frames_lend_check(&mem_db, from->id, to->id, pa, count,
					   t, op),
		s2_rc);
}

static int64_t move_access(struct vm *from, struct vm *to, uint64_t pa,
			   uint64_t count, bool donate)
{
	struct frames_op op;
	int64_t rc;

	if (ending(from, to))
		return EXO_ENOENT;
	rc = move_check(from, to, pa, count, donate, &op);
	CHECK_AFTER_GIVE_BACK(rc, to,
			      move_check(from, to, pa, count, donate, &op));
	if (rc)
		return rc;
	cache_take(from, to, &op);
	if (donate) {
		unmap_frames(from, pa, count);
		frames_donate_commit(&mem_db, &op);
	} else {
		protect_frames(from, pa, count, S2_PROT_NONE);
		frames_lend_commit(&mem_db, &op);
	}
	map_frames(to, pa, count, MEM_GUEST_PROT);
	note_peak(to);
	cache_trim(from, MEM_TABLE_RESERVE);
	return EXO_OK;
}

int64_t mem_frame_lend(struct vm *owner, struct vm *b, paddr_t pa,
		       uint64_t count)
{
	int64_t rc;

	mem_close();
	rc = move_access(owner, b, pa_addr(pa), count, false);
	mem_open();
	return rc;
}

int64_t mem_frame_donate(struct vm *owner, struct vm *to, paddr_t pa,
			 uint64_t count)
{
	int64_t rc;

	mem_close();
	rc = move_access(owner, to, pa_addr(pa), count, true);
	mem_open();
	return rc;
}

/* The DB checks test ownership and state first and the quotas last, so a
 * shortage means the frames passed; no table pages are asked for. */
static int64_t offer_check_locked(unsigned owner, unsigned to, uint64_t pa,
				  uint64_t count, unsigned kind)
{
	static const struct frames_tables none;
	struct frames_op op;

	switch (kind) {
	case EXO_OFFER_SHARE_R:
	case EXO_OFFER_SHARE_RW:
		return frames_share_check(&mem_db, owner, to, pa, count,
					  kind == EXO_OFFER_SHARE_RW
						  ? FRAMES_PERM_RW
						  : FRAMES_PERM_R,
					  0, &op);
	case EXO_OFFER_LEND:
		return frames_lend_check(&mem_db, owner, to, pa, count, none,
					 &op);
	case EXO_OFFER_DONATE:
		return frames_donate_check(&mem_db, owner, to, pa, count, none,
					   &op);
	default:
		return EXO_EINVAL;
	}
}

/* The general check, out of line: its op stays off the one-frame
 * offer's frame. */
static __attribute__((noinline)) int64_t
offer_check_general(struct vm *owner, struct vm *to, paddr_t pa,
		    uint64_t count, unsigned kind)
{
	int64_t rc;

	mem_close();
	rc = ending(owner, to) ? EXO_ENOENT
			       : offer_check_locked(owner->id, to->id,
						    pa_addr(pa), count, kind);
	mem_open();
	return rc;
}

/* An offer to share one frame, the commonest: the DB's one-frame share
 * check (frames_share_one_check: the same verdict less the shortages,
 * which are no refusal here), no op and no range machinery. */
static bool offer_is_share_one(uint64_t count, unsigned kind)
{
	return mem_fast_paths && count == 1 &&
	       (kind == EXO_OFFER_SHARE_R || kind == EXO_OFFER_SHARE_RW);
}

int64_t mem_frame_offer_check(struct vm *owner, struct vm *to, paddr_t pa,
			      uint64_t count, unsigned kind)
{
	int64_t rc;

	if (offer_is_share_one(count, kind)) {
		mem_close();
		rc = ending(owner, to) ? EXO_ENOENT
				       : frames_share_one_check(&mem_db,
								owner->id,
								to->id,
								pa_addr(pa));
		if (mem_debug_checks)
			mem_fast_calls++;
		mem_open();
		return rc;
	}
	rc = offer_check_general(owner, to, pa, count, kind);
	return rc == EXO_EQUOTA || rc == EXO_ENOMEM ? EXO_OK : rc;
}

int64_t mem_frame_reclaim(struct vm *owner, struct vm *b, paddr_t at,
			  uint64_t count)
{
	uint64_t pa = pa_addr(at);
	struct frames_op op;
	struct frames_tables t;
	int64_t rc;

	mem_close();
	if (ending(owner, b)) {
		mem_open();
		return EXO_ENOENT;
	}
	/* Neither side needs a page: the borrower loses a mapping, the
	 * owner's no-access translation gets its access back. */
	rc = tables_lacking(b, S2_OP_UNMAP, pa, count, 0, &t.peer);
	rc = first_error(tables_lacking(owner, S2_OP_PROTECT, pa, count,
					MEM_GUEST_PROT, &t.own), rc);
	rc = first_error(frames_reclaim_check(&mem_db, owner->id, b->id, pa,
					      count, t, &op),
			 rc);
	if (!rc) {
		cache_take(owner, b, &op);
		unmap_frames(b, pa, count);
		frames_reclaim_commit(&mem_db, &op);
		protect_frames(owner, pa, count, MEM_GUEST_PROT);
		cache_trim(owner, MEM_TABLE_RESERVE);
		cache_trim(b, MEM_TABLE_RESERVE);
		lost_tell(b, pa, count);
	}
	mem_open();
	return rc;
}

static int64_t free_locked(struct vm *vm, uint64_t pa, uint64_t count)
{
	struct frames_op op;
	unsigned lacking;
	int s2_rc;
	int64_t rc;

	if (own_call_refused(vm))
		return EXO_ENOENT;
	if (count == 1 && free_one(vm, pa, false, false))
		return EXO_OK;
	s2_rc = tables_lacking(vm, S2_OP_UNMAP, pa, count, 0, &lacking);
	rc = first_error(frames_free_check(&mem_db, vm->id, pa, count, lacking,
					   &op), s2_rc);
	if (rc)
		return rc;
	cache_take(vm, vm, &op);
	unmap_frames(vm, pa, count);
	scrub(pa, count);
	frames_free_commit(&mem_db, &op);
	cache_trim(vm, MEM_TABLE_RESERVE);
	after_call(vm);
	return EXO_OK;
}

int64_t mem_frame_free(struct vm *vm, paddr_t at, uint64_t count)
{
	uint64_t pa = pa_addr(at);
	int64_t rc;

	mem_close();
	rc = free_locked(vm, pa, count);
	mem_open();
	return rc;
}

static __attribute__((noinline)) int64_t
free_part_general(struct vm *vm, paddr_t at, uint64_t count, uint64_t part)
{
	return part_call(vm, at, count, part, free_locked);
}

/* One frame freed by the fast path needs no whole-range check: the frame
 * it found OWNED lies in RAM. A refusal changed nothing: the general path
 * runs with the one-frame call's arguments. */
int64_t mem_frame_free_part(struct vm *vm, paddr_t at, uint64_t count,
			    uint64_t part)
{
	bool done;

	if (count != 1 || part != 1)
		return free_part_general(vm, at, count, part);
	done = try_free_one(vm, pa_addr(at), false);
	return done ? EXO_OK : free_part_general(vm, at, 1, 1);
}

/* The result registers of a one-frame call (mem_frame_alloc_one_call):
 * the status, then r1 and r2 on success, zeros on a refusal. */
static inline void put_result(uint64_t x[MEM_CALL_REGS], int64_t rc,
			      uint64_t r1, uint64_t r2)
{
	x[0] = (uint64_t)rc;
	x[1] = rc ? 0 : r1;
	x[2] = rc ? 0 : r2;
	x[3] = 0;
}

/* The general transactions of the one-frame calls, when their paths
 * decline (a refusal included): out of line, so the calls' own frames
 * stay small. */
static __attribute__((noinline)) void
alloc_one_call_general(struct vm *vm, uint64_t x[MEM_CALL_REGS])
{
	struct mem_alloc r = alloc_general(vm, 1, 0, 1);

	put_result(x, r.rc, pa_addr(r.pa), 1);
}

static __attribute__((noinline)) void
free_one_call_general(struct vm *vm, uint64_t x[MEM_CALL_REGS])
{
	put_result(x, free_part_general(vm, pa_init(x[1]), 1, 1), 1, 0);
}

void mem_frame_alloc_one_call(struct vm *vm, uint64_t x[MEM_CALL_REGS])
{
	paddr_t pa;
	bool done;

	done = try_alloc_one(vm, x[3], &pa);
	if (done)
		put_result(x, EXO_OK, pa_addr(pa), 1);
	else
		alloc_one_call_general(vm, x);
}

void mem_frame_free_one_call(struct vm *vm, uint64_t x[MEM_CALL_REGS])
{
	bool done;

	done = try_free_one(vm, x[1], true);
	if (done)
		put_result(x, EXO_OK, 1, 0);
	else
		free_one_call_general(vm, x);
}

/* --- VM life: creation and teardown ----------------------------------- */

int64_t mem_vm_create(struct vm *vm, uint64_t quota, uint64_t *s2_root)
{
	int64_t rc;

	mem_close();
	rc = frames_vm_create(&mem_db, vm->id, quota);
	if (!rc) {
		rc = s2_init(&vm->s2, s2_root, vm->id);
		s2_cache_init(&vm->s2_cache);
		if (rc)
			frames_vm_destroy(&mem_db, vm->id);
		else
			mem_vms[vm->id] = vm;
		mem_ending[vm->id] = false;
	}
	mem_open();
	return rc;
}

static void free_owned_run(struct vm *vm, uint64_t pa, uint64_t count)
{
	struct frames_op op;

	scrub(pa, count);
	CHECK(!frames_free_check(&mem_db, vm->id, pa, count, 0, &op));
	frames_free_commit(&mem_db, &op);
}

/* EL2 takes access away from b (its owner is leaving, takes them back, or
 * revocation). No table page is needed, whatever b did: a split takes the
 * page its block kept, paid when b made the block (el2/s2.h), so nothing
 * here can fail or reach beyond b's quota. */
static void unmap_from(struct vm *b, uint64_t pa, uint64_t count)
{
	CHECK(s2_pages_needed(&b->s2, S2_OP_UNMAP, ipa_of(pa), bytes(count)) ==
	      0);
	unmap_frames(b, pa, count);
}

static bool borrows(uint64_t pa, unsigned b)
{
	struct frames_info info;

	return !frames_query(&mem_db, pa, &info) &&
	       info.state == EXO_FRAME_SHARED &&
	       frames_share_slot(&info.share, b) >= 0;
}

/* A borrower of the SHARED frame at pa, or 0 if it has none (left). */
static unsigned first_borrower(uint64_t pa)
{
	struct frames_info info;

	if (frames_query(&mem_db, pa, &info) || info.state != EXO_FRAME_SHARED)
		return 0;
	return frames_share_first(&info.share);
}

/* Takes [pa, pa + count) away from borrower b, one maximal range at a time
 * (a range shared in one call is unmapped in one go: no needless split);
 * b is told what it lost. */
static void revoke_share(struct vm *owner, unsigned b, uint64_t pa,
			 uint64_t count)
{
	uint64_t end = pa + bytes(count);

	while (pa < end) {
		uint64_t start = pa, n = 0;
		struct frames_op op;

		while (pa < end && borrows(pa, b)) {
			pa += FRAMES_SIZE;
			n++;
		}
		if (n) {
			unmap_from(mem_vms[b], start, n);
			CHECK(!frames_unshare_check(&mem_db, owner->id, b, start,
						    n, 0, &op));
			frames_unshare_commit(&mem_db, &op);
			lost_tell(mem_vms[b], start, n);
		} else {
			pa += FRAMES_SIZE;
		}
	}
}

/* Frames vm shares out: every borrower loses them (and is told); vm owns
 * them alone again. Each frame's own borrowers, not every VM there is:
 * a borrower is taken from the rest of the run in one go when its first
 * frame there is met. */
static void unshare_all(struct vm *vm, uint64_t pa, uint64_t count)
{
	uint64_t end = pa + bytes(count);

	for (; pa < end; pa += FRAMES_SIZE) {
		unsigned b;

		while ((b = first_borrower(pa)) != 0)
			revoke_share(vm, b, pa, (end - pa) >> FRAMES_SHIFT);
	}
}

/* Frames vm lent to peer: the borrower loses them (and is told); vm owns
 * them again, still with its no-access translation (the caller gives the
 * access back or removes it, or vm's stage 2 is gone already). */
static void take_loan(struct vm *vm, unsigned peer, uint64_t pa,
		      uint64_t count)
{
	struct frames_op op;

	unmap_from(mem_vms[peer], pa, count);
	CHECK(!frames_reclaim_check(&mem_db, vm->id, peer, pa, count,
				    no_tables, &op));
	frames_reclaim_commit(&mem_db, &op);
	lost_tell(mem_vms[peer], pa, count);
}

/* Frames vm shares out: every borrower loses them (and is told); they
 * stay vm's (OWNED) until a teardown step scrubs them. */
static void end_shares_out(struct vm *vm, const struct frames_run *run)
{
	unshare_all(vm, run->pa, run->count);
}

/* Frames vm lent out: the borrower loses them; they are vm's (OWNED)
 * again until a teardown step scrubs them. */
static void end_loans_out(struct vm *vm, const struct frames_run *run)
{
	take_loan(vm, run->peer, run->pa, run->count);
}

/* Frames lent to vm go back to their owner: its no-access translation gets
 * its access back, with no page and no charge (protect_frames). */
static void end_loan_in(struct vm *vm, const struct frames_run *run)
{
	struct vm *owner = mem_vms[run->peer];
	struct frames_op op;

	CHECK(!frames_reclaim_check(&mem_db, owner->id, vm->id, run->pa,
				    run->count, no_tables, &op));
	frames_reclaim_commit(&mem_db, &op);
	protect_frames(owner, run->pa, run->count, MEM_GUEST_PROT);
}

static void end_borrowing(struct vm *vm, const struct frames_run *run)
{
	struct frames_op op;

	CHECK(!frames_unshare_check(&mem_db, run->peer, vm->id, run->pa,
				    run->count, 0, &op));
	frames_unshare_commit(&mem_db, &op);
}

/* What a run of a VM whose end begins becomes: only OWNED frames are
 * left to it, scrubbed later (mem_vm_teardown_step). */
static void end_relation(struct vm *vm, const struct frames_run *run)
{
	switch (run->rel) {
	case FRAMES_REL_SHARED_OUT:
		end_shares_out(vm, run);
		break;
	case FRAMES_REL_LENT_OUT:
		end_loans_out(vm, run);
		break;
	case FRAMES_REL_LENT_IN:
		end_loan_in(vm, run);
		break;
	case FRAMES_REL_BORROWED:
		end_borrowing(vm, run);
		break;
	case FRAMES_REL_OWNED:   /* the teardown steps */
	case FRAMES_REL_TABLE:   /* the cache, the last step */
	case FRAMES_REL_DEVICE:  /* no devices are assigned yet */
		break;
	}
}

/* The frame vm left unscrubbed, if any, is scrubbed at its end: the
 * next life with its id is another guest. It is FREE with its unscrubbed
 * bit set: whatever took it since forgot it (scrub, forget_left,
 * take_left). */
static void scrub_left(struct vm *vm)
{
	for (unsigned c = 0; c < EL2_MAX_CPUS; c++) {
		const struct percpu *left = &el2_percpus[c];

		if (left->left_vm == vm->id)
			scrub(mem_db.base + bytes(left->left_frame), 1);
	}
}

/* The first part of a teardown, at the moment the VM's end begins: its
 * stage 2 is destroyed, so it cannot touch a frame while it is being
 * zeroed; what it shared or lent is taken from the borrowers now (nothing
 * it gave stays mapped anywhere once its end begins); what it borrowed
 * returns to its owners. What is left is OWNED by it, unmapped and not yet
 * scrubbed: mem_vm_teardown_step scrubs and frees it a bounded part at a
 * time. Its cost grows with what it shared, lent and borrowed, not with
 * the frames it owns. */
void mem_vm_teardown_begin(struct vm *vm)
{
	struct frames_run run;
	uint64_t cursor = 0;

	mem_close();
	mem_ending[vm->id] = true;
	note_peak(vm);	/* the one-frame paths leave it in the DB */
	s2_destroy(&vm->s2, &vm->s2_cache);
	while (frames_vm_next(&mem_db, vm->id, &cursor, &run))
		end_relation(vm, &run);
	scrub_left(vm);
	mem_open();
}

/* The rest of a teardown, at most budget frames scrubbed and freed per
 * call (the caller keeps *c, zeroed at the start, between calls). The run
 * being freed is remembered, so a step costs its budget, not a walk of the
 * rest of the run: the DB finds a run once (nothing else can change a
 * dying VM's frames between steps). When nothing is left, its table pages
 * are freed too and mem forgets the VM: returns true. */
bool mem_vm_teardown_step(struct vm *vm, struct mem_teardown *c,
			  uint64_t budget)
{
	struct frames_run run;
	bool done = false;

	mem_close();
	for (;;) {
		uint64_t n;

		if (!c->left) {
			if (!frames_vm_next(&mem_db, vm->id, &c->cursor, &run)) {
				done = true;
				break;
			}
			if (run.rel != FRAMES_REL_OWNED)  /* the table pages */
				continue;
			c->pa = run.pa;
			c->left = run.count;
		}
		if (!budget)
			break;
		n = c->left < budget ? c->left : budget;
		free_owned_run(vm, c->pa, n);
		c->pa += bytes(n);
		c->left -= n;
		budget -= n;
	}
	if (done) {
		/* Again at the end, as the id is about to be another life's:
		 * no frame can have been left for it since its end began (its
		 * stage 2 is gone, so no one-frame free of its finds its frame
		 * mapped), but its vCPUs on other CPUs ran until kicked. */
		scrub_left(vm);
		cache_trim(vm, 0);
		if (frames_vm_destroy(&mem_db, vm->id))
			kprintf("warning: guest '%s': frame DB still charges "
				"it\n", vm->name);
		mem_vms[vm->id] = NULL;
		mem_ending[vm->id] = false;
	}
	mem_open();
	return done;
}

void mem_vm_teardown(struct vm *vm)
{
	struct mem_teardown c = { 0, 0, 0 };

	mem_vm_teardown_begin(vm);
	while (!mem_vm_teardown_step(vm, &c, MEM_TEARDOWN_STEP_FRAMES))
		;
}

/* What forced revocation takes, in this order (docs/memory-model.md,
 * "Rule 4"): what only the guest itself uses, then what it shares out
 * (each borrower loses a view, and is told), then what it lent out (the
 * borrower loses frames it alone was using, and is told). */
static const enum frames_rel revoke_order[] = {
	FRAMES_REL_OWNED, FRAMES_REL_SHARED_OUT, FRAMES_REL_LENT_OUT,
};

/* The parts of a run of relation rel outside the boot run, in address
 * order: the boot run may cover its head, its tail, all of it, or lie
 * inside it (the guest's own allocations on both sides make one run in
 * the DB). */
static unsigned revocable(const struct vm *vm, const struct frames_run *run,
			  enum frames_rel rel, struct vm_run part[2])
{
	uint64_t start = run->pa, end = run->pa + bytes(run->count);
	uint64_t boot = vm->boot_run.pa;
	uint64_t boot_end = boot + bytes(vm->boot_run.count);
	unsigned n = 0;

	if (run->rel != rel)
		return 0;
	if (boot_end <= start || boot >= end) {
		part[0] = (struct vm_run){ start, run->count };
		return 1;
	}
	if (start < boot)
		part[n++] = (struct vm_run){ start, (boot - start) >> FRAMES_SHIFT };
	if (boot_end < end)
		part[n++] = (struct vm_run){ boot_end,
					     (end - boot_end) >> FRAMES_SHIFT };
	return n;
}

/* Takes [pa, +count) of run from vm: the borrowers lose it first (told),
 * then vm; it is scrubbed and freed. */
static void take_frames(struct vm *vm, const struct frames_run *run,
			uint64_t pa, uint64_t count)
{
	switch (run->rel) {
	case FRAMES_REL_SHARED_OUT:
		unshare_all(vm, pa, count);
		unmap_from(vm, pa, count);
		break;
	case FRAMES_REL_LENT_OUT:   /* vm keeps a no-access translation */
		take_loan(vm, run->peer, pa, count);
		unmap_from(vm, pa, count);
		break;
	default:
		unmap_from(vm, pa, count);
		break;
	}
	free_owned_run(vm, pa, count);
}

/* Takes frames of one revocable part once the lowest *skip frames of its
 * class are passed over: at most `left`, recorded in the log. Returns how
 * many. */
static uint64_t take_part(struct vm *vm, const struct frames_run *run,
			  const struct vm_run *p, uint64_t *skip, uint64_t left,
			  struct vm_run *log, unsigned *nr_log)
{
	uint64_t pa = p->pa, n = p->count;

	if (*skip >= n) {
		*skip -= n;
		return 0;
	}
	pa += bytes(*skip);
	n -= *skip;
	*skip = 0;
	if (n > left)
		n = left;
	take_frames(vm, run, pa, n);
	log[(*nr_log)++] = (struct vm_run){ pa, n };
	return n;
}

/* Frames of relation rel vm holds outside its boot run. */
static uint64_t revocable_total(const struct vm *vm, enum frames_rel rel)
{
	struct frames_run run;
	struct vm_run part[2];
	uint64_t cursor = 0, total = 0;

	while (frames_vm_next(&mem_db, vm->id, &cursor, &run)) {
		unsigned n = revocable(vm, &run, rel, part);

		for (unsigned i = 0; i < n; i++)
			total += part[i].count;
	}
	return total;
}

/* Up to want frames of one relation, the highest-addressed first. */
static uint64_t revoke_class(struct vm *vm, enum frames_rel rel,
			     uint64_t want, struct vm_run *log,
			     unsigned log_max, unsigned *nr_log)
{
	uint64_t total = revocable_total(vm, rel), cursor = 0, took = 0;
	uint64_t skip = total > want ? total - want : 0;
	struct frames_run run;
	struct vm_run part[2];

	while (took < want && *nr_log < log_max &&
	       frames_vm_next(&mem_db, vm->id, &cursor, &run)) {
		unsigned n = revocable(vm, &run, rel, part);

		for (unsigned i = 0; i < n && took < want && *nr_log < log_max;
		     i++)
			took += take_part(vm, &run, &part[i], &skip,
					  want - took, log, nr_log);
	}
	return took;
}

/* Takes up to `want` frames the VM holds outside its boot run (owned, then
 * shared out, then lent out: revoke_order), recording the runs taken;
 * returns how many. Within a class the highest-addressed frames go first:
 * the guest's oldest frames (its stage-1 tables, fetched at boot) are the
 * last EL2 takes. Splitting a block for it takes the page the block kept
 * (unmap_from): revocation cannot fail. */
static uint64_t revoke_locked(struct vm *vm, uint64_t want,
			      struct vm_run *log, unsigned log_max,
			      unsigned *nr_log)
{
	uint64_t took = 0;

	*nr_log = 0;
	/* Its teardown takes everything, a bounded part at a time: frames
	 * taken here would be freed twice. */
	if (mem_ending[vm->id])
		return 0;
	for (size_t c = 0; c < sizeof(revoke_order) / sizeof(revoke_order[0]) &&
			   took < want && *nr_log < log_max; c++)
		took += revoke_class(vm, revoke_order[c], want - took, log,
				     log_max, nr_log);
	/* What it kept empty goes too: revocation leaves it the tables its
	 * mappings use. */
	s2_reclaim(&vm->s2, &vm->s2_cache, UINT32_MAX, ipa_of(0), 0);
	cache_trim(vm, MEM_TABLE_RESERVE);
	return took;
}

uint64_t mem_revoke(struct vm *vm, uint64_t want, struct vm_run *log,
		    unsigned log_max, unsigned *nr_log)
{
	uint64_t took;

	mem_close();
	took = revoke_locked(vm, want, log, log_max, nr_log);
	mem_open();
	return took;
}

static uint64_t owned_locked(struct vm *vm)
{
	const struct frames_account *a = frames_account(&mem_db, vm->id);

	return a ? a->used - a->tables : 0;
}

uint64_t mem_revoke_to_level(struct vm *vm, uint64_t level,
			     struct vm_run *log, unsigned log_max,
			     unsigned *nr_log, uint64_t *wanted)
{
	uint64_t took, owned;

	mem_close();
	owned = owned_locked(vm);
	*wanted = owned > level ? owned - level : 0;
	took = revoke_locked(vm, *wanted, log, log_max, nr_log);
	mem_open();
	return took;
}

int64_t mem_frame_query(struct vm *vm, paddr_t at, uint64_t *state,
			uint64_t *access)
{
	uint64_t pa = pa_addr(at);
	struct frames_info info;
	int64_t rc;

	mem_close();
	rc = frames_query(&mem_db, pa, &info);
	if (!rc) {
		*state = info.state;
		*access = frames_access(&mem_db, vm->id, pa) != FRAMES_ACCESS_NONE;
	}
	mem_open();
	return rc;
}

void mem_vm_usage(struct vm *vm, uint64_t *quota, uint64_t *used)
{
	const struct frames_account *a;

	mem_close();
	a = frames_account(&mem_db, vm->id);
	*quota = a ? a->quota : 0;
	*used = a ? a->used : 0;
	mem_open();
}

uint64_t mem_vm_owned(struct vm *vm)
{
	uint64_t owned;

	mem_close();
	owned = owned_locked(vm);
	mem_open();
	return owned;
}

/* --- the stage-2 invariant (debug builds) ------------------------------ */

static unsigned expected_prot(enum frames_access a)
{
	switch (a) {
	case FRAMES_ACCESS_RW: return MEM_GUEST_PROT;
	case FRAMES_ACCESS_R: return S2_PROT_R;
	case FRAMES_ACCESS_DEVICE: return S2_PROT_R | S2_PROT_W | S2_PROT_DEVICE;
	default: return 0;
	}
}

/* Completed checks and the pages they compared (mem_invariant_counts). */
static uint64_t invariant_checks, invariant_pages;

struct invariant_ctx {
	struct vm *vm;
	uint64_t mapped_pages;
};

/* A no-access translation is a lender's view of what it lent. */
static bool lent_by(uint64_t pa, unsigned vm)
{
	struct frames_info info;

	return !frames_query(&mem_db, pa, &info) &&
	       info.state == EXO_FRAME_LENT && info.owner == vm;
}

static void check_leaf(void *c, const struct s2_leaf *leaf)
{
	struct invariant_ctx *ctx = c;

	for (uint64_t pa = leaf->ipa; pa < leaf->ipa + leaf->size;
	     pa += FRAMES_SIZE) {
		unsigned want = expected_prot(frames_access(&mem_db, ctx->vm->id,
							    pa));

		if (leaf->prot != want)
			panic("stage-2 invariant: guest '%s' maps PA 0x%lx with "
			      "prot 0x%x, the frame DB allows 0x%x",
			      ctx->vm->name, (unsigned long)pa, leaf->prot, want);
		if (leaf->prot == S2_PROT_NONE && !lent_by(pa, ctx->vm->id))
			panic("stage-2 invariant: guest '%s' keeps a no-access "
			      "translation of PA 0x%lx it has not lent",
			      ctx->vm->name, (unsigned long)pa);
		ctx->mapped_pages += leaf->prot != S2_PROT_NONE;
	}
}

static bool accessible(enum frames_rel rel)
{
	return rel == FRAMES_REL_OWNED || rel == FRAMES_REL_SHARED_OUT ||
	       rel == FRAMES_REL_BORROWED || rel == FRAMES_REL_LENT_IN ||
	       rel == FRAMES_REL_DEVICE;
}

/* Frames the DB lets vm access: what it owns, less its stage-2 tables and
 * what it lent away, plus what it borrows. O(1) from its account. */
static uint64_t accessible_frames(const struct vm *vm)
{
	const struct frames_account *a = frames_account(&mem_db, vm->id);

	return a->used - a->tables - a->lent_out + a->borrowed;
}

/* Each guest's stage 2 maps PA p iff the DB lets it access p, with exactly
 * the DB's permission: every leaf is checked against the DB (no mapping
 * without access, with the exact permission), and the number of mapped
 * pages must equal the number of frames it may access (so nothing it may
 * access is unmapped). O(mapped), cheap enough for every hypercall. Guests
 * with device ranges are counted by walking their runs instead. Under the
 * lock: another CPU's call changes the DB and this stage 2 meanwhile (a
 * share or loan to vm, a revocation; tests/host/tsan/mem_threads.c). */
void mem_check_invariant(struct vm *vm)
{
	struct invariant_ctx ctx = { vm, 0 };
	const struct frames_account *a = frames_account(&mem_db, vm->id);
	uint64_t held = 0;

	mem_close();
	s2_walk(&vm->s2, check_leaf, &ctx);
	if (a->devices) {
		struct frames_run run;
		uint64_t cursor = 0;

		while (frames_vm_next(&mem_db, vm->id, &cursor, &run)) {
			if (accessible(run.rel))
				held += run.count;
		}
	} else {
		held = accessible_frames(vm);
	}
	if (held != ctx.mapped_pages)
		panic("stage-2 invariant: guest '%s' may access %lu frames but "
		      "maps %lu", vm->name, (unsigned long)held,
		      (unsigned long)ctx.mapped_pages);
	invariant_checks++;
	invariant_pages += ctx.mapped_pages;
	mem_open();
}

void mem_invariant_counts(uint64_t *checks, uint64_t *pages)
{
	mem_close();
	*checks = invariant_checks;
	*pages = invariant_pages;
	mem_open();
}

/* --- boot ---------------------------------------------------------------- */

static uint64_t mem_ram_total;

/* One share record per frame of the span: a SHARED frame holds one, so no
 * guest, alone or with others, can take the records another pair needs
 * (docs/memory-model.md, "Rule 1"). 16 bytes a frame. */
static uint32_t share_records(uint64_t span_frames)
{
	return span_frames < FRAMES_SHARE_NONE ? (uint32_t)span_frames
					       : FRAMES_SHARE_NONE - 1;
}

/* The unscrubbed bitmap's words, after the DB's storage (8-byte
 * aligned: frames_storage_size is a sum of 8- and 16-byte records). */
static size_t bitmap_bytes(uint64_t span_frames)
{
	return (span_frames + BITS_PER_WORD - 1) / BITS_PER_WORD *
	       sizeof(uint64_t);
}

int mem_init(uint64_t span_base, uint64_t span_frames, void *storage,
	     size_t size)
{
	uint32_t shares = share_records(span_frames);
	size_t db_size = frames_storage_size(span_frames, shares);

	/* A fresh DB counts no RAM yet (a host harness boots many machines
	 * in one process). */
	mem_ram_total = 0;
	/* A host harness that caught a panic inside a call boots again. */
	mem_gate = (struct mem_gate)MEM_GATE_INIT;
	mem_db_lock = (struct spinlock)SPINLOCK_INIT;
	memset(mem_vms, 0, sizeof(mem_vms));
	memset(mem_ending, 0, sizeof(mem_ending));
	for (unsigned c = 0; c < EL2_MAX_CPUS; c++)
		el2_percpus[c].left_vm = FRAMES_VM_EL2;
	mem_scrub_icache = arch_icache_coherent() ? 0 : ARCH_SCRUB_ICACHE;
	if (!db_size || size < mem_storage_size(span_frames))
		return EXO_EINVAL;
	unscrubbed = (uint64_t *)((uint8_t *)storage + db_size);
	memset(unscrubbed, 0, bitmap_bytes(span_frames));
	return frames_init(&mem_db, span_base, span_frames, shares, storage,
			   db_size);
}

size_t mem_storage_size(uint64_t span_frames)
{
	size_t db = frames_storage_size(span_frames,
					share_records(span_frames));

	return db ? db + bitmap_bytes(span_frames) : 0;
}

int mem_add_ram(uint64_t pa, uint64_t count)
{
	int rc = frames_ram_add(&mem_db, pa, count);

	if (!rc) {
		mem_ram_total += count;
		mark_unscrubbed(pa, count, true);
	}
	return rc;
}

uint64_t mem_ram_frames(void)
{
	return mem_ram_total;
}

const struct frames_db *mem_frames_db(void)
{
	return &mem_db;
}

int mem_claim_hyp(uint64_t pa, uint64_t count)
{
	struct frames_op op;
	int rc = frames_hyp_claim_check(&mem_db, pa, count, &op);

	if (!rc)
		frames_hyp_claim_commit(&mem_db, &op);
	return rc;
}

void mem_totals(uint64_t *free, uint64_t *hyp, uint64_t *held)
{
	mem_close();
	*free = frames_count(&mem_db, EXO_FRAME_FREE);
	*hyp = frames_count(&mem_db, EXO_FRAME_HYP);
	*held = frames_guest_held(&mem_db);
	mem_open();
}

/* Runs the frame DB's table-driven self-test in a scratch area. */
int mem_selftest(void *scratch, size_t size)
{
	return frames_selftest(scratch, size);
}
