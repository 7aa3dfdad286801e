/*
 * EL1 exception dispatch and reporting. Synchronous exceptions go to the
 * handler registered for their class, IRQs to the IRQ handler; anything
 * left over is reported (class by name, syndrome, FAR, ELR, SPSR, registers)
 * and the guest exits with a status naming the class. Never decides what a
 * fault means: that is the library OS's handlers' job.
 */
#include <arch/esr.h>
#include <arch/vector_frame.h>
#include <el1/el1.h>
#include <el1/this_cpu.h>
#include <exo/exit_status.h>
#include <exo/hypercall.h>
#include <lib/backtrace.h>
#include <lib/esr_names.h>
#include <lib/fmt.h>
#include <lib/print.h>
#include <libos/lock.h>
#include <stddef.h>

/* el1/vectors.S and include/arch/vector_frame.h hard-code these offsets. */
_Static_assert(offsetof(struct el1_frame, x[30]) == VFRAME_X30, "X30");
_Static_assert(offsetof(struct el1_frame, sp) == VFRAME_SP, "SP");
_Static_assert(offsetof(struct el1_frame, elr) == 256, "F_ELR");
_Static_assert(offsetof(struct el1_frame, esr) == 272, "F_ESR");
_Static_assert(offsetof(struct el1_frame, kind) == 288, "F_KIND");
_Static_assert(offsetof(struct el1_frame, sp_el0) == 296, "F_KIND + 8");
_Static_assert(sizeof(struct el1_frame) == 304, "FRAME_SIZE");

#define REGS_PER_LINE 4
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Read by el1/vectors.S, which dispatches on them. The nesting count and
 * the declined cause are each vCPU's (el1/this_cpu.h). */
el1_sync_fn el1_sync_handlers[EL1_EC_COUNT];
/* The fault fast path and the external abort's light path run while
 * el1_abort handles EL1's data aborts and one vCPU runs (they take no
 * lock: el1_smp_cpu_on turns them off, el1_smp_cpu_off on again). */
bool el1_dabt_fast_ok;
static el1_irq_fn irq_handler;
static el1_sync_fn lower_fallback;

unsigned el1_handler_depth_now(void)
{
	return el1_this_cpu()->handler_depth;
}

static void fast_ok_update(void)
{
	el1_dabt_fast_ok = el1_sync_handlers[ESR_EC_DABT_CUR] == el1_abort &&
			   !libos_smp_active();
}

/* Under libos's lock: the count and the flag change together, so a vCPU
 * that ends as another starts leaves them right. */
void el1_smp_cpu_on(void)
{
	uint64_t flags = libos_lock_take();

	libos_smp_cpu_on();
	fast_ok_update();
	libos_lock_give(flags);
}

void el1_smp_cpu_off(void)
{
	uint64_t flags = libos_lock_take();

	libos_smp_cpu_off();
	fast_ok_update();
	libos_lock_give(flags);
}

el1_sync_fn el1_set_lower_fallback(el1_sync_fn fn)
{
	el1_sync_fn old = lower_fallback;

	lower_fallback = fn;
	return old;
}

el1_sync_fn el1_set_sync_handler(unsigned ec, el1_sync_fn fn)
{
	el1_sync_fn old;

	if (ec >= EL1_EC_COUNT)
		return NULL;
	old = el1_sync_handlers[ec];
	el1_sync_handlers[ec] = fn;
	fast_ok_update();
	return old;
}

el1_irq_fn el1_set_irq_handler(el1_irq_fn fn)
{
	el1_irq_fn old = irq_handler;

	irq_handler = fn;
	return old;
}

const char *el1_ec_name(unsigned ec)
{
	return esr_ec_name(ec);
}

void el1_describe_iss(uint64_t esr, char *buf, size_t size)
{
	esr_describe_iss(esr, buf, size);
}

static const char *group_name(uint64_t kind)
{
	static const char *const group[] = {
		"from EL1 with SP_EL0", "from EL1 with SP_EL1",
		"from EL0 (AArch64)", "from EL0 (AArch32)",
	};

	return group[EL1_TRAP_GROUP(kind)];
}

static const char *type_name(uint64_t kind)
{
	static const char *const type[] = { "synchronous", "IRQ", "FIQ",
					     "SError" };

	return type[EL1_TRAP_TYPE(kind)];
}

static void report_registers(const struct el1_frame *f)
{
	for (unsigned i = 0; i < COUNT(f->x); i += REGS_PER_LINE) {
		char line[96];
		size_t len = 0;

		for (unsigned r = i; r < i + REGS_PER_LINE && r < COUNT(f->x);
		     r++)
			len += (size_t)fmt_snprintf(line + len,
						    sizeof(line) - len,
						    " x%-2u 0x%016lx", r,
						    (unsigned long)f->x[r]);
		kprintf(" %s\n", line);
	}
}

void el1_trap_report(const struct el1_frame *f)
{
	char iss[96];
	unsigned ec = (unsigned)ESR_EC(f->esr);
	uint64_t image = el1_boot_info()->image_start;

	kprintf("unexpected exception: %s %s\n", type_name(f->kind),
		group_name(f->kind));
	if (EL1_TRAP_TYPE(f->kind) == EL1_TRAP_SYNC) {
		el1_describe_iss(f->esr, iss, sizeof(iss));
		kprintf("  ESR 0x%08lx: EC 0x%02x %s; %s\n",
			(unsigned long)f->esr, ec, el1_ec_name(ec), iss);
		kprintf("  FAR 0x%016lx\n", (unsigned long)f->far);
	}
	/* The image offset of ELR is what addr2line wants (linked at 0). */
	kprintf("  ELR 0x%016lx (image +0x%lx)  SPSR 0x%08lx\n",
		(unsigned long)f->elr, (unsigned long)(f->elr - image),
		(unsigned long)f->spsr);
	kprintf("  SP_EL1 0x%016lx  SP_EL0 0x%016lx\n", (unsigned long)f->sp,
		(unsigned long)f->sp_el0);
	report_registers(f);
	if (EL1_TRAP_GROUP(f->kind) == EL1_TRAP_CUR_SPX)  /* libos or main */
		backtrace_print(f->elr, f->x[29]);
}

_Static_assert(EL1_TRAP_IRQ == EXO_EXIT_ASYNC_IRQ &&
	       EL1_TRAP_FIQ == EXO_EXIT_ASYNC_FIQ &&
	       EL1_TRAP_SERROR == EXO_EXIT_ASYNC_SERROR, "async statuses");

void el1_trap_decline(uint64_t cause)
{
	el1_this_cpu()->declined_cause = cause;
}

static uint64_t unhandled_status(const struct el1_frame *f)
{
	if (EL1_TRAP_TYPE(f->kind) == EL1_TRAP_SYNC)
		return EXO_EXIT_SYNC_BASE + ESR_EC(f->esr);
	return EXO_EXIT_ASYNC_BASE + EL1_TRAP_TYPE(f->kind);
}

/* What the exit tells EL2 besides the status: FAR for an abort, else the
 * ELR, which is what the summary prints. */
static uint64_t unhandled_addr(const struct el1_frame *f)
{
	if (EL1_TRAP_TYPE(f->kind) == EL1_TRAP_SYNC &&
	    esr_ec_is_abort((unsigned)ESR_EC(f->esr)))
		return f->far;
	return f->elr;
}

static _Noreturn void unhandled(const struct el1_frame *f)
{
	static bool reporting;
	uint64_t status = unhandled_status(f);

	/* Faulted while reporting, or another vCPU reports: stop without
	 * more output (one report, whole, per guest). */
	if (__atomic_exchange_n(&reporting, true, __ATOMIC_ACQ_REL))
		exo_exit(EXO_EXIT_NESTED_FAULT);
	print_enter_panic();
	el1_trap_report(f);
	kprintf("exiting with status %lu\n", (unsigned long)status);
	exo_exit_why((int64_t)status, el1_this_cpu()->declined_cause,
		     unhandled_addr(f));
}

static bool dispatchable(uint64_t kind)
{
	uint64_t group = EL1_TRAP_GROUP(kind);

	return group == EL1_TRAP_CUR_SPX || group == EL1_TRAP_LOWER_A64;
}

/* Handlers may take an exception themselves (a software Access-flag fault
 * while libos fixes another, say), but a handler that faults again and
 * again would eat the stack into its guard and corrupt what lies below:
 * past this depth it is a nested fault, reported as such. el1/vectors.S
 * counts el1_handler_depth around the handlers it calls itself. */
#define EL1_MAX_HANDLER_DEPTH 4

_Static_assert(ESR_EC_SHIFT == 26 && ESR_EC_WIDTH == 6 &&
		       (FSC_SYNC_EXTERNAL | (FSC_PERMISSION ^ FSC_TRANSLATION)) == 0x18 &&
		       ESR_EC_DABT_CUR == 0x25 && ESR_ABT_FSC_WIDTH == 6 &&
		       (FSC_PERMISSION ^ FSC_TRANSLATION) == 0x08 &&
		       (FSC_PERMISSION | 3) == 0x0f &&
		       EL1_EC_COUNT == 1 << ESR_EC_WIDTH,
	       "el1/vectors.S: ESR.EC");
_Static_assert(((EL1_TRAP_CUR_SPX << 2) | EL1_TRAP_SYNC) == 4 &&
		       ((EL1_TRAP_LOWER_A64 << 2) | EL1_TRAP_SYNC) == 8,
	       "el1/vectors.S: KIND_CUR_SYNC, KIND_LOWER_SYNC");
_Static_assert(EL1_MAX_HANDLER_DEPTH == 4, "el1/vectors.S");

static _Noreturn void nested_too_deep(void)
{
	print_enter_panic();
	kprintf("el1: exceptions nested %u deep in handlers; exiting\n",
		el1_handler_depth_now());
	exo_exit(EXO_EXIT_NESTED_FAULT);
}

/* From EL0 a class handler said "not mine": the fallback (el1/el0_task.c
 * kills the task), else the report. */
static bool lower_fallback_takes(struct el1_frame *f)
{
	if (EL1_TRAP_GROUP(f->kind) != EL1_TRAP_LOWER_A64 || !lower_fallback ||
	    !lower_fallback(f))
		return false;
	/* nothing declined in the end */
	el1_this_cpu()->declined_cause = EXO_EXIT_CAUSE_NONE;
	return true;
}

void el1_trap_declined(struct el1_frame *f)
{
	if (!lower_fallback_takes(f))
		unhandled(f);
}

/* What el1/vectors.S does not take straight to a class handler: classes
 * without one, handlers nested too deep, IRQs, the rest. */
void el1_trap(struct el1_frame *f)
{
	el1_sync_fn sync;

	if (dispatchable(f->kind)) {
		switch (EL1_TRAP_TYPE(f->kind)) {
		case EL1_TRAP_SYNC:
			/* This vCPU's; an IRQ leaves it be. */
			el1_this_cpu()->declined_cause = EXO_EXIT_CAUSE_NONE;
			sync = el1_sync_handlers[ESR_EC(f->esr)];
			if (sync && EL1_TRAP_GROUP(f->kind) == EL1_TRAP_CUR_SPX)
				nested_too_deep();  /* the vectors call the rest */
			if (lower_fallback_takes(f))
				return;
			break;
		case EL1_TRAP_IRQ:
			if (irq_handler && irq_handler(f))
				return;
			break;
		default:
			break;
		}
	}
	unhandled(f);
}
