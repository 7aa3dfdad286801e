/* Physical interrupts taken to EL2: a handler per INTID. */
#ifndef EXO_EL2_IRQ_H
#define EXO_EL2_IRQ_H

#include <stdint.h>

#define IRQ_MAX_INTID 1020u

typedef void (*irq_handler_fn)(uint32_t intid, void *ctx);

void irq_register(uint32_t intid, irq_handler_fn fn, void *ctx);
/* Acknowledges and handles every pending interrupt, then returns. */
void irq_handle(void);

#endif
