/*
 * The guest's virtual GICv3 CPU interface, per vCPU (each vCPU's is its
 * own: EL2 switches ICH_VMCR_EL2 and the list registers), and the SGIs
 * between the guest's own vCPUs (EL2 emulates ICC_SGI1R_EL1, docs/abi.md
 * "vCPUs"). A vCPU numbers the others by their index (Aff0 of the MPIDR).
 */
#ifndef EXO_EL1_GIC_CPU_H
#define EXO_EL1_GIC_CPU_H

#include <stdint.h>

#define EL1_IRQ_NONE 1023u   /* el1_irq_poll: nothing pending */

/* Turns this vCPU's CPU interface on (system registers, every priority,
 * group 1); leaves PSTATE.I as it is. */
void el1_gic_cpu_init(void);
/* Acknowledges and ends the highest-priority pending interrupt, IRQs
 * masked or not: its INTID, or EL1_IRQ_NONE. */
uint32_t el1_irq_poll(void);

/* SGI intid (0-15) to each vCPU whose bit is set in vcpus (the caller's
 * own included if set), and to every vCPU but the caller. */
void el1_sgi_send(uint32_t vcpus, unsigned intid);
void el1_sgi_send_others(unsigned intid);

/* The boot vCPU's interrupt handler (el1/events.c) hands SGIs here: each
 * counted, then fn called (if set) with IRQs masked. */
typedef void (*el1_sgi_fn)(unsigned intid);
void el1_set_sgi_handler(el1_sgi_fn fn);
void el1_sgi_received(unsigned intid);
unsigned long el1_sgi_count(unsigned intid);

#endif
