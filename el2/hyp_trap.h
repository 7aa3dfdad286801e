/* Exceptions EL2 takes from itself: what the vectors save, and the report
 * of one EL2 did not expect. Guests' traps: el2/guest_trap.h. */
#ifndef EXO_EL2_HYP_TRAP_H
#define EXO_EL2_HYP_TRAP_H

#include <el2/trap_kind.h>
#include <stdint.h>

/* Laid out as el2/arch/vectors.S stores it. */
struct hyp_trap_frame {
	uint64_t x[31];
	uint64_t sp;   /* stack pointer before the exception */
	uint64_t elr;
	uint64_t spsr;
	uint64_t esr;
	uint64_t far;
};
_Static_assert(sizeof(struct hyp_trap_frame) == 288,
	       "vectors.S frame layout");

/* From el2/arch/vectors.S; kind: el2/trap_kind.h. */
void hyp_trap_entry(struct hyp_trap_frame *frame, uint64_t kind);

/* The vector group by name (syndromes: lib/esr_names.h). */
const char *hyp_trap_kind_name(uint64_t kind);
/* Prints the whole report of an exception EL2 did not expect. */
void hyp_trap_report(const struct hyp_trap_frame *frame, uint64_t kind);

#endif
