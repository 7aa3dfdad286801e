/*
 * EL0 address spaces: one TTBR0 table per task, tagged with an ASID from
 * libos/task/asid.c, a sorted set of areas (anonymous demand-zero, or fixed
 * frames such as the task code), and copy-on-write sharing for fork-style
 * clones with per-frame reference counts.
 *
 * A stand-in for the regions work (libos/mm/region.h, struct libos_aspace):
 * the areas, the page references and uspace_fault are what that module
 * will own; uspace keeps the TTBR0 table, the ASID and the switch.
 *
 * Owns: TTBR0 and TCR_EL1.EPD0 (walks enabled while a task's table is
 * installed), the ASID allocator, the reference counts. Never: runs EL0 code
 * (el1/task.c does) or reads task memory except through the frames' direct
 * map (page copies) and libos_arch_copy_*_user. Portable: hardware through
 * libos/arch.h, frames and table pages through the caller's callbacks.
 */
#ifndef EXO_LIBOS_TASK_USPACE_H
#define EXO_LIBOS_TASK_USPACE_H

#include <libos/mm/mm.h>
#include <libos/mmu/pgtable.h>
#include <libos/task/asid.h>
#include <stdbool.h>
#include <stdint.h>

/* Errors, as negative Linux errno values (the syscall ABI returns them). */
#define LIBOS_ENOMEM 12
#define LIBOS_EFAULT 14
#define LIBOS_EEXIST 17
#define LIBOS_EINVAL 22
#define LIBOS_ENOSYS 38

#define USPACE_PROT_READ 1u
#define USPACE_PROT_WRITE 2u
#define USPACE_PROT_EXEC 4u
#define USPACE_PROT_ALL 7u

/* The task layout (TTBR0 half; fits 39-bit VAs; 64 KiB-aligned). */
#define USPACE_EXIT_VA UINT64_C(0x1000)   /* a task's return address:
					     * never mapped; fetching it exits */
#define USPACE_CODE_VA UINT64_C(0x400000)
#define USPACE_MMAP_BASE UINT64_C(0x10000000)
#define USPACE_MMAP_END UINT64_C(0x4000000000)
#define USPACE_STACK_TOP UINT64_C(0x7ff0000000)

#define USPACE_AREAS_MAX 32
#define USPACE_REFS_MAX 1024     /* shared frames, all spaces together */

enum uspace_kind {
	USPACE_ANON,             /* demand-zero pages the space owns */
	USPACE_FIXED,            /* frames mapped at insertion, never freed */
};

struct uspace_area {
	uint64_t start, end;     /* [start, end), page-aligned */
	unsigned prot;
	enum uspace_kind kind;
	uint64_t pa;             /* FIXED: PA of start */
};

struct uspace {
	struct pgtable pt;
	uint64_t asid_ctx;       /* generation | ASID, 0: none yet */
	unsigned nareas;
	struct uspace_area area[USPACE_AREAS_MAX];
	bool live;
};

/* Pages (one granule, aligned) for task memory, and their direct map. */
struct uspace_frames {
	bool (*alloc)(void *ctx, uint64_t *pa);
	void (*free)(void *ctx, uint64_t pa);
	void *(*virt)(void *ctx, uint64_t pa);
	void *ctx;
};

struct uspace_config {
	enum pgtable_granule granule;
	unsigned va_bits;        /* 39 or 48 */
	unsigned asid_bits;      /* width to use: the CPU's or a test's cap */
	struct pgtable_mm_ops tables;
	struct uspace_frames frames;
	/* Zeroed memory for the allocator state (about 30 KiB), taken once. */
	void *(*zalloc)(uint64_t size);
};

struct uspace_stats {
	unsigned live;           /* address spaces */
	unsigned frames;         /* task pages held (shared counted once) */
	unsigned shared;         /* frames with more than one mapping */
	unsigned demand_zero, cow_copies, cow_reuses, refused;
};

/* 0, -EINVAL (VA size) or -ENOMEM (no memory for the state). */
int uspace_sys_init(const struct uspace_config *cfg);
struct asid_allocator *uspace_asids(void);
void uspace_stats(struct uspace_stats *out);
uint64_t uspace_page_size(void);

/* Is [va, va + len) a non-empty range of the TTBR0 half? */
bool uspace_range_ok(uint64_t va, uint64_t len);

int uspace_create(struct uspace *us);
/* Unmaps and frees everything; if us is in TTBR0, walks stop (EPD0). */
void uspace_destroy(struct uspace *us);

/*
 * Anonymous memory: *va = 0 picks the lowest free range above
 * USPACE_MMAP_BASE; else [*va, *va + size) must be free. prot: READ, WRITE,
 * EXEC (WRITE with EXEC is refused: W^X), 0 for no access.
 */
int uspace_map_anon(struct uspace *us, uint64_t *va, uint64_t size,
		    unsigned prot);
/* Existing frames (task code): mapped now, never freed. */
int uspace_map_fixed(struct uspace *us, uint64_t va, uint64_t pa,
		     uint64_t size, unsigned prot);
/* Holes are fine (as munmap); areas are split at the ends. */
int uspace_unmap(struct uspace *us, uint64_t va, uint64_t size);
/* The whole range must be in areas (else -ENOMEM, as mprotect). */
int uspace_protect(struct uspace *us, uint64_t va, uint64_t size,
		   unsigned prot);
/* fork: child (not created yet) gets parent's areas; every anonymous page
 * becomes shared read-only in both, copied on the first write. */
int uspace_clone(struct uspace *child, struct uspace *parent);

/* A fault at va: demand-zero or copy-on-write. true: retry the access. */
bool uspace_fault(struct uspace *us, uint64_t va, enum libos_access access,
		  enum libos_fault_kind kind);

/* TTBR0 = us's table with its ASID (roll-over as needed), walks on. */
void uspace_switch(struct uspace *us);
struct uspace *uspace_current(void);
/* Mappings of the frame at pa (1 when private, 0 when unknown). */
unsigned uspace_frame_refs(uint64_t pa);

#endif
