/*
 * The system calls as EL0 task code makes them (SVC #0, number in x8,
 * arguments in x0-x5, result in x0; libos/task/task.h). Always inlined:
 * task code may not call into the library OS's text.
 */
#ifndef EXO_LIBOS_TASK_USYS_H
#define EXO_LIBOS_TASK_USYS_H

#include <libos/task/task.h>
#include <stdint.h>

#define USYS static inline __attribute__((always_inline))

USYS int64_t usys3(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3)
{
	register uint64_t x8 __asm__("x8") = nr;
	register uint64_t x0 __asm__("x0") = a0;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3)
			 : "memory");
	return (int64_t)x0;
}

USYS int64_t usys_write(const void *buf, uint64_t len)
{
	return usys3(LIBOS_SYS_WRITE, 1, (uint64_t)(uintptr_t)buf, len, 0);
}

USYS int64_t usys_mmap(uint64_t addr, uint64_t len, unsigned prot,
		       unsigned flags)
{
	return usys3(LIBOS_SYS_MMAP, addr, len, prot, flags);
}

USYS int64_t usys_munmap(uint64_t addr, uint64_t len)
{
	return usys3(LIBOS_SYS_MUNMAP, addr, len, 0, 0);
}

USYS int64_t usys_mprotect(uint64_t addr, uint64_t len, unsigned prot)
{
	return usys3(LIBOS_SYS_MPROTECT, addr, len, prot, 0);
}

USYS void usys_exit(int64_t status)
{
	usys3(LIBOS_SYS_EXIT, (uint64_t)status, 0, 0, 0);
	__builtin_unreachable();
}

USYS int64_t usys_yield(void)
{
	return usys3(LIBOS_SYS_YIELD, 0, 0, 0, 0);
}

USYS int64_t usys_clone(void)
{
	return usys3(LIBOS_SYS_CLONE, 0, 0, 0, 0);
}

USYS int64_t usys_getid(void)
{
	return usys3(LIBOS_SYS_GETID, 0, 0, 0, 0);
}

#endif
