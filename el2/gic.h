/*
 * GICv3 as EL2 uses it: distributor and this CPU's redistributor set up for
 * the EL2 physical timer PPI; interrupts acknowledged and ended through the
 * system-register CPU interface.
 */
#ifndef EXO_EL2_GIC_H
#define EXO_EL2_GIC_H

#include <el2/platform.h>
#include <stdbool.h>
#include <stdint.h>

/* The distributor, then gic_cpu_init. Returns false when the
 * redistributor for this CPU is not found or does not wake up (reported on
 * the console). */
bool gic_init(const struct platform *p, uint64_t mpidr);
/* This CPU's redistributor (found by affinity, kept in its struct percpu,
 * woken) and CPU interface: on each CPU, TPIDR_EL2 set. */
bool gic_cpu_init(const struct platform *p, uint64_t mpidr);
/* A PPI on this CPU's redistributor. */
void gic_enable_ppi(uint32_t intid);
/* Acknowledges the highest-priority pending interrupt; GIC_INTID_SPURIOUS
 * when there is none. */
uint32_t gic_ack(void);
void gic_eoi(uint32_t intid);

#endif
