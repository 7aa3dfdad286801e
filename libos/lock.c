/*
 * libos on several vCPUs (libos/lock.h): the one lock and the count of
 * the vCPUs on besides the boot one.
 */
#include <libos/el2.h>
#include <libos/lock.h>

struct libos_lock libos_lock;
unsigned libos_smp_others;

void libos_smp_cpu_on(void)
{
	__atomic_store_n(&libos_smp_others, libos_smp_others + 1,
			 __ATOMIC_RELAXED);
}

void libos_smp_cpu_off(void)
{
	__atomic_store_n(&libos_smp_others, libos_smp_others - 1,
			 __ATOMIC_RELAXED);
}

void libos_lock_wait(struct libos_lock *l)
{
	unsigned spins = 0;
	uint64_t yields = 0;

	do {
		while (__atomic_load_n(&l->taken, __ATOMIC_RELAXED)) {
			if (++spins < LIBOS_LOCK_SPINS)
				continue;
			libos_el2_yield();
			yields++;
			spins = 0;
		}
	} while (__atomic_exchange_n(&l->taken, 1, __ATOMIC_ACQUIRE));
	/* Held now: the counts are the holder's to change. */
	l->waits++;
	l->yields += yields;
}
