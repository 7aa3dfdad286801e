/*
 * Memory snapshot: when the manifest's root has `exo,memory-snapshot;`,
 * EL2 prints machine-readable "snap:" lines: each guest's frames and
 * stage-2 runs as it stops (before teardown), and the whole frame DB as
 * runs at shutdown. tools/memmap draws them; docs/memory-model.md gives the
 * format. Read-only: never changes the DB or a table.
 */
#ifndef EXO_EL2_SNAPSHOT_H
#define EXO_EL2_SNAPSHOT_H

#include <el2/vm.h>
#include <stdbool.h>

#define SNAPSHOT_VERSION 1

void snapshot_enable(bool on);
bool snapshot_enabled(void);
/* A guest about to be torn down: what it holds and its stage-2 runs. */
void snapshot_guest(const struct vm *vm);
/* Shutdown: the frame DB as runs of (state, owner, peer), then totals. */
void snapshot_system(void);

#endif
