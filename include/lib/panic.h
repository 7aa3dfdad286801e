/*
 * panic() is for states EL2 or EL1 cannot continue from: broken invariants of
 * its own, never anything a guest controls. CHECK() states such an invariant.
 */
#ifndef EXO_LIB_PANIC_H
#define EXO_LIB_PANIC_H

_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What panic passes arch_halt: a panic, or a panic while reporting one. */
#define PANIC_HALT 1
#define PANIC_HALT_NESTED 2

/* Each layer says how to stop: EL2 powers the machine off, EL1 exits the
 * guest with a failure status. */
_Noreturn void arch_halt(int status);

#ifdef EXO_HOST
/* Host tests that catch EL2's halt (tests/host/fake_arch.h) and boot a new
 * machine: the next panic reports again. */
void panic_recovered(void);
#endif

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			panic("CHECK failed: %s at %s:%d", #cond, __FILE__,  \
			      __LINE__);                                     \
	} while (0)

#endif
