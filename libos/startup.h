/*
 * What a guest needs to start: the frames its quota must cover before
 * main() can count on its first malloc. One estimate, used by libos when
 * start-up fails (the message says what was needed and what was charged)
 * and by the host manifest checker (tools/mancheck.c) before QEMU starts,
 * so the two never disagree. docs/manifest.md, "How large a quota".
 *
 * Owns: the sum and its message. Never: a number of its own; each part
 * comes from the code that spends it (libos/mm/boot_need.h for stage-1
 * tables, libos/pool for the first chunk, libos/heap for the policy's first
 * region, exo/hvc.h for the stage-2 tables EL2 charges). Pure arithmetic:
 * no hypercall, no state.
 */
#ifndef EXO_LIBOS_STARTUP_H
#define EXO_LIBOS_STARTUP_H

#include <stddef.h>
#include <stdint.h>

struct libos_startup_params {
	const char *granule;	  /* "4k", "16k", "64k"; NULL: 4k */
	int argc;		  /* the guest's arguments (--va-bits=39) */
	char *const *argv;
	const char *heap_policy;  /* a libos policy name */
	uint64_t image_bytes;	  /* the image's span, whole frames */
	/* The frames EL2 gives at boot, in one run: the image, the guest DTB
	 * and boot-frames, rounded up to the granule. */
	uint64_t boot_run_frames;
};

/* Frames, each part as the message names it. */
struct libos_startup_need {
	uint64_t image;		/* the image */
	uint64_t boot;		/* the rest of the boot run */
	uint64_t s1_tables;	/* stage-1 table frames libos fetches */
	uint64_t s2_tables;	/* stage-2 table pages EL2 charges */
	uint64_t tables;	/* s1_tables + s2_tables */
	uint64_t heap;		/* the pool's first chunk: the heap's first region */
	uint64_t total;
};

/*
 * The estimate: exact for the tables boot builds and the heap's first
 * region, counting one crossing of each table boundary of 2 MiB or less
 * (LIBOS_MM_CROSS_SPAN). Returns NULL, or what makes it impossible (an
 * unknown granule or heap policy; *need is then zero).
 */
const char *libos_startup_need(const struct libos_startup_params *p,
			       struct libos_startup_need *need);

/* "start-up needs N frames, quota Q (image A, boot B, tables T, heap
 * batch H)"; returns what fmt_snprintf returns. */
int libos_startup_format(const struct libos_startup_need *need,
			 uint64_t quota, char *buf, size_t size);

#endif
