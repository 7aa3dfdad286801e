/*
 * The guard value -fstack-protector-strong checks, and what happens when it
 * does not match. Seeded at boot from the best entropy the CPU offers.
 */
#include <lib/panic.h>
#include <lib/stack_guard.h>

uintptr_t __stack_chk_guard;

void stack_guard_seed(uint64_t entropy)
{
	/* A zero low byte stops string copies from reading out or writing
	 * past the guard, as glibc does. */
	__stack_chk_guard = (uintptr_t)(entropy & ~(uint64_t)0xff);
}

_Noreturn void __stack_chk_fail(void);

_Noreturn void __stack_chk_fail(void)
{
	panic("stack protector: corrupted stack frame detected");
}
