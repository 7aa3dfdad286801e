/*
 * Attributing RAS errors to the guest that raised them (el2/ras.h). Owns
 * the report; the caller (el2/guest_trap.c) ends the guest. The deferred
 * syndrome comes from the exit path (el2/arch/guest.S), which read and
 * cleared DISR_EL1.
 */
#include <arch/sysreg.h>
#include <el2/ras.h>
#include <el2/vm.h>
#include <lib/print.h>

bool ras_guest_error(const struct vm *vm, uint64_t disr)
{
	if (!(disr & DISR_A))
		return false;
	kprintf("guest '%s': SError synchronised at its exit (DISR 0x%lx)\n",
		vm->name, (unsigned long)disr);
	return true;
}
