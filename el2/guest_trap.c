/*
 * Synchronous exceptions, IRQs and SErrors taken from guests. Hypercalls go
 * to el2/dispatch.c; a stage-2 fault on the console window is emulated; any
 * other stage-2 fault is an isolation violation: counted, reported,
 * reflected to the guest as a synchronous external abort, and past the
 * manifest's limit the guest is torn down. A touch of a frame taken from
 * the guest (revocation, or its owner's reclaim) before it acknowledged is
 * reflected the same way but counted apart, against the manifest's
 * excused-touch-limit. Nothing a guest does makes EL2
 * panic.
 */
#include <arch/esr.h>
#include <el2/arch.h>
#include <el2/debug_regs.h>
#include <el2/pmu.h>
#include <el2/dispatch.h>
#include <el2/faultinject.h>
#include <el2/guest_trap.h>
#include <el2/hyp_lock.h>
#include <el2/irq.h>
#include <el2/ras.h>
#include <el2/revoke.h>
#include <el2/sched.h>
#include <el2/system.h>
#include <el2/vm_console.h>
#include <el2/vgic_lr.h>
#include <el2/vgic_sgi.h>
#include <el2/vm_event.h>
#include <el2/trap_kind.h>
#include <el2/vm_ops.h>
#include <lib/panic.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <lib/esr_names.h>
#include <lib/compiler.h>
#include <lib/print.h>

#define PL011_DR 0x00
#define PL011_FR 0x18
#define IPA_PAGE_MASK HPFAR_IPA_OFFSET_MASK

/* VBAR_EL1 offsets of the synchronous vectors, by the mode that trapped. */
#define VECTOR_CUR_SP0 0x000
#define VECTOR_CUR_SPX 0x200
#define VECTOR_LOWER_A64 0x400
#define VECTOR_LOWER_A32 0x600

static uint64_t sync_vector(uint64_t spsr)
{
	if (spsr & (1u << 4))   /* PSTATE.nRW: AArch32 */
		return VECTOR_LOWER_A32;
	switch (spsr & SPSR_M_MASK) {
	case SPSR_M_EL1T: return VECTOR_CUR_SP0;
	case SPSR_M_EL1H: return VECTOR_CUR_SPX;
	default: return VECTOR_LOWER_A64;
	}
}

/* An exception from EL1 (AArch64, either stack pointer) is taken by the
 * vectors of the current EL: the two below the lower ELs'. */
_Static_assert(VECTOR_CUR_SP0 < VECTOR_LOWER_A64 &&
		       VECTOR_CUR_SPX < VECTOR_LOWER_A64 &&
		       VECTOR_LOWER_A32 > VECTOR_LOWER_A64,
	       "reflect_abort: vector order");

/* PSTATE on entry to the guest's EL1 exception handler: EL1h, every
 * exception masked, as the hardware enters it. */
#define SPSR_EL1H_MASKED (SPSR_M_EL1H | SPSR_D | SPSR_A | SPSR_I | SPSR_F)

/* Enters the guest's EL1 at VBAR_EL1 + vector with esr and far, its
 * return address and PSTATE where ERET from there gets them back. */
static inline void inject_sync(struct vcpu *v, uint64_t esr, uint64_t far,
			       uint64_t vector)
{
	v->elr = arch_inject_sync(esr, far, v->elr, v->spsr) + vector;
	v->spsr = SPSR_EL1H_MASKED;
}

/* An undefined instruction, as if EL2 were not there. */
static void inject_undef(struct vcpu *v)
{
	inject_sync(v, ((uint64_t)ESR_EC_UNKNOWN << ESR_EC_SHIFT) | ESR_IL, 0,
		    sync_vector(v->spsr));
}

/* An abort taken from the current EL has the class of one from a lower
 * EL plus one: the class is the lower EL's, plus whether it came from
 * EL1. */
_Static_assert(ESR_EC_DABT_CUR == ESR_EC_DABT_LOWER + 1 &&
		       ESR_EC_IABT_CUR == ESR_EC_IABT_LOWER + 1,
	       "reflect_abort: abort classes");

/* Reflects a synchronous external abort into the running guest, as a
 * stage-2 violation is; esr supplies WnR for data. */
static inline void reflect_abort(struct vcpu *v, bool data, uint64_t esr,
				 uint64_t far)
{
	uint64_t vector = sync_vector(v->spsr);
	uint64_t ec = (data ? ESR_EC_DABT_LOWER : ESR_EC_IABT_LOWER) +
		      (vector < VECTOR_LOWER_A64);   /* from EL1 */
	uint64_t iss = FSC_SYNC_EXTERNAL | (data ? (esr & ESR_DABT_WNR) : 0);

	inject_sync(v, (ec << ESR_EC_SHIFT) | ESR_IL | iss, far, vector);
}

/* The IPA of a stage-2 fault: its page from HPFAR_EL2, the offset from
 * FAR_EL2. */
static uint64_t fault_ipa(uint64_t hpfar, uint64_t far)
{
	return ((hpfar >> HPFAR_FIPA_SHIFT) << HPFAR_IPA_SHIFT) |
	       (far & IPA_PAGE_MASK);
}

/* A byte the guest stored to the console's data register. Out of line:
 * its address taken would give the whole stage-2 fault path a stack
 * guard. */
static __attribute__((noinline)) void console_put_reg(struct vcpu *v,
						      unsigned srt)
{
	char c = (char)v->x[srt];

	vm_console_put(v->vm, &c, 1);
}

/* The guest's console window (ipa in its page): a PL011 whose FIFO is
 * never full. */
static bool emulate_console(struct vcpu *v, uint64_t esr, uint64_t ipa)
{
	unsigned srt = (unsigned)FIELD_GET(esr, ESR_DABT_SRT_SHIFT,
					   ESR_DABT_SRT_WIDTH);

	if (!(esr & ESR_DABT_ISV) || (esr & ESR_DABT_S1PTW))
		return false;
	if (esr & ESR_DABT_WNR) {
		if ((ipa & IPA_PAGE_MASK) == PL011_DR && srt != 31)
			console_put_reg(v, srt);
	} else if (srt != 31) {
		v->x[srt] = 0;   /* FR: TXFF clear; every other register 0 */
	}
	v->elr += A64_INSN_SIZE;
	return true;
}

/* A VM the trap code ends: its peers are told (el2/vm_ops.h). */
static void kill(struct vm *vm, const char *reason)
{
	if (vm_kill(vm, reason))
		system_notify_peers(vm);
}

/* A touch of a frame taken from the guest (by force, or by its owner)
 * that it has not acknowledged: the abort protocol, the guest has not
 * repaired yet. Reflected, not a violation, but counted apart
 * (revoke_touch) so that it is no endless free pass; reported within the
 * guest's report budget (el2/vm_console.h). Out of line: the common
 * violation does not pay for its frame. */
static __attribute__((noinline)) void
excused_touch(struct vcpu *v, uint64_t esr, uint64_t far, uint64_t ipa,
	      bool data, enum revoke_touch why)
{
	struct vm *vm = v->vm;
	const char *access = !data ? "execute"
			     : (esr & ESR_DABT_WNR) ? "write" : "read";

	if (why == REVOKE_TOUCH_OVER_LIMIT) {
		kprintf("guest '%s': %s of PA 0x%lx, taken back: more than "
			"%u such touches\n", vm->name, access,
			(unsigned long)ipa, vm->config.excused_touch_limit);
		kill(vm, "excused-touch limit reached");
		return;
	}
	if (vm_console_report_allowed(vm))
		kprintf("guest '%s': %s of PA 0x%lx, which %s took back "
			"(not counted) [excused %lu/%u]\n", vm->name, access,
			(unsigned long)ipa,
			why == REVOKE_TOUCH_TAKEN ? "EL2" : "its owner",
			(unsigned long)vm->stats.excused_touches,
			vm->config.excused_touch_limit);
	reflect_abort(v, data, esr, far);
}

/* The last violation the manifest allows: the guest ends. Out of line,
 * with the kill's frame. */
static __attribute__((noinline, cold)) void violation_limit(struct vm *vm)
{
	kill(vm, "stage-2 violation limit reached");
}

/* The violation's line for later (el2/violation_log.h). */
static inline void violation_note(struct vcpu *v, uint64_t esr, uint64_t ipa,
				  bool data)
{
	struct vm *vm = v->vm;

	violation_log_add(&vm->violations, (struct violation_entry){
		.number = vm->stats.violations,
		.pa = ipa,
		.elr = v->elr,
		.access = !data ? VIOLATION_EXEC
			  : (esr & ESR_DABT_WNR) ? VIOLATION_WRITE
						 : VIOLATION_READ,
		.fsc = (uint8_t)FIELD_GET(esr, ESR_ABT_FSC_SHIFT,
					  ESR_ABT_FSC_WIDTH),
	});
}

/* A violation: counted, its line kept, the guest ended at its limit,
 * else the abort reflected. Inline in both of stage2_abort's paths. */
static inline __attribute__((always_inline)) void
violation(struct vcpu *v, uint64_t esr, uint64_t far, uint64_t ipa,
	  bool data)
{
	struct vm *vm = v->vm;

	vm->stats.violations++;
	violation_note(v, esr, ipa, data);
	if (vm->stats.violations >= vm->config.violation_limit) {
		violation_limit(vm);
		return;
	}
	reflect_abort(v, data, esr, far);
}

/* Is ipa in the console's window? */
static bool console_page(uint64_t ipa)
{
	return (ipa & ~IPA_PAGE_MASK) == EXO_CONSOLE_IPA;
}

/* What stage2_abort's common case is not: the console's window, or a
 * guest with frames taken or lost outstanding, whose touch of one is
 * excused. */
static __attribute__((noinline)) void
stage2_abort_other(struct vcpu *v, uint64_t esr, uint64_t far, uint64_t ipa,
		   bool data)
{
	enum revoke_touch why;

	if (data && console_page(ipa) && emulate_console(v, esr, ipa))
		return;
	why = revoke_touch(v->vm, ipa);
	if (why != REVOKE_TOUCH_VIOLATION) {
		excused_touch(v, esr, far, ipa, data, why);
		return;
	}
	violation(v, esr, far, ipa, data);
}

/* A stage-2 data or instruction abort with syndrome esr: the console's
 * emulation, else a violation or an excused touch. Not cold (a guest's
 * stage-2 faults are a measured path): a violation of a guest with
 * nothing taken from it reads two system registers, stores its count
 * and line, writes the guest's EL1 exception registers and calls
 * nothing, so it needs no frame; the console, the excused touch and the
 * limit are out of line. Inline in its two callers, so that each is
 * compiled for its kind of abort. */
static inline __attribute__((always_inline)) void
stage2_abort(struct vcpu *v, uint64_t esr, bool data)
{
	uint64_t far = arch_guest_far();
	uint64_t ipa = fault_ipa(arch_guest_hpfar(), far);

	if ((data && console_page(ipa)) || revoke_touch_possible(v->vm)) {
		stage2_abort_other(v, esr, far, ipa, data);
		return;
	}
	violation(v, esr, far, ipa, data);
}

/* A data abort: the measured case, with no frame (no stack guard
 * either: nothing of it has its address taken). */
static __attribute__((noinline, no_stack_protector)) void
stage2_data_abort(struct vcpu *v, uint64_t esr)
{
	stage2_abort(v, esr, true);
}

/* The exits that are not HVC #0. */
static OFF_FAST_PATH void guest_sync_other(struct vcpu *v)
{
	struct guest_syndrome s = arch_guest_syndrome();

	switch (ESR_EC(s.esr)) {
	case ESR_EC_HVC64:
		v->x[0] = (uint64_t)EXO_ENOTSUP;   /* HVC #imm with imm != 0 */
		break;
	case ESR_EC_FP_ASIMD:
		/* CPTR_EL2.TFP: its FP/SIMD state is loaded on first use; the
		 * instruction runs again (el2/arch.h). */
		arch_fp_take(v);
		break;
	case ESR_EC_SMC64:
		/* Guests have no secure firmware to call: NOT_SUPPORTED. */
		v->x[0] = (uint64_t)EXO_ENOTSUP;
		v->elr += A64_INSN_SIZE;
		break;
	case ESR_EC_WFX:
		v->elr += A64_INSN_SIZE;
		sched_yield(v);
		break;
	case ESR_EC_IABT_LOWER:
		stage2_abort(v, s.esr, false);
		break;
	case ESR_EC_SYSREG:
		if (!debug_regs_emulate(v, s.esr) && !pmu_emulate(v, s.esr) &&
		    !vgic_sgi_emulate(v, s.esr))
			inject_undef(v);
		break;
	default:
		/* Trapped system registers, SVE/SME, PAC, ...: what a CPU
		 * without them would do. */
		inject_undef(v);
		break;
	}
}

/* HVC #0 from AArch64, the one exit that is common, first; then a data
 * abort (a touch stage 2 refuses, the console's window), which does not
 * pay for guest_sync_other's syndrome and switch. */
static void guest_sync(struct vcpu *v, uint64_t esr)
{
	if (esr == ESR_HVC64_IMM0)
		dispatch_hypercall(v);
	else if (ESR_EC(esr) == ESR_EC_DABT_LOWER)
		stage2_data_abort(v, esr);
	else
		guest_sync_other(v);
}

/* What the fault injector chose for this resume (test manifests only). */
static void inject_faults(struct vcpu *v)
{
	unsigned what;

	if (!faultinject_on(v->vm))
		return;
	what = faultinject_before_resume(v);
	if (what & FAULTINJECT_EVENT_IRQ)
		vm_event_raise(v->vm, 0);
	if (what & FAULTINJECT_EXTERNAL_ABORT)
		reflect_abort(v, true, 0, 0);
}

/* The CPU time the vCPU used: its manifest's limit, and revocation's clock
 * (deadlines run on the guest's own CPU time). Off the per-trap path:
 * only when a slice ends, a vCPU stops or switches, or cpu_due's time
 * comes. */
static void account(struct vcpu *v)
{
	struct vm *vm = v->vm;

	sched_account(v);
	if (v->state == VCPU_RUNNABLE && vm->config.cpu_limit_ticks &&
	    vm_run_ticks(vm) > vm->config.cpu_limit_ticks)
		kill(vm, "CPU time limit reached");
	revoke_tick(vm);
}

/* The CPU time v may use before account must look at it again. */
static uint64_t cpu_due(const struct vcpu *v)
{
	const struct vm *vm = v->vm;
	uint64_t limit = vm->config.cpu_limit_ticks, used = vm_run_ticks(vm);
	uint64_t due = revoke_due(vm);

	if (limit && used <= limit && limit - used < due)
		due = limit - used + 1;
	return due;
}

void guest_trap_init(void)
{
	sched_set_due(cpu_due);
}

static OFF_FAST_PATH void handle_async(struct vcpu *v, uint64_t kind)
{
	if ((kind & 3) != TRAP_SERROR) {
		/* Off the guest's fault path: its violation lines so far. */
		violation_log_print(v->vm);
		irq_handle();
		return;
	}
	kprintf("guest '%s': SError (ESR 0x%lx)\n", v->vm->name,
		(unsigned long)arch_guest_syndrome().esr);
	kill(v->vm, "SError");
}

/* What another CPU posted v while it ran here (it kicked this CPU). */
static OFF_FAST_PATH void take_posted(struct vcpu *v)
{
	vgic_lr_take_posted(v);
	vm_event_take_posted(v);
}

/* Accounting and the switch, when the vCPU cannot simply run on. */
static struct vcpu *reschedule(struct vcpu *v)
{
	struct vcpu *next;

	if (this_cpu()->sched_pending & SCHED_PENDING_KICK)
		take_posted(v);
	account(v);
	next = sched_resume(v);
	if (!next)
		system_finish();
	return next;
}

void guest_hvc(struct vcpu *v)
{
#ifdef EXO_DEBUG
	/* One CPU's entry: once several are online every CPU runs on the
	 * _locked tables (hvc_fast_path_set, hvc_fast_path_cpu_init). */
	CHECK(!hyp_lock_on);
#endif
	dispatch_hypercall_unhooked(v);
}

/* With several CPUs online, the one-frame memory calls under mem's own
 * locks alone (dispatch_memory_unlocked), so several CPUs' allocations and
 * frees run beside each other's other work. Whether v runs on is then
 * read without the EL2 lock: another CPU that stops v or posts it work
 * sets this CPU's sched_pending and kicks it with an SGI, which EL2 takes
 * as soon as v runs again, so a change this read misses is handled one
 * trap later (sched_keeps_unlocked). NULL with the lock held when v does
 * not run on, as guest_hvc_locked; v when it does, with nothing held. Out
 * of line: every other call's entry keeps its small frame. */
static __attribute__((noinline)) struct vcpu *
memory_call_unlocked(struct vcpu *v)
{
	if (sched_keeps_unlocked(v))
		return v;
	spin_lock(&hyp_lock_word);
	return NULL;   /* held: guest_hvc_reschedule_locked */
}

struct vcpu *guest_hvc_locked(struct vcpu *v)
{
	if (dispatch_memory_call(v->x[0]) && dispatch_memory_unlocked(v))
		return memory_call_unlocked(v);
	spin_lock(&hyp_lock_word);
	dispatch_hypercall_unhooked(v);
	if (!sched_keeps(v))
		return NULL;   /* the lock stays held: guest_hvc_reschedule */
	spin_unlock(&hyp_lock_word);
	return v;
}

struct vcpu *guest_hvc_reschedule(struct vcpu *v)
{
	return reschedule(v);
}

struct vcpu *guest_hvc_reschedule_locked(struct vcpu *v)
{
	struct vcpu *next = reschedule(v);

	spin_unlock(&hyp_lock_word);
	return next;
}

static ON_FAST_PATH struct vcpu *handle(struct vcpu *v, uint64_t kind,
				       uint64_t disr, uint64_t esr)
{
	/* An SError the ESB of this exit deferred is this guest's: whatever
	 * it was doing, its error ends it first (an IRQ stays pending). */
	if (disr && ras_guest_error(v->vm, disr))
		kill(v->vm, "SError");
	else if ((kind & 3) == TRAP_SYNC)
		guest_sync(v, esr);
	else
		handle_async(v, kind);
	if (faultinject_hooks())
		inject_faults(v);
	return sched_keeps(v) ? v : reschedule(v);
}

/* Several CPUs online: the same under the EL2 lock. */
static OFF_FAST_PATH struct vcpu *handle_locked(struct vcpu *v, uint64_t kind,
						uint64_t disr, uint64_t esr)
{
	struct vcpu *next;

	spin_lock(&hyp_lock_word);
	next = handle(v, kind, disr, esr);
	spin_unlock(&hyp_lock_word);
	return next;
}

struct vcpu *guest_trap_handle(struct vcpu *v, uint64_t kind, uint64_t disr,
			       uint64_t esr)
{
	if (hyp_lock_on)
		return handle_locked(v, kind, disr, esr);
	return handle(v, kind, disr, esr);
}
