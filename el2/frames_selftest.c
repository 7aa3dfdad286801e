/*
 * The frame DB's boot self-test, after pKVM's: every transition from every
 * state, legal and illegal, against a table of expected results. It builds
 * small DBs in the caller's scratch memory and never touches the live DB.
 * Each case also proves that a refused check changed nothing.
 */
#include <el2/frames.h>
#include <lib/print.h>
#include <string.h>

#define ST_FRAMES 16
#define ST_SHARES 8
#define ST_BASE UINT64_C(0x40000000)
#define ST_SUBJECT 4   /* index of the frame under test */
#define ST_DEV_BASE UINT64_C(0x09000000)
#define ST_QUOTA 8
#define ST_VM_A 1
#define ST_VM_B 2

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

enum st_state {
	S_NONE, S_FREE, S_HYP, S_TABLE_A, S_OWNED_A, S_OWNED_B, S_SHARED_AB,
	S_SHARED_BA, S_LENT_AB, S_LENT_BA, S_DEV_FREE, S_DEV_A, S_DEV_B,
	NR_ST_STATES
};

enum st_op {
	T_CLAIM, T_RELEASE, T_ALLOC, T_ALLOC_AT, T_FREE, T_SHARE, T_UNSHARE,
	T_LEND, T_RECLAIM, T_DONATE, T_TABLE, T_TABLE_FREE, T_DEV_ASSIGN,
	T_DEV_RELEASE, NR_ST_OPS
};

static const char *const st_state_name[NR_ST_STATES] = {
	"NONE", "FREE", "HYP", "HYP(table A)", "OWNED(A)", "OWNED(B)",
	"SHARED(A->B)", "SHARED(B->A)", "LENT(A->B)", "LENT(B->A)",
	"DEVICE(-)", "DEVICE(A)", "DEVICE(B)",
};

static const char *const st_op_name[NR_ST_OPS] = {
	"hyp_claim", "hyp_release", "alloc", "alloc_at", "free", "share",
	"unshare", "lend", "reclaim", "donate", "table", "table_free",
	"device_assign", "device_release",
};

/* What the subject frame looks like in each state. */
struct st_desc {
	enum exo_frame_state state;
	frames_vm_t owner, peer;
	frames_vm_t borrower;   /* SHARED: its one borrower */
	enum frames_access a, b;   /* access of VM A and VM B */
};

#define NA FRAMES_ACCESS_NONE
#define RD FRAMES_ACCESS_R
#define RW FRAMES_ACCESS_RW
#define DV FRAMES_ACCESS_DEVICE

static const struct st_desc st_desc[NR_ST_STATES] = {
	[S_NONE] = { EXO_FRAME_NONE, 0, 0, 0, NA, NA },
	[S_FREE] = { EXO_FRAME_FREE, 0, 0, 0, NA, NA },
	[S_HYP] = { EXO_FRAME_HYP, 0, 0, 0, NA, NA },
	[S_TABLE_A] = { EXO_FRAME_HYP, ST_VM_A, 0, 0, NA, NA },
	[S_OWNED_A] = { EXO_FRAME_OWNED, ST_VM_A, 0, 0, RW, NA },
	[S_OWNED_B] = { EXO_FRAME_OWNED, ST_VM_B, 0, 0, NA, RW },
	[S_SHARED_AB] = { EXO_FRAME_SHARED, ST_VM_A, 0, ST_VM_B, RW, RD },
	[S_SHARED_BA] = { EXO_FRAME_SHARED, ST_VM_B, 0, ST_VM_A, RD, RW },
	[S_LENT_AB] = { EXO_FRAME_LENT, ST_VM_A, ST_VM_B, 0, NA, RW },
	[S_LENT_BA] = { EXO_FRAME_LENT, ST_VM_B, ST_VM_A, 0, RW, NA },
	[S_DEV_FREE] = { EXO_FRAME_DEVICE, 0, 0, 0, NA, NA },
	[S_DEV_A] = { EXO_FRAME_DEVICE, ST_VM_A, 0, 0, DV, NA },
	[S_DEV_B] = { EXO_FRAME_DEVICE, ST_VM_B, 0, 0, NA, DV },
};

/* Expected result of op (acting VM A, other VM B) on the subject frame. */
struct st_expect {
	int8_t rc;
	uint8_t after;   /* enum st_state, when rc is EXO_OK */
};

#define OK(s) { EXO_OK, s }
#define E(e) { EXO_E##e, 0 }
#define ALL_RANGE                                                            \
	{ E(RANGE), E(RANGE), E(NOMEM), E(RANGE), E(RANGE), E(RANGE),       \
	  E(RANGE), E(RANGE), E(RANGE), E(RANGE), E(NOMEM), E(RANGE),       \
	  E(RANGE), E(RANGE) }
#define NOT_MINE                                                             \
	E(BUSY), E(STATE), E(NOMEM), E(BUSY), E(PERM), E(PERM), E(PERM),    \
	E(PERM), E(PERM), E(PERM), E(NOMEM), E(STATE), E(RANGE), E(RANGE)
#define HYP_ROW(release, table_free)                                         \
	E(HYP), release, E(NOMEM), E(HYP), E(HYP), E(HYP), E(HYP), E(HYP),  \
	E(HYP), E(HYP), E(NOMEM), table_free, E(RANGE), E(RANGE)
#define DEVICE_ROW(assign, release)                                          \
	E(DEVICE), E(DEVICE), E(NOMEM), E(DEVICE), E(DEVICE), E(DEVICE),    \
	E(DEVICE), E(DEVICE), E(DEVICE), E(DEVICE), E(NOMEM), E(DEVICE),    \
	assign, release

/* Columns in enum st_op order. alloc and table search the whole DB, in
 * which only the subject frame may be FREE. */
static const struct st_expect st_table[NR_ST_STATES][NR_ST_OPS] = {
	[S_NONE] = ALL_RANGE,
	[S_FREE] = { OK(S_HYP), E(STATE), OK(S_OWNED_A), OK(S_OWNED_A),
		     E(PERM), E(PERM), E(PERM), E(PERM), E(PERM), E(PERM),
		     OK(S_TABLE_A), E(STATE), E(RANGE), E(RANGE) },
	[S_HYP] = { HYP_ROW(OK(S_FREE), E(PERM)) },
	[S_TABLE_A] = { HYP_ROW(E(STATE), OK(S_FREE)) },
	[S_OWNED_A] = { E(BUSY), E(STATE), E(NOMEM), E(BUSY), OK(S_FREE),
			OK(S_SHARED_AB), E(STATE), OK(S_LENT_AB), E(STATE),
			OK(S_OWNED_B), E(NOMEM), E(STATE), E(RANGE),
			E(RANGE) },
	[S_OWNED_B] = { NOT_MINE },
	[S_SHARED_AB] = { E(BUSY), E(STATE), E(NOMEM), E(BUSY), E(SHARED),
			  E(STATE), OK(S_OWNED_A), E(SHARED), E(STATE),
			  E(SHARED), E(NOMEM), E(STATE), E(RANGE),
			  E(RANGE) },
	[S_SHARED_BA] = { NOT_MINE },
	[S_LENT_AB] = { E(BUSY), E(STATE), E(NOMEM), E(BUSY), E(LENT),
			E(LENT), E(LENT), E(LENT), OK(S_OWNED_A), E(LENT),
			E(NOMEM), E(STATE), E(RANGE), E(RANGE) },
	[S_LENT_BA] = { NOT_MINE },
	[S_DEV_FREE] = { DEVICE_ROW(OK(S_DEV_A), E(STATE)) },
	[S_DEV_A] = { DEVICE_ROW(E(STATE), OK(S_DEV_FREE)) },
	[S_DEV_B] = { DEVICE_ROW(E(BUSY), E(PERM)) },
};

static bool st_is_device(enum st_state s)
{
	return s >= S_DEV_FREE;
}

static uint64_t st_pa(enum st_state s)
{
	return st_is_device(s) ? ST_DEV_BASE
			       : ST_BASE + ST_SUBJECT * FRAMES_SIZE;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV_PRIME;
	return h;
}

/* Everything a check could change, hashed. */
static uint64_t st_hash(const struct frames_db *db)
{
	uint64_t h = fnv(FNV_OFFSET, db, sizeof(*db));

	return fnv(h, db->entry, frames_storage_size(db->nr, db->nr_shares));
}

/* --- building a state with the DB's own transitions ------------------- */

static uint64_t st_frame(uint64_t i)
{
	return ST_BASE + i * FRAMES_SIZE;
}

static int st_claim(struct frames_db *db, uint64_t pa, uint64_t count)
{
	struct frames_op op;
	int rc = frames_hyp_claim_check(db, pa, count, &op);

	if (!rc)
		frames_hyp_claim_commit(db, &op);
	return rc;
}

static int st_release(struct frames_db *db, uint64_t pa, uint64_t count)
{
	struct frames_op op;
	int rc = frames_hyp_release_check(db, pa, count, &op);

	if (!rc)
		frames_hyp_release_commit(db, &op);
	return rc;
}

static int st_alloc_at(struct frames_db *db, unsigned vm, uint64_t pa)
{
	struct frames_op op;
	int rc = frames_alloc_at_check(db, vm, pa, 1, 0, &op);

	if (!rc)
		frames_alloc_commit(db, &op);
	return rc;
}

static int st_share(struct frames_db *db, unsigned vm, unsigned to,
		    uint64_t pa)
{
	struct frames_op op;
	int rc = st_alloc_at(db, vm, pa);

	if (!rc)
		rc = frames_share_check(db, vm, to, pa, 1, FRAMES_PERM_R, 0,
					&op);
	if (!rc)
		frames_share_commit(db, &op);
	return rc;
}

static int st_lend(struct frames_db *db, unsigned vm, unsigned to,
		   uint64_t pa)
{
	struct frames_op op;
	int rc = st_alloc_at(db, vm, pa);

	if (!rc)
		rc = frames_lend_check(db, vm, to, pa, 1,
				       (struct frames_tables){ 0, 0 }, &op);
	if (!rc)
		frames_lend_commit(db, &op);
	return rc;
}

/* A table frame for A exactly at pa: the only FREE frame above it. */
static int st_table_frame(struct frames_db *db, uint64_t pa)
{
	uint64_t above = ST_FRAMES - ST_SUBJECT - 1;
	struct frames_table_cursor c = { 0 };
	struct frames_op op;
	uint64_t found;
	unsigned vm;
	int rc = st_claim(db, pa + FRAMES_SIZE, above);

	if (!rc)
		rc = frames_table_check(db, ST_VM_A, 1, &op);
	if (!rc && (!frames_op_table_next(db, &op, &c, &found, &vm) ||
		    found != pa || vm != ST_VM_A))
		rc = EXO_ESTATE;
	if (!rc)
		frames_table_commit(db, &op);
	return rc ? rc : st_release(db, pa + FRAMES_SIZE, above);
}

static int st_assign(struct frames_db *db, unsigned vm)
{
	struct frames_op op;
	int rc = frames_device_assign_check(db, vm, ST_DEV_BASE, 1, 0, &op);

	if (!rc)
		frames_device_assign_commit(db, &op);
	return rc;
}

static int st_setup(struct frames_db *db, enum st_state s, uint64_t pa)
{
	switch (s) {
	case S_HYP:
		return st_claim(db, pa, 1);
	case S_TABLE_A:
		return st_table_frame(db, pa);
	case S_OWNED_A:
		return st_alloc_at(db, ST_VM_A, pa);
	case S_OWNED_B:
		return st_alloc_at(db, ST_VM_B, pa);
	case S_SHARED_AB:
		return st_share(db, ST_VM_A, ST_VM_B, pa);
	case S_SHARED_BA:
		return st_share(db, ST_VM_B, ST_VM_A, pa);
	case S_LENT_AB:
		return st_lend(db, ST_VM_A, ST_VM_B, pa);
	case S_LENT_BA:
		return st_lend(db, ST_VM_B, ST_VM_A, pa);
	case S_DEV_A:
		return st_assign(db, ST_VM_A);
	case S_DEV_B:
		return st_assign(db, ST_VM_B);
	default:
		return EXO_OK;
	}
}

/* Leaves the subject the only frame alloc or table could pick. */
static int st_isolate(struct frames_db *db, enum st_state s)
{
	uint64_t keep = st_is_device(s) ? ST_FRAMES : ST_SUBJECT;
	struct frames_info f;
	int rc = EXO_OK;

	for (uint64_t i = 0; i < ST_FRAMES && !rc; i++) {
		if (i == keep || frames_query(db, st_frame(i), &f) ||
		    f.state != EXO_FRAME_FREE)
			continue;
		rc = st_claim(db, st_frame(i), 1);
	}
	return rc;
}

static int st_ram(struct frames_db *db, enum st_state s)
{
	if (s != S_NONE)
		return frames_ram_add(db, ST_BASE, ST_FRAMES);
	return frames_ram_add(db, ST_BASE, ST_SUBJECT) ||
	       frames_ram_add(db, st_frame(ST_SUBJECT + 1),
			      ST_FRAMES - ST_SUBJECT - 1);
}

static int st_build(struct frames_db *db, void *storage, size_t size,
		    enum st_state s)
{
	if (frames_init(db, ST_BASE, ST_FRAMES, ST_SHARES, storage, size) ||
	    frames_vm_create(db, ST_VM_A, ST_QUOTA) ||
	    frames_vm_create(db, ST_VM_B, ST_QUOTA) ||
	    frames_device_add(db, ST_DEV_BASE, 1) || st_ram(db, s))
		return EXO_EINVAL;
	if (st_setup(db, s, st_pa(s)))
		return EXO_ESTATE;
	return st_isolate(db, s);
}

/* --- one case: op t by A (other VM B) on the subject in state s --------- */

static int st_check(const struct frames_db *db, enum st_op t, uint64_t pa,
		    struct frames_op *op)
{
	const struct frames_tables no_tables = { 0, 0 };

	switch (t) {
	case T_CLAIM:
		return frames_hyp_claim_check(db, pa, 1, op);
	case T_RELEASE:
		return frames_hyp_release_check(db, pa, 1, op);
	case T_ALLOC:
		return frames_alloc_check(db, ST_VM_A, 1, 0, 0, op);
	case T_ALLOC_AT:
		return frames_alloc_at_check(db, ST_VM_A, pa, 1, 0, op);
	case T_FREE:
		return frames_free_check(db, ST_VM_A, pa, 1, 0, op);
	case T_SHARE:
		return frames_share_check(db, ST_VM_A, ST_VM_B, pa, 1,
					  FRAMES_PERM_R, 0, op);
	case T_UNSHARE:
		return frames_unshare_check(db, ST_VM_A, ST_VM_B, pa, 1, 0, op);
	case T_LEND:
		return frames_lend_check(db, ST_VM_A, ST_VM_B, pa, 1, no_tables,
					 op);
	case T_RECLAIM:
		return frames_reclaim_check(db, ST_VM_A, ST_VM_B, pa, 1,
					    no_tables, op);
	case T_DONATE:
		return frames_donate_check(db, ST_VM_A, ST_VM_B, pa, 1,
					   no_tables, op);
	case T_TABLE:
		return frames_table_check(db, ST_VM_A, 1, op);
	case T_TABLE_FREE:
		return frames_table_free_check(db, ST_VM_A, pa, op);
	case T_DEV_ASSIGN:
		return frames_device_assign_check(db, ST_VM_A, pa, 1, 0, op);
	case T_DEV_RELEASE:
	default:
		return frames_device_release_check(db, ST_VM_A, pa, 1, op);
	}
}

typedef void (*st_commit_fn)(struct frames_db *db, const struct frames_op *op);

static const st_commit_fn st_commit[NR_ST_OPS] = {
	[T_CLAIM] = frames_hyp_claim_commit,
	[T_RELEASE] = frames_hyp_release_commit,
	[T_ALLOC] = frames_alloc_commit,
	[T_ALLOC_AT] = frames_alloc_commit,
	[T_FREE] = frames_free_commit,
	[T_SHARE] = frames_share_commit,
	[T_UNSHARE] = frames_unshare_commit,
	[T_LEND] = frames_lend_commit,
	[T_RECLAIM] = frames_reclaim_commit,
	[T_DONATE] = frames_donate_commit,
	[T_TABLE] = frames_table_commit,
	[T_TABLE_FREE] = frames_table_free_commit,
	[T_DEV_ASSIGN] = frames_device_assign_commit,
	[T_DEV_RELEASE] = frames_device_release_commit,
};

/* Does the subject look like state s, to the DB and to VMs A and B? */
static bool st_matches(const struct frames_db *db, enum st_state s)
{
	const struct st_desc *d = &st_desc[s];
	uint64_t pa = st_pa(s), total = 0;
	struct frames_info f;

	for (int st = EXO_FRAME_NONE; st < EXO_FRAME_DEVICE; st++)
		total += frames_count(db, (enum exo_frame_state)st);
	if (total != ST_FRAMES || frames_query(db, pa, &f))
		return false;
	return f.state == d->state && f.owner == d->owner &&
	       f.peer == d->peer &&
	       frames_share_first(&f.share) == d->borrower &&
	       frames_access(db, ST_VM_A, pa) == d->a &&
	       frames_access(db, ST_VM_B, pa) == d->b;
}

static int st_case(struct frames_db *db, void *storage, size_t size,
		   enum st_state s, enum st_op t)
{
	const struct st_expect *want = &st_table[s][t];
	struct frames_op op;
	uint64_t before;
	int rc;

	if (st_build(db, storage, size, s) || !st_matches(db, s)) {
		kprintf("frames: self-test: cannot build %s\n",
			st_state_name[s]);
		return 1;
	}
	before = st_hash(db);
	rc = st_check(db, t, st_pa(s), &op);
	if (rc != want->rc || (rc && st_hash(db) != before)) {
		kprintf("frames: self-test: %s from %s: %d, want %d%s\n",
			st_op_name[t], st_state_name[s], rc, want->rc,
			st_hash(db) != before ? " (check changed the DB)" : "");
		return 1;
	}
	if (rc)
		return 0;
	st_commit[t](db, &op);
	if (!st_matches(db, want->after)) {
		kprintf("frames: self-test: %s from %s: not %s after commit\n",
			st_op_name[t], st_state_name[s],
			st_state_name[want->after]);
		return 1;
	}
	return 0;
}

size_t frames_selftest_scratch_size(void)
{
	return sizeof(uint64_t) + sizeof(struct frames_db) +
	       frames_storage_size(ST_FRAMES, ST_SHARES);
}

int frames_selftest(void *scratch, size_t scratch_size)
{
	uintptr_t p = ((uintptr_t)scratch + sizeof(uint64_t) - 1) &
		      ~(uintptr_t)(sizeof(uint64_t) - 1);
	struct frames_db *db = (struct frames_db *)p;
	size_t size = frames_storage_size(ST_FRAMES, ST_SHARES);
	int failed = 0;

	if (!scratch || scratch_size < frames_selftest_scratch_size()) {
		kprintf("frames: self-test: scratch too small\n");
		return 1;
	}
	for (int s = 0; s < NR_ST_STATES; s++)
		for (int t = 0; t < NR_ST_OPS; t++)
			failed += st_case(db, db + 1, size, (enum st_state)s,
					  (enum st_op)t);
	kprintf("frames: self-test: %d transitions from %d states, %d failed\n",
		NR_ST_OPS, NR_ST_STATES, failed);
	return failed;
}
