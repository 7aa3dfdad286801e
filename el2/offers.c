/*
 * Offers between guests (el2/offers.h): a table of EXO_OFFERS_MAX slots
 * per sender, indexed by its VM id. Owns: which offers exist, and that an
 * offer is performed at most once (the accept consumes it). Never: looks
 * at frames, stage 2 or quotas (the caller checks the sender's side before
 * an offer is made; the transaction at accept checks the rest), or raises
 * events (the dispatcher does).
 *
 * Each sender's used slots are also a bit mask, so that making, finding
 * and withdrawing an offer visit only the offers the sender has (none or
 * a few), not all EXO_OFFERS_MAX slots.
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
#include <lib/panic.h>
#include <el2/hyp_lock.h>
#include <lib/spinlock.h>
#include <string.h>

/* A slot: the offer, or a free slot (count 0). */
struct slot {
	uint64_t pa, count;
	uint16_t to;    /* a VM id */
	uint8_t kind;
};

static struct slot table[EXO_MAX_VMS][EXO_OFFERS_MAX];
/* Bit i of used_mask[from]: table[from][i] holds an offer (count != 0). */
typedef uint32_t slot_mask;
_Static_assert(EXO_OFFERS_MAX <= sizeof(slot_mask) * 8,
	       "a sender's slots do not fit its mask");
static slot_mask used_mask[EXO_MAX_VMS];
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

/* The lowest slot index in a nonempty mask, and the mask without it. */
static unsigned take_lowest(slot_mask *m)
{
	unsigned i = (unsigned)__builtin_ctz(*m);

	*m &= *m - 1;
	return i;
}

/* Slots in a mask (no __builtin_popcount: GCC calls libgcc for it
 * without FP/SIMD registers). */
static unsigned mask_count(slot_mask m)
{
	unsigned n = 0;

	while (m) {
		take_lowest(&m);
		n++;
	}
	return n;
}

/* A slot of `from` given up (withdrawn, accepted, its party gone). */
static void slot_clear(unsigned from, unsigned i)
{
	table[from][i].count = 0;
	used_mask[from] &= ~((slot_mask)1 << i);
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
	hyp_spin_lock(&offers_lock);
	memset(table, 0, sizeof(table));
	memset(used_mask, 0, sizeof(used_mask));
	hyp_spin_unlock(&offers_lock);
}

static int64_t args_check(const struct offer *o)
{
	if (!vm_id_ok(o->from) || !vm_id_ok(o->to) || o->from == o->to ||
	    !kind_ok(o->kind) || !o->count || o->count > EXO_FRAME_MAX_COUNT)
		return EXO_EINVAL;
	return (o->pa & EXO_FRAME_OFFSET_MASK) ? EXO_ERANGE : EXO_OK;
}

#define ALL_SLOTS ((slot_mask)((UINT64_C(1) << EXO_OFFERS_MAX) - 1))

/* The lowest free slot index of o's sender, or why there is none to
 * take: only the sender's offers are looked at. */
static int64_t free_slot(const struct offer *o, unsigned *out)
{
	const struct slot *row = table[o->from];
	slot_mask m = used_mask[o->from], free = ALL_SLOTS & ~m;

	while (m) {
		const struct slot *s = &row[take_lowest(&m)];

		if (s->to == o->to && overlap(s->pa, s->count, o->pa, o->count))
			return EXO_ESTATE;
	}
	if (!free)
		return EXO_EFULL;
	*out = (unsigned)__builtin_ctz(free);
	return EXO_OK;
}

int64_t offers_make(unsigned from, unsigned to, unsigned kind, uint64_t pa,
		    uint64_t count)
{
	const struct offer o = { from, to, kind, pa, count };
	unsigned i;
	int64_t rc = args_check(&o);

	if (rc)
		return rc;
	hyp_spin_lock(&offers_lock);
	rc = free_slot(&o, &i);
	if (!rc) {
		table[from][i] = (struct slot){ pa, count, (uint16_t)to,
						(uint8_t)kind };
		used_mask[from] |= (slot_mask)1 << i;
	}
	hyp_spin_unlock(&offers_lock);
	return rc;
}

#define KIND_BIT(kind) (1u << (kind))

/* The index of the slot holding exactly the offer of [pa, +count) from
 * `from` to `to` of one of the kinds (KIND_BIT each), or -1. Offers of
 * one sender to one recipient never overlap (free_slot), so there is at
 * most one. */
static int find_index(unsigned from, unsigned to, uint64_t pa, uint64_t count,
		      unsigned kinds)
{
	const struct slot *row;
	slot_mask m;

	if (!vm_id_ok(from) || !vm_id_ok(to))
		return -1;
	row = table[from];
	m = used_mask[from];
	while (m) {
		unsigned i = take_lowest(&m);
		const struct slot s = row[i];

		if (s.to == to && s.pa == pa && s.count == count &&
		    (KIND_BIT(s.kind) & kinds))
			return (int)i;
	}
	return -1;
}

int64_t offers_withdraw(unsigned from, unsigned to, uint64_t pa,
			uint64_t count, bool share)
{
	unsigned kinds = share ? KIND_BIT(EXO_OFFER_SHARE_R) |
					 KIND_BIT(EXO_OFFER_SHARE_RW)
			       : KIND_BIT(EXO_OFFER_LEND) |
					 KIND_BIT(EXO_OFFER_DONATE);
	int i;

	hyp_spin_lock(&offers_lock);
	i = find_index(from, to, pa, count, kinds);
	if (i >= 0)
		slot_clear(from, (unsigned)i);
	hyp_spin_unlock(&offers_lock);
	return i >= 0 ? EXO_OK : EXO_ENOENT;
}

int64_t offers_list(unsigned to, uint64_t index, struct offer *o)
{
	int64_t rc = EXO_ENOENT;

	hyp_spin_lock(&offers_lock);
	/* Every sender is looked at, but only the slots its mask says hold
	 * an offer (a thousand guests with none cost one load each). */
	for (unsigned from = 1; from < EXO_MAX_VMS && rc; from++) {
		for (slot_mask m = used_mask[from]; m && rc;) {
			const struct slot *s = &table[from][take_lowest(&m)];

			if (s->to != to)
				continue;
			if (index-- == 0) {
				*o = offer_of(from, s);
				rc = EXO_OK;
			}
		}
	}
	hyp_spin_unlock(&offers_lock);
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
	int64_t rc = EXO_ENOENT;
	int i;

	hyp_spin_lock(&offers_lock);
	i = kind_ok(want->kind)
		    ? find_index(want->from, want->to, want->pa, want->count,
				 KIND_BIT(want->kind))
		    : -1;
	if (i >= 0) {
		struct offer o = offer_of(want->from, &table[want->from][i]);

		rc = perform(ctx, &o);
		if (!keeps_offer(rc))
			slot_clear(want->from, (unsigned)i);
	}
	hyp_spin_unlock(&offers_lock);
	return rc;
}

void offers_vm_end(unsigned vm)
{
	if (!vm_id_ok(vm))
		return;
	hyp_spin_lock(&offers_lock);
	memset(table[vm], 0, sizeof(table[vm]));
	used_mask[vm] = 0;
	for (unsigned from = 1; from < EXO_MAX_VMS; from++)
		for (slot_mask m = used_mask[from]; m;) {
			unsigned i = take_lowest(&m);

			if (table[from][i].to == vm)
				slot_clear(from, i);
		}
	hyp_spin_unlock(&offers_lock);
}

unsigned offers_pending(unsigned from)
{
	unsigned n = 0;

	if (!vm_id_ok(from))
		return 0;
	hyp_spin_lock(&offers_lock);
	for (unsigned i = 0; i < EXO_OFFERS_MAX; i++)
		n += used(&table[from][i]);
	/* The mask and the slots agree (an EL2 bug otherwise). */
	CHECK(n == mask_count(used_mask[from]));
	hyp_spin_unlock(&offers_lock);
	return n;
}
