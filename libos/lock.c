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

/* The wait for a lock another vCPU holds. */
static void lock_wait(struct libos_lock *l)
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

uint64_t libos_lock_take(void)
{
	uint64_t flags = libos_arch_irq_save();
	uint32_t me = libos_cpu_self() + 1;

	if (__atomic_load_n(&libos_lock.holder, __ATOMIC_RELAXED) == me) {
		libos_lock.depth++;
		return flags;
	}
	if (__atomic_exchange_n(&libos_lock.taken, 1, __ATOMIC_ACQUIRE))
		lock_wait(&libos_lock);
	__atomic_store_n(&libos_lock.holder, me, __ATOMIC_RELAXED);
	libos_lock.depth = 1;
	return flags;
}

void libos_lock_give(uint64_t flags)
{
	if (--libos_lock.depth == 0) {
		__atomic_store_n(&libos_lock.holder, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&libos_lock.taken, 0, __ATOMIC_RELEASE);
	}
	libos_arch_irq_restore(flags);
}
