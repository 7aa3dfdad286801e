/*
 * The simulated machine the host tests of el2/mem.c run on: RAM mapped at
 * its physical address (mem.c reaches frames by PA, and stage 2 takes
 * 40-bit IPAs, so the mapping must sit low), and a frame DB booted over it
 * as EL2's boot does (RAM added, EL2's own frames claimed at the top).
 *
 * Owns: the RAM mapping and the DB's storage. Never: creates guests or
 * decides what a test does with the machine.
 */
#ifndef EXO_TESTS_MEM_MACHINE_H
#define EXO_TESTS_MEM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#define MEM_MACHINE_BASE UINT64_C(0x40000000)

/* Maps frames of RAM at MEM_MACHINE_BASE (zeroed); false if the address
 * is taken. */
bool mem_machine_map(uint64_t frames);
void mem_machine_unmap(void);
/* A fresh DB over the mapped RAM (its frames may hold anything, as RAM
 * after a warm reset: mem scrubs each at its first hand-over): mem_init,
 * mem_add_ram, the top el2_frames claimed HYP (EL2's own, as its image and
 * DB are on target), and mem's debug checks on or off (on: every frame an
 * allocation hands out is read to check it is zero, which costs a 2 MiB
 * read a block). 0 or the first error. */
int mem_machine_boot(bool debug_checks, uint64_t el2_frames);
uint64_t mem_machine_frames(void);

#endif
