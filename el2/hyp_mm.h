/*
 * EL2's own stage-1 translation: an identity map (VA == PA) of RAM and the
 * devices EL2 drives, with W^X for its image. 4 KiB granule, 39-bit VA,
 * starting at level 1; 2 MiB and 1 GiB blocks where a range allows.
 */
#ifndef EXO_EL2_HYP_MM_H
#define EXO_EL2_HYP_MM_H

#include <stdint.h>

#define HYP_MM_VA_BITS 39
#define HYP_MM_START_LEVEL 1

/* MAIR_EL2 indices, programmed by arch_mmu_enable. */
enum mair_index {
	MAIR_IDX_DEVICE_nGnRnE = 0,
	MAIR_IDX_NORMAL_WB = 1,
	MAIR_IDX_DEVICE_nGnRE = 2,
	MAIR_IDX_NORMAL_NC = 3,
};

enum hyp_prot {
	HYP_PROT_RX,      /* EL2 text */
	HYP_PROT_R,       /* read-only data */
	HYP_PROT_RW,      /* data, RAM: never executable */
	HYP_PROT_DEVICE,  /* MMIO: device nGnRE, never executable */
};

/* Where table pages come from: returns a zeroed, page-aligned page or NULL. */
typedef uint64_t *(*hyp_mm_alloc_fn)(void *ctx);

struct hyp_mm {
	uint64_t *root;          /* level-1 table */
	hyp_mm_alloc_fn alloc;
	void *alloc_ctx;
	unsigned tables;         /* table pages in use, root included */
};

enum hyp_mm_error {
	HYP_MM_OK = 0,
	HYP_MM_ENOMEM = -1,      /* no table page left */
	HYP_MM_EOVERLAP = -2,    /* part of the range is mapped already */
	HYP_MM_ERANGE = -3,      /* unaligned, empty or beyond the VA space */
};

int hyp_mm_init(struct hyp_mm *mm, hyp_mm_alloc_fn alloc, void *ctx);
/* Maps [pa, pa + size) at VA == PA. Page-aligned; all or nothing is not
 * promised (boot-time only: a failure stops the boot). */
int hyp_mm_map(struct hyp_mm *mm, uint64_t pa, uint64_t size,
	       enum hyp_prot prot);
/* Leaf descriptor translating va, or 0; *level receives its level. */
uint64_t hyp_mm_lookup(const struct hyp_mm *mm, uint64_t va, int *level);

#endif
