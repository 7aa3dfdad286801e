/* Calls into firmware PSCI through the conduit the DTB names, and the
 * firmware's SMCCC architecture calls where it has them. */
#include <el2/arch.h>
#include <el2/psci.h>
#include <exo/errors.h>
#include <exo/hvc.h>

static enum psci_conduit psci_conduit = PSCI_CONDUIT_SMC;

void psci_set_conduit(enum psci_conduit conduit)
{
	psci_conduit = conduit;
}

static uint64_t psci_call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	if (psci_conduit == PSCI_CONDUIT_HVC)
		return arch_hvc(fid, a1, a2, a3);
	return arch_smc(fid, a1, a2, a3);
}

/* SMCCC_VERSION is not a PSCI call: firmware without it may treat the
 * call as undefined, so ask PSCI_FEATURES first (as Linux does). */
static bool firmware_has_smccc_1_1(void)
{
	if ((int64_t)psci_call(EXO_PSCI_FEATURES, EXO_SMCCC_VERSION, 0, 0) < 0)
		return false;
	return (int64_t)psci_call(EXO_SMCCC_VERSION, 0, 0, 0) >=
	       (int64_t)EXO_SMCCC_VERSION_1_1;
}

int64_t psci_smccc_arch_features(uint32_t fid)
{
	if (!firmware_has_smccc_1_1())
		return EXO_ENOTSUP;
	return (int64_t)psci_call(EXO_SMCCC_ARCH_FEATURES, fid, 0, 0);
}

void psci_smccc_call(uint32_t fid, uint64_t a1)
{
	psci_call(fid, a1, 0, 0);
}

int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context)
{
	return (int64_t)psci_call(PSCI_0_2_FN64_CPU_ON, mpidr, entry, context);
}

const char *psci_ret_name(int64_t ret)
{
	static const char *const names[] = {
		"SUCCESS", "NOT_SUPPORTED", "INVALID_PARAMETERS", "DENIED",
		"ALREADY_ON", "ON_PENDING", "INTERNAL_FAILURE", "NOT_PRESENT",
		"DISABLED", "INVALID_ADDRESS",
	};

	if (ret > 0 || ret < PSCI_RET_INVALID_ADDRESS)
		return "unknown";
	return names[-ret];
}

_Noreturn void psci_system_off(void)
{
	psci_call(PSCI_0_2_FN_SYSTEM_OFF, 0, 0, 0);
	/* No PSCI, or it refused: park the CPU rather than run on. */
	arch_wait_forever();
}
