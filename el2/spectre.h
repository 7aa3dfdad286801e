/*
 * Speculation across guests: which of the Spectre variants this CPU is
 * exposed to, what EL2 does about each (on every exit from a guest), and
 * what it tells guests that ask through SMCCC_ARCH_FEATURES. Portable: the
 * decision is a function of the CPU's identity and ID registers and of the
 * firmware's own answers, so it is tested on the host for every core it
 * names (docs/security.md, "Speculation").
 */
#ifndef EXO_EL2_SPECTRE_H
#define EXO_EL2_SPECTRE_H

#include <el2/spectre_steps.h>
#include <stdint.h>

/* What EL2 read at boot. fw_* are the firmware's SMCCC_ARCH_FEATURES
 * answers (EXO_ENOTSUP when there is no such firmware call). */
struct spectre_cpu {
	uint64_t midr;
	uint64_t pfr0, pfr1, mmfr1, isar2;   /* ID_AA64*_EL1 */
	int64_t fw_wa1, fw_wa2, fw_wa3;
};

enum spectre_state {
	SPECTRE_UNAFFECTED,
	SPECTRE_MITIGATED,
	SPECTRE_VULNERABLE,
};

/* Steps EL2 runs on every exit from a guest, before any indirect branch
 * (el2/arch/guest.S): bits of spectre_policy.exit_steps. */
#define SPECTRE_STEP_BHB_LOOP (1u << SPECTRE_STEP_BHB_LOOP_BIT)
#define SPECTRE_STEP_CLRBHB (1u << SPECTRE_STEP_CLRBHB_BIT)
#define SPECTRE_STEP_FW_WA3 (1u << SPECTRE_STEP_FW_WA3_BIT)
#define SPECTRE_STEP_FW_WA1 (1u << SPECTRE_STEP_FW_WA1_BIT)

struct spectre_policy {
	enum spectre_state v2;    /* branch target injection (CVE-2017-5715) */
	enum spectre_state bhb;   /* branch history injection (CVE-2022-23960) */
	enum spectre_state v4;    /* speculative store bypass (CVE-2018-3639) */
	unsigned exit_steps;
	unsigned loop_k;          /* SPECTRE_STEP_BHB_LOOP's branch count */
	/* v4 mitigated by the firmware's WORKAROUND_2, which EL2 turns on
	 * once at boot for good (there is no SSBS for guests to use). */
	int v4_by_firmware;
};

void spectre_decide(const struct spectre_cpu *cpu, struct spectre_policy *p);
/* Boot: decides this CPU's policy and keeps it for the calls below. */
const struct spectre_policy *spectre_init(const struct spectre_cpu *cpu);
/* The policy spectre_init kept (every CPU has the boot CPU's: el2/cpus.c
 * starts only CPUs with its ID registers). */
const struct spectre_policy *spectre_booted(void);
/* A guest's SMCCC_VERSION, SMCCC_ARCH_FEATURES(arg) or ARCH_WORKAROUND_1/3
 * call, answered from the boot policy. */
int64_t spectre_guest_call(uint32_t fid, uint64_t arg);
/* SMCCC_ARCH_FEATURES(fid) for a guest (exo/hvc.h). */
int64_t spectre_arch_features(const struct spectre_policy *p, uint32_t fid);
const char *spectre_state_name(enum spectre_state s);

#endif
