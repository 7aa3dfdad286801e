/*
 * How EL2 stops the machine: arch_halt, the hook lib/panic.h asks of every
 * layer. It says so on the console, then PSCI SYSTEM_OFF (el2/psci.c), so
 * QEMU exits by itself. The host build has its own (tests/host/fake_arch.c).
 */
#include <el2/psci.h>
#include <lib/panic.h>
#include <lib/print.h>

_Noreturn void arch_halt(int status)
{
	kprintf("halting (status %d): powering off\n", status);
	psci_system_off();
}
