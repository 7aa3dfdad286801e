/*
 * EL0 address spaces: the TTBR0 half. A task's memory is a struct
 * libos_aspace (libos/mm/region.h: its regions, demand-zero and
 * copy-on-write faults, fork-style clone) over the task's own TTBR0 table;
 * uspace tags that table with an ASID from libos/task/asid.c and switches
 * it in, and routes the half's faults to it (libos_vm_attach).
 *
 * Owns: each vCPU's TTBR0 and TCR_EL1.EPD0 (walks enabled while a task's
 * table is installed), the ASID allocator, the page source and the reference table
 * every task space shares, the list of live spaces and the counts of task
 * pages and of the faults of spaces gone.
 * Never: decides what a fault means or which pages a region owns (regions
 * do), runs EL0 code (el1/el0_task.c does), or reads task memory. Portable:
 * hardware through libos/arch.h, frames and table pages through the
 * caller's callbacks. Callers hold libos's lock (libos/lock.h) on a
 * guest of several vCPUs (libos/task/task.c does).
 */
#ifndef EXO_LIBOS_TASK_USPACE_H
#define EXO_LIBOS_TASK_USPACE_H

#include <libos/mm/mm.h>
#include <libos/mm/region.h>
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

/* The task layout (TTBR0 half; fits 39-bit VAs; 64 KiB-aligned). */
#define USPACE_EXIT_VA UINT64_C(0x1000)   /* a task's return address:
					     * never mapped; fetching it exits */
#define USPACE_CODE_VA UINT64_C(0x400000)
#define USPACE_MMAP_BASE UINT64_C(0x10000000)
#define USPACE_MMAP_END UINT64_C(0x4000000000)
#define USPACE_STACK_TOP UINT64_C(0x7ff0000000)

struct uspace {
	struct pgtable pt;
	struct libos_aspace as;  /* regions over pt */
	uint64_t asid_ctx;       /* generation | ASID, 0: none yet */
	bool live;
	struct uspace *next;     /* the live spaces, for the stats */
};

struct uspace_config {
	enum pgtable_granule granule;
	unsigned va_bits;        /* 39 or 48 */
	unsigned asid_bits;      /* width to use: the CPU's or a test's cap */
	struct pgtable_mm_ops tables;
	/* Pages (one granule, aligned) for task memory, and their direct
	 * map. */
	struct libos_vm_pages frames;
	/* Zeroed memory for the state (about 25 KiB), taken once. */
	void *(*zalloc)(uint64_t size);
};

struct uspace_stats {
	unsigned live;           /* address spaces */
	unsigned frames;         /* task pages held (shared counted once) */
	unsigned shared;         /* frames with more than one mapping */
	/* Faults of every task space, live or gone (their as.stats): */
	unsigned demand_zero, cow_copies, cow_reuses;
	unsigned refused;        /* refused, outside every region, guard */
};

/* 0, -EINVAL (VA size) or -ENOMEM (no memory for the state). */
int uspace_sys_init(const struct uspace_config *cfg);
struct asid_allocator *uspace_asids(void);
void uspace_stats(struct uspace_stats *out);
uint64_t uspace_page_size(void);

/* Is [va, va + len) a non-empty range of the TTBR0 half? */
bool uspace_range_ok(uint64_t va, uint64_t len);

/* An empty space: a TTBR0 table and no regions. 0 or -ENOMEM. */
int uspace_create(struct uspace *us);
/* Removes every region (pages freed when their last mapping goes); if us
 * is in TTBR0, walks stop (EPD0) and its faults are no longer routed. */
void uspace_destroy(struct uspace *us);
/* fork: child (not created yet) gets parent's regions, every page shared
 * copy-on-write (libos_aspace_clone). 0 or -ENOMEM, child not live. */
int uspace_clone(struct uspace *child, struct uspace *parent);

/* TTBR0 = us's table with its ASID (roll-over as needed), walks on, the
 * half's faults routed to us->as. */
void uspace_switch(struct uspace *us);
/* The calling vCPU's TTBR0 holds no space any more (walks off, ASID 0,
 * the half's faults no longer routed): a vCPU leaves a task's space this
 * way once the task may run on another, which may destroy the space. */
void uspace_leave(void);
/* The space in the calling vCPU's TTBR0, or NULL. */
struct uspace *uspace_current(void);

#endif
