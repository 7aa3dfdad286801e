/*
 * Exceptions EL2 takes from itself. An IRQ (EL2 idling with interrupts
 * unmasked) is dispatched; anything else is a bug in EL2: reported (class by
 * name, syndrome, FAR, ELR, SPSR) and the machine stops cleanly. Traps from
 * guests have their own path (el2/guest_trap.c).
 */
#include <arch/esr.h>
#include <el2/irq.h>
#include <el2/hyp_trap.h>
#include <lib/backtrace.h>
#include <lib/esr_names.h>
#include <lib/fmt.h>
#include <lib/panic.h>
#include <lib/print.h>

const char *hyp_trap_kind_name(uint64_t kind)
{
	static const char *const group[] = {
		"from EL2 with SP_EL0", "from EL2 with SP_EL2",
		"from a lower EL (AArch64)", "from a lower EL (AArch32)",
	};
	return group[(kind >> 2) & 3];
}

static const char *trap_type_name(uint64_t kind)
{
	static const char *const type[] = { "synchronous", "IRQ", "FIQ",
					     "SError" };

	return type[kind & 3];
}

void hyp_trap_report(const struct hyp_trap_frame *f, uint64_t kind)
{
	char iss[96];
	unsigned ec = (unsigned)ESR_EC(f->esr);

	esr_describe_iss(f->esr, iss, sizeof(iss));
	kprintf("unexpected exception: %s %s\n", trap_type_name(kind),
		hyp_trap_kind_name(kind));
	if ((kind & 3) == TRAP_SYNC) {
		kprintf("  ESR 0x%08lx: EC 0x%02x %s; %s\n",
			(unsigned long)f->esr, ec, esr_ec_name(ec), iss);
		kprintf("  FAR 0x%016lx\n", (unsigned long)f->far);
	}
	kprintf("  ELR 0x%016lx  SPSR 0x%08lx  SP 0x%016lx\n",
		(unsigned long)f->elr, (unsigned long)f->spsr,
		(unsigned long)f->sp);
#ifndef EXO_HOST
	if ((kind >> 2) == TRAP_CUR_SPX)	/* EL2's own code faulted */
		backtrace_print(f->elr, f->x[29]);
#endif
}

void hyp_trap_entry(struct hyp_trap_frame *frame, uint64_t kind)
{
	static int nested;

	/* EL2 unmasks IRQs only while it idles or self-tests. */
	if (kind == ((TRAP_CUR_SPX << 2) | TRAP_IRQ)) {
		irq_handle();
		return;
	}
	if (nested++) /* faulted while reporting: stop without more output */
		arch_halt(2);
	hyp_trap_report(frame, kind);
	arch_halt(1);
}
