/* The PL011 UART EL2 writes its console to (transmit only). */
#ifndef EXO_EL2_PL011_H
#define EXO_EL2_PL011_H

#include <stddef.h>
#include <stdint.h>

void pl011_init(uint64_t base);
void pl011_write(const char *s, size_t n);

#endif
