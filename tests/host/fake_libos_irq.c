/*
 * Host stand-ins for libos/arch.h's interrupt masking and shared-memory
 * barriers: masking is a depth the tests can read (fake_libos_irq.h), the
 * barriers are counted and done with the compiler's atomics. Each test
 * thread has its own (a vCPU's IRQ mask is its own) and its own CPU
 * number (fake_libos_cpu, 0 unless the thread sets it).
 */
#include "fake_libos_irq.h"

#include <libos/arch.h>

_Thread_local struct fake_irq fake_irq;
_Thread_local unsigned fake_libos_cpu;

unsigned libos_arch_cpu_self(void)
{
	return fake_libos_cpu;
}

uint64_t libos_arch_irq_save(void)
{
	uint64_t was = fake_irq.masked;

	fake_irq.masked = 1;
	fake_irq.saves++;
	return was;
}

void libos_arch_irq_restore(uint64_t flags)
{
	fake_irq.masked = flags;
}

void libos_arch_dmb_ish(void)
{
	fake_irq.dmbs++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint64_t libos_arch_load_acquire(const volatile uint64_t *p)
{
	fake_irq.acquires++;
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

void libos_arch_store_release(volatile uint64_t *p, uint64_t v)
{
	fake_irq.releases++;
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}
