/*
 * What the host stand-ins of libos's IRQ masking and barriers saw
 * (tests/host/fake_libos_irq.c): whether IRQs are masked now, and counts.
 */
#ifndef EXO_TESTS_FAKE_LIBOS_IRQ_H
#define EXO_TESTS_FAKE_LIBOS_IRQ_H

#include <stdint.h>

struct fake_irq {
	uint64_t masked;	/* 1 inside a libos critical section */
	unsigned saves, dmbs, acquires, releases;
};

extern _Thread_local struct fake_irq fake_irq;
/* libos_arch_cpu_self's answer on this thread (libos/lock.h). */
extern _Thread_local unsigned fake_libos_cpu;

#endif
