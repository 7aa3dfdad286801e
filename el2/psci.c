/* Calls into firmware PSCI through the conduit the DTB names. */
#include <el2/arch.h>
#include <el2/psci.h>

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

_Noreturn void psci_system_off(void)
{
	psci_call(PSCI_0_2_FN_SYSTEM_OFF, 0, 0, 0);
	/* No PSCI, or it refused: park the CPU rather than run on. */
	arch_wait_forever();
}
