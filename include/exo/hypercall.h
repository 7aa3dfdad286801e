/*
 * Guest-side hypercall wrappers (static inline so libos needs nothing from
 * el1). Only for AArch64 targets.
 */
#ifndef EXO_HYPERCALL_H
#define EXO_HYPERCALL_H

#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <stdbool.h>
#include <stdint.h>

struct exo_ret {
	int64_t status;
	uint64_t x1, x2, x3;
};

static inline struct exo_ret exo_hvc(uint64_t fid, uint64_t a1, uint64_t a2,
				     uint64_t a3, uint64_t a4, uint64_t a5,
				     uint64_t a6, uint64_t a7)
{
	register uint64_t x0 __asm__("x0") = fid;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;
	register uint64_t x4 __asm__("x4") = a4;
	register uint64_t x5 __asm__("x5") = a5;
	register uint64_t x6 __asm__("x6") = a6;
	register uint64_t x7 __asm__("x7") = a7;

	__asm__ volatile("hvc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4),
			   "+r"(x5), "+r"(x6), "+r"(x7)
			 :
			 : "memory");
	return (struct exo_ret){ (int64_t)x0, x1, x2, x3 };
}

#define exo_call0(f) exo_hvc((f), 0, 0, 0, 0, 0, 0, 0)
#define exo_call1(f, a) exo_hvc((f), (a), 0, 0, 0, 0, 0, 0)
#define exo_call2(f, a, b) exo_hvc((f), (a), (b), 0, 0, 0, 0, 0)
#define exo_call3(f, a, b, c) exo_hvc((f), (a), (b), (c), 0, 0, 0, 0)

/* FRAME_ALLOC_AT and FRAME_FREE handle at most EXO_CALL_MAX_FRAMES per
 * call and return how many in x1 (docs/abi.md, "Bounded work per call"):
 * these wrappers call again for the rest, so they handle the whole count.
 * A call that fails part-way leaves the frames before it done. */
static inline int64_t exo_frame_free(uint64_t pa, uint64_t count)
{
	struct exo_ret r;

	do {	/* one call at least: a count of 0 is EL2's to refuse */
		r = exo_call2(EXO_HVC_FRAME_FREE, pa, count);
		if (r.status == EXO_OK) {
			pa += r.x1 * EXO_FRAME_SIZE;
			count -= r.x1;
		}
	} while (count && r.status == EXO_OK);
	return r.status;
}

/* A whole run at pa, or none of it: what the first calls took is freed
 * when a later one fails. */
static inline int64_t exo_frame_alloc_at(uint64_t pa, uint64_t count)
{
	struct exo_ret r = exo_call2(EXO_HVC_FRAME_ALLOC_AT, pa, count);
	uint64_t done = 0;

	while (r.status == EXO_OK && (done += r.x1) < count)
		r = exo_call2(EXO_HVC_FRAME_ALLOC_AT, pa + done * EXO_FRAME_SIZE,
			      count - done);
	if (r.status != EXO_OK && done)
		exo_frame_free(pa, done);
	return r.status;
}

/* x1 = a run of count frames aligned to 2^align_log2 frames, x2 = count.
 * FRAME_ALLOC finds the whole run but takes its first EXO_CALL_MAX_FRAMES
 * (x2 says how many); the rest is taken with FRAME_ALLOC_AT. Another guest
 * may take those frames in between: then the part is given back and the
 * search made again, at most EXO_ALLOC_ATTEMPTS times (EXO_EBUSY after). */
#define EXO_ALLOC_ATTEMPTS 4
static inline struct exo_ret exo_frame_alloc(uint64_t count, unsigned align_log2)
{
	struct exo_ret r = { EXO_EBUSY, 0, 0, 0 };

	for (unsigned i = 0; i < EXO_ALLOC_ATTEMPTS; i++) {
		uint64_t pa;

		r = exo_call3(EXO_HVC_FRAME_ALLOC, count, align_log2, 0);
		if (r.status != EXO_OK || r.x2 == count)
			return r;
		pa = r.x1;
		if (exo_frame_alloc_at(pa + r.x2 * EXO_FRAME_SIZE,
				       count - r.x2) == EXO_OK)
			return (struct exo_ret){ EXO_OK, pa, count, 0 };
		exo_frame_free(pa, r.x2);
		r = (struct exo_ret){ EXO_EBUSY, 0, 0, 0 };
	}
	return r;
}

/* One frame the caller need not find zeroed (EXO_FRAME_ALLOC_NOZERO): x1
 * = its PA, which may hold what this guest itself left in it when it
 * freed it; never another guest's data. */
static inline struct exo_ret exo_frame_alloc_nozero(void)
{
	return exo_call3(EXO_HVC_FRAME_ALLOC, 1, 0, EXO_FRAME_ALLOC_NOZERO);
}

static inline struct exo_ret exo_frame_query(uint64_t pa)
{
	return exo_call1(EXO_HVC_FRAME_QUERY, pa);
}

static inline struct exo_ret exo_vm_info(void)
{
	return exo_call0(EXO_HVC_VM_INFO);
}

/* A guest's VM id from its manifest name (at most EXO_VM_NAME_MAX
 * characters). */
static inline struct exo_ret exo_vm_lookup(const char *name)
{
	uint64_t w[2] = { 0, 0 };

	for (unsigned i = 0; i < EXO_VM_NAME_MAX && name[i]; i++)
		w[i / 8] |= (uint64_t)(unsigned char)name[i] << (8 * (i % 8));
	return exo_call2(EXO_HVC_VM_LOOKUP, w[0], w[1]);
}

static inline int64_t exo_frame_share(uint64_t pa, uint64_t count,
				      uint64_t borrower, unsigned perm)
{
	return exo_hvc(EXO_HVC_FRAME_SHARE, pa, count, borrower, perm, 0, 0, 0)
		.status;
}

static inline int64_t exo_frame_unshare(uint64_t pa, uint64_t count,
					uint64_t borrower)
{
	return exo_call3(EXO_HVC_FRAME_UNSHARE, pa, count, borrower).status;
}

static inline int64_t exo_frame_lend(uint64_t pa, uint64_t count,
				     uint64_t borrower)
{
	return exo_call3(EXO_HVC_FRAME_LEND, pa, count, borrower).status;
}

static inline int64_t exo_frame_reclaim(uint64_t pa, uint64_t count,
					uint64_t borrower)
{
	return exo_call3(EXO_HVC_FRAME_RECLAIM, pa, count, borrower).status;
}

static inline int64_t exo_frame_donate(uint64_t pa, uint64_t count,
				       uint64_t recipient)
{
	return exo_call3(EXO_HVC_FRAME_DONATE, pa, count, recipient).status;
}

static inline int64_t exo_frame_accept(uint64_t pa, uint64_t count,
				       uint64_t sender, unsigned kind)
{
	return exo_hvc(EXO_HVC_FRAME_ACCEPT, pa, count, sender, kind, 0, 0, 0)
		.status;
}

static inline int64_t exo_frame_drop(uint64_t pa, uint64_t count,
				     uint64_t owner)
{
	return exo_call3(EXO_HVC_FRAME_DROP, pa, count, owner).status;
}

/* -> x1 = sender | kind << 32, x2 = PA, x3 = count; EXO_ENOENT past the
 * last offer. */
static inline struct exo_ret exo_frame_offer(uint64_t index)
{
	return exo_call1(EXO_HVC_FRAME_OFFER, index);
}

static inline int64_t exo_notify(uint64_t vm)
{
	return exo_call1(EXO_HVC_NOTIFY, vm).status;
}

/* WAIT (exo/hvc.h): x1 = the notifiers among VM ids x2 .. x2 + 63, x3 = 1
 * if other windows are pending. */
static inline struct exo_ret exo_wait(void)
{
	return exo_call0(EXO_HVC_WAIT);
}

/* Did guest vm notify, by this answer of WAIT? */
static inline bool exo_wait_from(const struct exo_ret *w, uint64_t vm)
{
	return vm >= w->x2 && vm - w->x2 < EXO_WAIT_WINDOW &&
	       (w->x1 >> (vm - w->x2) & 1);
}

static inline struct exo_ret exo_events(void)
{
	return exo_call0(EXO_HVC_EVENTS);
}

static inline struct exo_ret exo_revoked(uint64_t index)
{
	return exo_call1(EXO_HVC_REVOKED, index);
}

static inline int64_t exo_revoked_ack(void)
{
	return exo_call0(EXO_HVC_REVOKED_ACK).status;
}

static inline struct exo_ret exo_reclaimed(uint64_t index)
{
	return exo_call1(EXO_HVC_RECLAIMED, index);
}

static inline int64_t exo_reclaimed_ack(uint64_t generation)
{
	return exo_call1(EXO_HVC_RECLAIMED_ACK, generation).status;
}

static inline void exo_yield(void)
{
	exo_call0(EXO_HVC_YIELD);
}

/* Exits with a cause and an address (exo/exit_status.h) EL2's summary
 * decodes with the status. */
static inline _Noreturn void exo_exit_why(int64_t status, uint64_t cause,
					  uint64_t addr)
{
	exo_call3(EXO_HVC_EXIT, (uint64_t)status, cause, addr);
	for (;;)
		;
}

static inline _Noreturn void exo_exit(int64_t status)
{
	exo_exit_why(status, 0, 0);
}

#endif
