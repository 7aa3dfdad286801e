/*
 * The vCPU's virtual timer (CNTV_*_EL0, its own: EL2 switches it with the
 * vCPU) and its interrupt, EXO_VTIMER_INTID (docs/abi.md, "Interrupts").
 * When the timer fires EL2 sets CNTV_CTL_EL0.IMASK; el1_timer_arm clears
 * it again. The boot vCPU takes the interrupt in its handler
 * (el1/events.c); a started vCPU polls for it (el1_irq_poll).
 */
#ifndef EXO_EL1_TIMER_H
#define EXO_EL1_TIMER_H

#include <stdint.h>

/* The counter's frequency (CNTFRQ_EL0) and value (CNTVCT_EL0). */
uint64_t el1_timer_hz(void);
uint64_t el1_timer_now(void);
/* Fires once the counter reaches deadline (counter ticks); replaces any
 * deadline set before. */
void el1_timer_arm(uint64_t deadline);
void el1_timer_stop(void);

/* The boot vCPU's handler: each interrupt counted, then fn (if set) with
 * IRQs masked; fn may re-arm. */
typedef void (*el1_timer_fn)(void);
void el1_set_timer_handler(el1_timer_fn fn);
void el1_timer_received(void);
unsigned long el1_timer_count(void);

#endif
