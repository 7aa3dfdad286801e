/* The simulated machine of the host memory tests (see mem_machine.h). */
#define _GNU_SOURCE /* MAP_FIXED_NOREPLACE */
#include "mem_machine.h"

#include <el2/mem.h>
#include <stdlib.h>
#include <sys/mman.h>

#define FRAME_SIZE UINT64_C(4096)

static uint64_t ram_frames;
static void *db_storage;

bool mem_machine_map(uint64_t frames)
{
	void *ram = mmap((void *)MEM_MACHINE_BASE, frames * FRAME_SIZE,
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (ram != (void *)MEM_MACHINE_BASE) {
		if (ram != MAP_FAILED)
			munmap(ram, frames * FRAME_SIZE);
		return false;
	}
	ram_frames = frames;
	db_storage = calloc(1, mem_storage_size(frames));
	return db_storage != NULL;
}

void mem_machine_unmap(void)
{
	free(db_storage);
	db_storage = NULL;
	munmap((void *)MEM_MACHINE_BASE, ram_frames * FRAME_SIZE);
	ram_frames = 0;
}

int mem_machine_boot(bool debug_checks, uint64_t el2_frames)
{
	int rc = mem_init(MEM_MACHINE_BASE, ram_frames, db_storage,
			  mem_storage_size(ram_frames));

	if (!rc)
		rc = mem_add_ram(MEM_MACHINE_BASE, ram_frames);
	if (!rc && el2_frames)
		rc = mem_claim_hyp(MEM_MACHINE_BASE +
				   (ram_frames - el2_frames) * FRAME_SIZE,
				   el2_frames);
	mem_set_debug_checks(debug_checks);
	return rc;
}

uint64_t mem_machine_frames(void)
{
	return ram_frames;
}
