/*
 * Exception syndromes by name, for the reports of EL2 and EL1 (pure C, no
 * register access: the callers read ESR/FAR themselves).
 */
#include <arch/esr.h>
#include <lib/esr_names.h>
#include <lib/fmt.h>

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

const char *esr_ec_name(unsigned ec)
{
	const char *n = lookup(ec_names, sizeof(ec_names) / sizeof(*ec_names), ec);

	return n ? n : "unrecognised exception class";
}

const char *esr_fsc_name(unsigned fsc)
{
	const char *n;

	if (fsc == FSC_ALIGNMENT)
		return "alignment fault";
	n = lookup(fsc_names, sizeof(fsc_names) / sizeof(*fsc_names),
		   FSC_KIND(fsc));
	return n ? n : "other fault";
}

bool esr_ec_is_abort(unsigned ec)
{
	return ec == ESR_EC_IABT_LOWER || ec == ESR_EC_IABT_CUR ||
	       ec == ESR_EC_DABT_LOWER || ec == ESR_EC_DABT_CUR;
}

void esr_describe_iss(uint64_t esr, char *buf, size_t size)
{
	unsigned ec = (unsigned)ESR_EC(esr);
	unsigned fsc = (unsigned)FIELD_GET(esr, ESR_ABT_FSC_SHIFT, ESR_ABT_FSC_WIDTH);
	int data = ec == ESR_EC_DABT_LOWER || ec == ESR_EC_DABT_CUR;

	if (!esr_ec_is_abort(ec)) {
		fmt_snprintf(buf, size, "ISS 0x%lx", (unsigned long)ESR_ISS(esr));
		return;
	}
	fmt_snprintf(buf, size, "%s, level %u%s%s", esr_fsc_name(fsc),
		     FSC_LEVEL(fsc),
		     data ? ((esr & ESR_DABT_WNR) ? ", write" : ", read")
			  : ", instruction fetch",
		     (data && (esr & ESR_DABT_S1PTW)) ? ", on a table walk" : "");
}

