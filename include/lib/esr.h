/* Naming exception syndromes for reports, shared by EL2 and EL1. */
#ifndef EXO_LIB_ESR_H
#define EXO_LIB_ESR_H

#include <stddef.h>
#include <stdint.h>

/* ESR_ELx.EC by name, e.g. "data abort (same EL)". */
const char *esr_ec_name(unsigned ec);
/* A fault status code (ISS[5:0] of an abort) by name. */
const char *esr_fsc_name(unsigned fsc);
/* One line describing ESR's syndrome, e.g. "permission fault, level 3,
 * write"; "ISS 0x..." for classes that are not aborts. */
void esr_describe_iss(uint64_t esr, char *buf, size_t size);

#endif
