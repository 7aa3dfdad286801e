/*
 * How often EL2 has booted this guest again (PSCI SYSTEM_RESET): the guest
 * DTB's /chosen/exo,restarts, 0 in the first life, ~0 if it is missing.
 * For test guests that do something different in a later life.
 */
#ifndef EXO_TEST_GUESTS_RESTARTS_H
#define EXO_TEST_GUESTS_RESTARTS_H

#include <el1/el1.h>
#include <exo/guest_dt.h>
#include <libfdt.h>
#include <libos/libos.h>
#include <libos/mm/mm.h>
#include <stdint.h>

static inline uint32_t restarts(void)
{
	const void *fdt = libos_dmap_phys_to_virt(el1_boot_info()->dtb);
	int node = fdt_path_offset(fdt, EXO_DT_CHOSEN), len;
	const fdt32_t *v = fdt_getprop(fdt, node, EXO_DT_RESTARTS, &len);

	return (v && len == 4) ? fdt32_to_cpu(*v) : 0xffffffffu;
}

#endif
