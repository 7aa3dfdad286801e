/*
 * AArch64 implementation of libos/hvc.h: each function is one hypercall
 * through include/exo/hypercall.h. Only the calls: never any policy. Not
 * built for the host.
 */
#include <libos/hvc.h>

#ifndef EXO_HOST
#include <exo/hypercall.h>

int64_t libos_hvc_frame_alloc(uint64_t count, unsigned align_log2, uint64_t *pa)
{
	struct exo_ret r = exo_frame_alloc(count, align_log2);

	if (r.status == EXO_OK)
		*pa = r.x1;
	return r.status;
}

int64_t libos_hvc_frame_free(uint64_t pa, uint64_t count)
{
	return exo_frame_free(pa, count);
}

int64_t libos_hvc_vm_info(struct libos_vm_info *info)
{
	struct exo_ret r = exo_vm_info();

	if (r.status == EXO_OK) {
		info->vmid = r.x1;
		info->quota = r.x2;
		info->charged = r.x3;
	}
	return r.status;
}

int64_t libos_hvc_events(struct libos_events *ev)
{
	struct exo_ret r = exo_events();

	if (r.status == EXO_OK)
		*ev = (struct libos_events){ r.x1, r.x2, r.x3 };
	return r.status;
}

int64_t libos_hvc_revoked(uint64_t index, uint64_t *pa, uint64_t *count)
{
	struct exo_ret r = exo_revoked(index);

	if (r.status == EXO_OK) {
		*pa = r.x1;
		*count = r.x2;
	}
	return r.status;
}

int64_t libos_hvc_revoked_ack(void)
{
	return exo_revoked_ack();
}

#endif
