/* EL2 as a PSCI client of the firmware (QEMU's emulated PSCI). */
#ifndef EXO_EL2_PSCI_H
#define EXO_EL2_PSCI_H

#include <el2/platform.h>
#include <stdbool.h>
#include <stdint.h>

#define PSCI_0_2_FN_VERSION 0x84000000u
#define PSCI_0_2_FN_SYSTEM_OFF 0x84000008u
#define PSCI_0_2_FN_SYSTEM_RESET 0x84000009u
#define PSCI_0_2_FN64_CPU_ON 0xC4000003u

/* PSCI return codes (Arm DEN 0022). */
enum psci_ret {
	PSCI_RET_SUCCESS = 0,
	PSCI_RET_NOT_SUPPORTED = -1,
	PSCI_RET_INVALID_PARAMETERS = -2,
	PSCI_RET_DENIED = -3,
	PSCI_RET_ALREADY_ON = -4,
	PSCI_RET_ON_PENDING = -5,
	PSCI_RET_INTERNAL_FAILURE = -6,
	PSCI_RET_NOT_PRESENT = -7,
	PSCI_RET_DISABLED = -8,
	PSCI_RET_INVALID_ADDRESS = -9,
};

/* Before the DTB is read the conduit is the `virt` machine's (SMC). */
void psci_set_conduit(enum psci_conduit conduit);
_Noreturn void psci_system_off(void);
/* The firmware's SMCCC_ARCH_FEATURES(fid) (exo/hvc.h's answers), or
 * EXO_ENOTSUP when it has no SMCCC 1.1. */
int64_t psci_smccc_arch_features(uint32_t fid);
/* An SMCCC call to the firmware that it said it has. */
void psci_smccc_call(uint32_t fid, uint64_t a1);
/* CPU_ON: the CPU with this MPIDR affinity starts at entry (a physical
 * address, MMU off, at EL2) with x0 = context. A PSCI return code. */
int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context);
/* The PSCI return code's name ("INVALID_PARAMETERS"), or "unknown". */
const char *psci_ret_name(int64_t ret);

#endif
