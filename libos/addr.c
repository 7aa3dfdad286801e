/*
 * libos/addr.h: the direct map of libos/mm on target, the identity on the
 * host (where frames are the test's own memory).
 */
#include "libos/addr.h"

#include <exo/frame.h>

#ifdef EXO_HOST
void *libos_phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

uint64_t libos_virt_to_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

int libos_addr_map(uint64_t pa, uint64_t bytes)
{
	(void)pa, (void)bytes;
	return 0;
}

int libos_addr_unmap(uint64_t pa, uint64_t bytes)
{
	(void)pa, (void)bytes;
	return 0;
}

uint64_t libos_addr_page_size(void)
{
	return EXO_FRAME_SIZE;
}
#else
#include <libos/mm/mm.h>

void *libos_phys_to_virt(uint64_t pa)
{
	return libos_dmap_phys_to_virt(pa);
}

uint64_t libos_virt_to_phys(const void *p)
{
	return libos_dmap_virt_to_phys(p);
}

int libos_addr_map(uint64_t pa, uint64_t bytes)
{
	return libos_dmap_map(pa, bytes);
}

int libos_addr_unmap(uint64_t pa, uint64_t bytes)
{
	return libos_dmap_unmap(pa, bytes);
}

uint64_t libos_addr_page_size(void)
{
	uint64_t page = libos_mm_info()->page_size;

	return page ? page : EXO_FRAME_SIZE;
}
#endif
