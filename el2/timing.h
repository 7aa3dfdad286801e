/* Boot milestones on the physical counter, for people and for `make
 * bench`'s scale figures: from EL2's first instruction of C to the first
 * guest line and to every guest having run once. Printed with the summary
 * in milliseconds, with the raw ticks tools/bench reads. */
#ifndef EXO_EL2_TIMING_H
#define EXO_EL2_TIMING_H

#include <el2/vcpu.h>

void timing_boot_start(void);
void timing_expect_guests(unsigned n);
void timing_vcpu_entered(struct vcpu *v);
void timing_guest_line(void);
void timing_print(uint64_t freq);

#endif
