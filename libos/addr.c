/*
 * libos/addr.h: identity while the guest MMU is off. Owns nothing else;
 * never called with an address libos did not get from EL2 or the image.
 */
#include "libos/addr.h"

void *libos_phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

uint64_t libos_virt_to_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}
