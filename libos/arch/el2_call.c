/*
 * AArch64 implementation of libos/el2.h: each function is one hypercall
 * through include/exo/hypercall.h. Only the calls: never any policy. Not
 * built for the host.
 */
#include <libos/el2.h>

#ifndef EXO_HOST
#include <exo/hypercall.h>

int64_t libos_el2_frame_alloc(uint64_t count, unsigned align_log2, uint64_t *pa)
{
	struct exo_ret r = exo_frame_alloc(count, align_log2);

	if (r.status == EXO_OK)
		*pa = r.x1;
	return r.status;
}

int64_t libos_el2_frame_free(uint64_t pa, uint64_t count)
{
	return exo_frame_free(pa, count);
}

int64_t libos_el2_vm_info(struct libos_vm_info *info)
{
	struct exo_ret r = exo_vm_info();

	if (r.status == EXO_OK) {
		info->vmid = r.x1;
		info->quota = r.x2;
		info->charged = r.x3;
	}
	return r.status;
}

int64_t libos_el2_events(struct libos_events *ev)
{
	struct exo_ret r = exo_events();

	if (r.status == EXO_OK)
		*ev = (struct libos_events){ r.x1, r.x2, r.x3 };
	return r.status;
}

int64_t libos_el2_revoked(uint64_t index, uint64_t *pa, uint64_t *count)
{
	struct exo_ret r = exo_revoked(index);

	if (r.status == EXO_OK) {
		*pa = r.x1;
		*count = r.x2;
	}
	return r.status;
}

int64_t libos_el2_revoked_ack(void)
{
	return exo_revoked_ack();
}

int64_t libos_el2_reclaimed(uint64_t index, uint64_t *pa, uint64_t *count,
			    uint64_t *generation)
{
	struct exo_ret r = exo_reclaimed(index);

	if (r.status == EXO_OK) {
		*pa = r.x1;
		*count = r.x2;
		*generation = r.x3;
	}
	return r.status;
}

int64_t libos_el2_reclaimed_ack(uint64_t generation)
{
	return exo_reclaimed_ack(generation);
}

int64_t libos_el2_vm_lookup(const char *name, uint64_t *vmid)
{
	struct exo_ret r = exo_vm_lookup(name);

	if (r.status == EXO_OK)
		*vmid = r.x1;
	return r.status;
}

int64_t libos_el2_frame_query(uint64_t pa, uint64_t *state, uint64_t *access)
{
	struct exo_ret r = exo_frame_query(pa);

	if (r.status == EXO_OK) {
		*state = r.x1;
		*access = r.x2;
	}
	return r.status;
}

int64_t libos_el2_frame_share(uint64_t pa, uint64_t count, uint64_t vm,
			      unsigned perm)
{
	return exo_frame_share(pa, count, vm, perm);
}

int64_t libos_el2_frame_unshare(uint64_t pa, uint64_t count, uint64_t vm)
{
	return exo_frame_unshare(pa, count, vm);
}

int64_t libos_el2_frame_offer(uint64_t index, struct libos_offer *o)
{
	struct exo_ret r = exo_frame_offer(index);

	if (r.status == EXO_OK)
		*o = (struct libos_offer){ EXO_OFFER_SENDER(r.x1),
					   EXO_OFFER_KIND(r.x1), r.x2, r.x3 };
	return r.status;
}

int64_t libos_el2_frame_accept(uint64_t pa, uint64_t count, uint64_t sender,
			       unsigned kind)
{
	return exo_frame_accept(pa, count, sender, kind);
}

int64_t libos_el2_frame_drop(uint64_t pa, uint64_t count, uint64_t owner)
{
	return exo_frame_drop(pa, count, owner);
}

int64_t libos_el2_notify(uint64_t vm)
{
	return exo_notify(vm);
}

uint64_t libos_el2_wait(void)
{
	return exo_wait().x1;
}

void libos_el2_yield(void)
{
	exo_yield();
}

#endif
