/*
 * The frame ownership DB (see frames.h): a flat array of entries over the
 * RAM span, share records for frames with borrowers, a small table of
 * device ranges and one account per VM. Checks read only; commits apply a
 * checked op and cannot fail. Never maps, scrubs or allocates memory, and
 * never CHECKs a guest-controlled value: a CHECK here means EL2 broke the
 * check-then-commit rule.
 */
#include <el2/frames.h>
#include <lib/panic.h>
#include <string.h>

/* --- helpers -------------------------------------------------------- */

static uint64_t pa_of(const struct frames_db *db, uint64_t i)
{
	return db->base + (i << FRAMES_SHIFT);
}

static uint64_t idx_of(const struct frames_db *db, uint64_t pa)
{
	return (pa - db->base) >> FRAMES_SHIFT;
}

static uint64_t span_last(const struct frames_db *db)
{
	return db->base + ((db->nr << FRAMES_SHIFT) - 1);
}

static bool in_span(const struct frames_db *db, uint64_t pa)
{
	return db->nr && pa >= db->base && pa <= span_last(db);
}

static bool vm_live(const struct frames_db *db, unsigned vm)
{
	return frames_vm_live(db, vm);
}

static bool overlaps(uint64_t a, uint64_t a_last, uint64_t b, uint64_t b_last)
{
	return a <= b_last && b <= a_last;
}

/* Last byte of [pa, pa + count frames), refusing empty, unaligned and
 * wrapping ranges. */
static int range_last(uint64_t pa, uint64_t count, uint64_t *last)
{
	uint64_t len;

	if (!count)
		return EXO_EINVAL;
	if (pa & (FRAMES_SIZE - 1) || count > (UINT64_MAX >> FRAMES_SHIFT))
		return EXO_ERANGE;
	len = count << FRAMES_SHIFT;
	if (len - 1 > UINT64_MAX - pa)
		return EXO_ERANGE;
	*last = pa + (len - 1);
	return EXO_OK;
}

static uint64_t device_last(const struct frames_device *d)
{
	return d->base + ((d->count << FRAMES_SHIFT) - 1);
}

static bool device_overlaps(const struct frames_db *db, uint64_t pa,
			    uint64_t last)
{
	for (unsigned i = 0; i < db->nr_devices; i++)
		if (overlaps(pa, last, db->device[i].base,
			     device_last(&db->device[i])))
			return true;
	return false;
}

/* A range every frame of which lies in the span. No device range meets
 * the span (frames_device_add), so a range inside it is one without the
 * device search. */
static int ram_range(const struct frames_db *db, uint64_t pa, uint64_t count)
{
	uint64_t last;
	int rc = range_last(pa, count, &last);

	if (rc)
		return rc;
	if (in_span(db, pa) && last <= span_last(db))
		return EXO_OK;
	if (device_overlaps(db, pa, last))
		return EXO_EDEVICE;
	if (!in_span(db, pa) || last > span_last(db))
		return EXO_ERANGE;
	return EXO_OK;
}

/* Per-frame verdict of one transition; the first refusal wins. */
typedef int (*frame_check_fn)(const struct frames_db *db,
			      const struct frames_entry *e,
			      const struct frames_op *op);

/* Inline at every call: the verdict is a constant there and is inlined
 * too, no call through a pointer per frame. */
static inline __attribute__((always_inline)) int
each_frame(const struct frames_db *db, const struct frames_op *op,
	   frame_check_fn check)
{
	uint64_t first = idx_of(db, op->pa);

	for (uint64_t i = 0; i < op->count; i++) {
		int rc = check(db, &db->entry[first + i], op);

		if (rc)
			return rc;
	}
	return EXO_OK;
}

/* Would charging count + extra frames keep vm within its quota? */
static int quota_check(const struct frames_db *db, unsigned vm, uint64_t count,
		       uint64_t extra)
{
	const struct frames_account *a = &db->acct[vm];
	uint64_t avail = a->used < a->quota ? a->quota - a->used : 0;

	if (count > avail || extra > avail - count)
		return EXO_EQUOTA;
	return EXO_OK;
}

static void op_init(struct frames_op *op, enum frames_op_kind kind, unsigned vm,
		    unsigned peer, uint64_t pa, uint64_t count)
{
	/* Field by field: no memset of the whole op on every call. */
	op->kind = kind;
	op->vm = (frames_vm_t)vm;
	op->peer = (frames_vm_t)peer;
	op->perm = 0;
	op->pa = pa;
	op->count = count;
	op->device = 0;
	op->shares = 0;
	op->tables_vm = 0;
	op->nr_own_tables = 0;
	op->nr_tables = 0;
	op->tables_skip = 0;
	op->tables_skip_count = 0;
	op->tables_first = 0;
}

/* Argument checks shared by transitions between two guests. */
static int pair_check(const struct frames_db *db, unsigned vm, unsigned peer)
{
	if (!vm_live(db, vm) || !vm_live(db, peer))
		return EXO_ENOENT;
	return vm == peer ? EXO_EINVAL : EXO_OK;
}

static void update_hints(struct frames_db *db, uint64_t i, unsigned state)
{
	frames_update_hints(db, i, state);
}

static void set_frame(struct frames_db *db, uint64_t i, unsigned state,
		      unsigned owner, unsigned peer)
{
	struct frames_entry e = db->entry[i];

	db->count[e.state]--;
	db->count[state]++;
	e.state = (uint8_t)state;
	e.owner = (frames_vm_t)owner;
	/* Spans are guests' (owner 0: EL2's own, or nobody's). */
	if (owner != FRAMES_VM_EL2 && state == EXO_FRAME_HYP)
		frames_span_widen(&db->acct[owner].tables_lo,
				  &db->acct[owner].tables_hi, i);
	else if (owner != FRAMES_VM_EL2)
		frames_span_note(db, owner, i);
	if (state == EXO_FRAME_LENT) {
		e.share = 0;   /* its upper half, beside peer */
		e.peer = (frames_vm_t)peer;
		frames_span_note(db, peer, i);
	} else if (state != EXO_FRAME_SHARED) {
		e.share = FRAMES_SHARE_NONE;
	}
	frames_entry_put(&db->entry[i], e);   /* whole: frames_free_one_peek */
	update_hints(db, i, state);
}

static void set_range(struct frames_db *db, const struct frames_op *op,
		      unsigned state, unsigned owner, unsigned peer)
{
	uint64_t first = idx_of(db, op->pa);

	for (uint64_t i = 0; i < op->count; i++)
		set_frame(db, first + i, state, owner, peer);
}

static void charge(struct frames_db *db, unsigned vm, uint64_t n)
{
	struct frames_account *a = &db->acct[vm];

	a->used += n;
	if (a->used > a->peak)
		a->peak = a->used;
}

static void uncharge(struct frames_db *db, unsigned vm, uint64_t n)
{
	CHECK(db->acct[vm].used >= n);
	db->acct[vm].used -= n;
}

/* --- table frames ----------------------------------------------------- */

/* The next table frame of op at or below *i: the highest FREE frame
 * outside the op's own run. */
static bool table_frame_next(const struct frames_db *db,
			     const struct frames_op *op, uint64_t *i)
{
	while ((*i)-- > db->lo_free) {
		if (db->entry[*i].state == EXO_FRAME_FREE &&
		    !(*i >= op->tables_skip &&
		      *i - op->tables_skip < op->tables_skip_count))
			return true;
	}
	return false;
}

/* Reserves n FREE frames outside [skip, skip + skip_count) for vm's
 * stage-2, from the top of RAM so guest runs below stay contiguous. Only
 * their number is kept: until the next commit the same search finds the
 * same frames (frames_op_table_next), so an op of any size fits in
 * struct frames_op. */
static int tables_reserve(const struct frames_db *db, unsigned vm, unsigned n,
			  uint64_t skip, uint64_t skip_count,
			  struct frames_op *op)
{
	uint64_t i = db->hi_free;
	unsigned found = 0;

	op->tables_vm = (frames_vm_t)vm;
	op->tables_skip = skip;
	op->tables_skip_count = skip_count;
	while (found < n && table_frame_next(db, op, &i)) {
		if (!found)
			op->tables_first = i;
		found++;
	}
	op->nr_tables = found;
	return found == n ? EXO_OK : EXO_ENOMEM;
}

bool frames_op_table_next(const struct frames_db *db,
			  const struct frames_op *op,
			  struct frames_table_cursor *c, uint64_t *pa,
			  unsigned *vm)
{
	if (!c->started) {
		*c = (struct frames_table_cursor){ .next = db->hi_free,
						   .started = true };
	}
	if (c->taken == op->nr_tables || !table_frame_next(db, op, &c->next))
		return false;
	/* The search finds what the check found only until a commit: the
	 * caller took them after one (a bug of EL2's, never a guest's). */
	CHECK(c->taken || c->next == op->tables_first);
	*pa = pa_of(db, c->next);
	*vm = c->taken++ < op->nr_own_tables ? op->vm : op->tables_vm;
	return true;
}

/* Table frames for both VMs of a transition, in one pass: the first
 * t.own for op->vm, the rest for op->peer. */
static int tables_reserve_pair(const struct frames_db *db,
			       struct frames_tables t, struct frames_op *op)
{
	int rc = tables_reserve(db, op->peer, t.own + t.peer, 0, 0, op);

	op->nr_own_tables = t.own;
	return rc;
}

static bool tables_too_many(struct frames_tables t)
{
	return t.own > FRAMES_OP_MAX_TABLES || t.peer > FRAMES_OP_MAX_TABLES;
}

static void tables_charge(struct frames_db *db, unsigned vm, unsigned n)
{
	charge(db, vm, n);
	db->acct[vm].tables += n;
	db->hyp_charged += n;
}

static void tables_commit(struct frames_db *db, const struct frames_op *op)
{
	struct frames_table_cursor c = { 0 };
	unsigned taken = 0, vm;
	uint64_t pa;

	if (!op->nr_tables)
		return;
	while (frames_op_table_next(db, op, &c, &pa, &vm)) {
		set_frame(db, idx_of(db, pa), EXO_FRAME_HYP, vm, 0);
		taken++;
	}
	CHECK(taken == op->nr_tables); /* no commit ran since the check */
	if (op->nr_own_tables)
		tables_charge(db, op->vm, op->nr_own_tables);
	tables_charge(db, op->tables_vm, op->nr_tables - op->nr_own_tables);
}

/* --- set-up ------------------------------------------------------------ */

size_t frames_storage_size(uint64_t nr_frames, uint32_t nr_shares)
{
	uint64_t shares = (uint64_t)nr_shares * sizeof(struct frames_share);

	if (nr_frames > (SIZE_MAX - shares) / sizeof(struct frames_entry))
		return 0;
	return (size_t)(nr_frames * sizeof(struct frames_entry) + shares);
}

static void shares_init(struct frames_db *db)
{
	db->share_free = db->nr_shares ? 0 : FRAMES_SHARE_NONE;
	db->shares_left = db->nr_shares;
	for (uint32_t s = 0; s < db->nr_shares; s++)
		db->share[s] = (struct frames_share){
			.next_free = s + 1 < db->nr_shares ? s + 1
							   : FRAMES_SHARE_NONE };
}

int frames_init(struct frames_db *db, uint64_t base, uint64_t nr_frames,
		uint32_t nr_shares, void *storage, size_t size)
{
	size_t need = frames_storage_size(nr_frames, nr_shares);
	uint64_t last;

	if (!nr_frames || nr_frames > UINT32_MAX || !need || size < need ||
	    (uintptr_t)storage % sizeof(uint64_t) ||
	    nr_shares == FRAMES_SHARE_NONE)
		return EXO_EINVAL;
	if (range_last(base, nr_frames, &last))
		return EXO_ERANGE;
	memset(db, 0, sizeof(*db));
	db->base = base;
	db->nr = nr_frames;
	db->entry = storage;
	db->share = (struct frames_share *)(db->entry + nr_frames);
	db->nr_shares = nr_shares;
	for (uint64_t i = 0; i < nr_frames; i++)
		db->entry[i] = (struct frames_entry){
		    .state = EXO_FRAME_NONE, .share = FRAMES_SHARE_NONE};
	db->count[EXO_FRAME_NONE] = nr_frames;
	shares_init(db);
	return EXO_OK;
}

int frames_ram_add(struct frames_db *db, uint64_t pa, uint64_t count)
{
	int rc = ram_range(db, pa, count);
	uint64_t first;

	if (rc)
		return rc;
	first = idx_of(db, pa);
	for (uint64_t i = 0; i < count; i++)
		if (db->entry[first + i].state != EXO_FRAME_NONE)
			return EXO_ESTATE;
	/* Boot time, all of RAM: one store per entry, the counts and the
	 * hints once (set_frame per frame was most of EL2's boot). */
	for (uint64_t i = 0; i < count; i++)
		db->entry[first + i] = (struct frames_entry){
			.state = EXO_FRAME_FREE, .share = FRAMES_SHARE_NONE };
	db->count[EXO_FRAME_NONE] -= count;
	db->count[EXO_FRAME_FREE] += count;
	if (first < db->lo_free || db->lo_free >= db->hi_free)
		db->lo_free = first;
	if (first + count > db->hi_free)
		db->hi_free = first + count;
	return EXO_OK;
}

int frames_device_add(struct frames_db *db, uint64_t pa, uint64_t count)
{
	uint64_t last;
	int rc = range_last(pa, count, &last);

	if (rc)
		return rc;
	if (db->nr && overlaps(pa, last, db->base, span_last(db)))
		return EXO_ERANGE;
	if (device_overlaps(db, pa, last))
		return EXO_EBUSY;
	if (db->nr_devices == FRAMES_MAX_DEVICES)
		return EXO_ENOMEM;
	db->device[db->nr_devices++] =
	    (struct frames_device){.base = pa, .count = count, .owner = 0};
	return EXO_OK;
}

int frames_vm_create(struct frames_db *db, unsigned vm, uint64_t quota)
{
	if (vm == FRAMES_VM_EL2 || vm >= EXO_MAX_VMS)
		return EXO_ENOENT;
	if (db->acct[vm].live)
		return EXO_EBUSY;
	db->acct[vm] = (struct frames_account){ .quota = quota, .live = true,
						.span_lo = UINT32_MAX,
						.tables_lo = UINT32_MAX };
	return EXO_OK;
}

int frames_vm_destroy(struct frames_db *db, unsigned vm)
{
	const struct frames_account *a;

	if (!vm_live(db, vm))
		return EXO_ENOENT;
	a = &db->acct[vm];
	if (a->used || a->borrowed || a->devices)
		return EXO_EBUSY;
	db->acct[vm].live = false;
	return EXO_OK;
}

/* --- per-frame verdicts ------------------------------------------------- */

/* The refusals every guest transition on its own frames shares. */
static int owner_err(const struct frames_entry *e, unsigned vm)
{
	switch (e->state) {
	case EXO_FRAME_NONE:
		return EXO_ERANGE;
	case EXO_FRAME_FREE:
		return EXO_EPERM;
	case EXO_FRAME_HYP:
		return EXO_EHYP;
	case EXO_FRAME_OWNED:
	case EXO_FRAME_SHARED:
	case EXO_FRAME_LENT:
		return e->owner == vm ? EXO_OK : EXO_EPERM;
	default:
		return EXO_ESTATE;
	}
}

/* OWNED(vm) exactly: free, lend, donate. */
static int frame_exclusive(const struct frames_db *db,
			   const struct frames_entry *e,
			   const struct frames_op *op)
{
	int rc = owner_err(e, op->vm);

	(void)db;
	if (rc)
		return rc;
	if (e->state == EXO_FRAME_SHARED)
		return EXO_ESHARED;
	return e->state == EXO_FRAME_LENT ? EXO_ELENT : EXO_OK;
}

static int frame_claim(const struct frames_db *db, const struct frames_entry *e,
		       const struct frames_op *op)
{
	(void)db;
	(void)op;
	switch (e->state) {
	case EXO_FRAME_NONE:
		return EXO_ERANGE;
	case EXO_FRAME_FREE:
		return EXO_OK;
	case EXO_FRAME_HYP:
		return EXO_EHYP;
	default:
		return EXO_EBUSY;
	}
}

static int frame_release(const struct frames_db *db,
			 const struct frames_entry *e,
			 const struct frames_op *op)
{
	(void)db;
	(void)op;
	if (e->state == EXO_FRAME_NONE)
		return EXO_ERANGE;
	if (e->state == EXO_FRAME_HYP && e->owner == FRAMES_VM_EL2)
		return EXO_OK;
	return EXO_ESTATE;
}

static int frame_reclaim(const struct frames_db *db,
			 const struct frames_entry *e,
			 const struct frames_op *op)
{
	int rc = owner_err(e, op->vm);

	(void)db;
	if (rc)
		return rc;
	if (e->state == EXO_FRAME_LENT && e->peer == op->peer)
		return EXO_OK;
	return EXO_ESTATE;
}

static int frame_table_free(const struct frames_db *db,
			    const struct frames_entry *e,
			    const struct frames_op *op)
{
	(void)db;
	if (e->state == EXO_FRAME_NONE)
		return EXO_ERANGE;
	if (e->state != EXO_FRAME_HYP)
		return EXO_ESTATE;
	return e->owner == op->vm ? EXO_OK : EXO_EPERM;
}

/* --- boot-time HYP frames ----------------------------------------------- */

int frames_hyp_claim_check(const struct frames_db *db, uint64_t pa,
			   uint64_t count, struct frames_op *op)
{
	int rc = ram_range(db, pa, count);

	op_init(op, FRAMES_OP_HYP_CLAIM, FRAMES_VM_EL2, 0, pa, count);
	return rc ? rc : each_frame(db, op, frame_claim);
}

void frames_hyp_claim_commit(struct frames_db *db, const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_HYP_CLAIM);
	set_range(db, op, EXO_FRAME_HYP, FRAMES_VM_EL2, 0);
}

int frames_hyp_release_check(const struct frames_db *db, uint64_t pa,
			     uint64_t count, struct frames_op *op)
{
	int rc = ram_range(db, pa, count);

	op_init(op, FRAMES_OP_HYP_RELEASE, FRAMES_VM_EL2, 0, pa, count);
	return rc ? rc : each_frame(db, op, frame_release);
}

void frames_hyp_release_commit(struct frames_db *db, const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_HYP_RELEASE);
	set_range(db, op, EXO_FRAME_FREE, 0, 0);
}

/* --- alloc and free ------------------------------------------------------- */

/* Smallest index >= i whose PA is aligned to step frames. */
static uint64_t align_idx(const struct frames_db *db, uint64_t i, uint64_t step)
{
	uint64_t frame = (db->base >> FRAMES_SHIFT) + i;

	return ((frame + step - 1) & ~(step - 1)) - (db->base >> FRAMES_SHIFT);
}

/* First fit: index of count FREE frames aligned to step frames. */
static bool run_find(const struct frames_db *db, uint64_t count, uint64_t step,
		     uint64_t *found)
{
	uint64_t i = align_idx(db, db->lo_free, step);

	while (count <= db->nr && i <= db->nr - count) {
		uint64_t j = 0;

		while (j < count && db->entry[i + j].state == EXO_FRAME_FREE)
			j++;
		if (j == count) {
			*found = i;
			return true;
		}
		i = align_idx(db, i + j + 1, step);
	}
	return false;
}

static int alloc_args(const struct frames_db *db, unsigned vm,
		      unsigned nr_tables)
{
	if (!vm_live(db, vm))
		return EXO_ENOENT;
	return nr_tables > FRAMES_OP_MAX_TABLES ? EXO_EINVAL : EXO_OK;
}

int frames_alloc_check(const struct frames_db *db, unsigned vm, uint64_t count,
		       unsigned align_log2, unsigned nr_tables,
		       struct frames_op *op)
{
	uint64_t first;
	int rc = alloc_args(db, vm, nr_tables);

	op_init(op, FRAMES_OP_ALLOC, vm, 0, 0, count);
	if (rc)
		return rc;
	if (!count || align_log2 > FRAMES_MAX_ALIGN_LOG2)
		return EXO_EINVAL;
	rc = quota_check(db, vm, count, nr_tables);
	if (rc)
		return rc;
	if (!run_find(db, count, UINT64_C(1) << align_log2, &first))
		return EXO_ENOMEM;
	op->pa = pa_of(db, first);
	return tables_reserve(db, vm, nr_tables, first, count, op);
}

/* The table count is judged after the range and the frames' quota: the
 * caller counts tables for the range it was asked for, so a range the guest
 * cannot have is refused as such, whatever it would need. */
int frames_alloc_at_check(const struct frames_db *db, unsigned vm, uint64_t pa,
			  uint64_t count, unsigned nr_tables,
			  struct frames_op *op)
{
	int rc = alloc_args(db, vm, 0);

	op_init(op, FRAMES_OP_ALLOC, vm, 0, pa, count);
	if (!rc)
		rc = ram_range(db, pa, count);
	if (!rc)
		rc = each_frame(db, op, frame_claim);
	if (!rc)
		rc = quota_check(db, vm, count, 0);
	if (!rc && nr_tables > FRAMES_OP_MAX_TABLES)
		rc = EXO_EINVAL;
	if (!rc)
		rc = quota_check(db, vm, count, nr_tables);
	if (rc)
		return rc;
	return tables_reserve(db, vm, nr_tables, idx_of(db, pa), count, op);
}

/* Out of line: the op stays off the one-frame callers' frames. */
__attribute__((noinline)) int64_t
frames_alloc_one_general(const struct frames_db *db, unsigned vm)
{
	struct frames_op op;
	int rc = frames_alloc_check(db, vm, 1, 0, 0, &op);

	return rc ? rc : (int64_t)idx_of(db, op.pa);
}

void frames_alloc_commit(struct frames_db *db, const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_ALLOC);
	set_range(db, op, EXO_FRAME_OWNED, op->vm, 0);
	charge(db, op->vm, op->count);
	if (op->nr_tables)
		tables_commit(db, op);
}

int frames_free_check(const struct frames_db *db, unsigned vm, uint64_t pa,
		      uint64_t count, unsigned nr_tables,
		      struct frames_op *op)
{
	int rc = vm_live(db, vm) ? ram_range(db, pa, count) : EXO_ENOENT;

	op_init(op, FRAMES_OP_FREE, vm, 0, pa, count);
	if (!rc && nr_tables > FRAMES_OP_MAX_TABLES)
		rc = EXO_EINVAL;
	if (!rc)
		rc = each_frame(db, op, frame_exclusive);
	if (!rc)
		rc = quota_check(db, vm, 0, nr_tables);
	return rc ? rc : tables_reserve(db, vm, nr_tables, 0, 0, op);
}

__attribute__((noinline)) int64_t
frames_free_one_general(const struct frames_db *db, unsigned vm, uint64_t pa)
{
	struct frames_op op;
	int rc = frames_free_check(db, vm, pa, 1, 0, &op);

	return rc ? rc : (int64_t)idx_of(db, op.pa);
}

void frames_free_commit(struct frames_db *db, const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_FREE);
	if (op->nr_tables)
		tables_commit(db, op);
	set_range(db, op, EXO_FRAME_FREE, 0, 0);
	uncharge(db, op->vm, op->count);
}

/* --- share and unshare ---------------------------------------------------- */

static const struct frames_share *share_of(const struct frames_db *db,
					   const struct frames_entry *e)
{
	return &db->share[e->share];
}

static int frame_share(const struct frames_db *db, const struct frames_entry *e,
		       const struct frames_op *op)
{
	int rc = owner_err(e, op->vm);

	if (rc)
		return rc;
	if (e->state == EXO_FRAME_LENT)
		return EXO_ELENT;
	if (e->state != EXO_FRAME_SHARED)
		return EXO_OK;
	if (frames_share_slot(share_of(db, e), op->peer) >= 0)
		return EXO_ESTATE;
	/* No free slot: one more borrower than a record holds. */
	return frames_share_slot(share_of(db, e), 0) < 0 ? EXO_EFULL : EXO_OK;
}

static int frame_unshare(const struct frames_db *db,
			 const struct frames_entry *e,
			 const struct frames_op *op)
{
	int rc = owner_err(e, op->vm);

	if (rc)
		return rc;
	if (e->state == EXO_FRAME_LENT)
		return EXO_ELENT;
	if (e->state != EXO_FRAME_SHARED ||
	    frames_share_slot(share_of(db, e), op->peer) < 0)
		return EXO_ESTATE;
	return EXO_OK;
}

/* Records the share commit takes: one per frame not yet SHARED. */
static uint32_t shares_needed(const struct frames_db *db,
			      const struct frames_op *op)
{
	uint64_t first = idx_of(db, op->pa);
	uint32_t n = 0;

	for (uint64_t i = 0; i < op->count; i++)
		n += db->entry[first + i].state == EXO_FRAME_OWNED;
	return n;
}

int frames_share_check(const struct frames_db *db, unsigned vm,
		       unsigned borrower, uint64_t pa, uint64_t count,
		       enum frames_perm perm, unsigned nr_tables,
		       struct frames_op *op)
{
	int rc = pair_check(db, vm, borrower);

	op_init(op, FRAMES_OP_SHARE, vm, borrower, pa, count);
	op->perm = (uint8_t)perm;
	if (!rc && ((perm != FRAMES_PERM_R && perm != FRAMES_PERM_RW) ||
		    nr_tables > FRAMES_OP_MAX_TABLES))
		rc = EXO_EINVAL;
	if (!rc)
		rc = ram_range(db, pa, count);
	if (!rc)
		rc = each_frame(db, op, frame_share);
	if (!rc)
		rc = quota_check(db, borrower, 0, nr_tables);
	if (rc)
		return rc;
	/* Counted after the frame checks: the range is known to be RAM. */
	op->shares = shares_needed(db, op);
	if (op->shares > db->shares_left)
		return EXO_ENOMEM;
	return tables_reserve(db, borrower, nr_tables, 0, 0, op);
}

__attribute__((noinline)) int
frames_share_one_general(const struct frames_db *db, unsigned vm,
			 unsigned borrower, uint64_t pa)
{
	const struct frames_op op = { .vm = (frames_vm_t)vm,
				      .peer = (frames_vm_t)borrower };
	uint64_t i = (pa - db->base) >> FRAMES_SHIFT;
	int rc = pair_check(db, vm, borrower);

	if (rc)
		return rc;
	/* Outside the span or no frame's address: ram_range says which. */
	if (pa & (FRAMES_SIZE - 1) || pa < db->base || i >= db->nr)
		return ram_range(db, pa, 1);
	/* The commonest: a frame the sender owns alone. */
	if (db->entry[i].state == EXO_FRAME_OWNED && db->entry[i].owner == vm)
		return EXO_OK;
	return frame_share(db, &db->entry[i], &op);
}

static uint32_t share_take(struct frames_db *db)
{
	uint32_t s = db->share_free;

	CHECK(s != FRAMES_SHARE_NONE && db->shares_left);
	db->share_free = db->share[s].next_free;
	db->shares_left--;
	db->share[s] = (struct frames_share){ .rw = 0 };
	return s;
}

static void share_put(struct frames_db *db, uint32_t s)
{
	db->share[s] = (struct frames_share){ .next_free = db->share_free };
	db->share_free = s;
	db->shares_left++;
}

static void share_add(struct frames_db *db, uint64_t i,
		      const struct frames_op *op)
{
	struct frames_entry *e = &db->entry[i];
	struct frames_share *s;
	int k;

	if (e->state == EXO_FRAME_OWNED) {
		uint32_t rec = share_take(db);

		set_frame(db, i, EXO_FRAME_SHARED, op->vm, 0);
		e->share = rec;
	}
	s = &db->share[e->share];
	/* The check found a free slot (frame_share). */
	k = frames_share_slot(s, 0);
	CHECK(k >= 0);
	s->borrower[k] = op->peer;
	frames_span_note(db, op->peer, i);
	if (op->perm == FRAMES_PERM_RW)
		s->rw |= (uint16_t)(1u << k);
}

void frames_share_commit(struct frames_db *db, const struct frames_op *op)
{
	uint64_t first = idx_of(db, op->pa);

	CHECK(op->kind == FRAMES_OP_SHARE && op->shares <= db->shares_left);
	for (uint64_t i = 0; i < op->count; i++)
		share_add(db, first + i, op);
	db->acct[op->peer].borrowed += op->count;
	tables_commit(db, op);
}

int frames_unshare_check(const struct frames_db *db, unsigned vm,
			 unsigned borrower, uint64_t pa, uint64_t count,
			 unsigned nr_tables, struct frames_op *op)
{
	int rc = pair_check(db, vm, borrower);

	op_init(op, FRAMES_OP_UNSHARE, vm, borrower, pa, count);
	if (!rc && nr_tables > FRAMES_OP_MAX_TABLES)
		rc = EXO_EINVAL;
	if (!rc)
		rc = ram_range(db, pa, count);
	if (!rc)
		rc = each_frame(db, op, frame_unshare);
	if (!rc)
		rc = quota_check(db, borrower, 0, nr_tables);
	return rc ? rc : tables_reserve(db, borrower, nr_tables, 0, 0, op);
}

static void share_remove(struct frames_db *db, uint64_t i, unsigned peer)
{
	struct frames_entry *e = &db->entry[i];
	struct frames_share *s = &db->share[e->share];
	int k = frames_share_slot(s, peer);

	CHECK(k >= 0);
	s->borrower[k] = 0;
	s->rw &= (uint16_t)~(1u << k);
	if (!frames_share_first(s)) {
		share_put(db, e->share);
		set_frame(db, i, EXO_FRAME_OWNED, e->owner, 0);
	}
}

void frames_unshare_commit(struct frames_db *db, const struct frames_op *op)
{
	uint64_t first = idx_of(db, op->pa);

	CHECK(op->kind == FRAMES_OP_UNSHARE);
	tables_commit(db, op);
	for (uint64_t i = 0; i < op->count; i++)
		share_remove(db, first + i, op->peer);
	CHECK(db->acct[op->peer].borrowed >= op->count);
	db->acct[op->peer].borrowed -= op->count;
}

/* --- lend, reclaim, donate --------------------------------------------------
 */

/* Checks a transition of frames vm owns exclusively, to or for peer: vm
 * gets t.own table frames charged, peer count + t.peer (count only if it
 * takes the frames over). */
static int exclusive_check(const struct frames_db *db, struct frames_op *op,
			   uint64_t peer_charge, struct frames_tables t)
{
	int rc = pair_check(db, op->vm, op->peer);

	if (!rc && tables_too_many(t))
		rc = EXO_EINVAL;
	if (!rc)
		rc = ram_range(db, op->pa, op->count);
	if (!rc)
		rc = each_frame(db, op, frame_exclusive);
	if (!rc)
		rc = quota_check(db, op->vm, 0, t.own);
	if (!rc)
		rc = quota_check(db, op->peer, peer_charge, t.peer);
	return rc ? rc : tables_reserve_pair(db, t, op);
}

int frames_lend_check(const struct frames_db *db, unsigned vm,
		      unsigned borrower, uint64_t pa, uint64_t count,
		      struct frames_tables tables, struct frames_op *op)
{
	op_init(op, FRAMES_OP_LEND, vm, borrower, pa, count);
	return exclusive_check(db, op, 0, tables);
}

void frames_lend_commit(struct frames_db *db, const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_LEND);
	set_range(db, op, EXO_FRAME_LENT, op->vm, op->peer);
	db->acct[op->peer].borrowed += op->count;
	db->acct[op->vm].lent_out += op->count;
	tables_commit(db, op);
}

/* The borrower's tables are checked first: it loses the mapping first. */
int frames_reclaim_check(const struct frames_db *db, unsigned vm,
			 unsigned borrower, uint64_t pa, uint64_t count,
			 struct frames_tables tables, struct frames_op *op)
{
	int rc = pair_check(db, vm, borrower);

	op_init(op, FRAMES_OP_RECLAIM, vm, borrower, pa, count);
	if (!rc && tables_too_many(tables))
		rc = EXO_EINVAL;
	if (!rc)
		rc = ram_range(db, pa, count);
	if (!rc)
		rc = each_frame(db, op, frame_reclaim);
	if (!rc)
		rc = quota_check(db, borrower, 0, tables.peer);
	if (!rc)
		rc = quota_check(db, vm, 0, tables.own);
	return rc ? rc : tables_reserve_pair(db, tables, op);
}

void frames_reclaim_commit(struct frames_db *db, const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_RECLAIM);
	tables_commit(db, op);
	set_range(db, op, EXO_FRAME_OWNED, op->vm, 0);
	CHECK(db->acct[op->peer].borrowed >= op->count);
	db->acct[op->peer].borrowed -= op->count;
	CHECK(db->acct[op->vm].lent_out >= op->count);
	db->acct[op->vm].lent_out -= op->count;
}

int frames_donate_check(const struct frames_db *db, unsigned vm, unsigned to,
			uint64_t pa, uint64_t count, struct frames_tables tables,
			struct frames_op *op)
{
	op_init(op, FRAMES_OP_DONATE, vm, to, pa, count);
	return exclusive_check(db, op, count, tables);
}

void frames_donate_commit(struct frames_db *db, const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_DONATE);
	set_range(db, op, EXO_FRAME_OWNED, op->peer, 0);
	uncharge(db, op->vm, op->count);
	charge(db, op->peer, op->count);
	tables_commit(db, op);
}

/* --- stage-2 table frames
 * ----------------------------------------------------- */

int frames_table_check(const struct frames_db *db, unsigned vm,
		       unsigned nr_tables, struct frames_op *op)
{
	int rc = vm_live(db, vm) ? EXO_OK : EXO_ENOENT;

	op_init(op, FRAMES_OP_TABLE, vm, 0, 0, 0);
	if (!rc && (!nr_tables || nr_tables > FRAMES_OP_MAX_TABLES))
		rc = EXO_EINVAL;
	if (!rc)
		rc = quota_check(db, vm, 0, nr_tables);
	return rc ? rc : tables_reserve(db, vm, nr_tables, 0, 0, op);
}

void frames_table_commit(struct frames_db *db, const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_TABLE);
	tables_commit(db, op);
}

int frames_table_free_check(const struct frames_db *db, unsigned vm,
			    uint64_t pa, struct frames_op *op)
{
	int rc = vm_live(db, vm) ? ram_range(db, pa, 1) : EXO_ENOENT;

	op_init(op, FRAMES_OP_TABLE_FREE, vm, 0, pa, 1);
	return rc ? rc : each_frame(db, op, frame_table_free);
}

void frames_table_free_commit(struct frames_db *db, const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_TABLE_FREE);
	set_range(db, op, EXO_FRAME_FREE, 0, 0);
	uncharge(db, op->vm, 1);
	db->acct[op->vm].tables--;
	db->hyp_charged--;
}

/* --- device ranges
 * ------------------------------------------------------------ */

/* The registered range [pa, pa + count) exactly, or EXO_ERANGE. */
static int device_find(const struct frames_db *db, uint64_t pa, uint64_t count,
		       unsigned *dev)
{
	uint64_t last;
	int rc = range_last(pa, count, &last);

	if (rc)
		return rc;
	for (unsigned i = 0; i < db->nr_devices; i++) {
		if (db->device[i].base == pa && db->device[i].count == count) {
			*dev = i;
			return EXO_OK;
		}
	}
	return EXO_ERANGE;
}

int frames_device_assign_check(const struct frames_db *db, unsigned vm,
			       uint64_t pa, uint64_t count, unsigned nr_tables,
			       struct frames_op *op)
{
	int rc = alloc_args(db, vm, nr_tables);
	unsigned owner;

	op_init(op, FRAMES_OP_DEVICE_ASSIGN, vm, 0, pa, count);
	if (!rc)
		rc = device_find(db, pa, count, &op->device);
	if (rc)
		return rc;
	owner = db->device[op->device].owner;
	if (owner)
		return owner == vm ? EXO_ESTATE : EXO_EBUSY;
	rc = quota_check(db, vm, 0, nr_tables);
	return rc ? rc : tables_reserve(db, vm, nr_tables, 0, 0, op);
}

void frames_device_assign_commit(struct frames_db *db,
				 const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_DEVICE_ASSIGN);
	db->device[op->device].owner = op->vm;
	db->acct[op->vm].devices++;
	tables_commit(db, op);
}

int frames_device_release_check(const struct frames_db *db, unsigned vm,
				uint64_t pa, uint64_t count,
				struct frames_op *op)
{
	int rc = vm_live(db, vm) ? EXO_OK : EXO_ENOENT;
	unsigned owner;

	op_init(op, FRAMES_OP_DEVICE_RELEASE, vm, 0, pa, count);
	if (!rc)
		rc = device_find(db, pa, count, &op->device);
	if (rc)
		return rc;
	owner = db->device[op->device].owner;
	if (owner != vm)
		return owner ? EXO_EPERM : EXO_ESTATE;
	return EXO_OK;
}

void frames_device_release_commit(struct frames_db *db,
				  const struct frames_op *op)
{
	CHECK(op->kind == FRAMES_OP_DEVICE_RELEASE);
	db->device[op->device].owner = 0;
	db->acct[op->vm].devices--;
}

/* --- queries
 * -------------------------------------------------------------------- */

static const struct frames_device *device_at(const struct frames_db *db,
					     uint64_t pa)
{
	for (unsigned i = 0; i < db->nr_devices; i++)
		if (overlaps(pa, pa, db->device[i].base,
			     device_last(&db->device[i])))
			return &db->device[i];
	return NULL;
}

int frames_query(const struct frames_db *db, uint64_t pa,
		 struct frames_info *info)
{
	const struct frames_device *d = device_at(db, pa);
	const struct frames_entry *e;

	*info = (struct frames_info){ .state = EXO_FRAME_NONE };
	if (d) {
		info->state = EXO_FRAME_DEVICE;
		info->owner = d->owner;
		return EXO_OK;
	}
	if (!in_span(db, pa))
		return EXO_ERANGE;
	e = &db->entry[idx_of(db, pa)];
	info->state = (enum exo_frame_state)e->state;
	info->owner = e->owner;
	if (e->state == EXO_FRAME_LENT)
		info->peer = e->peer;
	if (e->state == EXO_FRAME_SHARED)
		info->share = *share_of(db, e);
	return EXO_OK;
}

static enum frames_access shared_access(const struct frames_info *f,
					unsigned vm)
{
	int k = frames_share_slot(&f->share, vm);

	if (f->owner == vm)
		return FRAMES_ACCESS_RW;
	if (k < 0)
		return FRAMES_ACCESS_NONE;
	return f->share.rw >> k & 1 ? FRAMES_ACCESS_RW : FRAMES_ACCESS_R;
}

enum frames_access frames_access(const struct frames_db *db, unsigned vm,
				 uint64_t pa)
{
	struct frames_info f;

	if (vm == FRAMES_VM_EL2 || vm >= EXO_MAX_VMS ||
	    frames_query(db, pa, &f))
		return FRAMES_ACCESS_NONE;
	switch (f.state) {
	case EXO_FRAME_OWNED:
		return f.owner == vm ? FRAMES_ACCESS_RW : FRAMES_ACCESS_NONE;
	case EXO_FRAME_SHARED:
		return shared_access(&f, vm);
	case EXO_FRAME_LENT:
		return f.peer == vm ? FRAMES_ACCESS_RW : FRAMES_ACCESS_NONE;
	case EXO_FRAME_DEVICE:
		return f.owner == vm ? FRAMES_ACCESS_DEVICE
				     : FRAMES_ACCESS_NONE;
	default:
		return FRAMES_ACCESS_NONE;
	}
}

static uint64_t device_frames_assigned(const struct frames_db *db)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < db->nr_devices; i++)
		if (db->device[i].owner)
			n += db->device[i].count;
	return n;
}

uint64_t frames_count(const struct frames_db *db, enum exo_frame_state s)
{
	if (s == EXO_FRAME_DEVICE)
		return device_frames_assigned(db);
	return (unsigned)s < EXO_FRAME_DEVICE ? db->count[s] : 0;
}

uint64_t frames_guest_held(const struct frames_db *db)
{
	return db->count[EXO_FRAME_OWNED] + db->count[EXO_FRAME_SHARED] +
	       db->count[EXO_FRAME_LENT] + db->hyp_charged +
	       device_frames_assigned(db);
}

const struct frames_account *frames_account(const struct frames_db *db,
					    unsigned vm)
{
	return vm < EXO_MAX_VMS ? &db->acct[vm] : NULL;
}

/* How entry e relates to vm, if at all. */
static bool rel_of(const struct frames_db *db, const struct frames_entry *e,
		   unsigned vm, enum frames_rel *rel, frames_vm_t *peer)
{
	*peer = 0;
	switch (e->state) {
	case EXO_FRAME_OWNED:
		*rel = FRAMES_REL_OWNED;
		return e->owner == vm;
	case EXO_FRAME_SHARED:
		*rel = e->owner == vm ? FRAMES_REL_SHARED_OUT
				      : FRAMES_REL_BORROWED;
		*peer = e->owner == vm ? 0 : e->owner;
		return e->owner == vm ||
		       frames_share_slot(share_of(db, e), vm) >= 0;
	case EXO_FRAME_LENT:
		*rel =
		    e->owner == vm ? FRAMES_REL_LENT_OUT : FRAMES_REL_LENT_IN;
		*peer = e->owner == vm ? e->peer : e->owner;
		return e->owner == vm || e->peer == vm;
	case EXO_FRAME_HYP:
		*rel = FRAMES_REL_TABLE;
		return e->owner == vm;
	default:
		return false;
	}
}

/* The first index from i on inside vm's two spans, or db->nr. */
static uint64_t in_spans(const struct frames_db *db,
			 const struct frames_account *a, uint64_t i)
{
	uint64_t best = db->nr;

	if (i < a->span_hi)
		best = i > a->span_lo ? i : a->span_lo;
	if (i < a->tables_hi) {
		uint64_t t = i > a->tables_lo ? i : a->tables_lo;

		best = t < best ? t : best;
	}
	return best < db->nr ? best : db->nr;
}

static bool span_next(const struct frames_db *db, unsigned vm, uint64_t *cursor,
		      struct frames_run *run)
{
	const struct frames_account *a = &db->acct[vm];

	for (uint64_t i = in_spans(db, a, *cursor); i < db->nr;
	     i = in_spans(db, a, i + 1)) {
		uint64_t j = i + 1;
		enum frames_rel rel, r2;
		frames_vm_t peer, p2;

		if (!rel_of(db, &db->entry[i], vm, &rel, &peer))
			continue;
		while (j < db->nr && rel_of(db, &db->entry[j], vm, &r2, &p2) &&
		       r2 == rel && p2 == peer)
			j++;
		*run = (struct frames_run){.pa = pa_of(db, i),
					   .count = j - i,
					   .rel = rel,
					   .peer = peer};
		*cursor = j;
		return true;
	}
	*cursor = db->nr;
	return false;
}

bool frames_vm_next(const struct frames_db *db, unsigned vm, uint64_t *cursor,
		    struct frames_run *run)
{
	if (vm == FRAMES_VM_EL2 || vm >= EXO_MAX_VMS)
		return false;
	if (*cursor < db->nr && span_next(db, vm, cursor, run))
		return true;
	for (uint64_t d = *cursor - db->nr; d < db->nr_devices; d++) {
		if (db->device[d].owner != vm)
			continue;
		*run = (struct frames_run){.pa = db->device[d].base,
					   .count = db->device[d].count,
					   .rel = FRAMES_REL_DEVICE};
		*cursor = db->nr + d + 1;
		return true;
	}
	*cursor = db->nr + db->nr_devices;
	return false;
}
