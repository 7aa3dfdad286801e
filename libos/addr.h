/*
 * Physical <-> virtual addresses for libos: the one place that knows how
 * the library OS reaches a physical frame. On target that is the direct map
 * of libos/mm (VA = dmap base + PA), which holds only the frames mapped in
 * it: frames from EL2 are mapped when they arrive and unmapped before they
 * go back. On the host (tests) it is the identity.
 *
 * Owns: the conversion. Never: checks ownership, or is bypassed (no other
 * libos file casts a physical address to a pointer).
 */
#ifndef EXO_LIBOS_ADDR_H
#define EXO_LIBOS_ADDR_H

#include <stdint.h>

/* Where libos reads and writes physical address pa. */
void *libos_phys_to_virt(uint64_t pa);
/* The physical address behind p, which libos_phys_to_virt returned. */
uint64_t libos_virt_to_phys(const void *p);
/* Makes [pa, pa + bytes) reachable through libos_phys_to_virt (frames just
 * obtained from EL2; whole granule pages), or no longer (before they go
 * back). 0 or a negative error. */
int libos_addr_map(uint64_t pa, uint64_t bytes);
int libos_addr_unmap(uint64_t pa, uint64_t bytes);
/* The unit map and unmap work in: the direct map's page (4 KiB on the
 * host). */
uint64_t libos_addr_page_size(void);

#endif
