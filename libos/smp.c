/*
 * libos on several vCPUs (libos/lock.h): the one lock and the flag that
 * says a second vCPU may run.
 */
#include <libos/lock.h>

struct libos_lock libos_lock = { SPINLOCK_INIT, 0, 0 };
bool libos_smp_started;

void libos_smp_start(void)
{
	/* Before the CPU_ON that starts the vCPU: its first fault already
	 * finds the fast path off (the hypercall orders the store). */
	__atomic_store_n(&libos_smp_started, true, __ATOMIC_RELEASE);
}
