/*
 * The frame DB reference model (see mem_model.h): the docs' per-frame
 * verdict table, error order and quota rules, re-stated in plain code over
 * plain arrays. Owns: nothing but the struct mem_model it is given. Never:
 * includes el2/ or asks EL2 anything.
 */
#include "mem_model.h"

#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <string.h>

#define TABLE_KEEP 2        /* spare table pages an allocation tops up to */

static uint8_t bit(unsigned vm)
{
	return (uint8_t)(1u << vm);
}

/* Which guests' stage 2s translate frame i (a bitmask of ids): a lender
 * keeps a translation with no access of what it lent (el2/mem.c's
 * protect_frames), and with it the table page. */
static uint8_t access_of(const struct model_frame *f)
{
	switch (f->state) {
	case MODEL_OWNED: return bit(f->owner);
	case MODEL_SHARED: return (uint8_t)(bit(f->owner) | f->borrowers);
	case MODEL_LENT: return (uint8_t)(bit(f->owner) | bit(f->peer));
	default: return 0;
	}
}

static void note_mapping(struct mem_model *m, unsigned vm, uint64_t i, int d)
{
	struct model_vm *v = &m->vm[vm];

	v->region_mapped[i / MODEL_REGION_FRAMES] += (uint32_t)d;
	v->mapped += (uint64_t)(int64_t)d;
}

/* Changes frame i and keeps every guest's mapping counts with it. */
static void set(struct mem_model *m, uint64_t i, struct model_frame nf)
{
	uint8_t before = access_of(&m->f[i]), after = access_of(&nf);

	for (unsigned vm = 1; vm < MODEL_MAX_VMS; vm++) {
		if ((before ^ after) & bit(vm))
			note_mapping(m, vm, i, after & bit(vm) ? 1 : -1);
	}
	m->f[i] = nf;
}

static struct model_frame frame(unsigned state, unsigned owner, unsigned peer)
{
	return (struct model_frame){ .state = (uint8_t)state,
				     .owner = (uint8_t)owner,
				     .peer = (uint8_t)peer };
}

uint64_t model_tables_in_use(const struct mem_model *m, unsigned vm)
{
	const struct model_vm *v = &m->vm[vm];
	uint64_t n = v->mapped ? 1 : 0;   /* the level-2 table */

	for (unsigned r = 0; r < MODEL_MAX_REGIONS; r++)
		n += v->region_mapped[r] != 0;
	return n;
}

static uint64_t cached(const struct mem_model *m, unsigned vm)
{
	uint64_t used = model_tables_in_use(m, vm);

	return m->vm[vm].tables > used ? m->vm[vm].tables - used : 0;
}

/* Table pages vm's stage 2 needs to map [i, i + n) (it maps none of it). */
static uint64_t pages_needed(const struct mem_model *m, unsigned vm,
			     uint64_t i, uint64_t n)
{
	const struct model_vm *v = &m->vm[vm];
	uint64_t first = i / MODEL_REGION_FRAMES;
	uint64_t last = (i + n - 1) / MODEL_REGION_FRAMES;
	uint64_t need = v->mapped ? 0 : 1;

	for (uint64_t r = first; r <= last; r++)
		need += v->region_mapped[r] == 0;
	return need;
}

static uint64_t avail(const struct mem_model *m, unsigned vm)
{
	const struct model_vm *v = &m->vm[vm];
	uint64_t used = v->owned + v->tables;

	return used < v->quota ? v->quota - used : 0;
}

/* Table pages taken beyond vm's cache to map [i, i + n), or EXO_EQUOTA. */
static int64_t charge_tables(struct mem_model *m, unsigned vm, uint64_t i,
			     uint64_t n, uint64_t extra, uint64_t keep,
			     uint64_t *take)
{
	uint64_t need = pages_needed(m, vm, i, n) + keep, have = cached(m, vm);

	*take = need > have ? need - have : 0;
	return extra + *take > avail(m, vm) ? EXO_EQUOTA : EXO_OK;
}

void model_init(struct mem_model *m, uint64_t base, uint64_t nr,
		unsigned reserve, unsigned zone, uint32_t share_records)
{
	memset(m, 0, sizeof(*m));
	m->base = base;
	m->nr = nr;
	m->zone_first = nr - reserve - zone;
	m->shares_left = share_records;
	for (uint64_t i = m->zone_first; i < nr; i++)
		m->f[i].state = i < nr - reserve ? MODEL_ZONE : MODEL_HYP;
}

void model_vm_create(struct mem_model *m, unsigned vm, uint64_t quota)
{
	memset(&m->vm[vm], 0, sizeof(m->vm[vm]));
	m->vm[vm].live = true;
	m->vm[vm].quota = quota;
}

void model_observe_tables(struct mem_model *m, unsigned vm, uint64_t tables)
{
	m->vm[vm].tables = tables;
}

/* --- ranges and per-frame verdicts (docs/memory-model.md, "Errors") ----- */

/* EXO_OK with *first set, or the range error. */
static int64_t range(const struct mem_model *m, uint64_t pa, uint64_t n,
		     uint64_t *first)
{
	if (!n)
		return EXO_EINVAL;
	if (pa & EXO_FRAME_OFFSET_MASK)
		return EXO_ERANGE;
	if (pa < m->base || ((pa - m->base) >> EXO_FRAME_SHIFT) + n > m->nr)
		return EXO_ERANGE;
	*first = (pa - m->base) >> EXO_FRAME_SHIFT;
	return EXO_OK;
}

static int64_t owner_err(const struct model_frame *f, unsigned vm)
{
	switch (f->state) {
	case MODEL_FREE: return EXO_EPERM;
	case MODEL_HYP: return EXO_EHYP;
	case MODEL_ZONE: return MODEL_UNKNOWN;
	default: return f->owner == vm ? EXO_OK : EXO_EPERM;
	}
}

/* free, lend, donate: OWNED(vm) exactly. */
static int64_t v_exclusive(const struct model_frame *f, unsigned vm,
			   unsigned peer)
{
	int64_t rc = owner_err(f, vm);

	(void)peer;
	if (rc)
		return rc;
	if (f->state == MODEL_SHARED)
		return EXO_ESHARED;
	return f->state == MODEL_LENT ? EXO_ELENT : EXO_OK;
}

static int64_t v_claim(const struct model_frame *f, unsigned vm,
		       unsigned peer)
{
	(void)vm;
	(void)peer;
	switch (f->state) {
	case MODEL_FREE: return EXO_OK;
	case MODEL_HYP: return EXO_EHYP;
	case MODEL_ZONE: return MODEL_UNKNOWN;
	default: return EXO_EBUSY;
	}
}

static int64_t v_share(const struct model_frame *f, unsigned vm,
		       unsigned peer)
{
	int64_t rc = owner_err(f, vm);

	if (rc)
		return rc;
	if (f->state == MODEL_LENT)
		return EXO_ELENT;
	return f->state == MODEL_SHARED && (f->borrowers & bit(peer))
		       ? EXO_ESTATE : EXO_OK;
}

static int64_t v_unshare(const struct model_frame *f, unsigned vm,
			 unsigned peer)
{
	int64_t rc = owner_err(f, vm);

	if (rc)
		return rc;
	if (f->state == MODEL_LENT)
		return EXO_ELENT;
	return f->state == MODEL_SHARED && (f->borrowers & bit(peer))
		       ? EXO_OK : EXO_ESTATE;
}

static int64_t v_reclaim(const struct model_frame *f, unsigned vm,
			 unsigned peer)
{
	int64_t rc = owner_err(f, vm);

	if (rc)
		return rc;
	return f->state == MODEL_LENT && f->peer == peer ? EXO_OK : EXO_ESTATE;
}

typedef int64_t (*verdict_fn)(const struct model_frame *f, unsigned vm,
			      unsigned peer);

/* The range, then each frame in address order: the first refusal wins. */
static int64_t frames_ok(const struct mem_model *m, uint64_t pa, uint64_t n,
			 unsigned vm, unsigned peer, verdict_fn verdict,
			 uint64_t *first)
{
	int64_t rc = range(m, pa, n, first);

	for (uint64_t i = 0; !rc && i < n; i++)
		rc = verdict(&m->f[*first + i], vm, peer);
	return rc;
}

/* --- calls ---------------------------------------------------------------- */

static void take(struct mem_model *m, unsigned vm, uint64_t first,
		 uint64_t n, uint64_t tables)
{
	for (uint64_t i = 0; i < n; i++)
		set(m, first + i, frame(MODEL_OWNED, vm, 0));
	m->vm[vm].owned += n;
	m->vm[vm].tables += tables;
}

/* First fit among the frames guests use, aligned to 2^align_log2 frames
 * (the RAM base is aligned to more than any alignment asked here). */
static bool first_fit(const struct mem_model *m, uint64_t n, uint64_t step,
		      uint64_t *found)
{
	for (uint64_t i = 0; i + n <= m->zone_first; i += step) {
		uint64_t j = 0;

		while (j < n && m->f[i + j].state == MODEL_FREE)
			j++;
		if (j == n) {
			*found = i;
			return true;
		}
	}
	return false;
}

/* Under quota pressure EL2 gives back vm's idle table pages (tables kept
 * empty for reuse, and its cache beyond the reserve) and tries the call
 * once more (AFTER_GIVE_BACK): true when vm's charge fell. When the call
 * still fails, the charge is as it was. */
static bool give_back(struct mem_model *m, unsigned vm)
{
	struct model_vm *v = &m->vm[vm];
	uint64_t in_use = model_tables_in_use(m, vm);
	uint64_t idle = v->tables > in_use ? v->tables - in_use : 0;
	uint64_t after = in_use + (idle < TABLE_KEEP ? idle : TABLE_KEEP);

	if (after >= v->tables)
		return false;
	v->tables = after;
	return true;
}

#define AFTER_GIVE_BACK(rc, m, who, call)                                      \
	do {                                                                  \
		uint64_t tables_ = (m)->vm[who].tables;                       \
		if ((rc) == EXO_EQUOTA && give_back(m, who)) {                \
			(rc) = (call);                                        \
			if (rc)                                               \
				(m)->vm[who].tables = tables_;                \
		}                                                             \
	} while (0)

static int64_t alloc_once(struct mem_model *m, unsigned vm, uint64_t count,
			  unsigned align_log2, uint64_t *pa)
{
	uint64_t first, tables;
	int64_t rc;

	if (count > avail(m, vm))
		return EXO_EQUOTA;
	if (!first_fit(m, count, UINT64_C(1) << align_log2, &first))
		return EXO_ENOMEM;
	rc = charge_tables(m, vm, first, count, count, TABLE_KEEP, &tables);
	if (rc)
		return rc;
	take(m, vm, first, count, tables);
	*pa = m->base + (first << EXO_FRAME_SHIFT);
	return EXO_OK;
}

int64_t model_alloc(struct mem_model *m, unsigned vm, uint64_t count,
		    unsigned align_log2, uint64_t *pa)
{
	int64_t rc = alloc_once(m, vm, count, align_log2, pa);

	AFTER_GIVE_BACK(rc, m, vm, alloc_once(m, vm, count, align_log2, pa));
	return rc;
}

static int64_t alloc_at_once(struct mem_model *m, unsigned vm, uint64_t pa,
			     uint64_t count)
{
	uint64_t first, tables;
	int64_t rc = frames_ok(m, pa, count, vm, 0, v_claim, &first);

	if (!rc && count > avail(m, vm))
		rc = EXO_EQUOTA;
	if (!rc)
		rc = charge_tables(m, vm, first, count, count, TABLE_KEEP,
				   &tables);
	if (!rc)
		take(m, vm, first, count, tables);
	return rc;
}

int64_t model_alloc_at(struct mem_model *m, unsigned vm, uint64_t pa,
		       uint64_t count)
{
	int64_t rc = alloc_at_once(m, vm, pa, count);

	AFTER_GIVE_BACK(rc, m, vm, alloc_at_once(m, vm, pa, count));
	return rc;
}

int64_t model_free(struct mem_model *m, unsigned vm, uint64_t pa,
		   uint64_t count)
{
	uint64_t first;
	int64_t rc = frames_ok(m, pa, count, vm, 0, v_exclusive, &first);

	if (rc)
		return rc;
	for (uint64_t i = 0; i < count; i++)
		set(m, first + i, frame(MODEL_FREE, 0, 0));
	m->vm[vm].owned -= count;
	return EXO_OK;
}

static uint32_t owned_in(const struct mem_model *m, uint64_t first,
			 uint64_t n)
{
	uint32_t k = 0;

	for (uint64_t i = 0; i < n; i++)
		k += m->f[first + i].state == MODEL_OWNED;
	return k;
}

static int64_t share_once(struct mem_model *m, unsigned a, unsigned b,
			  uint64_t pa, uint64_t count, unsigned perm)
{
	uint64_t first, tables;
	int64_t rc = a == b ? EXO_EINVAL
			    : frames_ok(m, pa, count, a, b, v_share, &first);

	if (!rc && owned_in(m, first, count) > m->shares_left)
		rc = EXO_ENOMEM;
	if (!rc)
		rc = charge_tables(m, b, first, count, 0, 0, &tables);
	if (rc)
		return rc;
	m->shares_left -= owned_in(m, first, count);
	for (uint64_t i = 0; i < count; i++) {
		struct model_frame f = m->f[first + i];

		f.state = MODEL_SHARED;
		f.borrowers |= bit(b);
		if (perm == EXO_SHARE_RW)
			f.rw |= bit(b);
		set(m, first + i, f);
	}
	m->vm[b].borrowed += count;
	m->vm[b].tables += tables;
	return EXO_OK;
}

int64_t model_share(struct mem_model *m, unsigned a, unsigned b, uint64_t pa,
		    uint64_t count, unsigned perm)
{
	int64_t rc = share_once(m, a, b, pa, count, perm);

	AFTER_GIVE_BACK(rc, m, b, share_once(m, a, b, pa, count, perm));
	return rc;
}

/* b stops borrowing frame i; the last borrower leaving makes it OWNED. */
static void unshare_frame(struct mem_model *m, uint64_t i, unsigned b)
{
	struct model_frame f = m->f[i];

	f.borrowers &= (uint8_t)~bit(b);
	f.rw &= (uint8_t)~bit(b);
	if (!f.borrowers) {
		f.state = MODEL_OWNED;
		m->shares_left++;
	}
	set(m, i, f);
}

int64_t model_unshare(struct mem_model *m, unsigned a, unsigned b,
		      uint64_t pa, uint64_t count)
{
	uint64_t first;
	int64_t rc = a == b ? EXO_EINVAL
			    : frames_ok(m, pa, count, a, b, v_unshare, &first);

	if (rc)
		return rc;
	for (uint64_t i = 0; i < count; i++)
		unshare_frame(m, first + i, b);
	m->vm[b].borrowed -= count;
	return EXO_OK;
}

static int64_t lend_once(struct mem_model *m, unsigned a, unsigned b,
			 uint64_t pa, uint64_t count)
{
	uint64_t first, tables;
	int64_t rc = a == b ? EXO_EINVAL
			    : frames_ok(m, pa, count, a, 0, v_exclusive, &first);

	if (!rc)
		rc = charge_tables(m, b, first, count, 0, 0, &tables);
	if (rc)
		return rc;
	for (uint64_t i = 0; i < count; i++)
		set(m, first + i, frame(MODEL_LENT, a, b));
	m->vm[b].borrowed += count;
	m->vm[b].tables += tables;
	m->vm[a].lent_out += count;
	return EXO_OK;
}

int64_t model_lend(struct mem_model *m, unsigned a, unsigned b, uint64_t pa,
		   uint64_t count)
{
	int64_t rc = lend_once(m, a, b, pa, count);

	AFTER_GIVE_BACK(rc, m, b, lend_once(m, a, b, pa, count));
	return rc;
}

int64_t model_reclaim(struct mem_model *m, unsigned a, unsigned b,
		      uint64_t pa, uint64_t count)
{
	uint64_t first;
	int64_t rc = a == b ? EXO_EINVAL
			    : frames_ok(m, pa, count, a, b, v_reclaim, &first);

	if (rc)
		return rc;
	for (uint64_t i = 0; i < count; i++)
		set(m, first + i, frame(MODEL_OWNED, a, 0));
	m->vm[b].borrowed -= count;
	m->vm[a].lent_out -= count;
	return EXO_OK;
}

static int64_t donate_once(struct mem_model *m, unsigned a, unsigned b,
			   uint64_t pa, uint64_t count)
{
	uint64_t first, tables;
	int64_t rc = a == b ? EXO_EINVAL
			    : frames_ok(m, pa, count, a, 0, v_exclusive, &first);

	if (!rc && count > avail(m, b))
		rc = EXO_EQUOTA;
	if (!rc)
		rc = charge_tables(m, b, first, count, count, 0, &tables);
	if (rc)
		return rc;
	for (uint64_t i = 0; i < count; i++)
		set(m, first + i, frame(MODEL_OWNED, b, 0));
	m->vm[a].owned -= count;
	m->vm[b].owned += count;
	m->vm[b].tables += tables;
	return EXO_OK;
}

int64_t model_donate(struct mem_model *m, unsigned a, unsigned b,
		     uint64_t pa, uint64_t count)
{
	int64_t rc = donate_once(m, a, b, pa, count);

	AFTER_GIVE_BACK(rc, m, b, donate_once(m, a, b, pa, count));
	return rc;
}

/* --- teardown ------------------------------------------------------------- */

/* How a leaving guest holds a frame, as frames_vm_next groups its runs. */
enum relation { REL_NONE, REL_OWNED, REL_SHARED_OUT, REL_LENT_OUT,
		REL_LENT_IN, REL_BORROWED };

/* vm's relation to frame f, and the other guest of a loan or borrowing. */
static enum relation relation(const struct model_frame *f, unsigned vm,
			      unsigned *peer)
{
	bool own = f->owner == vm;

	*peer = 0;
	switch (f->state) {
	case MODEL_OWNED:
		return own ? REL_OWNED : REL_NONE;
	case MODEL_SHARED:
		*peer = own ? 0 : f->owner;
		return own ? REL_SHARED_OUT
			   : f->borrowers & bit(vm) ? REL_BORROWED : REL_NONE;
	case MODEL_LENT:
		*peer = own ? f->peer : f->owner;
		return own ? REL_LENT_OUT
			   : f->peer == vm ? REL_LENT_IN : REL_NONE;
	default:
		return REL_NONE;
	}
}

/* The owner's frames go back to EL2's pool. Whoever mapped them keeps
 * the table pages that became empty, in its cache and still charged: the
 * model's `tables` does not change on an unmap. */
static void free_run(struct mem_model *m, unsigned owner, uint64_t first,
		     uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		set(m, first + i, frame(MODEL_FREE, 0, 0));
	m->vm[owner].owned -= n;
}

/* A loan to the leaving guest returns to its owner, mapped again if the
 * owner can be charged the table pages, else freed. */
static void loan_returns(struct mem_model *m, unsigned vm, unsigned owner,
			 uint64_t first, uint64_t n)
{
	m->vm[vm].borrowed -= n;
	m->vm[owner].lent_out -= n;
	for (uint64_t i = 0; i < n; i++)
		set(m, first + i, frame(MODEL_OWNED, owner, 0));
}

static void end_run(struct mem_model *m, unsigned vm, enum relation rel,
		    unsigned peer, uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n; i++) {
		uint8_t bs = m->f[i].borrowers;

		switch (rel) {
		case REL_SHARED_OUT:      /* every borrower loses it */
			for (unsigned b = 1; b < MODEL_MAX_VMS; b++) {
				if (bs & bit(b)) {
					unshare_frame(m, i, b);
					m->vm[b].borrowed--;
				}
			}
			break;
		case REL_LENT_OUT:        /* the borrower loses it */
			m->vm[m->f[i].peer].borrowed--;
			break;
		case REL_BORROWED:
			unshare_frame(m, i, vm);
			break;
		default:
			break;
		}
	}
	if (rel == REL_OWNED || rel == REL_SHARED_OUT || rel == REL_LENT_OUT)
		free_run(m, vm, first, n);
	else if (rel == REL_LENT_IN)
		loan_returns(m, vm, peer, first, n);
}

void model_teardown(struct mem_model *m, unsigned vm)
{
	uint64_t i = 0;

	m->vm[vm].live = false;
	while (i < m->zone_first) {
		unsigned peer, p2;
		enum relation rel = relation(&m->f[i], vm, &peer);
		uint64_t j = i + 1;

		if (rel == REL_NONE) {
			i++;
			continue;
		}
		while (j < m->zone_first && relation(&m->f[j], vm, &p2) == rel &&
		       p2 == peer)
			j++;
		end_run(m, vm, rel, peer, i, j - i);
		i = j;
	}
	memset(&m->vm[vm], 0, sizeof(m->vm[vm]));
}
