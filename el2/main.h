/* EL2's entry point (main.c) and build identity. */
#ifndef EXO_EL2_MAIN_H
#define EXO_EL2_MAIN_H

#include <el2/platform.h>

#define EXO_VERSION "0.1"

void el2_main(void);

/* Defined only in the test image (tests/target/el2/): runs the on-target
 * EL2 self-test named by /chosen/bootargs once the MMU is on. */
void el2_test_hook(const struct platform *p) __attribute__((weak));

#endif
