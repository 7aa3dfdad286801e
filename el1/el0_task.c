/*
 * el1's side of EL0 tasks: entering EL0 with a task's registers, system
 * calls (SVC from EL0) handed to libos, and every other exception from EL0:
 * aborts libos resolves (demand-zero, copy-on-write) are retried, anything
 * else kills the task with a report (id, address, ESR decoded; libos has
 * printed the table walk) and the guest carries on with the other tasks.
 * No policy: address spaces, ASIDs and system-call meaning are libos's.
 */
#include <arch/esr.h>
#include <el1/el1.h>
#include <el1/el0_task.h>
#include <lib/print.h>
#include <libos/mm/mm.h>
#include <string.h>

extern char __image_start[], __user_start[], __user_end[];

struct el1_task_ctx {
	uint64_t x19_x30[12], sp, daif, d8_d15[8];
};
_Static_assert(sizeof(struct el1_task_ctx) == 176, "task_entry.S layout");

void el1_task_enter(struct el1_task_ctx *ctx, const struct el1_frame *f);
_Noreturn void el1_task_leave(struct el1_task_ctx *ctx);

static struct el1_task_ctx ctx;

static void frame_of(struct el1_frame *f, const struct libos_task *t)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->x, t->regs.x, sizeof(f->x));
	f->elr = t->regs.pc;
	f->spsr = t->regs.pstate;
	f->sp_el0 = t->regs.sp;
	memcpy(f->q, t->regs.q, sizeof(f->q));
	f->fpsr = t->regs.fpsr;
	f->fpcr = t->regs.fpcr;
}

static void save(struct libos_task *t, const struct el1_frame *f)
{
	memcpy(t->regs.x, f->x, sizeof(f->x));
	t->regs.pc = f->elr;
	t->regs.pstate = f->spsr;
	t->regs.sp = f->sp_el0;
	memcpy(t->regs.q, f->q, sizeof(f->q));
	t->regs.fpsr = f->fpsr;
	t->regs.fpcr = f->fpcr;
}

static void enter(struct libos_task *t)
{
	struct el1_frame f;

	frame_of(&f, t);
	el1_task_enter(&ctx, &f);
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
	el1_task_leave(&ctx);
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
	if (light)
		for (unsigned i = 0; i < LIBOS_SYSCALL_REGS; i++)
			t->regs.x[i] = f->x[i];
	else
		save(t, f);
	if (libos_task_syscall(t)) {
		f->x[0] = t->regs.x[0];
		return true;
	}
	if (light) {
		ret = t->regs.x[0];
		save(t, f);
		t->regs.x[0] = ret;
	}
	el1_task_leave(&ctx);
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
			el1_task_leave(&ctx);
	}
	if (libos_fault_handle(&lf))
		return true;
	kill_task(f);
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
