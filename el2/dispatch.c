/*
 * The hypercall dispatcher: the one place where every argument of every
 * call is checked, before anything changes. Results go back in x0-x3;
 * registers a call does not define are zeroed so no EL2 value leaks.
 */
#include <el2/arch.h>
#include <el2/dispatch.h>
#include <el2/faultinject.h>
#include <el2/frames.h>
#include <el2/hyp_lock.h>
#include <el2/lost.h>
#include <el2/mem.h>
#include <el2/offers.h>
#include <el2/revoke.h>
#include <el2/sched.h>
#include <el2/spectre.h>
#include <el2/system.h>
#include <el2/vcpu_psci.h>
#include <el2/vm_event.h>
#include <el2/vm_ops.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <lib/compiler.h>
#include <lib/panic.h>

#define EXO_MAX_VM_ID EXO_MAX_VMS

struct hvc_result {
	int64_t status;
	uint64_t r1, r2, r3;
};

static struct hvc_result ok1(uint64_t r1)
{
	return (struct hvc_result){ EXO_OK, r1, 0, 0 };
}

static struct hvc_result status(int64_t s)
{
	return (struct hvc_result){ s, 0, 0, 0 };
}

static int64_t check_count(uint64_t count)
{
	return (count == 0 || count > EXO_FRAME_MAX_COUNT) ? EXO_EINVAL : EXO_OK;
}

static int64_t check_range(uint64_t pa, uint64_t count)
{
	if (pa & EXO_FRAME_OFFSET_MASK)
		return EXO_ERANGE;
	return check_count(count);
}

/* Calls between guests (offers, ACCEPT, DROP, UNSHARE, RECLAIM) take at
 * most EXO_CALL_MAX_FRAMES frames (docs/abi.md, "Bounded work per call"):
 * their work is all-or-nothing in one call, so a longer range is several
 * calls of the guest's. */
static int64_t check_between(uint64_t pa, uint64_t count)
{
	int64_t rc = check_range(pa, count);

	return !rc && count > EXO_CALL_MAX_FRAMES ? EXO_EINVAL : rc;
}

/* x1 of a frame call: a physical address (guests name physical frames,
 * docs/design.md), checked for shape by check_range first. */
static paddr_t arg_pa(const struct vcpu *v)
{
	return pa_init(v->x[1]);
}

static struct hvc_result console_write(struct vcpu *v)
{
	uint64_t n = v->x[1];
	char bytes[EXO_CONSOLE_MAX];

	if (n > EXO_CONSOLE_MAX)
		return status(EXO_EINVAL);
	for (unsigned i = 0; i < n; i++)
		bytes[i] = (char)(v->x[2 + i / 8] >> (8 * (i % 8)));
	vm_console_put(v->vm, bytes, (unsigned)n);
	return ok1(n);
}

/* Bounded work (docs/abi.md): a frame call handles at most
 * EXO_CALL_MAX_FRAMES of the count it was given (the first ones) and says
 * how many; the guest calls again for the rest. */
static uint64_t call_part(uint64_t count)
{
	return count < EXO_CALL_MAX_FRAMES ? count : EXO_CALL_MAX_FRAMES;
}

/* x1 = the run, x2 = the frames of it taken by this call. */
static struct hvc_result frame_alloc(struct vcpu *v)
{
	uint64_t count = v->x[1], align = v->x[2];
	struct mem_alloc r = { check_count(count), pa_init(0) };

	if (!r.rc && (align > EXO_FRAME_MAX_ALIGN_LOG2 ||
		      (v->x[3] & ~EXO_FRAME_ALLOC_FLAGS)))
		r.rc = EXO_EINVAL;
	if (!r.rc)
		r = mem_frame_alloc_call(v->vm, count, (unsigned)align,
					 call_part(count), v->x[3]);
	return r.rc ? status(r.rc)
		    : (struct hvc_result){ EXO_OK, pa_addr(r.pa),
					   call_part(count), 0 };
}

/* x1 = frames taken. */
static struct hvc_result frame_alloc_at(struct vcpu *v)
{
	int64_t rc = check_range(v->x[1], v->x[2]);

	if (!rc)
		rc = mem_frame_alloc_at_part(v->vm, arg_pa(v), v->x[2],
					     call_part(v->x[2]));
	return rc ? status(rc) : ok1(call_part(v->x[2]));
}

/* x1 = frames freed. What the guest frees counts towards a revocation
 * request. */
static struct hvc_result frame_free(struct vcpu *v)
{
	uint64_t part = call_part(v->x[2]);
	int64_t rc = check_range(v->x[1], v->x[2]);

	if (!rc)
		rc = mem_frame_free_part(v->vm, arg_pa(v), v->x[2], part);
	if (!rc)
		revoke_check_given(v->vm);
	return rc ? status(rc) : ok1(part);
}

static struct hvc_result frame_query(struct vcpu *v)
{
	uint64_t state = 0, access = 0;
	int64_t rc = (v->x[1] & EXO_FRAME_OFFSET_MASK) ? EXO_ERANGE : EXO_OK;

	if (!rc)
		rc = mem_frame_query(v->vm, arg_pa(v), &state, &access);
	return (struct hvc_result){ rc, state, access, 0 };
}

static struct hvc_result vm_info(struct vcpu *v)
{
	uint64_t quota, used;

	mem_vm_usage(v->vm, &quota, &used);
	return (struct hvc_result){ EXO_OK, v->vm->id, quota, used };
}

static struct hvc_result vm_lookup(struct vcpu *v)
{
	char name[VM_NAME_MAX];
	struct vm *t;

	for (unsigned i = 0; i < VM_NAME_MAX - 1; i++)
		name[i] = (char)(v->x[1 + i / 8] >> (8 * (i % 8)));
	name[VM_NAME_MAX - 1] = '\0';
	t = system_vm_by_name(name);
	if (!t)
		return status(EXO_ENOENT);
	return (struct hvc_result){ EXO_OK, t->id,
				    t->state == VM_RUNNING ? EXO_VM_RUNS
							   : EXO_VM_ENDING, 0 };
}

/* Another running guest than the caller. */
static int64_t other_guest(struct vcpu *v, uint64_t id, struct vm **peer)
{
	struct vm *p = id < EXO_MAX_VM_ID ? system_vm((unsigned)id) : NULL;

	if (!p || p->state != VM_RUNNING)
		return EXO_ENOENT;
	if (p == v->vm)
		return EXO_EINVAL;
	*peer = p;
	return EXO_OK;
}

/* The other guest of a call between guests: running, not the caller, and
 * named in the caller's share-with. */
static int64_t peer_of(struct vcpu *v, uint64_t id, struct vm **peer)
{
	int64_t rc = other_guest(v, id, peer);

	if (!rc && !system_may_share(v->vm, *peer))
		rc = EXO_EDENIED;
	return rc;
}

/* --- consent: offers, accept, drop (docs/abi.md, "Consent") ------------ */

static unsigned offer_kind(uint64_t fid, uint64_t perm)
{
	switch (fid) {
	case EXO_HVC_FRAME_SHARE:
		return perm == EXO_SHARE_RW ? EXO_OFFER_SHARE_RW
					    : EXO_OFFER_SHARE_R;
	case EXO_HVC_FRAME_LEND:
		return EXO_OFFER_LEND;
	default:
		return EXO_OFFER_DONATE;
	}
}

/* SHARE, LEND, DONATE: the sender's side checked now, the offer recorded,
 * the recipient told; its stage 2 and quota unchanged. */
static int64_t make_offer(struct vm *from, struct vm *to, paddr_t pa,
			  uint64_t count, unsigned kind)
{
	int64_t rc = mem_frame_offer_check(from, to, pa, count, kind);

	if (!rc)
		rc = offers_make(from->id, to->id, kind, pa_addr(pa), count);
	if (!rc)
		vm_event_raise(to, EXO_EVENT_OFFER);
	return rc;
}

/* The transaction of an accepted offer, in the recipient's call (ctx). */
static int64_t perform_offer(void *ctx, const struct offer *o)
{
	struct vm *to = ctx, *from = system_vm(o->from);
	paddr_t pa = pa_init(o->pa);

	switch (o->kind) {
	case EXO_OFFER_SHARE_R:
		return mem_frame_share(from, to, pa, o->count, EXO_SHARE_R);
	case EXO_OFFER_SHARE_RW:
		return mem_frame_share(from, to, pa, o->count, EXO_SHARE_RW);
	case EXO_OFFER_LEND:
		return mem_frame_lend(from, to, pa, o->count);
	default:
		return mem_frame_donate(from, to, pa, o->count);
	}
}

/* No share-with check here: the sender's was made when it offered, and
 * the recipient's consent is this call. */
static struct hvc_result frame_accept(struct vcpu *v)
{
	uint64_t count = v->x[2], kind = v->x[4];
	struct vm *from = NULL;
	int64_t rc = check_between(v->x[1], count);

	if (!rc && (kind < EXO_OFFER_SHARE_R || kind > EXO_OFFER_DONATE))
		rc = EXO_EINVAL;
	if (!rc)
		rc = other_guest(v, v->x[3], &from);
	if (!rc)
		rc = offers_accept(&(struct offer){ from->id, v->vm->id,
						    (unsigned)kind, v->x[1],
						    count },
				   perform_offer, v->vm);
	return status(rc);
}

/* A borrower lets go of its view of a share (the unshare with the
 * borrower acting): allowed whatever the manifest says. */
static struct hvc_result frame_drop(struct vcpu *v)
{
	struct vm *owner = NULL;
	int64_t rc = check_between(v->x[1], v->x[2]);

	if (!rc)
		rc = other_guest(v, v->x[3], &owner);
	if (!rc)
		rc = mem_frame_unshare(owner, v->vm, arg_pa(v), v->x[2]);
	return status(rc);
}

static struct hvc_result frame_offer(struct vcpu *v)
{
	struct offer o;
	int64_t rc = offers_list(v->vm->id, v->x[1], &o);

	return rc ? status(rc)
		  : (struct hvc_result){ EXO_OK,
					 o.from | (uint64_t)o.kind << 32, o.pa,
					 o.count };
}

/* UNSHARE and RECLAIM first withdraw an offer of exactly that range not
 * yet accepted; else they end the accepted share or loan. */
static int64_t take_back(struct vm *owner, struct vm *peer, uint64_t fid,
			 paddr_t pa, uint64_t count)
{
	bool share = fid == EXO_HVC_FRAME_UNSHARE;

	if (!offers_withdraw(owner->id, peer->id, pa_addr(pa), count, share))
		return EXO_OK;
	return share ? mem_frame_unshare(owner, peer, pa, count)
		     : mem_frame_reclaim(owner, peer, pa, count);
}

static struct hvc_result between_guests(struct vcpu *v, uint64_t fid)
{
	uint64_t count = v->x[2];
	paddr_t pa = arg_pa(v);
	struct vm *peer = NULL;
	int64_t rc = check_between(pa_addr(pa), count);

	if (!rc && fid == EXO_HVC_FRAME_SHARE && v->x[4] != EXO_SHARE_R &&
	    v->x[4] != EXO_SHARE_RW)
		rc = EXO_EINVAL;
	if (!rc)
		rc = peer_of(v, v->x[3], &peer);
	if (rc)
		return status(rc);
	if (fid == EXO_HVC_FRAME_UNSHARE || fid == EXO_HVC_FRAME_RECLAIM)
		rc = take_back(v->vm, peer, fid, pa, count);
	else
		rc = make_offer(v->vm, peer, pa, count,
				offer_kind(fid, v->x[4]));
	return status(rc);
}

static struct hvc_result notify(struct vcpu *v)
{
	struct vm *peer = NULL;
	int64_t rc = peer_of(v, v->x[1], &peer);

	if (!rc)
		vm_notify(peer, v->vm->id);
	return status(rc);
}

/* Returns at once when a notification is pending, the lowest window of
 * them; else the vCPU blocks and the notifier fills in x0-x3 when it wakes
 * it (vm_notify). */
static struct hvc_result wait(struct vcpu *v)
{
	struct vm_notified n = vm_notified_take(v->vm);

	if (n.mask)
		return (struct hvc_result){ EXO_OK, n.mask, n.base, n.more };
	v->state = VCPU_BLOCKED;
	return ok1(0);
}

static struct hvc_result events(struct vcpu *v)
{
	uint64_t ev = vm_event_take(v->vm), want, left_us;

	sched_account(v);   /* the deadline's time left, to this call */
	revoke_outstanding(v->vm, &want, &left_us);
	return (struct hvc_result){ EXO_OK, ev, want, left_us };
}

static struct hvc_result revoked(struct vcpu *v)
{
	struct vm_run run;
	int64_t rc = revoke_taken_run(v->vm, v->x[1], &run);

	return rc ? status(rc) : (struct hvc_result){ EXO_OK, run.pa,
						       run.count, 0 };
}

/* What the caller lost through its owners (el2/lost.h). */
static struct hvc_result reclaimed(struct vcpu *v)
{
	struct vm_run run;
	uint64_t generation;
	int64_t rc = lost_run(&v->vm->lost, v->x[1], &run, &generation);

	return rc ? status(rc) : (struct hvc_result){ EXO_OK, run.pa,
						       run.count, generation };
}

/* Calls that end or restart the caller; they never return to it. Its
 * peers are told, so none waits for a guest that is gone. */
static bool lifecycle_call(struct vcpu *v, uint64_t fid)
{
	struct vm *vm = v->vm;
	bool ended;

	switch (fid) {
	case EXO_HVC_EXIT:
		ended = vm_exit(vm, (int64_t)v->x[1], v->x[2], v->x[3]);
		break;
	case EXO_PSCI_SYSTEM_OFF:
		ended = vm_exit(vm, 0, 0, 0);
		break;
	case EXO_PSCI_SYSTEM_RESET:
		vm_restart(vm);
		ended = true;
		break;
	default:
		return false;
	}
	if (ended)
		system_notify_peers(vm);
	return true;
}

/* PSCI_FEATURES: the PSCI calls EL2 answers, and SMCCC_VERSION (a guest
 * asks before it uses SMCCC_ARCH_FEATURES). */
static int64_t psci_features(uint32_t fid)
{
	switch (fid) {
	case EXO_PSCI_VERSION:
	case EXO_PSCI_FEATURES:
	case EXO_PSCI_SYSTEM_OFF:
	case EXO_PSCI_SYSTEM_RESET:
	case EXO_PSCI_CPU_ON:
	case EXO_PSCI_CPU_OFF:
	case EXO_PSCI_AFFINITY_INFO:
	case EXO_SMCCC_VERSION:
		return EXO_OK;
	default:
		return EXO_ENOTSUP;
	}
}

static struct hvc_result psci_version(struct vcpu *v)
{
	(void)v;
	/* PSCI returns its version in x0 itself. */
	return (struct hvc_result){ EXO_PSCI_VERSION_1_1, 0, 0, 0 };
}

static struct hvc_result psci_features_call(struct vcpu *v)
{
	return status(psci_features((uint32_t)v->x[1]));
}

/* The SMCCC calls of the Arm architecture service, and PSCI's SMC64 calls
 * on the guest's own vCPUs (sparse IDs). */
static struct hvc_result smccc_call(struct vcpu *v)
{
	uint32_t fid = (uint32_t)v->x[0];

	switch (fid) {
	case EXO_PSCI_CPU_ON:
		return status(vcpu_psci_cpu_on(v, v->x[1], v->x[2], v->x[3]));
	case EXO_PSCI_AFFINITY_INFO:
		return status(vcpu_psci_affinity_info(v, v->x[1], v->x[2]));
	case EXO_SMCCC_VERSION:
	case EXO_SMCCC_ARCH_FEATURES:
	case EXO_SMCCC_ARCH_WORKAROUND_1:
	case EXO_SMCCC_ARCH_WORKAROUND_3:
		/* SMCCC returns in x0 itself, like PSCI. */
		return status(spectre_guest_call(fid, v->x[1]));
	default:
		return status(EXO_ENOTSUP);
	}
}

static struct hvc_result yield(struct vcpu *v)
{
	sched_yield(v);
	return status(EXO_OK);
}

static struct hvc_result revoked_ack(struct vcpu *v)
{
	revoke_ack(v->vm);
	return status(EXO_OK);
}

static struct hvc_result reclaimed_ack(struct vcpu *v)
{
	return status(lost_ack(&v->vm->lost, v->x[1]));
}

static struct hvc_result version(struct vcpu *v)
{
	(void)v;
	return ok1(EXO_ABI_VERSION);
}

static struct hvc_result between(struct vcpu *v)
{
	return between_guests(v, (uint32_t)v->x[0]);
}

static inline void put(struct vcpu *v, struct hvc_result r)
{
	v->x[0] = (uint64_t)r.status;
	v->x[1] = r.r1;
	v->x[2] = r.r2;
	v->x[3] = r.r3;
}

/* A handler of the table: the call, its result put in x0-x3 (the call
 * inlines into it, so the result never goes through memory). */
#define HVC_ENTRY(call)                                                        \
	static void hvc_##call(struct vcpu *v)                                 \
	{                                                                      \
		put(v, call(v));                                               \
	}
HVC_ENTRY(version)
HVC_ENTRY(console_write)
HVC_ENTRY(frame_alloc_at)
HVC_ENTRY(frame_query)
HVC_ENTRY(vm_info)
HVC_ENTRY(yield)
HVC_ENTRY(vm_lookup)
HVC_ENTRY(between)
HVC_ENTRY(notify)
HVC_ENTRY(wait)
HVC_ENTRY(events)
HVC_ENTRY(revoked)
HVC_ENTRY(revoked_ack)
HVC_ENTRY(frame_accept)
HVC_ENTRY(frame_drop)
HVC_ENTRY(frame_offer)
HVC_ENTRY(reclaimed)
HVC_ENTRY(reclaimed_ack)

HVC_ENTRY(psci_version)
HVC_ENTRY(psci_features_call)

/* FRAME_ALLOC and FRAME_FREE of any shape but the commonest: out of line,
 * so that the table's entries below keep no frame. */
static OFF_FAST_PATH void hvc_frame_alloc_general(struct vcpu *v)
{
	put(v, frame_alloc(v));
}

static OFF_FAST_PATH void hvc_frame_free_general(struct vcpu *v)
{
	put(v, frame_free(v));
}

/* FRAME_ALLOC of one frame with no alignment and known flags: straight
 * to el2/mem.c, which answers in x0-x3 itself (mem_frame_alloc_one_call),
 * with frame_alloc's verdict for these arguments. */
static bool one_frame_alloc(const struct vcpu *v)
{
	return v->x[1] == 1 && !v->x[2] && !(v->x[3] & ~EXO_FRAME_ALLOC_FLAGS);
}

/* FRAME_FREE of one frame at an aligned PA, straight to el2/mem.c
 * likewise (mem_frame_free_one_call), unless a revocation request is
 * active: what the guest frees then is reported to it (frame_free,
 * revoke_check_given). Another CPU may make a request between this test
 * and the free (the EL2 lock is not held around the call:
 * dispatch_memory_unlocked); a request is a level, taken with mem's gate
 * closed (revoke.c), so the frame freed counts towards it all the same, and the
 * next free or revoke_tick ends the request if that met it. Relaxed: the
 * flag is written under the EL2 lock, which this reader may not hold. */
static bool one_frame_free(const struct vcpu *v)
{
	return v->x[2] == 1 && !(v->x[1] & EXO_FRAME_OFFSET_MASK) &&
	       !__atomic_load_n(&v->vm->revoke.active, __ATOMIC_RELAXED);
}

static void hvc_frame_alloc(struct vcpu *v)
{
	if (one_frame_alloc(v))
		mem_frame_alloc_one_call(v->vm, v->x);
	else
		hvc_frame_alloc_general(v);
}

static void hvc_frame_free(struct vcpu *v)
{
	if (one_frame_free(v))
		mem_frame_free_one_call(v->vm, v->x);
	else
		hvc_frame_free_general(v);
}

/* Out of line: its switch would give the dispatcher a stack frame. */
static OFF_FAST_PATH void hvc_smccc_call(struct vcpu *v)
{
	put(v, smccc_call(v));
}

/* CPU_OFF returns only when refused: the caller is off otherwise. */
static void hvc_psci_cpu_off(struct vcpu *v)
{
	int64_t rc = vcpu_psci_cpu_off(v);

	if (rc)
		put(v, status(rc));
}

/* EXIT, SYSTEM_OFF, SYSTEM_RESET: they put nothing (the caller is gone or
 * fresh). */
static void hvc_lifecycle(struct vcpu *v)
{
	lifecycle_call(v, (uint32_t)v->x[0]);
}

typedef void (*hvc_fn)(struct vcpu *v);

#define EXO_CALL(fid) [(fid) - EXO_HVC_BASE]
#define EXO_CALLS (EXO_HVC_LAST - EXO_HVC_BASE + 1)
#define PSCI_CALL(fid) [(fid) - EXO_PSCI_VERSION]
#define PSCI_CALLS (EXO_PSCI_FEATURES - EXO_PSCI_VERSION + 1)

/* PSCI 1.1's SMC32 IDs between VERSION and SYSTEM_OFF that EL2 does not
 * answer (a guest's CPU_ON and AFFINITY_INFO are the SMC64 ones). */
#define PSCI_CPU_SUSPEND 0x84000001u
#define PSCI_CPU_ON_SMC32 0x84000003u
#define PSCI_AFFINITY_INFO_SMC32 0x84000004u
#define PSCI_MIGRATE 0x84000005u
#define PSCI_MIGRATE_INFO_TYPE 0x84000006u
#define PSCI_MIGRATE_INFO_UP_CPU 0x84000007u

/* exo's own calls, by number: one step from the function ID to its
 * handler. */
static const hvc_fn exo_calls[EXO_CALLS] = {
	EXO_CALL(EXO_HVC_VERSION) = hvc_version,
	EXO_CALL(EXO_HVC_CONSOLE_WRITE) = hvc_console_write,
	EXO_CALL(EXO_HVC_FRAME_ALLOC) = hvc_frame_alloc,
	EXO_CALL(EXO_HVC_FRAME_ALLOC_AT) = hvc_frame_alloc_at,
	EXO_CALL(EXO_HVC_FRAME_FREE) = hvc_frame_free,
	EXO_CALL(EXO_HVC_FRAME_QUERY) = hvc_frame_query,
	EXO_CALL(EXO_HVC_VM_INFO) = hvc_vm_info,
	EXO_CALL(EXO_HVC_YIELD) = hvc_yield,
	EXO_CALL(EXO_HVC_EXIT) = hvc_lifecycle,
	EXO_CALL(EXO_HVC_VM_LOOKUP) = hvc_vm_lookup,
	EXO_CALL(EXO_HVC_FRAME_SHARE) = hvc_between,
	EXO_CALL(EXO_HVC_FRAME_UNSHARE) = hvc_between,
	EXO_CALL(EXO_HVC_FRAME_LEND) = hvc_between,
	EXO_CALL(EXO_HVC_FRAME_RECLAIM) = hvc_between,
	EXO_CALL(EXO_HVC_FRAME_DONATE) = hvc_between,
	EXO_CALL(EXO_HVC_NOTIFY) = hvc_notify,
	EXO_CALL(EXO_HVC_WAIT) = hvc_wait,
	EXO_CALL(EXO_HVC_EVENTS) = hvc_events,
	EXO_CALL(EXO_HVC_REVOKED) = hvc_revoked,
	EXO_CALL(EXO_HVC_REVOKED_ACK) = hvc_revoked_ack,
	EXO_CALL(EXO_HVC_FRAME_ACCEPT) = hvc_frame_accept,
	EXO_CALL(EXO_HVC_FRAME_DROP) = hvc_frame_drop,
	EXO_CALL(EXO_HVC_FRAME_OFFER) = hvc_frame_offer,
	EXO_CALL(EXO_HVC_RECLAIMED) = hvc_reclaimed,
	EXO_CALL(EXO_HVC_RECLAIMED_ACK) = hvc_reclaimed_ack,
};

/* PSCI's, by number the same way. Every slot is filled: the IDs EL2 does
 * not answer here (CPU_SUSPEND, the SMC32 CPU_ON and AFFINITY_INFO, the
 * MIGRATE calls) go to the SMCCC route, which answers NOT_SUPPORTED, so
 * the dispatcher tests no slot for NULL (a table with holes costs every
 * call a bitmask test). */
static const hvc_fn psci_calls[PSCI_CALLS] = {
	PSCI_CALL(EXO_PSCI_VERSION) = hvc_psci_version,
	PSCI_CALL(PSCI_CPU_SUSPEND) = hvc_smccc_call,
	PSCI_CALL(EXO_PSCI_CPU_OFF) = hvc_psci_cpu_off,
	PSCI_CALL(PSCI_CPU_ON_SMC32) = hvc_smccc_call,
	PSCI_CALL(PSCI_AFFINITY_INFO_SMC32) = hvc_smccc_call,
	PSCI_CALL(PSCI_MIGRATE) = hvc_smccc_call,
	PSCI_CALL(PSCI_MIGRATE_INFO_TYPE) = hvc_smccc_call,
	PSCI_CALL(PSCI_MIGRATE_INFO_UP_CPU) = hvc_smccc_call,
	PSCI_CALL(EXO_PSCI_SYSTEM_OFF) = hvc_lifecycle,
	PSCI_CALL(EXO_PSCI_SYSTEM_RESET) = hvc_lifecycle,
	PSCI_CALL(EXO_PSCI_FEATURES) = hvc_psci_features_call,
};

static void route(struct vcpu *v)
{
	uint32_t fid = (uint32_t)v->x[0];
	uint32_t n = fid - EXO_HVC_BASE, p = fid - EXO_PSCI_VERSION;

	if (n < EXO_CALLS && exo_calls[n])
		exo_calls[n](v);
	else if (p < PSCI_CALLS)
		psci_calls[p](v);
	else
		hvc_smccc_call(v);
}

/* The fault injector's view of a call (test manifests only): it may fail
 * a call that gets frames, or corrupt state after one; lifecycle calls
 * it leaves alone. */
static OFF_FAST_PATH void route_hooked(struct vcpu *v)
{
	uint32_t fid = (uint32_t)v->x[0];
	int64_t injected;

	if (lifecycle_call(v, fid))
		return;
	if (faultinject_hvc_fails(v->vm, fid, &injected))
		put(v, status(injected));
	else
		route(v);
	faultinject_after_hvc(v);
}

#ifdef EXO_DEBUG
/* Calls after which a stage 2 may differ: the debug build checks every
 * running guest's stage 2 against the frame DB after each of them. */
static bool changes_mappings(uint64_t fid)
{
	switch (fid) {
	case EXO_HVC_FRAME_ALLOC:
	case EXO_HVC_FRAME_ALLOC_AT:
	case EXO_HVC_FRAME_FREE:
	case EXO_HVC_FRAME_SHARE:
	case EXO_HVC_FRAME_UNSHARE:
	case EXO_HVC_FRAME_LEND:
	case EXO_HVC_FRAME_RECLAIM:
	case EXO_HVC_FRAME_DONATE:
	case EXO_HVC_FRAME_ACCEPT:
	case EXO_HVC_FRAME_DROP:
	case EXO_HVC_EXIT:
	case EXO_PSCI_SYSTEM_OFF:
	case EXO_PSCI_SYSTEM_RESET:
		return true;
	default:
		return false;
	}
}
#endif

/* The call counted and routed, the fault injector's hooks too if armed;
 * the debug build checks the stage 2s after a call that changes them. */
static inline void dispatch(struct vcpu *v, bool hooked)
{
#ifdef EXO_DEBUG
	uint32_t fid = (uint32_t)v->x[0];   /* x0 holds the status after */
#endif

	v->hypercalls++;
	if (hooked)
		route_hooked(v);
	else
		route(v);
#ifdef EXO_DEBUG
	if (changes_mappings(fid))
		system_check_invariants(v->vm);
#endif
}

void dispatch_hypercall(struct vcpu *v)
{
	dispatch(v, faultinject_hooks());
}

void dispatch_hypercall_unhooked(struct vcpu *v)
{
#ifdef EXO_DEBUG
	CHECK(!faultinject_hooks());
#endif
	dispatch(v, false);
}

bool dispatch_memory_unlocked(struct vcpu *v)
{
	uint32_t fid = (uint32_t)v->x[0];

	if (fid == EXO_HVC_FRAME_ALLOC && one_frame_alloc(v))
		mem_frame_alloc_one_call(v->vm, v->x);
	else if (fid == EXO_HVC_FRAME_FREE && one_frame_free(v))
		mem_frame_free_one_call(v->vm, v->x);
	else
		return false;
	v->hypercalls++;
#ifdef EXO_DEBUG
	/* The check reads every running guest's state: under the EL2 lock,
	 * which a debug EL2 may take here (the call itself did not). */
	hyp_lock();
	system_check_invariants(v->vm);
	hyp_unlock();
#endif
	return true;
}
