/*
 * el1's side of EL0 tasks: entering EL0 with a task's registers, system
 * calls (SVC from EL0) handed to libos, and every other exception from EL0:
 * aborts libos resolves (demand-zero, copy-on-write) are retried, anything
 * else kills the task with a report (id, address, ESR decoded; libos has
 * printed the table walk) and the guest carries on with the other tasks.
 * A task's FP/SIMD registers are switched lazily: el1 itself never touches
 * them (-mgeneral-regs-only), so they stay live in the CPU while its owner
 * task runs, traps and runs again; another task's first FP/SIMD
 * instruction traps (CPACR_EL1.FPEN) and takes them over.
 * No policy: address spaces, ASIDs and system-call meaning are libos's.
 */
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <el1/el0_task.h>
#include <el1/this_cpu.h>
#include <lib/print.h>
#include <libos/lock.h>
#include <libos/mm/mm.h>
#include <stddef.h>
#include <string.h>

extern char __image_start[], __user_start[], __user_end[];

_Static_assert(sizeof(struct el1_task_ctx) == 112, "task_entry.S layout");

void el1_task_enter(struct el1_task_ctx *ctx, const struct el1_frame *f);
_Noreturn void el1_task_leave(struct el1_task_ctx *ctx);

/* el1/fp_regs.S: q0-q31, FPSR, FPCR as struct libos_task_regs holds them
 * from q on. */
void el1_fp_save(void *area);
void el1_fp_load(const void *area);
void el1_fp_zero(void);
_Static_assert(offsetof(struct libos_task_regs, fpsr) ==
		       offsetof(struct libos_task_regs, q) + 512 &&
	       offsetof(struct libos_task_regs, fpcr) ==
		       offsetof(struct libos_task_regs, fpsr) + 8,
	       "el1/fp_regs.S layout");

/*
 * Each vCPU's (el1/this_cpu.h): the context el1_task_enter returns to, and
 * the task whose FP/SIMD state is in its registers (fp_owner; NULL: none,
 * they are zero or hold nothing of a task). Any other task runs with
 * EL0's FP/SIMD trapped (el0_fp_trapped mirrors CPACR_EL1.FPEN; false is
 * el1_cpu_init's setting); its first use saves the owner's state to the
 * owner's regs and loads all of its own (zeros for a new task), so no
 * task ever reads another's values. A task that ends while owner has its
 * registers wiped. Once several vCPUs run, a task may run next on another
 * vCPU: each leaves EL0 with its state saved and owning no registers
 * (fp_left).
 */
static void fp_trap_el0(struct el1_percpu *pc, bool trapped)
{
	uint64_t fpen = trapped ? CPACR_EL1_FPEN_TRAP_EL0 : CPACR_EL1_FPEN_NO_TRAP;

	if (trapped == pc->el0_fp_trapped)
		return;
	/* The ERET into EL0 synchronises the write. */
	write_sysreg((read_sysreg(cpacr_el1) & ~CPACR_EL1_FPEN_MASK) | fpen,
		     cpacr_el1);
	pc->el0_fp_trapped = trapped;
}

/* t's FP/SIMD state to t->regs if the registers hold it (they stay). */
static void fp_flush(struct libos_task *t)
{
	if (el1_this_cpu()->fp_owner == t)
		el1_fp_save(t->regs.q);
}

/* EL0's first FP/SIMD instruction since it was entered without owning
 * the registers: they become its own, and the instruction runs again. */
static void fp_take(struct libos_task *t)
{
	struct el1_percpu *pc = el1_this_cpu();

	if (pc->fp_owner != t) {
		if (pc->fp_owner)
			el1_fp_save(pc->fp_owner->regs.q);
		el1_fp_load(t->regs.q);
		pc->fp_owner = t;
	}
	fp_trap_el0(pc, false);
}

/* After t left EL0: an ended task's state must not outlive it in the
 * registers (its slot is reused by the next task spawned); with several
 * vCPUs a runnable one's goes to its regs, since the next vCPU to run it
 * loads it from there. */
static void fp_left(struct libos_task *t)
{
	struct el1_percpu *pc = el1_this_cpu();

	if (pc->fp_owner != t)
		return;
	if (t->state == LIBOS_TASK_RUNNABLE) {
		if (!libos_smp_active())
			return;
		el1_fp_save(t->regs.q);
	}
	el1_fp_zero();
	pc->fp_owner = NULL;
}

static void frame_of(struct el1_frame *f, const struct libos_task *t)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->x, t->regs.x, sizeof(f->x));
	f->elr = t->regs.pc;
	f->spsr = t->regs.pstate;
	f->sp_el0 = t->regs.sp;
}

/* t's state from the frame to t->regs. Its FP/SIMD state stays in the
 * registers if it owns them (fp_flush copies it). */
static void save(struct libos_task *t, const struct el1_frame *f)
{
	memcpy(t->regs.x, f->x, sizeof(f->x));
	t->regs.pc = f->elr;
	t->regs.pstate = f->spsr;
	t->regs.sp = f->sp_el0;
}

static void enter(struct libos_task *t)
{
	struct el1_percpu *pc = el1_this_cpu();
	struct el1_frame f;

	frame_of(&f, t);
	fp_trap_el0(pc, pc->fp_owner != t);
	el1_task_enter(&pc->task_ctx, &f);
	fp_left(t);
}

static bool from_task(const struct el1_frame *f)
{
	return EL1_TRAP_GROUP(f->kind) == EL1_TRAP_LOWER_A64 &&
	       libos_task_current();
}

static _Noreturn void kill_task(struct el1_frame *f)
{
	struct libos_task *t = libos_task_current();
	unsigned ec = (unsigned)ESR_EC(f->esr);
	char iss[96];

	save(t, f);
	el1_describe_iss(f->esr, iss, sizeof(iss));
	/* FAR is only meaningful for aborts and alignment faults. */
	if (ec == ESR_EC_DABT_LOWER || ec == ESR_EC_IABT_LOWER ||
	    ec == ESR_EC_PC_ALIGN)
		kprintf("task %d killed: %s at 0x%016lx, pc 0x%016lx\n",
			t->id, el1_ec_name(ec), (unsigned long)f->far,
			(unsigned long)f->elr);
	else
		kprintf("task %d killed: %s, pc 0x%016lx\n", t->id,
			el1_ec_name(ec), (unsigned long)f->elr);
	kprintf("  ESR 0x%08lx: EC 0x%02x %s; %s\n", (unsigned long)f->esr,
		ec, el1_ec_name(ec), iss);
	libos_task_kill(t, 128 + ec);
	el1_task_leave(&el1_this_cpu()->task_ctx);
}

/*
 * Most calls read only their arguments: those are all the task hands over
 * (nine words, not the whole frame, FP/SIMD included); the rest of its state
 * is saved only when it leaves EL0.
 */
static bool svc(struct el1_frame *f)
{
	struct libos_task *t = libos_task_current();
	bool light = libos_task_syscall_light(f->x[8]);
	uint64_t ret;

	if (!from_task(f))
		return false;
	if (light) {
		for (unsigned i = 0; i < LIBOS_SYSCALL_REGS; i++)
			t->regs.x[i] = f->x[i];
	} else {
		save(t, f);
		fp_flush(t);	/* clone copies the whole state */
	}
	if (libos_task_syscall(t)) {
		f->x[0] = t->regs.x[0];
		return true;
	}
	if (light) {
		ret = t->regs.x[0];
		save(t, f);
		t->regs.x[0] = ret;
	}
	el1_task_leave(&el1_this_cpu()->task_ctx);
}

static bool abort_lower(struct el1_frame *f)
{
	struct libos_fault lf = {
		.esr = f->esr, .far = f->far, .elr = f->elr, .x30 = f->x[30],
		.from_el0 = true,
	};

	if (!from_task(f))
		return false;
	if (ESR_EC(f->esr) == ESR_EC_IABT_LOWER) {
		save(libos_task_current(), f);
		if (libos_task_returned(libos_task_current(), f->elr))
			el1_task_leave(&el1_this_cpu()->task_ctx);
	}
	if (libos_fault_handle(&lf))
		return true;
	kill_task(f);
}

static bool fp_access(struct el1_frame *f)
{
	if (!from_task(f))
		return false;
	fp_take(libos_task_current());
	return true;
}

static bool other_lower(struct el1_frame *f)
{
	if (!from_task(f))
		return false;
	kill_task(f);
}

int el1_tasks_init(void)
{
	const struct libos_mm_info *mi = libos_mm_info();
	const struct el1_boot_info *bi = el1_boot_info();
	uint64_t start = (uint64_t)(__user_start - __image_start);
	struct libos_task_code code = {
		.pa = mi->image_pa + start,
		.size = (uint64_t)(__user_end - __user_start),
	};
	int rc;

	if (!code.size)
		return -LIBOS_EINVAL;
	rc = libos_tasks_init(bi->argc, bi->argv, &code);
	if (rc)
		return rc;
	el1_set_sync_handler(ESR_EC_SVC64, svc);
	el1_set_sync_handler(ESR_EC_DABT_LOWER, abort_lower);
	el1_set_sync_handler(ESR_EC_IABT_LOWER, abort_lower);
	el1_set_sync_handler(ESR_EC_FP_ASIMD, fp_access);
	el1_set_lower_fallback(other_lower);
	return 0;
}

int el1_task_spawn(el1_task_fn fn, uint64_t arg)
{
	uint64_t off = (uint64_t)((const char *)(uintptr_t)fn - __user_start);

	return libos_task_spawn(off, arg);
}

void el1_tasks_run(void)
{
	libos_tasks_run(enter);
}
