/* The DTB EL2 writes for each guest (names in include/exo/guest_dt.h). */
#ifndef EXO_EL2_GUEST_DT_H
#define EXO_EL2_GUEST_DT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_DT_FRAMES 2   /* 8 KiB: room for 1 KiB of arguments */

struct guest_dt_info {
	const char *name;
	const char *heap_policy;
	const char *granule;
	const char *args;        /* NUL-separated, args_len bytes */
	uint32_t args_len;
	uint64_t mem_base, mem_size;
	uint32_t restarts;
	bool memory_report;      /* /chosen gets EXO_DT_MEMORY_REPORT */
	uint32_t cpus;           /* /cpus lists this many (0 counts as 1) */
};

/* Writes the DTB into buf (size bytes). Returns 0 or a libfdt error. Uses
 * libfdt's sequential-write calls: only where no guest FP state is live. */
int guest_dt_build(void *buf, size_t size, const struct guest_dt_info *info);

#endif
