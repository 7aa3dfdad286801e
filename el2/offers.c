/*
 * Offers between guests (el2/offers.h): a table of EXO_OFFERS_MAX slots
 * per sender, indexed by its VM id. Owns: which offers exist, and that an
 * offer is performed at most once (the accept consumes it). Never: looks
 * at frames, stage 2 or quotas (the caller checks the sender's side before
 * an offer is made; the transaction at accept checks the rest), or raises
 * events (the dispatcher does).
 *
 * Lock: offers_lock, held across an accept's transaction so that no
 * withdrawal or end of life runs between finding the offer and consuming
 * it. Order: offers_lock, then mem's lock (the transaction takes it);
 * nothing under mem's lock calls here.
 */
#include <el2/offers.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <lib/spinlock.h>
#include <string.h>

/* A slot: the offer, or a free slot (count 0). */
struct slot {
	uint64_t pa, count;
	uint8_t to, kind;
};

static struct slot table[EXO_MAX_VMS][EXO_OFFERS_MAX];
static struct spinlock offers_lock = SPINLOCK_INIT;

static bool vm_id_ok(unsigned vm)
{
	return vm > 0 && vm < EXO_MAX_VMS;
}

static bool kind_ok(unsigned kind)
{
	return kind >= EXO_OFFER_SHARE_R && kind <= EXO_OFFER_DONATE;
}

static bool used(const struct slot *s)
{
	return s->count != 0;
}

/* Do the frame ranges [a, +na) and [b, +nb) meet? In frame numbers, so
 * no sum overflows (counts are at most EXO_FRAME_MAX_COUNT). */
static bool overlap(uint64_t a, uint64_t na, uint64_t b, uint64_t nb)
{
	uint64_t fa = a >> EXO_FRAME_SHIFT, fb = b >> EXO_FRAME_SHIFT;

	return fa < fb + nb && fb < fa + na;
}

static struct offer offer_of(unsigned from, const struct slot *s)
{
	return (struct offer){ from, s->to, s->kind, s->pa, s->count };
}

void offers_init(void)
{
	spin_lock(&offers_lock);
	memset(table, 0, sizeof(table));
	spin_unlock(&offers_lock);
}

static int64_t args_check(const struct offer *o)
{
	if (!vm_id_ok(o->from) || !vm_id_ok(o->to) || o->from == o->to ||
	    !kind_ok(o->kind) || !o->count || o->count > EXO_FRAME_MAX_COUNT)
		return EXO_EINVAL;
	return (o->pa & EXO_FRAME_OFFSET_MASK) ? EXO_ERANGE : EXO_OK;
}

/* The free slot of o's sender, or why there is none to take. */
static int64_t free_slot(const struct offer *o, struct slot **out)
{
	struct slot *row = table[o->from];

	*out = NULL;
	for (unsigned i = 0; i < EXO_OFFERS_MAX; i++) {
		if (!used(&row[i])) {
			if (!*out)
				*out = &row[i];
		} else if (row[i].to == o->to &&
			   overlap(row[i].pa, row[i].count, o->pa, o->count)) {
			return EXO_ESTATE;
		}
	}
	return *out ? EXO_OK : EXO_EFULL;
}

int64_t offers_make(const struct offer *o)
{
	struct slot *s;
	int64_t rc = args_check(o);

	if (rc)
		return rc;
	spin_lock(&offers_lock);
	rc = free_slot(o, &s);
	if (!rc)
		*s = (struct slot){ o->pa, o->count, (uint8_t)o->to,
				    (uint8_t)o->kind };
	spin_unlock(&offers_lock);
	return rc;
}

/* The slot holding exactly *o (sender, recipient, range, kind), or NULL. */
static struct slot *find(const struct offer *o)
{
	if (!vm_id_ok(o->from) || !vm_id_ok(o->to))
		return NULL;
	for (unsigned i = 0; i < EXO_OFFERS_MAX; i++) {
		struct slot *s = &table[o->from][i];

		if (used(s) && s->to == o->to && s->pa == o->pa &&
		    s->count == o->count && s->kind == o->kind)
			return s;
	}
	return NULL;
}

int64_t offers_withdraw(unsigned from, unsigned to, uint64_t pa,
			uint64_t count, bool share)
{
	static const unsigned share_kinds[] = { EXO_OFFER_SHARE_R,
						EXO_OFFER_SHARE_RW };
	static const unsigned loan_kinds[] = { EXO_OFFER_LEND,
					       EXO_OFFER_DONATE };
	const unsigned *kinds = share ? share_kinds : loan_kinds;
	int64_t rc = EXO_ENOENT;

	spin_lock(&offers_lock);
	for (unsigned k = 0; k < 2 && rc; k++) {
		struct slot *s = find(&(struct offer){ from, to, kinds[k], pa,
						       count });

		if (s) {
			s->count = 0;
			rc = EXO_OK;
		}
	}
	spin_unlock(&offers_lock);
	return rc;
}

int64_t offers_list(unsigned to, uint64_t index, struct offer *o)
{
	int64_t rc = EXO_ENOENT;

	spin_lock(&offers_lock);
	for (unsigned from = 1; from < EXO_MAX_VMS && rc; from++) {
		for (unsigned i = 0; i < EXO_OFFERS_MAX && rc; i++) {
			const struct slot *s = &table[from][i];

			if (!used(s) || s->to != to)
				continue;
			if (index-- == 0) {
				*o = offer_of(from, s);
				rc = EXO_OK;
			}
		}
	}
	spin_unlock(&offers_lock);
	return rc;
}

/* A shortage on the recipient's side: the offer stays for a later try. */
static bool keeps_offer(int64_t rc)
{
	return rc == EXO_EQUOTA || rc == EXO_ENOMEM;
}

int64_t offers_accept(const struct offer *want, offers_perform_fn perform,
		      void *ctx)
{
	struct slot *s;
	int64_t rc = EXO_ENOENT;

	spin_lock(&offers_lock);
	s = find(want);
	if (s) {
		struct offer o = offer_of(want->from, s);

		rc = perform(ctx, &o);
		if (!keeps_offer(rc))
			s->count = 0;
	}
	spin_unlock(&offers_lock);
	return rc;
}

void offers_vm_end(unsigned vm)
{
	if (!vm_id_ok(vm))
		return;
	spin_lock(&offers_lock);
	memset(table[vm], 0, sizeof(table[vm]));
	for (unsigned from = 1; from < EXO_MAX_VMS; from++)
		for (unsigned i = 0; i < EXO_OFFERS_MAX; i++)
			if (table[from][i].to == vm)
				table[from][i].count = 0;
	spin_unlock(&offers_lock);
}

unsigned offers_pending(unsigned from)
{
	unsigned n = 0;

	if (!vm_id_ok(from))
		return 0;
	spin_lock(&offers_lock);
	for (unsigned i = 0; i < EXO_OFFERS_MAX; i++)
		n += used(&table[from][i]);
	spin_unlock(&offers_lock);
	return n;
}
