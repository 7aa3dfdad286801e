/*
 * AArch64 side of libos's critical sections and of the barriers libos/chan
 * uses on memory shared with another guest. Not built for the host
 * (tests/host/fake_libos_arch.c stands in).
 */
#include <libos/arch.h>

uint64_t libos_arch_irq_save(void)
{
	uint64_t daif;

	__asm__ volatile("mrs %0, daif\n"
			 "msr daifset, #2"
			 : "=r"(daif)
			 :
			 : "memory");
	return daif;
}

void libos_arch_irq_restore(uint64_t flags)
{
	__asm__ volatile("msr daif, %0" : : "r"(flags) : "memory");
}

void libos_arch_dmb_ish(void)
{
	__asm__ volatile("dmb ish" : : : "memory");
}

uint64_t libos_arch_load_acquire(const volatile uint64_t *p)
{
	uint64_t v;

	__asm__ volatile("ldar %0, [%1]" : "=r"(v) : "r"(p) : "memory");
	return v;
}

void libos_arch_store_release(volatile uint64_t *p, uint64_t v)
{
	__asm__ volatile("stlr %0, [%1]" : : "r"(v), "r"(p) : "memory");
}
