/* Naming exception syndromes for reports, shared by EL2 and EL1. */
#ifndef EXO_LIB_ESR_NAMES_H
#define EXO_LIB_ESR_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ESR_ELx.EC by name, e.g. "data abort (same EL)". */
const char *esr_ec_name(unsigned ec);
/* An instruction or data abort, from the same or a lower EL: FAR holds
 * the faulting address. */
bool esr_ec_is_abort(unsigned ec);
/* A fault status code (ISS[5:0] of an abort) by name. */
const char *esr_fsc_name(unsigned fsc);
/* One line describing ESR's syndrome, e.g. "permission fault, level 3,
 * write"; "ISS 0x..." for classes that are not aborts. */
void esr_describe_iss(uint64_t esr, char *buf, size_t size);

#endif
