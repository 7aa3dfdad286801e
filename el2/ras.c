/*
 * Attributing RAS errors to the guest that raised them (el2/ras.h). Owns
 * the report; the caller (el2/guest_trap.c) ends the guest. Reads the
 * deferred syndrome through el2/arch only.
 */
#include <el2/arch.h>
#include <el2/ras.h>
#include <el2/vm.h>
#include <lib/print.h>

bool ras_guest_error(const struct vm *vm)
{
	uint64_t disr;

	if (!arch_ras_take_deferred(&disr))
		return false;
	kprintf("guest '%s': SError synchronised at its exit (DISR 0x%lx)\n",
		vm->name, (unsigned long)disr);
	return true;
}
