/*
 * Memory snapshot: when the manifest's root has `exo,memory-snapshot;`,
 * EL2 prints machine-readable "snap:" lines: each guest's frames (and
 * what EL2 put in them) and stage-2 runs as it stops (before teardown),
 * and at shutdown what EL2's own frames hold and the whole frame DB as
 * runs. tools/memmap draws them; docs/memory-model.md gives the
 * format. Read-only: never changes the DB or a table.
 */
#ifndef EXO_EL2_SNAPSHOT_H
#define EXO_EL2_SNAPSHOT_H

#include <el2/vm.h>
#include <stdbool.h>
#include <stdint.h>

#define SNAPSHOT_VERSION 2

/* What EL2's own frames hold, one name each in the "snap: hyp" lines. */
enum snapshot_hyp {
	SNAPSHOT_HYP_DTB,         /* QEMU's DTB */
	SNAPSHOT_HYP_TEXT,        /* the EL2 image: code */
	SNAPSHOT_HYP_RODATA,      /*   read-only data */
	SNAPSHOT_HYP_DATA,        /*   data and BSS but the two below */
	SNAPSHOT_HYP_EL2_TABLES,  /*   EL2's own stage-1 tables (BSS) */
	SNAPSHOT_HYP_S2_ROOTS,    /*   every VM's stage-2 root (BSS) */
	SNAPSHOT_HYP_STACK,       /*   boot stack and its guard page */
	SNAPSHOT_HYP_FRAME_DB,    /* the frame DB's storage */
	SNAPSHOT_HYP_BOOT_PKG,    /* the boot package */
	SNAPSHOT_HYP_RESERVED,    /* RAM the host DTB reserves */
	SNAPSHOT_HYP_PARTS
};
/* Boot ranges EL2 may name: the parts above, the data part in pieces. */
#define SNAPSHOT_HYP_RANGES_MAX 48

void snapshot_enable(bool on);
bool snapshot_enabled(void);
/* Boot: frames [pa, pa + frames) were claimed HYP for part (whether or not
 * a snapshot is asked for: the manifest is read later). False when the
 * list is full (an EL2 bug: SNAPSHOT_HYP_RANGES_MAX too small). */
bool snapshot_note_hyp(enum snapshot_hyp part, uint64_t pa, uint64_t frames);
const char *snapshot_hyp_name(enum snapshot_hyp part);
/* A guest about to be torn down: what it holds and its stage-2 runs. */
void snapshot_guest(const struct vm *vm);
/* Shutdown: what EL2's own frames hold (the boot claims and the revocation
 * reserve), the frame DB as runs of (state, owner, peer), then totals. */
void snapshot_system(void);

#endif
