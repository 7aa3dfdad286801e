/*
 * Function attributes the fast paths use, named for why. A path's common
 * case stays short when its rare cases are out of line: their locals
 * (arrays, structures whose address is taken) then cost the stack
 * protector's check and extra saved registers only when they run.
 */
#ifndef EXO_LIB_COMPILER_H
#define EXO_LIB_COMPILER_H

/* Rare case of a fast path: never inlined into it, laid out apart. */
#define OFF_FAST_PATH __attribute__((noinline, cold))
/* A step of a fast path the compiler would keep apart (it has two
 * callers): inlined into each, without a frame of its own. */
#define ON_FAST_PATH inline __attribute__((always_inline))

#endif
