/*
 * Physical <-> virtual addresses for libos: the one place that knows how
 * the library OS reaches a physical frame. Today the MMU is off and
 * IPA == PA == VA, so both are the identity; the stage-1 work switches them
 * to its direct map by changing libos/addr.c only.
 *
 * Owns: the conversion. Never: checks ownership, maps anything, or is
 * bypassed (no other libos file casts a physical address to a pointer).
 */
#ifndef EXO_LIBOS_ADDR_H
#define EXO_LIBOS_ADDR_H

#include <stdint.h>

/* Where libos reads and writes physical address pa. */
void *libos_phys_to_virt(uint64_t pa);
/* The physical address behind p, which libos_phys_to_virt returned. */
uint64_t libos_virt_to_phys(const void *p);

#endif
