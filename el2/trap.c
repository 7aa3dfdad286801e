/*
 * Exceptions EL2 takes from itself. An IRQ (EL2 idling with interrupts
 * unmasked) is dispatched; anything else is a bug in EL2: reported (class by
 * name, syndrome, FAR, ELR, SPSR) and the machine stops cleanly. Traps from
 * guests have their own path (el2/guest_trap.c).
 */
#include <arch/esr.h>
#include <el2/irq.h>
#include <el2/trap.h>
#include <lib/backtrace.h>
#include <lib/fmt.h>
#include <lib/panic.h>
#include <lib/print.h>

struct name { unsigned code; const char *name; };

static const struct name ec_names[] = {
	{ ESR_EC_UNKNOWN, "unknown reason (undefined instruction)" },
	{ ESR_EC_WFX, "WFI/WFE" },
	{ ESR_EC_FP_ASIMD, "FP/SIMD access trapped" },
	{ ESR_EC_ILLEGAL_STATE, "illegal execution state" },
	{ ESR_EC_SVC64, "SVC (AArch64)" },
	{ ESR_EC_HVC64, "HVC (AArch64)" },
	{ ESR_EC_SMC64, "SMC (AArch64)" },
	{ ESR_EC_SYSREG, "system register access trapped" },
	{ ESR_EC_SVE, "SVE access trapped" },
	{ ESR_EC_IABT_LOWER, "instruction abort (lower EL)" },
	{ ESR_EC_IABT_CUR, "instruction abort (same EL)" },
	{ ESR_EC_PC_ALIGN, "PC alignment fault" },
	{ ESR_EC_DABT_LOWER, "data abort (lower EL)" },
	{ ESR_EC_DABT_CUR, "data abort (same EL)" },
	{ ESR_EC_SP_ALIGN, "SP alignment fault" },
	{ ESR_EC_SERROR, "SError" },
	{ ESR_EC_BRK64, "BRK (AArch64)" },
};

static const struct name fsc_names[] = {
	{ FSC_ADDR_SIZE, "address size fault" },
	{ FSC_TRANSLATION, "translation fault" },
	{ FSC_ACCESS_FLAG, "access flag fault" },
	{ FSC_PERMISSION, "permission fault" },
	{ FSC_SYNC_EXTERNAL, "synchronous external abort" },
};

static const char *lookup(const struct name *t, size_t n, unsigned code)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].code == code)
			return t[i].name;
	}
	return NULL;
}

const char *trap_ec_name(unsigned ec)
{
	const char *n = lookup(ec_names, sizeof(ec_names) / sizeof(*ec_names), ec);

	return n ? n : "unrecognised exception class";
}

const char *trap_fsc_name(unsigned fsc)
{
	const char *n;

	if (fsc == FSC_ALIGNMENT)
		return "alignment fault";
	n = lookup(fsc_names, sizeof(fsc_names) / sizeof(*fsc_names),
		   FSC_KIND(fsc));
	return n ? n : "other fault";
}

const char *trap_kind_name(uint64_t kind)
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

static int is_abort(unsigned ec)
{
	return ec == ESR_EC_IABT_LOWER || ec == ESR_EC_IABT_CUR ||
	       ec == ESR_EC_DABT_LOWER || ec == ESR_EC_DABT_CUR;
}

void trap_describe_iss(uint64_t esr, char *buf, size_t size)
{
	unsigned ec = (unsigned)ESR_EC(esr);
	unsigned fsc = (unsigned)FIELD_GET(esr, ESR_ABT_FSC_SHIFT, ESR_ABT_FSC_WIDTH);
	int data = ec == ESR_EC_DABT_LOWER || ec == ESR_EC_DABT_CUR;

	if (!is_abort(ec)) {
		fmt_snprintf(buf, size, "ISS 0x%lx", (unsigned long)ESR_ISS(esr));
		return;
	}
	fmt_snprintf(buf, size, "%s, level %u%s%s", trap_fsc_name(fsc),
		     FSC_LEVEL(fsc),
		     data ? ((esr & ESR_DABT_WNR) ? ", write" : ", read")
			  : ", instruction fetch",
		     (data && (esr & ESR_DABT_S1PTW)) ? ", on a table walk" : "");
}

void trap_report(const struct trap_frame *f, uint64_t kind)
{
	char iss[96];
	unsigned ec = (unsigned)ESR_EC(f->esr);

	trap_describe_iss(f->esr, iss, sizeof(iss));
	kprintf("unexpected exception: %s %s\n", trap_type_name(kind),
		trap_kind_name(kind));
	if ((kind & 3) == TRAP_SYNC) {
		kprintf("  ESR 0x%08lx: EC 0x%02x %s; %s\n",
			(unsigned long)f->esr, ec, trap_ec_name(ec), iss);
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

void el2_trap(struct trap_frame *frame, uint64_t kind)
{
	static int nested;

	/* EL2 unmasks IRQs only while it idles or self-tests. */
	if (kind == ((TRAP_CUR_SPX << 2) | TRAP_IRQ)) {
		irq_handle();
		return;
	}
	if (nested++) /* faulted while reporting: stop without more output */
		arch_halt(2);
	trap_report(frame, kind);
	arch_halt(1);
}
