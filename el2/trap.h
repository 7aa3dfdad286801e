/* EL2 exception entry: what the vectors save and how a trap is decoded. */
#ifndef EXO_EL2_TRAP_H
#define EXO_EL2_TRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Laid out as el2/arch/vectors.S stores it. */
struct trap_frame {
	uint64_t x[31];
	uint64_t sp;   /* stack pointer before the exception */
	uint64_t elr;
	uint64_t spsr;
	uint64_t esr;
	uint64_t far;
};
_Static_assert(sizeof(struct trap_frame) == 288, "vectors.S frame layout");

/* Vector slot: (group << 2) | type. */
enum trap_group { TRAP_CUR_SP0, TRAP_CUR_SPX, TRAP_LOWER_A64, TRAP_LOWER_A32 };
enum trap_type { TRAP_SYNC, TRAP_IRQ, TRAP_FIQ, TRAP_SERROR };

void el2_trap(struct trap_frame *frame, uint64_t kind);

struct vcpu;
/* Reflects a synchronous external abort into the running guest, as a
 * stage-2 violation is (el2/guest_trap.c); esr supplies WnR for data. */
void guest_reflect_abort(struct vcpu *v, bool data, uint64_t esr,
			 uint64_t far);

/* The vector group by name (syndromes: lib/esr_names.h). */
const char *trap_kind_name(uint64_t kind);
/* Prints the whole report of an exception EL2 did not expect. */
void trap_report(const struct trap_frame *frame, uint64_t kind);

#endif
