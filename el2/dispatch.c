/*
 * The hypercall dispatcher: the one place where every argument of every
 * call is checked, before anything changes. Results go back in x0-x3;
 * registers a call does not define are zeroed so no EL2 value leaks.
 */
#include <el2/arch.h>
#include <el2/dispatch.h>
#include <el2/faultinject.h>
#include <el2/frames.h>
#include <el2/mem.h>
#include <el2/revoke.h>
#include <el2/sched.h>
#include <el2/system.h>
#include <el2/vm_event.h>
#include <el2/vm_ops.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>

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
	paddr_t pa = pa_init(0);
	int64_t rc = check_count(count);

	if (!rc && (align > EXO_FRAME_MAX_ALIGN_LOG2 ||
		    (v->x[3] & ~EXO_FRAME_ALLOC_FLAGS)))
		rc = EXO_EINVAL;
	if (!rc)
		rc = mem_frame_alloc_part(v->vm, count, (unsigned)align,
					  call_part(count), &pa);
	return rc ? status(rc)
		  : (struct hvc_result){ EXO_OK, pa_addr(pa),
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
		revoke_note_free(v->vm, part);
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

/* The other guest of a call between guests: running, not the caller, and
 * named in the caller's share-with. */
static int64_t peer_of(struct vcpu *v, uint64_t id, struct vm **peer)
{
	struct vm *p = id < EXO_MAX_VM_ID ? system_vm((unsigned)id) : NULL;

	if (!p || p->state != VM_RUNNING)
		return EXO_ENOENT;
	if (p == v->vm)
		return EXO_EINVAL;
	if (!system_may_share(v->vm, p))
		return EXO_EDENIED;
	*peer = p;
	return EXO_OK;
}

static struct hvc_result between_guests(struct vcpu *v, uint64_t fid)
{
	uint64_t count = v->x[2];
	paddr_t pa = arg_pa(v);
	struct vm *peer = NULL;
	int64_t rc = check_range(pa_addr(pa), count);

	if (!rc && fid == EXO_HVC_FRAME_SHARE && v->x[4] != EXO_SHARE_R &&
	    v->x[4] != EXO_SHARE_RW)
		rc = EXO_EINVAL;
	if (!rc)
		rc = peer_of(v, v->x[3], &peer);
	if (rc)
		return status(rc);
	switch (fid) {
	case EXO_HVC_FRAME_SHARE:
		rc = mem_frame_share(v->vm, peer, pa, count, (unsigned)v->x[4]);
		break;
	case EXO_HVC_FRAME_UNSHARE:
		rc = mem_frame_unshare(v->vm, peer, pa, count);
		break;
	case EXO_HVC_FRAME_LEND:
		rc = mem_frame_lend(v->vm, peer, pa, count);
		break;
	case EXO_HVC_FRAME_RECLAIM:
		rc = mem_frame_reclaim(v->vm, peer, pa, count);
		break;
	default:
		rc = mem_frame_donate(v->vm, peer, pa, count);
		break;
	}
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

/* Returns at once when a notification is pending; else the vCPU blocks and
 * the notifier fills in x0/x1 when it wakes it (vm_notify). */
static struct hvc_result wait(struct vcpu *v)
{
	uint64_t pending = v->vm->notify_pending;

	if (pending) {
		v->vm->notify_pending = 0;
		return ok1(pending);
	}
	v->state = VCPU_BLOCKED;
	return ok1(0);
}

static struct hvc_result events(struct vcpu *v)
{
	uint64_t ev = vm_event_take(v->vm), want, left_us;

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

static struct hvc_result route(struct vcpu *v, uint64_t fid)
{
	switch (fid) {
	case EXO_HVC_VERSION:
		return ok1(EXO_ABI_VERSION);
	case EXO_HVC_CONSOLE_WRITE:
		return console_write(v);
	case EXO_HVC_FRAME_ALLOC:
		return frame_alloc(v);
	case EXO_HVC_FRAME_ALLOC_AT:
		return frame_alloc_at(v);
	case EXO_HVC_FRAME_FREE:
		return frame_free(v);
	case EXO_HVC_FRAME_QUERY:
		return frame_query(v);
	case EXO_HVC_VM_INFO:
		return vm_info(v);
	case EXO_HVC_YIELD:
		sched_yield(v);
		return status(EXO_OK);
	case EXO_HVC_VM_LOOKUP:
		return vm_lookup(v);
	case EXO_HVC_FRAME_SHARE:
	case EXO_HVC_FRAME_UNSHARE:
	case EXO_HVC_FRAME_LEND:
	case EXO_HVC_FRAME_RECLAIM:
	case EXO_HVC_FRAME_DONATE:
		return between_guests(v, fid);
	case EXO_HVC_NOTIFY:
		return notify(v);
	case EXO_HVC_WAIT:
		return wait(v);
	case EXO_HVC_EVENTS:
		return events(v);
	case EXO_HVC_REVOKED:
		return revoked(v);
	case EXO_HVC_REVOKED_ACK:
		revoke_ack(v->vm);
		return status(EXO_OK);
	case EXO_PSCI_VERSION:
		/* PSCI returns its version in x0 itself. */
		return (struct hvc_result){ EXO_PSCI_VERSION_1_1, 0, 0, 0 };
	default:
		return status(EXO_ENOTSUP);
	}
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
	case EXO_HVC_EXIT:
	case EXO_PSCI_SYSTEM_OFF:
	case EXO_PSCI_SYSTEM_RESET:
		return true;
	default:
		return false;
	}
}
#endif

void dispatch_hypercall(struct vcpu *v)
{
	uint64_t fid = (uint32_t)v->x[0];  /* SMCCC: the ID is W0 */
	struct hvc_result r;
	int64_t injected;

	v->vm->stats.hypercalls++;
	if (!lifecycle_call(v, fid)) {
		r = faultinject_hvc_fails(v->vm, fid, &injected)
			    ? status(injected)
			    : route(v, fid);
		v->x[0] = (uint64_t)r.status;
		v->x[1] = r.r1;
		v->x[2] = r.r2;
		v->x[3] = r.r3;
		faultinject_after_hvc(v);
	}
#ifdef EXO_DEBUG
	if (changes_mappings(fid))
		system_check_invariants(v->vm);
#endif
}
