/*
 * el2/spectre.c: the policy for each kind of core (from its MIDR, ID
 * registers and the firmware's answers) and what guests are told.
 */
#include <arch/sysreg.h>
#include <criterion/criterion.h>
#include <el2/spectre.h>
#include <exo/errors.h>
#include <exo/hvc.h>

#define ARM_MIDR(part) \
	((uint64_t)MIDR_IMPLEMENTER_ARM << MIDR_IMPLEMENTER_SHIFT | \
	 (uint64_t)(part) << MIDR_PARTNUM_SHIFT)
#define QEMU_MAX_MIDR 0x000f0510u
#define CSV2(v) ((uint64_t)(v) << ID_AA64PFR0_CSV2_SHIFT)
#define SSBS ((uint64_t)1 << ID_AA64PFR1_SSBS_SHIFT)
#define ECBHB ((uint64_t)1 << ID_AA64MMFR1_ECBHB_SHIFT)
#define CLRBHB ((uint64_t)1 << ID_AA64ISAR2_CLRBHB_SHIFT)
#define NO_FW EXO_ENOTSUP, EXO_ENOTSUP, EXO_ENOTSUP
#define ALL_FW 0, 0, 0

static struct spectre_policy decide(struct spectre_cpu c)
{
	struct spectre_policy p;

	spectre_decide(&c, &p);
	return p;
}

Test(spectre, cortex_a72_without_firmware)
{
	struct spectre_policy p = decide((struct spectre_cpu){
		ARM_MIDR(0xd08), 0, 0, 0, 0, NO_FW });

	cr_assert_eq(p.v2, SPECTRE_VULNERABLE, "no CSV2, no WORKAROUND_1");
	cr_assert_eq(p.bhb, SPECTRE_MITIGATED);
	cr_assert_eq(p.exit_steps, SPECTRE_STEP_BHB_LOOP);
	cr_assert_eq(p.loop_k, 8, "Arm's figure for the A72");
	cr_assert_eq(p.v4, SPECTRE_VULNERABLE);
	cr_assert_eq(spectre_arch_features(&p, EXO_SMCCC_ARCH_WORKAROUND_1),
		     EXO_ENOTSUP);
	cr_assert_eq(spectre_arch_features(&p, EXO_SMCCC_ARCH_WORKAROUND_2),
		     EXO_ENOTSUP);
	cr_assert_eq(spectre_arch_features(&p, EXO_SMCCC_ARCH_WORKAROUND_3), 0);
}

Test(spectre, cortex_a72_with_firmware)
{
	struct spectre_policy p = decide((struct spectre_cpu){
		ARM_MIDR(0xd08), 0, 0, 0, 0, ALL_FW });

	cr_assert_eq(p.v2, SPECTRE_MITIGATED);
	cr_assert_eq(p.exit_steps, SPECTRE_STEP_FW_WA1 | SPECTRE_STEP_BHB_LOOP,
		     "the loop clears history, not the branch targets");
	cr_assert_eq(p.v4, SPECTRE_MITIGATED);
	cr_assert(p.v4_by_firmware);
	cr_assert_eq(spectre_arch_features(&p, EXO_SMCCC_ARCH_WORKAROUND_1), 0);
	cr_assert_eq(spectre_arch_features(&p, EXO_SMCCC_ARCH_WORKAROUND_2),
		     EXO_SMCCC_NOT_REQUIRED, "always on: nothing to call");
}

Test(spectre, qemu_max)
{
	struct spectre_policy p = decide((struct spectre_cpu){
		QEMU_MAX_MIDR, CSV2(2), SSBS, 0, 0, NO_FW });

	cr_assert_eq(p.v2, SPECTRE_UNAFFECTED);
	cr_assert_eq(p.bhb, SPECTRE_VULNERABLE,
		     "an unknown core without ECBHB or CSV2_3 is not guessed safe");
	cr_assert_eq(p.exit_steps, 0);
	cr_assert_eq(p.v4, SPECTRE_MITIGATED, "SSBS: the guest's own");
	cr_assert_eq(spectre_arch_features(&p, EXO_SMCCC_ARCH_WORKAROUND_1),
		     EXO_SMCCC_WA_UNAFFECTED);
	cr_assert_eq(spectre_arch_features(&p, EXO_SMCCC_ARCH_WORKAROUND_2),
		     EXO_ENOTSUP, "use SSBS");
}

Test(spectre, history_remedies_in_order)
{
	struct spectre_policy p;

	p = decide((struct spectre_cpu){ QEMU_MAX_MIDR, CSV2(2), 0, ECBHB, 0,
					 NO_FW });
	cr_assert_eq(p.bhb, SPECTRE_UNAFFECTED, "ECBHB");
	p = decide((struct spectre_cpu){ QEMU_MAX_MIDR, CSV2(3), 0, 0, 0,
					 NO_FW });
	cr_assert_eq(p.bhb, SPECTRE_UNAFFECTED, "CSV2_3");
	p = decide((struct spectre_cpu){ ARM_MIDR(0xd0b), CSV2(1), 0, 0,
					 CLRBHB, NO_FW });
	cr_assert_eq(p.exit_steps, SPECTRE_STEP_CLRBHB, "CLRBHB before a loop");
	p = decide((struct spectre_cpu){ ARM_MIDR(0xd0b), CSV2(1), 0, 0, 0,
					 NO_FW });
	cr_assert_eq(p.loop_k, 24, "Cortex-A76");
	p = decide((struct spectre_cpu){ ARM_MIDR(0xd4f), CSV2(1), 0, 0, 0,
					 NO_FW });
	cr_assert_eq(p.loop_k, 132, "Neoverse V2");
	p = decide((struct spectre_cpu){ ARM_MIDR(0xd09), 0, 0, 0, 0, ALL_FW });
	cr_assert_eq(p.exit_steps, SPECTRE_STEP_FW_WA3,
		     "Cortex-A73: the firmware's WORKAROUND_3 covers both");
	cr_assert_eq(p.v2, SPECTRE_MITIGATED);
	p = decide((struct spectre_cpu){ ARM_MIDR(0xd09), 0, 0, 0, 0, NO_FW });
	cr_assert_eq(p.bhb, SPECTRE_VULNERABLE);
}

Test(spectre, in_order_cores_need_nothing)
{
	struct spectre_policy p = decide((struct spectre_cpu){
		ARM_MIDR(0xd03), 0, 0, 0, 0, NO_FW });

	cr_assert_eq(p.v2, SPECTRE_UNAFFECTED);
	cr_assert_eq(p.bhb, SPECTRE_UNAFFECTED);
	cr_assert_eq(p.v4, SPECTRE_UNAFFECTED);
	cr_assert_eq(p.exit_steps, 0);
	cr_assert_eq(spectre_arch_features(&p, EXO_SMCCC_ARCH_WORKAROUND_2),
		     EXO_SMCCC_NOT_REQUIRED);
	cr_assert_eq(spectre_arch_features(&p, EXO_SMCCC_ARCH_WORKAROUND_3),
		     EXO_SMCCC_WA_UNAFFECTED);
}

Test(spectre, guest_calls)
{
	struct spectre_cpu a72 = { ARM_MIDR(0xd08), 0, 0, 0, 0, NO_FW };

	spectre_init(&a72);
	cr_assert_eq(spectre_guest_call(EXO_SMCCC_VERSION, 0),
		     EXO_SMCCC_VERSION_1_1);
	cr_assert_eq(spectre_guest_call(EXO_SMCCC_ARCH_FEATURES,
					EXO_SMCCC_ARCH_FEATURES), 0);
	cr_assert_eq(spectre_guest_call(EXO_SMCCC_ARCH_FEATURES, 0xc6000000u),
		     EXO_ENOTSUP);
	cr_assert_eq(spectre_guest_call(EXO_SMCCC_ARCH_WORKAROUND_3, 0), 0);
	cr_assert_eq(spectre_guest_call(EXO_SMCCC_ARCH_WORKAROUND_1, 0),
		     EXO_ENOTSUP);
}
