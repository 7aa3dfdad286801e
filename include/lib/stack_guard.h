/* The stack-protector guard shared by -fstack-protector-strong code. */
#ifndef EXO_LIB_STACK_GUARD_H
#define EXO_LIB_STACK_GUARD_H

#include <stdint.h>

/* Called once, from assembly, before any protected function runs. */
void stack_guard_seed(uint64_t entropy);

#endif
