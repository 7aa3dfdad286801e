/*
 * The guest DTB: what EL2 tells a guest at boot, and what el1 reads.
 * EL2 writes it (libfdt), el1 parses it; x0 at guest entry holds its IPA.
 * Only names live here: no parsing, no policy. docs/el1.md describes them.
 *
 * /memory (device_type "memory"): reg = the guest's boot frames (IPA == PA),
 *     in the root's #address-cells / #size-cells, one entry per run.
 * /chosen: the properties below.
 */
#ifndef EXO_GUEST_DT_H
#define EXO_GUEST_DT_H

#define EXO_DT_CHOSEN "/chosen"
#define EXO_DT_MEMORY_TYPE "memory"	/* device_type of /memory nodes */

/* string: the guest's name from the manifest; argv[0] */
#define EXO_DT_NAME "exo,name"
/* string: heap policy the manifest chose ("bump", "freelist", "buddy",
 * "slab", "tlsf"); absent = the library OS's default */
#define EXO_DT_HEAP_POLICY "exo,heap-policy"
/* string: stage-1 translation granule ("4k", "16k", "64k"); absent = 4k */
#define EXO_DT_GRANULE "exo,granule"
/* string list: arguments after argv[0], in order; absent = none */
#define EXO_DT_ARGS "exo,args"

/* empty: the manifest asked for a memory snapshot (exo,memory-snapshot);
 * the guest may print, at exit, which of its frames it uses for what
 * (libos: "memuse:" lines, docs/memory-model.md); absent = say nothing */
#define EXO_DT_MEMORY_REPORT "exo,memory-report"

/* u32: how many times EL2 restarted this guest (PSCI SYSTEM_RESET); 0 on
 * its first boot */
#define EXO_DT_RESTARTS "exo,restarts"

#endif
