/*
 * The speculation policy (el2/spectre.h): from the core's identity, its ID
 * registers and the firmware's answers, what each Spectre variant is on
 * this CPU and what EL2 runs on every exit from a guest. Follows the Arm
 * security bulletins' per-core advice (the branch-history loop counts are
 * Arm's published figures); a core this file does not name gets the ID
 * registers' word or, without one, is reported vulnerable rather than
 * guessed safe. Owns no hardware access: el2/arch reads the registers and
 * runs the steps.
 */
#include <arch/sysreg.h>
#include <el2/spectre.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <stddef.h>

#define FIELD_WIDTH 4
#define SMCCC_OK 0

/* Arm cores by MIDR part number. */
enum arm_part {
	PART_A53 = 0xd03, PART_A35 = 0xd04, PART_A55 = 0xd05,
	PART_A57 = 0xd07, PART_A72 = 0xd08, PART_A73 = 0xd09,
	PART_A75 = 0xd0a, PART_A76 = 0xd0b, PART_N1 = 0xd0c,
	PART_A77 = 0xd0d, PART_V1 = 0xd40, PART_A78 = 0xd41,
	PART_A78AE = 0xd42, PART_X1 = 0xd44, PART_A510 = 0xd46,
	PART_A710 = 0xd47, PART_X2 = 0xd48, PART_N2 = 0xd49,
	PART_A78C = 0xd4b, PART_A715 = 0xd4d, PART_X3 = 0xd4e,
	PART_V2 = 0xd4f, PART_A520 = 0xd80, PART_A720 = 0xd81,
};

/* In-order cores: no branch-target, branch-history or store-bypass
 * speculation to exploit. */
static const uint16_t in_order[] = { PART_A35, PART_A53, PART_A55, PART_A510,
				     PART_A520 };

/* Branch-history loop: taken branches that overwrite the history, by core. */
static const struct {
	uint16_t part;
	uint16_t k;
} bhb_loop[] = {
	{ PART_A57, 8 },    { PART_A72, 8 },    { PART_A76, 24 },
	{ PART_A77, 24 },   { PART_N1, 24 },    { PART_A78, 32 },
	{ PART_A78AE, 32 }, { PART_A78C, 32 },  { PART_X1, 32 },
	{ PART_A710, 32 },  { PART_X2, 32 },    { PART_N2, 32 },
	{ PART_V1, 32 },    { PART_A715, 38 },  { PART_A720, 38 },
	{ PART_X3, 132 },   { PART_V2, 132 },
};

static int arm_part(uint64_t midr)
{
	if (FIELD_GET(midr, MIDR_IMPLEMENTER_SHIFT, 8) != MIDR_IMPLEMENTER_ARM)
		return -1;
	return (int)((midr >> MIDR_PARTNUM_SHIFT) & MIDR_PARTNUM_MASK);
}

static int is_in_order(int part)
{
	for (size_t i = 0; i < sizeof(in_order) / sizeof(in_order[0]); i++)
		if (in_order[i] == part)
			return 1;
	return 0;
}

static unsigned bhb_loop_k(int part)
{
	for (size_t i = 0; i < sizeof(bhb_loop) / sizeof(bhb_loop[0]); i++)
		if (bhb_loop[i].part == part)
			return bhb_loop[i].k;
	return 0;
}

static void decide_v2(const struct spectre_cpu *c, int part,
		      struct spectre_policy *p)
{
	if (FIELD_GET(c->pfr0, ID_AA64PFR0_CSV2_SHIFT, FIELD_WIDTH) ||
	    is_in_order(part)) {
		p->v2 = SPECTRE_UNAFFECTED;
	} else if (c->fw_wa1 == SMCCC_OK) {
		p->v2 = SPECTRE_MITIGATED;
		p->exit_steps |= SPECTRE_STEP_FW_WA1;
	} else {
		p->v2 = SPECTRE_VULNERABLE;
	}
}

/* The cheapest remedy the core has: CLRBHB, then the loop, then the
 * firmware (whose WORKAROUND_3 also covers branch target injection). */
static void decide_bhb(const struct spectre_cpu *c, int part,
		       struct spectre_policy *p)
{
	uint64_t csv2 = FIELD_GET(c->pfr0, ID_AA64PFR0_CSV2_SHIFT, FIELD_WIDTH);

	p->bhb = SPECTRE_MITIGATED;
	if (FIELD_GET(c->mmfr1, ID_AA64MMFR1_ECBHB_SHIFT, FIELD_WIDTH) ||
	    csv2 >= ID_AA64PFR0_CSV2_3 || is_in_order(part)) {
		p->bhb = SPECTRE_UNAFFECTED;
	} else if (FIELD_GET(c->isar2, ID_AA64ISAR2_CLRBHB_SHIFT, FIELD_WIDTH)) {
		p->exit_steps |= SPECTRE_STEP_CLRBHB;
	} else if ((p->loop_k = bhb_loop_k(part))) {
		p->exit_steps |= SPECTRE_STEP_BHB_LOOP;
	} else if (c->fw_wa3 == SMCCC_OK) {
		p->exit_steps |= SPECTRE_STEP_FW_WA3;
		p->exit_steps &= ~SPECTRE_STEP_FW_WA1;
		if (p->v2 == SPECTRE_VULNERABLE)
			p->v2 = SPECTRE_MITIGATED;
	} else {
		p->bhb = SPECTRE_VULNERABLE;
	}
}

/* With SSBS a guest sets PSTATE.SSBS itself (EL2 runs with it clear:
 * SCTLR_EL2.DSSBS is 0); without it, the firmware's mitigation is turned
 * on for good. */
static void decide_v4(const struct spectre_cpu *c, int part,
		      struct spectre_policy *p)
{
	if (is_in_order(part))
		p->v4 = SPECTRE_UNAFFECTED;
	else if (FIELD_GET(c->pfr1, ID_AA64PFR1_SSBS_SHIFT, FIELD_WIDTH))
		p->v4 = SPECTRE_MITIGATED;
	else if (c->fw_wa2 == SMCCC_OK) {
		p->v4 = SPECTRE_MITIGATED;
		p->v4_by_firmware = 1;
	} else
		p->v4 = SPECTRE_VULNERABLE;
}

/* This CPU's policy, decided once at boot (spectre_init). */
static struct spectre_policy booted;

void spectre_decide(const struct spectre_cpu *cpu, struct spectre_policy *p)
{
	int part = arm_part(cpu->midr);

	*p = (struct spectre_policy){ 0 };
	decide_v2(cpu, part, p);
	decide_bhb(cpu, part, p);
	decide_v4(cpu, part, p);
}

const struct spectre_policy *spectre_init(const struct spectre_cpu *cpu)
{
	spectre_decide(cpu, &booted);
	return &booted;
}

const struct spectre_policy *spectre_booted(void)
{
	return &booted;
}

/* WORKAROUND_1 and _3: a guest calls them to clean the predictors before
 * it switches between its own contexts; EL2's exit path already does. */
static int64_t workaround_answer(enum spectre_state s)
{
	switch (s) {
	case SPECTRE_UNAFFECTED: return EXO_SMCCC_WA_UNAFFECTED;
	case SPECTRE_MITIGATED: return SMCCC_OK;
	default: return EXO_ENOTSUP;
	}
}

int64_t spectre_guest_call(uint32_t fid, uint64_t arg)
{
	switch (fid) {
	case EXO_SMCCC_VERSION:
		return EXO_SMCCC_VERSION_1_1;
	case EXO_SMCCC_ARCH_FEATURES:
		return spectre_arch_features(&booted, (uint32_t)arg);
	default:   /* WORKAROUND_1 or _3: done on the way in already */
		return workaround_answer(fid == EXO_SMCCC_ARCH_WORKAROUND_1
						 ? booted.v2
						 : booted.bhb);
	}
}

int64_t spectre_arch_features(const struct spectre_policy *p, uint32_t fid)
{
	switch (fid) {
	case EXO_SMCCC_VERSION:
	case EXO_SMCCC_ARCH_FEATURES:
		return SMCCC_OK;
	case EXO_SMCCC_ARCH_WORKAROUND_1:
		return workaround_answer(p->v2);
	case EXO_SMCCC_ARCH_WORKAROUND_3:
		return workaround_answer(p->bhb);
	case EXO_SMCCC_ARCH_WORKAROUND_2:
		/* SSBS: the guest uses it, there is no call to make. Always on
		 * in firmware, or not needed: nothing to call either. */
		if (p->v4 == SPECTRE_VULNERABLE ||
		    (p->v4 == SPECTRE_MITIGATED && !p->v4_by_firmware))
			return EXO_ENOTSUP;
		return EXO_SMCCC_NOT_REQUIRED;
	default:
		return EXO_ENOTSUP;
	}
}

const char *spectre_state_name(enum spectre_state s)
{
	switch (s) {
	case SPECTRE_UNAFFECTED: return "unaffected";
	case SPECTRE_MITIGATED: return "mitigated";
	default: return "vulnerable";
	}
}
