/*
 * Memory hypercalls as transactions over the frame DB and the stage-2
 * tables: check (may fail, changes nothing), prepare (table pages charged to
 * the guest), then commit (cannot fail). Arguments reach here already
 * shape-checked by el2/hvc.c.
 */
#ifndef EXO_EL2_MEM_H
#define EXO_EL2_MEM_H

#include <el2/vm.h>
#include <stdint.h>

int64_t mem_frame_alloc(struct vm *vm, uint64_t count, unsigned align_log2,
			uint64_t *pa);
int64_t mem_frame_alloc_at(struct vm *vm, uint64_t pa, uint64_t count);
int64_t mem_frame_free(struct vm *vm, uint64_t pa, uint64_t count);
int64_t mem_frame_query(struct vm *vm, uint64_t pa, uint64_t *state,
			uint64_t *access);
void mem_vm_usage(struct vm *vm, uint64_t *quota, uint64_t *used);

#endif
