/*
 * Host replacements for el2/arch.h: they record what EL2 asked of the
 * hardware so tests can check it (MMIO writes, SMCs, console output).
 */
#ifndef EXO_TESTS_FAKE_ARCH_H
#define EXO_TESTS_FAKE_ARCH_H

#include <el2/arch.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_LOG_MAX 4096

struct fake_mmio_write {
	uint64_t addr;
	uint32_t value;
};

struct fake_arch {
	struct fake_mmio_write mmio[FAKE_LOG_MAX];
	size_t nr_mmio;
	uint64_t smc_fid[16];
	size_t nr_smc;
	char console[FAKE_LOG_MAX];
	size_t console_len;
	/* vCPU switch and traps */
	unsigned vcpu_switches;
	const struct vcpu *loaded_vcpu;
	uint64_t vtcr;
	struct guest_syndrome syndrome;   /* what the next trap reads */
	uint64_t injected_esr, injected_far, injected_elr;
};

extern struct fake_arch fake;

void fake_reset(void);
/* A console_write_fn that appends to fake.console. */
void fake_console_write(const char *s, size_t n);

#endif
