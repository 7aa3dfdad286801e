/* Guest exit statuses in words (include/exo/exit_status.h), for EL2's
 * summary and anyone else who reports an exit. */
#ifndef EXO_LIB_EXIT_DESCRIBE_H
#define EXO_LIB_EXIT_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

/* Room for any description exit_status_describe writes. */
#define EXIT_STATUS_DESC_MAX 160

/* EXO_EXIT_CAUSE_* by name, e.g. "stack overflow past the guard"; NULL for
 * EXO_EXIT_CAUSE_NONE and for a number the ABI does not define. */
const char *exit_cause_name(uint64_t cause);

/* What status means, with the cause and address EXIT carried, e.g.
 * "unhandled data abort (same EL) at 0xffff800000fff000: stack overflow
 * past the guard". Never fails: a status or cause the ABI does not define
 * is said to be so. */
void exit_status_describe(int64_t status, uint64_t cause, uint64_t addr,
			  char *buf, size_t size);

#endif
