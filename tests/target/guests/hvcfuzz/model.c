/*
 * The hvcfuzz guest's model (model.h): a small hash table of the frames it
 * knows it owns, each OWNED, SHARED with its peer (R or RW) or LENT to it,
 * and the prediction rules: argument checks in el2/dispatch.c's order (docs/abi.md),
 * then the frame DB's range check and per-frame verdicts in address order,
 * then quota and resources. A frame the guest does not know (free, another
 * guest's, one of its own boot frames, one the peer donated) can be any of
 * those, so it widens the prediction; a frame it knows narrows it to one
 * answer. SHARE, LEND and DONATE are offers: they change no frame, and
 * the model keeps its offers to predict the table's refusals and the
 * withdrawals by UNSHARE and RECLAIM.
 */
#include "model.h"

#include <exo/frame.h>
#include <exo/errors.h>
#include <exo/frame_state.h>
#include <exo/hvc.h>

#define FRAME_SHIFT EXO_FRAME_SHIFT
#define PAGE_MASK EXO_FRAME_OFFSET_MASK
#define WALK_MAX 64          /* frames judged one by one; beyond: anything */
#define BLOCK_FRAMES 512     /* a 2 MiB stage-2 block */
#define NR_STATUS 16          /* EXO_OK .. EXO_EFULL */
#define MAX_VM_ID 64

#define S(e) (1u << -(e))    /* the bit of status e */
#define ALL ((1u << NR_STATUS) - 1)

enum model_hold { HOLD_NONE, HOLD_OWNED, HOLD_SHARED_R, HOLD_SHARED_RW,
		  HOLD_LENT, HOLD_VITAL };

/* --- the table of held frames ------------------------------------------ */

static unsigned home(uint32_t frame)
{
	return (frame * 2654435761u) % MODEL_SLOTS;
}

static unsigned hold_of(const struct model *m, uint64_t pa)
{
	uint32_t frame = (uint32_t)(pa >> FRAME_SHIFT);

	for (unsigned i = home(frame);; i = (i + 1) % MODEL_SLOTS) {
		if (!m->slot[i].frame)
			return HOLD_NONE;
		if (m->slot[i].frame == frame)
			return m->slot[i].state;
	}
}

/* Removes slot i, moving later entries of its probe chain back. */
static void remove_slot(struct model *m, unsigned i)
{
	unsigned j = i;

	m->slot[i].frame = 0;
	m->nr_held--;
	for (;;) {
		unsigned h;

		j = (j + 1) % MODEL_SLOTS;
		if (!m->slot[j].frame)
			return;
		h = home(m->slot[j].frame);
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			m->slot[i] = m->slot[j];
			m->slot[j].frame = 0;
			i = j;
		}
	}
}

static void set_hold(struct model *m, uint64_t pa, unsigned state)
{
	uint32_t frame = (uint32_t)(pa >> FRAME_SHIFT);
	unsigned i = home(frame);

	while (m->slot[i].frame && m->slot[i].frame != frame)
		i = (i + 1) % MODEL_SLOTS;
	if (state == HOLD_NONE) {
		if (m->slot[i].frame)
			remove_slot(m, i);
		return;
	}
	if (!m->slot[i].frame) {
		if (m->nr_held + 1 >= MODEL_SLOTS)
			return;   /* cannot happen below a quota of 4095 */
		m->slot[i].frame = frame;
		m->nr_held++;
	}
	m->slot[i].state = (uint8_t)state;
}

void model_init(struct model *m, uint64_t me, uint64_t peer, uint64_t quota,
		bool el2_image_hyp)
{
	*m = (struct model){ .me = me, .peer = peer, .quota = quota,
			     .peer_runs = peer != 0,
			     .el2_image_hyp = el2_image_hyp };
}

uint64_t model_some_frame(const struct model *m, uint64_t r)
{
	for (unsigned k = 0, i = (unsigned)(r % MODEL_SLOTS); k < MODEL_SLOTS;
	     k++, i = (i + 1) % MODEL_SLOTS) {
		if (m->slot[i].frame && m->slot[i].state != HOLD_VITAL)
			return (uint64_t)m->slot[i].frame << FRAME_SHIFT;
	}
	return MODEL_RAM_BASE;
}

void model_scan_own(struct model *m)
{
	m->vital_lo = UINT64_MAX;
	for (uint64_t pa = MODEL_RAM_BASE; pa < MODEL_RAM_BASE + MODEL_RAM_SIZE;
	     pa += 1ul << FRAME_SHIFT) {
		struct exo_ret q = exo_frame_query(pa);

		if (q.status != EXO_OK || q.x1 != EXO_FRAME_OWNED || !q.x2)
			continue;
		set_hold(m, pa, HOLD_VITAL);
		if (pa < m->vital_lo)
			m->vital_lo = pa;
		m->vital_hi = pa;
	}
}

/* Calls that can change a frame's owner, state or mappings. */
static bool changes_frames(uint32_t fid)
{
	return model_is_memory_call(fid) && fid != EXO_HVC_FRAME_ALLOC &&
	       fid != EXO_HVC_FRAME_ALLOC_AT;
}

bool model_touches_vital(const struct model *m, const struct model_call *c)
{
	uint64_t pa = c->x[0], n = c->x[1];

	/* Refused before any frame is looked at: harmless. */
	if (!changes_frames(c->fid) || (pa & PAGE_MASK) || !n ||
	    n > EXO_FRAME_MAX_COUNT || m->vital_lo > m->vital_hi)
		return false;
	if (pa > m->vital_hi ||
	    (pa < m->vital_lo && m->vital_lo - pa >= (n << FRAME_SHIFT)))
		return false;
	if (n > WALK_MAX)
		return true;   /* somewhere across the frames it runs on */
	for (uint64_t i = 0; i < n; i++)
		if (hold_of(m, pa + (i << FRAME_SHIFT)) == HOLD_VITAL)
			return true;
	return false;
}

/* --- predictions ----------------------------------------------------------- */

/* The calls after which the debug EL2 checks every stage 2 (el2/dispatch.c's
 * changes_mappings), but EXIT. */
bool model_is_memory_call(uint32_t fid)
{
	return (fid >= EXO_HVC_FRAME_ALLOC && fid <= EXO_HVC_FRAME_FREE) ||
	       (fid >= EXO_HVC_FRAME_SHARE && fid <= EXO_HVC_FRAME_DONATE) ||
	       fid == EXO_HVC_FRAME_ACCEPT || fid == EXO_HVC_FRAME_DROP;
}

const char *model_call_name(uint32_t fid)
{
	static const char *const names[] = {
		"VERSION", "CONSOLE_WRITE", "FRAME_ALLOC", "FRAME_ALLOC_AT",
		"FRAME_FREE", "FRAME_QUERY", "VM_INFO", "YIELD", "EXIT",
		"VM_LOOKUP", "FRAME_SHARE", "FRAME_UNSHARE", "FRAME_LEND",
		"FRAME_RECLAIM", "FRAME_DONATE", "NOTIFY", "WAIT", "EVENTS",
		"REVOKED", "REVOKED_ACK", "FRAME_ACCEPT", "FRAME_DROP",
		"FRAME_OFFER" };
	uint32_t n = fid - EXO_HVC_BASE;

	return n < sizeof(names) / sizeof(names[0]) ? names[n] : "unknown ID";
}

/* peer_of in el2/dispatch.c: running, not the caller, in share-with. */
static uint32_t peer_check(const struct model *m, uint64_t who)
{
	if (who == m->me)
		return S(EXO_EINVAL);
	if (who == m->peer && m->peer)
		return m->peer_runs ? 0 : S(EXO_ENOENT);
	/* An id of no guest, or of one not in share-with (the victim). */
	return who < MAX_VM_ID ? S(EXO_ENOENT) | S(EXO_EDENIED) : S(EXO_ENOENT);
}

struct verdicts {
	uint32_t unknown;            /* a frame the guest does not know */
	uint32_t held[HOLD_VITAL + 1];  /* one it knows, by how it holds it */
	uint32_t tail;               /* every frame passes */
};

/* The whole range of n frames, then the first part of them in order (a
 * bounded call handles only its part): the first refusal wins. */
static uint32_t walk(const struct model *m, uint64_t pa, uint64_t n,
		     uint64_t part, const struct verdicts *v)
{
	uint32_t maybe = 0;
	bool unknown = false;

	if ((pa - MODEL_RAM_BASE) >> FRAME_SHIFT >= MODEL_RAM_SIZE >> FRAME_SHIFT ||
	    n > (MODEL_RAM_BASE + MODEL_RAM_SIZE - pa) >> FRAME_SHIFT)
		return S(EXO_ERANGE);
	for (uint64_t i = 0; i < part; i++) {
		uint64_t f = pa + (i << FRAME_SHIFT);
		unsigned h = hold_of(m, f);
		uint32_t here;

		if (i == WALK_MAX)
			return ALL;
		if (h == HOLD_VITAL)
			h = HOLD_OWNED;   /* never changed: only refusals */
		here = h != HOLD_NONE ? v->held[h]
		       : f == MODEL_EL2_IMAGE && m->el2_image_hyp ? S(EXO_EHYP)
								  : v->unknown;
		unknown |= h == HOLD_NONE && here == v->unknown;
		maybe |= here & ~S(EXO_OK);
		if (!(here & S(EXO_OK)))
			return maybe;
	}
	/* A frame it does not know may sit in a 2 MiB block someone donated:
	 * splitting it needs a table page. */
	if (unknown || m->big_runs)
		maybe |= S(EXO_EQUOTA) | S(EXO_ENOMEM);
	return maybe | v->tail;
}

/* Shape checks of el2/dispatch.c: unaligned, then the count. */
static uint32_t shape(uint64_t pa, uint64_t n)
{
	if (pa & PAGE_MASK)
		return S(EXO_ERANGE);
	return n == 0 || n > EXO_FRAME_MAX_COUNT ? S(EXO_EINVAL) : 0;
}

/* ... of a call between guests: at most EXO_CALL_MAX_FRAMES frames. */
static uint32_t shape_between(uint64_t pa, uint64_t n)
{
	uint32_t rc = shape(pa, n);

	return !rc && n > EXO_CALL_MAX_FRAMES ? S(EXO_EINVAL) : rc;
}

/* The frames a call handles: at most EXO_CALL_MAX_FRAMES of its count,
 * the first ones (docs/abi.md, "Bounded work per call"). */
static uint64_t call_part(uint64_t n)
{
	return n < EXO_CALL_MAX_FRAMES ? n : EXO_CALL_MAX_FRAMES;
}

static const struct verdicts exclusive = {   /* free, lend, donate */
	.unknown = S(EXO_OK) | S(EXO_EPERM) | S(EXO_EHYP),
	.held = { [HOLD_OWNED] = S(EXO_OK), [HOLD_SHARED_R] = S(EXO_ESHARED),
		  [HOLD_SHARED_RW] = S(EXO_ESHARED), [HOLD_LENT] = S(EXO_ELENT) },
};

static uint32_t quota_tail(const struct model *m, uint64_t n)
{
	/* What it knows it owns is a lower bound of what it is charged. */
	if (m->nr_held + n > m->quota)
		return S(EXO_EQUOTA);
	return S(EXO_OK) | S(EXO_EQUOTA) | S(EXO_ENOMEM);
}

static uint32_t predict_alloc(const struct model *m, const struct model_call *c)
{
	uint32_t rc = shape(0, c->x[0]);

	if (rc)
		return rc;
	if (c->x[1] > EXO_FRAME_MAX_ALIGN_LOG2 || c->x[2] & ~EXO_FRAME_ALLOC_FLAGS)
		return S(EXO_EINVAL);
	return quota_tail(m, c->x[0]);
}

static uint32_t predict_alloc_at(const struct model *m,
				 const struct model_call *c)
{
	struct verdicts v = {
		.unknown = S(EXO_OK) | S(EXO_EBUSY) | S(EXO_EHYP),
		.held = { [HOLD_OWNED] = S(EXO_EBUSY),
			  [HOLD_SHARED_R] = S(EXO_EBUSY),
			  [HOLD_SHARED_RW] = S(EXO_EBUSY),
			  [HOLD_LENT] = S(EXO_EBUSY) },
	};
	uint32_t rc = shape(c->x[0], c->x[1]);

	if (rc)
		return rc;
	v.tail = quota_tail(m, call_part(c->x[1]));
	return walk(m, c->x[0], c->x[1], call_part(c->x[1]), &v);
}

static uint32_t predict_free(const struct model *m, const struct model_call *c)
{
	struct verdicts v = exclusive;
	uint32_t rc = shape(c->x[0], c->x[1]);

	v.tail = S(EXO_OK);
	return rc ? rc : walk(m, c->x[0], c->x[1], call_part(c->x[1]), &v);
}

/* --- offers ---------------------------------------------------------------- */

static unsigned offer_kind(const struct model_call *c)
{
	switch (c->fid) {
	case EXO_HVC_FRAME_SHARE:
		return c->x[3] == EXO_SHARE_RW ? EXO_OFFER_SHARE_RW
					       : EXO_OFFER_SHARE_R;
	case EXO_HVC_FRAME_LEND: return EXO_OFFER_LEND;
	default: return EXO_OFFER_DONATE;
	}
}

static bool is_offer(uint32_t fid)
{
	return fid == EXO_HVC_FRAME_SHARE || fid == EXO_HVC_FRAME_LEND ||
	       fid == EXO_HVC_FRAME_DONATE;
}

/* The offer UNSHARE (a share) or RECLAIM (a loan or donation) of exactly
 * [pa, +n) withdraws, or -1. */
static int withdrawn(const struct model *m, const struct model_call *c)
{
	bool share = c->fid == EXO_HVC_FRAME_UNSHARE;

	for (unsigned i = 0; i < m->nr_offers; i++) {
		const struct model_offer *o = &m->offer[i];
		bool o_share = o->kind == EXO_OFFER_SHARE_R ||
			       o->kind == EXO_OFFER_SHARE_RW;

		if (o->pa == c->x[0] && o->n == c->x[1] && o_share == share)
			return (int)i;
	}
	return -1;
}

/* After the frames pass: the range meets an offer to the peer (ESTATE),
 * the table is full (EFULL), or the offer is made. */
static uint32_t offer_tail(const struct model *m, const struct model_call *c)
{
	uint64_t f = c->x[0] >> FRAME_SHIFT;

	for (unsigned i = 0; i < m->nr_offers; i++) {
		uint64_t g = m->offer[i].pa >> FRAME_SHIFT;

		if (f < g + m->offer[i].n && g < f + c->x[1])
			return S(EXO_ESTATE);
	}
	return m->nr_offers == EXO_OFFERS_MAX ? S(EXO_EFULL) : S(EXO_OK);
}

static void learn_offer(struct model *m, const struct model_call *c)
{
	int i;

	if (is_offer(c->fid)) {
		if (m->nr_offers < EXO_OFFERS_MAX)
			m->offer[m->nr_offers++] = (struct model_offer){
				c->x[0], c->x[1], offer_kind(c) };
		return;
	}
	i = withdrawn(m, c);
	if (i >= 0)
		m->offer[i] = m->offer[--m->nr_offers];
}

static uint32_t between_tail(const struct model *m,
			     const struct model_call *c)
{
	if (c->fid == EXO_HVC_FRAME_UNSHARE)
		return S(EXO_OK);
	if (c->fid == EXO_HVC_FRAME_RECLAIM)   /* the owner's table pages */
		return S(EXO_OK) | S(EXO_EQUOTA) | S(EXO_ENOMEM);
	return offer_tail(m, c);
}

static struct verdicts between_verdicts(const struct model *m,
				       const struct model_call *c)
{
	uint32_t fid = c->fid;
	struct verdicts v = exclusive;

	switch (fid) {
	case EXO_HVC_FRAME_SHARE:
		v.held[HOLD_SHARED_R] = v.held[HOLD_SHARED_RW] = S(EXO_ESTATE);
		break;
	case EXO_HVC_FRAME_UNSHARE:
		v.unknown = S(EXO_EPERM) | S(EXO_EHYP) | S(EXO_ESTATE);
		v.held[HOLD_OWNED] = S(EXO_ESTATE);
		v.held[HOLD_SHARED_R] = v.held[HOLD_SHARED_RW] = S(EXO_OK);
		break;
	case EXO_HVC_FRAME_RECLAIM:
		v.unknown = S(EXO_EPERM) | S(EXO_EHYP) | S(EXO_ESTATE);
		v.held[HOLD_OWNED] = S(EXO_ESTATE);
		v.held[HOLD_SHARED_R] = v.held[HOLD_SHARED_RW] = S(EXO_ESTATE);
		v.held[HOLD_LENT] = S(EXO_OK);
		break;
	default:   /* lend, donate: OWNED exactly */
		break;
	}
	v.tail = between_tail(m, c);
	return v;
}

static uint32_t predict_between(const struct model *m,
				const struct model_call *c)
{
	struct verdicts v = between_verdicts(m, c);
	uint32_t rc = shape_between(c->x[0], c->x[1]);

	if (!rc && c->fid == EXO_HVC_FRAME_SHARE && c->x[3] != EXO_SHARE_R &&
	    c->x[3] != EXO_SHARE_RW)
		rc = S(EXO_EINVAL);
	if (!rc)
		rc = peer_check(m, c->x[2]);
	if (!rc && !is_offer(c->fid) && withdrawn(m, c) >= 0)
		return S(EXO_OK);   /* an offer taken back, frames untouched */
	return rc ? rc : walk(m, c->x[0], c->x[1], c->x[1], &v);
}

static uint32_t predict_query(const struct model_call *c)
{
	uint64_t pa = c->x[0];

	if (pa & PAGE_MASK)
		return S(EXO_ERANGE);
	return pa - MODEL_RAM_BASE < MODEL_RAM_SIZE ? S(EXO_OK) : S(EXO_ERANGE);
}

/* Calls drawn with random IDs and arguments: always-OK ones, unknown
 * IDs, and the rest (anything documented). */
static uint32_t predict_any_id(uint32_t fid)
{
	switch (fid) {
	case EXO_HVC_VERSION:
	case EXO_HVC_VM_INFO:
	case EXO_HVC_YIELD:
	case EXO_HVC_EVENTS:
	case EXO_HVC_REVOKED_ACK:
		return S(EXO_OK);
	case EXO_HVC_RECLAIMED:     /* a peer may have taken frames back */
		return S(EXO_OK) | S(EXO_ENOENT);
	case EXO_HVC_RECLAIMED_ACK: /* a random generation: rarely current */
		return S(EXO_OK) | S(EXO_ESTATE);
	default:
		return fid > EXO_HVC_LAST ? S(EXO_ENOTSUP) : ALL;
	}
}

uint32_t model_predict(const struct model *m, const struct model_call *c)
{
	switch (c->fid) {
	case EXO_HVC_FRAME_ALLOC: return predict_alloc(m, c);
	case EXO_HVC_FRAME_ALLOC_AT: return predict_alloc_at(m, c);
	case EXO_HVC_FRAME_FREE: return predict_free(m, c);
	case EXO_HVC_FRAME_QUERY: return predict_query(c);
	case EXO_HVC_FRAME_SHARE:
	case EXO_HVC_FRAME_UNSHARE:
	case EXO_HVC_FRAME_LEND:
	case EXO_HVC_FRAME_RECLAIM:
	case EXO_HVC_FRAME_DONATE:
		return predict_between(m, c);
	case EXO_HVC_NOTIFY: {
		uint32_t rc = peer_check(m, c->x[0]);

		return rc ? rc : S(EXO_OK);
	}
	case EXO_HVC_REVOKED: return S(EXO_ENOENT);   /* nothing revoked */
	default: return predict_any_id(c->fid);
	}
}

/* --- learning --------------------------------------------------------------- */

static void set_range(struct model *m, uint64_t pa, uint64_t n, unsigned h)
{
	for (uint64_t i = 0; i < n; i++)
		set_hold(m, pa + (i << FRAME_SHIFT), h);
	if (n >= BLOCK_FRAMES && h == HOLD_OWNED)
		m->big_runs = true;
}

/* What FRAME_QUERY must say about a frame the guest knows. */
static bool query_agrees(const struct model *m, uint64_t pa,
			 const struct exo_ret *r)
{
	static const uint8_t state[] = {
		[HOLD_OWNED] = EXO_FRAME_OWNED, [HOLD_SHARED_R] = EXO_FRAME_SHARED,
		[HOLD_SHARED_RW] = EXO_FRAME_SHARED, [HOLD_LENT] = EXO_FRAME_LENT,
		[HOLD_VITAL] = EXO_FRAME_OWNED };
	unsigned h = hold_of(m, pa);

	if (h == HOLD_NONE)
		return pa != MODEL_EL2_IMAGE || !m->el2_image_hyp ||
		       (r->x1 == EXO_FRAME_HYP && r->x2 == 0);
	return r->x1 == state[h] && r->x2 == (h != HOLD_LENT);
}

/* Frames an allocation returned: none may be one the guest holds. */
static bool fresh(const struct model *m, uint64_t pa, uint64_t n)
{
	for (uint64_t i = 0; i < n && i < WALK_MAX; i++)
		if (hold_of(m, pa + (i << FRAME_SHIFT)) != HOLD_NONE)
			return false;
	return true;
}

bool model_learn(struct model *m, const struct model_call *c,
		 const struct exo_ret *r)
{
	uint64_t pa = c->x[0], n = c->x[1];

	if (r->status != EXO_OK)
		return true;
	switch (c->fid) {
	case EXO_HVC_FRAME_ALLOC:
		if (r->x2 != call_part(c->x[0]) || !fresh(m, r->x1, r->x2))
			return false;
		set_range(m, r->x1, r->x2, HOLD_OWNED);
		break;
	case EXO_HVC_FRAME_ALLOC_AT:
		if (r->x1 != call_part(n))
			return false;
		set_range(m, pa, r->x1, HOLD_OWNED);
		break;
	case EXO_HVC_FRAME_FREE:
		if (r->x1 != call_part(n))
			return false;
		set_range(m, pa, r->x1, HOLD_NONE);
		break;
	case EXO_HVC_FRAME_SHARE:
	case EXO_HVC_FRAME_LEND:
	case EXO_HVC_FRAME_DONATE:
	case EXO_HVC_FRAME_UNSHARE:
	case EXO_HVC_FRAME_RECLAIM:
		/* Offers change no frame; UNSHARE and RECLAIM withdraw one
		 * (nothing else of ours is ever shared or lent). */
		learn_offer(m, c);
		break;
	case EXO_HVC_FRAME_QUERY: return query_agrees(m, pa, r);
	default: break;
	}
	return true;
}

void model_peer_ended(struct model *m)
{
	bool again = true;

	m->peer_runs = false;
	m->nr_offers = 0;
	for (unsigned i = 0; i < MODEL_SLOTS; i++) {
		uint64_t pa = (uint64_t)m->slot[i].frame << FRAME_SHIFT;
		struct exo_ret q;

		if (!m->slot[i].frame || m->slot[i].state == HOLD_OWNED ||
		    m->slot[i].state == HOLD_VITAL)
			continue;
		if (m->slot[i].state != HOLD_LENT) {
			m->slot[i].state = HOLD_OWNED;
			continue;
		}
		/* A loan comes back mapped, or freed when the owner had no
		 * quota left for the table pages (docs/abi.md). */
		q = exo_frame_query(pa);
		m->slot[i].state = q.status == EXO_OK &&
					   q.x1 == EXO_FRAME_OWNED && q.x2
				   ? HOLD_OWNED : HOLD_NONE;
	}
	/* Removing moves entries back along their chains: sweep until none
	 * of the freed loans is left. */
	while (again) {
		again = false;
		for (unsigned i = 0; i < MODEL_SLOTS; i++) {
			if (m->slot[i].frame && m->slot[i].state == HOLD_NONE) {
				remove_slot(m, i);
				again = true;
			}
		}
	}
}
