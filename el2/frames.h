/*
 * The frame ownership DB: who owns every 4 KiB frame of RAM EL2 manages,
 * who borrows it and with which permission, and what each VM is charged.
 * It owns no memory (the caller hands it storage) and never touches a
 * stage-2 table, scrubs a frame or panics on a guest-controlled value.
 * See docs/memory-model.md for states, transitions, errors and layout.
 *
 * Locking: every function is called with the caller's frame-DB lock held.
 * A check and its commit run under ONE hold of that lock, and no other
 * commit may run between them: a check's verdict (and the table frames it
 * reserved) is valid only until the next commit. The DB has no global
 * state: everything lives in struct frames_db and the caller's storage.
 *
 * Two phases: frames_<transition>_check() validates the whole request,
 * may fail, changes nothing and fills a struct frames_op;
 * frames_<transition>_commit() applies that op and cannot fail. Between the
 * two, the caller prepares stage-2 (with the table frames the op reserved),
 * unmaps and scrubs.
 */
#ifndef EXO_EL2_FRAMES_H
#define EXO_EL2_FRAMES_H

#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hvc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The DB's unit is the ABI's frame. */
#define FRAMES_SHIFT EXO_FRAME_SHIFT
#define FRAMES_SIZE (UINT64_C(1) << FRAMES_SHIFT)

/* VM ids 1..EXO_MAX_VMS-1 (exo/hvc.h); 0 is EL2 (or "nobody"). */
#define FRAMES_VM_EL2 0

#define FRAMES_MAX_DEVICES 16      /* MMIO ranges registered at boot */
/* Stage-2 table frames one op may reserve for one VM: enough to map the
 * largest run a call may name (EXO_FRAME_MAX_COUNT frames, each 2 MiB of
 * it a table or a block keeping one page: el2/s2.h), plus the two partial
 * 2 MiB regions at its ends and the level-2 tables of the 1 GiB regions it
 * touches. */
#define FRAMES_OP_MAX_TABLES \
	(EXO_FRAME_MAX_COUNT / EXO_S2_L3_TABLE_FRAMES + 2 + \
	 EXO_FRAME_MAX_COUNT / EXO_S2_L2_TABLE_FRAMES + 2)
#define FRAMES_MAX_ALIGN_LOG2 18   /* runs aligned to at most 1 GiB */
#define FRAMES_SHARE_NONE UINT32_MAX

/* Permission a borrower gets on a SHARED frame. */
enum frames_perm {
	FRAMES_PERM_R = 1,
	FRAMES_PERM_RW = 2,
};

/* What a VM may do with a PA: the stage-2 invariant compares with this. */
enum frames_access {
	FRAMES_ACCESS_NONE = 0,
	FRAMES_ACCESS_R = 1,
	FRAMES_ACCESS_RW = 2,
	FRAMES_ACCESS_DEVICE = 3,   /* RW with device attributes */
};

/* A VM id as the DB stores it: 1..EXO_MAX_VMS-1, 0 for EL2 or nobody. */
typedef uint16_t frames_vm_t;
_Static_assert(EXO_MAX_VMS - 1 <= UINT16_MAX, "VM ids fit frames_vm_t");

/* One per frame of the span, 8 bytes. A frame is SHARED or LENT, never
 * both: its share record and its borrower share the last four bytes.
 * Every change that may run beside a one-frame FRAME_FREE on another CPU
 * writes an entry whole, as one word (frames_entry_put), so that free can
 * read it with no lock (frames_free_one_peek); the changes behind mem's
 * closed gate (a share record taken or given back) need not. */
struct frames_entry {
	union {
		struct {
			uint8_t state;       /* enum exo_frame_state */
			uint8_t pad;
			frames_vm_t owner;   /* OWNED/SHARED/LENT: owner; HYP:
					      * VM charged, or 0 */
			union {
				uint32_t share;  /* SHARED: index of its share
						  * record, else
						  * FRAMES_SHARE_NONE (LENT:
						  * see peer) */
				frames_vm_t peer; /* LENT: the borrower */
			};
		};
		uint64_t word;   /* the whole entry, for frames_entry_put */
	};
};
/* 8 bytes a frame: docs/memory-model.md ("Layout and memory cost") and
 * docs/performance.md count the DB at this size. */
_Static_assert(sizeof(struct frames_entry) == 8, "frames_entry is 8 bytes");

/* Borrowers of one SHARED frame, at most EXO_SHARE_MAX_BORROWERS (a list
 * of ids, not a mask of every VM: 16 bytes whatever EXO_MAX_VMS is). A
 * free record is on the free list: next_free overlays the slots. */
#define FRAMES_SHARE_SLOTS EXO_SHARE_MAX_BORROWERS
struct frames_share {
	union {
		struct {
			frames_vm_t borrower[FRAMES_SHARE_SLOTS]; /* 0: empty */
			uint16_t rw;  /* bit k: borrower[k] has RW (else R) */
		};
		uint32_t next_free;
	};
};
_Static_assert(FRAMES_SHARE_SLOTS <= 16, "rw has a bit per slot");
_Static_assert(sizeof(struct frames_share) == 16,
	       "frames_share is 16 bytes (docs/memory-model.md)");

struct frames_account {
	uint64_t quota;     /* frames it may be charged for */
	uint64_t used;      /* owned (also shared or lent out) + table frames */
	uint64_t peak;      /* highest used */
	uint64_t tables;    /* of used: stage-2 table frames */
	uint64_t borrowed;  /* frames shared with it or lent to it: free */
	uint64_t lent_out;  /* of used: frames it lent away (no access) */
	uint32_t devices;   /* device ranges assigned to it */
	bool live;
	/* Frame indexes [span_lo, span_hi) hold every frame it has been
	 * owner or borrower of since it was created, [tables_lo, tables_hi)
	 * every table frame charged to it (taken from the top of RAM: one
	 * span would cover all RAM): its teardown walks those two, not all
	 * of RAM, whatever the number of guests. */
	uint32_t span_lo, span_hi;
	uint32_t tables_lo, tables_hi;
};

struct frames_device {
	uint64_t base;
	uint64_t count;
	frames_vm_t owner;  /* 0: unassigned */
};

struct frames_db {
	uint64_t base;               /* PA of frame 0 */
	uint64_t nr;                 /* frames in the span */
	struct frames_entry *entry;  /* nr entries */
	struct frames_share *share;  /* nr_shares records */
	uint32_t nr_shares;
	uint32_t share_free;         /* head of the free-record list */
	uint32_t shares_left;
	unsigned nr_devices;
	uint64_t count[EXO_FRAME_DEVICE + 1];  /* frames per state (span) */
	/* Search hints kept by every state change: no FREE frame has an index
	 * below lo_free or at or above hi_free. */
	uint64_t lo_free, hi_free;
	uint64_t hyp_charged;        /* HYP frames charged to a VM */
	struct frames_device device[FRAMES_MAX_DEVICES];
	struct frames_account acct[EXO_MAX_VMS];
};

enum frames_op_kind {
	FRAMES_OP_NONE = 0,
	FRAMES_OP_HYP_CLAIM,
	FRAMES_OP_HYP_RELEASE,
	FRAMES_OP_ALLOC,
	FRAMES_OP_FREE,
	FRAMES_OP_SHARE,
	FRAMES_OP_UNSHARE,
	FRAMES_OP_LEND,
	FRAMES_OP_RECLAIM,
	FRAMES_OP_DONATE,
	FRAMES_OP_TABLE,
	FRAMES_OP_TABLE_FREE,
	FRAMES_OP_DEVICE_ASSIGN,
	FRAMES_OP_DEVICE_RELEASE,
};

/* A checked request, filled by a check and consumed by its commit. */
struct frames_op {
	enum frames_op_kind kind;
	frames_vm_t vm;      /* the acting VM (owner) */
	frames_vm_t peer;    /* the other VM: borrower, recipient */
	uint8_t perm;        /* share: enum frames_perm */
	uint64_t pa;         /* first frame (alloc: the run found) */
	uint64_t count;
	unsigned device;     /* device ops: index of the range */
	uint32_t shares;     /* share: records the commit takes */
	/* Reserved stage-2 table frames, FREE until the commit charges them:
	 * the first nr_own_tables to vm, the rest to tables_vm. Only counted:
	 * frames_op_table_next finds them again (the highest FREE frames
	 * outside the frame indexes [tables_skip, +tables_skip_count), the
	 * op's own run). */
	frames_vm_t tables_vm;
	unsigned nr_own_tables;
	unsigned nr_tables;
	uint64_t tables_skip, tables_skip_count;
	uint64_t tables_first;  /* the first one found (a guard) */
};

/* Where frames_op_table_next is; zero it to start. */
struct frames_table_cursor {
	uint64_t next;
	unsigned taken;
	bool started;
};

/* Table frames a transition between two VMs reserves in its check: for the
 * VM that acts (own: its stage 2 loses a mapping, and a block may split)
 * and for the other (peer: its stage 2 gains one). Each is charged to its
 * VM's quota; at most FRAMES_OP_MAX_TABLES each. */
struct frames_tables {
	unsigned own, peer;
};

/* Facts about one PA. */
struct frames_info {
	enum exo_frame_state state;
	frames_vm_t owner;   /* see struct frames_entry; DEVICE: 0 unassigned */
	frames_vm_t peer;    /* LENT: the borrower; else 0 */
	struct frames_share share;  /* SHARED: its borrowers; else none */
};

/* borrower's slot in s, or -1 if it borrows nothing there (borrower 0:
 * a free slot, or -1 if s is full). */
static inline int frames_share_slot(const struct frames_share *s,
				    unsigned borrower)
{
	for (int k = 0; k < FRAMES_SHARE_SLOTS; k++)
		if (s->borrower[k] == borrower)
			return k;
	return -1;
}

/* The first borrower listed in s, or 0 when it has none. */
static inline unsigned frames_share_first(const struct frames_share *s)
{
	for (int k = 0; k < FRAMES_SHARE_SLOTS; k++)
		if (s->borrower[k])
			return s->borrower[k];
	return 0;
}

/* What a VM holds, for teardown: runs of frames with one relation. */
enum frames_rel {
	FRAMES_REL_OWNED,       /* OWNED(vm): free it */
	FRAMES_REL_SHARED_OUT,  /* SHARED(vm -> ...): unshare each borrower */
	FRAMES_REL_LENT_OUT,    /* LENT(vm -> peer): reclaim */
	FRAMES_REL_BORROWED,    /* SHARED(peer -> vm ...): peer unshares */
	FRAMES_REL_LENT_IN,     /* LENT(peer -> vm): peer reclaims */
	FRAMES_REL_TABLE,       /* HYP charged to vm: table free */
	FRAMES_REL_DEVICE,      /* DEVICE(vm): device release */
};

struct frames_run {
	uint64_t pa;
	uint64_t count;
	enum frames_rel rel;
	frames_vm_t peer; /* LENT_OUT: borrower; BORROWED, LENT_IN: owner */
};

/* --- set-up (boot, single CPU) --------------------------------------- */
/* Bytes of storage for a span of nr_frames and nr_shares share records;
 * 0 if that overflows. */
size_t frames_storage_size(uint64_t nr_frames, uint32_t nr_shares);
/* Every frame of [base, base + nr_frames * 4 KiB) starts NONE. storage must
 * be 8-byte aligned and at least frames_storage_size() bytes. */
int frames_init(struct frames_db *db, uint64_t base, uint64_t nr_frames,
		uint32_t nr_shares, void *storage, size_t size);
/* NONE -> FREE for a RAM range inside the span. */
int frames_ram_add(struct frames_db *db, uint64_t pa, uint64_t count);
/* Registers an MMIO range outside the span, unassigned. */
int frames_device_add(struct frames_db *db, uint64_t pa, uint64_t count);
int frames_vm_create(struct frames_db *db, unsigned vm, uint64_t quota);
/* Refused (EXO_EBUSY) while the VM is charged, borrows or has devices. */
int frames_vm_destroy(struct frames_db *db, unsigned vm);

/* --- transitions: check (may fail, changes nothing), then commit ------- */
/* FREE -> HYP, EL2's own (boot: image, DB, boot package). */
int frames_hyp_claim_check(const struct frames_db *db, uint64_t pa,
			   uint64_t count, struct frames_op *op);
void frames_hyp_claim_commit(struct frames_db *db, const struct frames_op *op);
/* HYP (not a table frame) -> FREE: boot-time data EL2 is done with. */
int frames_hyp_release_check(const struct frames_db *db, uint64_t pa,
			     uint64_t count, struct frames_op *op);
void frames_hyp_release_commit(struct frames_db *db,
			       const struct frames_op *op);

/* FREE -> OWNED(vm), count frames aligned to 2^align_log2 frames, plus
 * nr_tables table frames for vm's stage-2; all charged to vm. */
int frames_alloc_check(const struct frames_db *db, unsigned vm,
		       uint64_t count, unsigned align_log2,
		       unsigned nr_tables, struct frames_op *op);
int frames_alloc_at_check(const struct frames_db *db, unsigned vm,
			  uint64_t pa, uint64_t count, unsigned nr_tables,
			  struct frames_op *op);
void frames_alloc_commit(struct frames_db *db, const struct frames_op *op);

/* OWNED(vm) -> FREE. The caller unmaps and scrubs before the commit, with
 * nr_tables table frames charged to vm (a block split by the unmap). */
int frames_free_check(const struct frames_db *db, unsigned vm, uint64_t pa,
		      uint64_t count, unsigned nr_tables,
		      struct frames_op *op);
void frames_free_commit(struct frames_db *db, const struct frames_op *op);

/*
 * The one-frame pairs of FRAME_ALLOC (no alignment) and FRAME_FREE, the
 * commonest calls. Each check gives the verdict of the general check
 * (frames_alloc_check(db, vm, 1, 0, 0, op), frames_free_check(db, vm, pa,
 * 1, 0, op)) as the frame's index (>= 0) or that check's refusal; each
 * commit does what the general commit of that check's op does, given the
 * index (no op is filled: the pair's state is the index), but for the
 * hints, which the alloc moves one step at most (frames_alloc_one_commit):
 * they stay true bounds, not always the tightest. Inline: the common case is a few loads (the caller live,
 * within its quota; the lowest FREE frame, or the frame OWNED by the
 * caller), stores (the entry, the counts, the hints, the charge) and
 * tests. Every other case goes to the general check itself, out of line
 * (frames_alloc_one_general, frames_free_one_general): no refusal is
 * decided here, so the verdicts are the general check's by construction.
 */
static inline bool frames_vm_live(const struct frames_db *db, unsigned vm)
{
	return vm != FRAMES_VM_EL2 && vm < EXO_MAX_VMS && db->acct[vm].live;
}

/* Keeps lo_free/hi_free true after frame i changed state. Moving a hint
 * past frames that are not FREE is paid once per frame taken, so searches
 * no longer walk the long prefix of RAM that EL2 and early guests hold. */
static inline void frames_update_hints(struct frames_db *db, uint64_t i,
				       unsigned state)
{
	if (state == EXO_FRAME_FREE) {
		if (i < db->lo_free)
			db->lo_free = i;
		if (i >= db->hi_free)
			db->hi_free = i + 1;
		return;
	}
	while (db->lo_free < db->hi_free &&
	       db->entry[db->lo_free].state != EXO_FRAME_FREE)
		db->lo_free++;
	while (db->hi_free > db->lo_free &&
	       db->entry[db->hi_free - 1].state != EXO_FRAME_FREE)
		db->hi_free--;
}

static inline void frames_span_widen(uint32_t *lo, uint32_t *hi, uint64_t i)
{
	if (i < *lo)
		*lo = (uint32_t)i;
	if (i >= *hi)
		*hi = (uint32_t)(i + 1);
}

/* Frame i is now vm's, lent to it or shared with it: within its span
 * (struct frames_account). */
static inline void frames_span_note(struct frames_db *db, unsigned vm,
				    uint64_t i)
{
	struct frames_account *a = &db->acct[vm];

	frames_span_widen(&a->span_lo, &a->span_hi, i);
}

/* An entry written whole, in one atomic store (the one store a plain
 * write of 8 bytes is): a one-frame FRAME_FREE on another CPU reads it
 * with no lock (frames_free_one_peek) while the changes that may run
 * beside it (the one-frame commits, and set_frame's of a guest's table
 * page leaving its cache) write it. */
static inline void frames_entry_put(struct frames_entry *e,
				    struct frames_entry v)
{
	__atomic_store_n(&e->word, v.word, __ATOMIC_RELAXED);
}

/* An OWNED or FREE entry: no peer, no share record. */
static inline struct frames_entry frames_entry_lone(unsigned state,
						    unsigned owner)
{
	return (struct frames_entry){ .state = (uint8_t)state,
				      .owner = (frames_vm_t)owner,
				      .share = FRAMES_SHARE_NONE };
}

/* What a transition of frame i from one state to an OWNED or FREE one
 * writes: the entry (frames_entry_lone), the counts, the hints. */
static inline void frames_set_one(struct frames_db *db, uint64_t i,
				  unsigned from, unsigned to, unsigned owner)
{
	frames_entry_put(&db->entry[i], frames_entry_lone(to, owner));
	db->count[from]--;
	db->count[to]++;
	frames_update_hints(db, i, to);
}

int64_t frames_alloc_one_general(const struct frames_db *db, unsigned vm);
int64_t frames_free_one_general(const struct frames_db *db, unsigned vm,
				uint64_t pa);

/* The lowest FREE frame is the run (the hints: none below lo_free). */
static inline int64_t frames_alloc_one_check(const struct frames_db *db,
					     unsigned vm)
{
	uint64_t i = db->lo_free;

	if (frames_vm_live(db, vm) &&
	    db->acct[vm].used < db->acct[vm].quota && i < db->hi_free &&
	    db->entry[i].state == EXO_FRAME_FREE)
		return (int64_t)i;
	return frames_alloc_one_general(db, vm);
}

/* The same for frame i the caller names (el2/mem.c: the frame vm left
 * unscrubbed, which it may take back): i, FREE, with vm live and within
 * its quota; -1 otherwise, and the caller asks frames_alloc_one_check,
 * whose verdict is the general one. */
static inline int64_t frames_alloc_one_check_at(const struct frames_db *db,
						unsigned vm, uint64_t i)
{
	if (frames_vm_live(db, vm) &&
	    db->acct[vm].used < db->acct[vm].quota && i < db->nr &&
	    db->entry[i].state == EXO_FRAME_FREE)
		return (int64_t)i;
	return -1;
}

/* The commit applies what its check found under the same hold of the
 * lock: frame i FREE, vm live and within its quota (the general commit
 * trusts its op the same way). A frame leaving FREE leaves the hints true
 * bounds, so they are not scanned past it (the general commits' scan,
 * frames_update_hints): the one that was lo_free (or hi_free - 1) moves
 * one step past i. The next one-frame check then finds the frame after
 * i, FREE or not; not FREE, the general check's search answers, and its
 * commit tightens the hints again. in_span: frame i lies in vm's span
 * already (vm owned it before in this life: el2/mem.c's left frame, which
 * vm's end forgets), so the span is not widened. */
static inline void frames_alloc_one_commit(struct frames_db *db,
					   unsigned vm, uint64_t i,
					   bool in_span)
{
	struct frames_account *a = &db->acct[vm];

	frames_entry_put(&db->entry[i], frames_entry_lone(EXO_FRAME_OWNED, vm));
	db->count[EXO_FRAME_FREE]--;
	db->count[EXO_FRAME_OWNED]++;
	if (i == db->lo_free)
		db->lo_free = i + 1;
	if (i + 1 == db->hi_free)
		db->hi_free = i;
	if (!in_span)
		frames_span_note(db, vm, i);
	a->used++;
	if (a->used > a->peak)
		a->peak = a->used;
}

/* An index past the span (a PA below its base wraps far past it) or an
 * unaligned PA is no frame the caller owns. */
static inline int64_t frames_free_one_check(const struct frames_db *db,
					    unsigned vm, uint64_t pa)
{
	uint64_t i = (pa - db->base) >> FRAMES_SHIFT;

	if (frames_vm_live(db, vm) && !(pa & (FRAMES_SIZE - 1)) &&
	    i < db->nr && db->entry[i].state == EXO_FRAME_OWNED &&
	    db->entry[i].owner == vm)
		return (int64_t)i;
	return frames_free_one_general(db, vm, pa);
}

/* frames_free_one_check's verdict where it is the common one, read with
 * no lock beside other CPUs' one-frame calls (el2/mem.c: past its gate,
 * with vm's lock): frame i OWNED by vm. An entry that names vm changes only
 * under vm's lock or with the gate closed, so what is read stays true;
 * the entry is read whole, as it is written (frames_entry_put). Anything
 * else is -1, the general check's to decide (the caller's general
 * path). */
static inline int64_t frames_free_one_peek(const struct frames_db *db,
					   unsigned vm, uint64_t pa)
{
	uint64_t i = (pa - db->base) >> FRAMES_SHIFT;
	struct frames_entry e;

	if (!frames_vm_live(db, vm) || (pa & (FRAMES_SIZE - 1)) || i >= db->nr)
		return -1;
	e.word = __atomic_load_n(&db->entry[i].word, __ATOMIC_RELAXED);
	return e.state == EXO_FRAME_OWNED && e.owner == vm ? (int64_t)i : -1;
}

/* As the check found: frame i OWNED by vm, so charged to it. */
static inline void frames_free_one_commit(struct frames_db *db, unsigned vm,
					  uint64_t i)
{
	frames_set_one(db, i, EXO_FRAME_OWNED, EXO_FRAME_FREE, 0);
	db->acct[vm].used--;
}

/* OWNED(vm) or SHARED(vm) -> SHARED(vm) with borrower added (perm). */
int frames_share_check(const struct frames_db *db, unsigned vm,
		       unsigned borrower, uint64_t pa, uint64_t count,
		       enum frames_perm perm, unsigned nr_tables,
		       struct frames_op *op);
void frames_share_commit(struct frames_db *db, const struct frames_op *op);
/* The sender's side of a share of one frame (an offer's check): the
 * verdict of frames_share_check(db, vm, borrower, pa, 1, perm, 0, op) for
 * a valid perm, but for what is the recipient's or decided at its accept:
 * a shortage of share records (EXO_ENOMEM there) is not looked at. One
 * entry read, no op. Inline, as the one-frame pairs above: the common
 * case (two live guests, a frame the sender owns alone) answers here,
 * every other case is frames_share_one_general's, out of line. */
int frames_share_one_general(const struct frames_db *db, unsigned vm,
			     unsigned borrower, uint64_t pa);
static inline int frames_share_one_check(const struct frames_db *db,
					 unsigned vm, unsigned borrower,
					 uint64_t pa)
{
	uint64_t i = (pa - db->base) >> FRAMES_SHIFT;

	if (frames_vm_live(db, vm) && frames_vm_live(db, borrower) &&
	    vm != borrower && !(pa & (FRAMES_SIZE - 1)) && i < db->nr &&
	    db->entry[i].state == EXO_FRAME_OWNED && db->entry[i].owner == vm)
		return EXO_OK;
	return frames_share_one_general(db, vm, borrower, pa);
}
/* Removes borrower; the frame's last borrower leaving makes it OWNED.
 * nr_tables table frames are charged to the borrower (its unmap's split). */
int frames_unshare_check(const struct frames_db *db, unsigned vm,
			 unsigned borrower, uint64_t pa, uint64_t count,
			 unsigned nr_tables, struct frames_op *op);
void frames_unshare_commit(struct frames_db *db, const struct frames_op *op);

/* OWNED(vm) -> LENT(vm -> borrower) and back. Lend: own tables for vm's
 * unmap, peer tables for the borrower's map; reclaim: own tables for vm's
 * map, peer tables for the borrower's unmap. */
int frames_lend_check(const struct frames_db *db, unsigned vm,
		      unsigned borrower, uint64_t pa, uint64_t count,
		      struct frames_tables tables, struct frames_op *op);
void frames_lend_commit(struct frames_db *db, const struct frames_op *op);
int frames_reclaim_check(const struct frames_db *db, unsigned vm,
			 unsigned borrower, uint64_t pa, uint64_t count,
			 struct frames_tables tables, struct frames_op *op);
void frames_reclaim_commit(struct frames_db *db, const struct frames_op *op);

/* OWNED(vm) -> OWNED(to); the charge moves, refused over to's quota. Own
 * tables for vm's unmap, peer tables for to's map. */
int frames_donate_check(const struct frames_db *db, unsigned vm, unsigned to,
			uint64_t pa, uint64_t count, struct frames_tables tables,
			struct frames_op *op);
void frames_donate_commit(struct frames_db *db, const struct frames_op *op);

/* FREE -> HYP charged to vm: stage-2 table frames (found by the DB). */
int frames_table_check(const struct frames_db *db, unsigned vm,
		       unsigned nr_tables, struct frames_op *op);
void frames_table_commit(struct frames_db *db, const struct frames_op *op);
/* HYP charged to vm -> FREE: one table frame the caller has scrubbed. */
int frames_table_free_check(const struct frames_db *db, unsigned vm,
			    uint64_t pa, struct frames_op *op);
void frames_table_free_commit(struct frames_db *db,
			      const struct frames_op *op);

/* A whole registered device range: unassigned -> DEVICE(vm) and back. */
int frames_device_assign_check(const struct frames_db *db, unsigned vm,
			       uint64_t pa, uint64_t count,
			       unsigned nr_tables, struct frames_op *op);
void frames_device_assign_commit(struct frames_db *db,
				 const struct frames_op *op);
int frames_device_release_check(const struct frames_db *db, unsigned vm,
				uint64_t pa, uint64_t count,
				struct frames_op *op);
void frames_device_release_commit(struct frames_db *db,
				  const struct frames_op *op);

/* The table frames a check reserved, one per call: the frame and the VM it
 * is charged to (the first op->nr_own_tables to op->vm). Valid between the
 * check and its commit: the caller puts them in the stage-2 page caches
 * before the commit. */
bool frames_op_table_next(const struct frames_db *db,
			  const struct frames_op *op,
			  struct frames_table_cursor *c, uint64_t *pa,
			  unsigned *vm);

/* --- queries ---------------------------------------------------------- */
/* EXO_ERANGE if pa is neither in the span nor a registered device. */
int frames_query(const struct frames_db *db, uint64_t pa,
		 struct frames_info *info);
/* May vm access pa, and how? The stage-2 invariant check uses this. */
enum frames_access frames_access(const struct frames_db *db, unsigned vm,
				 uint64_t pa);
/* Frames of the span in a state; DEVICE: assigned device frames. */
uint64_t frames_count(const struct frames_db *db, enum exo_frame_state s);
/* Frames still held by guests (nonzero = a leak when all guests are gone). */
uint64_t frames_guest_held(const struct frames_db *db);
/* NULL for an id out of range. */
const struct frames_account *frames_account(const struct frames_db *db,
					    unsigned vm);
/* Next run of what vm holds at or after *cursor (start with 0); false at
 * the end. For teardown: undo each run with the matching transition. */
bool frames_vm_next(const struct frames_db *db, unsigned vm,
		    uint64_t *cursor, struct frames_run *run);

/* --- self-test ---------------------------------------------------------- */
size_t frames_selftest_scratch_size(void);
/* Every transition from every state against the expected table; returns
 * the number of failures (each printed with kprintf). */
int frames_selftest(void *scratch, size_t scratch_size);

#endif
