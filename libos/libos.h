/*
 * The library OS as a guest sees it: start-up from the runtime, the
 * guest's heap (malloc-like entry points over the policy the manifest
 * chose), and statistics. Each job has its room (libos/internal.h):
 * libos.c start-up and options, guest_pool.c the frame pool fed by EL2,
 * kernel_aspace.c the TTBR1 half's regions, malloc.c the heap and its
 * entry points, revocation.c EL2's events, stats.c the stats, ptdump and
 * memory report.
 *
 * Owns: these declarations (the guest's one frame pool and one heap, their
 * options, and what EL2's events do to them, each in its room).
 * Never: includes el1 (the runtime fills struct libos_config), or knows
 * how a policy lays out memory (libos/heap does).
 *
 * Options libos takes from the guest's arguments (the guest sees them too
 * and should ignore them; libos/options.h lists them all):
 *   --stats                 print libos_stats_print() when main returns
 *   --ptdump                print the stage-1 tables when main returns
 *   --pool-high-water=N     free frames the pool keeps before giving whole
 *                           chunks back to EL2 (default 64)
 * Any other argument starting "--" must be one the guest declared
 * (guest_options), or libos refuses to start (LIBOS_EUNKNOWN_OPTION).
 */
#ifndef EXO_LIBOS_LIBOS_H
#define EXO_LIBOS_LIBOS_H

#include <libos/heap/heap.h>
#include <libos/el2.h>
#include <libos/mm/region.h>
#include <libos/pool/pool.h>
#include <stdbool.h>
#include <stddef.h>

#define LIBOS_DEFAULT_POLICY "tlsf"

struct libos_config {
	const char *name;	 /* the guest's, for messages */
	const char *heap_policy; /* NULL: LIBOS_DEFAULT_POLICY */
	int argc;
	char **argv; /* argv[argc] == NULL */
	bool memory_report; /* the guest DTB asked: libos_memory_report at exit */
	/* What start-up needs is checked against the quota with these
	 * (libos/startup.h); boot_run_frames 0: not checked. */
	const char *granule;	  /* NULL: 4k */
	uint64_t image_bytes;
	uint64_t boot_run_frames;
	/* The "--" options the guest's main reads, NULL-terminated (a name
	 * ending in '=' takes a value); NULL: it reads none. */
	const char *const *guest_options;
};

enum libos_error {
	LIBOS_OK = 0,
	LIBOS_EPOLICY = -1, /* unknown heap policy */
	LIBOS_EOPTION = -2, /* malformed libos option */
	LIBOS_EQUOTA = -3,  /* the quota cannot hold the heap's first batch */
	LIBOS_EUNKNOWN_OPTION = -4, /* "--" option nobody reads */
};

/*
 * Checks the configuration and sets up the pool. Prints what is wrong and
 * returns a libos_error if the guest cannot start; that includes a quota
 * whose uncharged frames (VM_INFO) cannot hold the pool's first chunk for
 * the heap: "libos: start-up needs N frames, quota Q (...); C charged". The heap itself is
 * created at the first allocation: a guest that never allocates holds no
 * frames for it.
 */
int libos_init(const struct libos_config *cfg);
/*
 * When start-up failed (el1 could not turn the MMU on): if the quota is
 * what fell short (too little left for one more batch of table pages),
 * prints the start-up line above and returns true.
 */
bool libos_startup_report(const struct libos_config *cfg);
/* When main has returned: prints the stats if --stats was given,
 * the stage-1 tables if --ptdump was, the memory report if asked. */
void libos_fini(void);
/* Which frames the guest uses for what, as "memuse:" ranges (stage-1
 * tables, heap, region pages, pool free; libos/memuse.h). */
void libos_memory_report(void);
/* The guest's stage-1 (TTBR1 half) as merged runs, "ptdump: " lines; at
 * exit when the guest has the argument --ptdump. */
void libos_ptdump(void);

/* The C library's allocation functions over the guest's heap. */
void *libos_malloc(size_t size);
void libos_free(void *ptr);
void *libos_realloc(void *ptr, size_t size);
void *libos_calloc(size_t n, size_t size);
void *libos_aligned_alloc(size_t align, size_t size);
size_t libos_usable_size(const void *ptr);

/*
 * Regions (libos/mm/region.h). The library OS's own address space (the
 * TTBR1 half: regions go in the vmap window), attached for faults once the
 * MMU is on; NULL before, and on the host. The reference table and page
 * source (frames from the pool, one granule each) every address space of
 * the guest should share, so that clone can share pages between them.
 */
struct libos_aspace *libos_kernel_aspace(void);
struct libos_pagerefs *libos_pagerefs(void);
const struct libos_vm_pages *libos_vm_pages(void);

/* Whole frames from the guest's pool (mapped in the direct map), aligned
 * to their count rounded up to a power of two: pages for task memory. */
bool libos_frames_alloc(uint64_t count, uint64_t *pa);
void libos_frames_free(uint64_t pa, uint64_t count);

/* NULL when the heap and pool are consistent (O(heap), for tests). */
const char *libos_check(void);

struct libos_stats {
	const char *policy;
	bool heap_created;
	struct heap_stats heap;
	struct pool_stats pool;
	uint64_t table_pages; /* stage-1 table pages held, every table */
	bool vm_valid;	      /* vm holds what VM_INFO said */
	struct libos_vm_info vm;
	struct libos_vm_stats regions; /* region faults, every space */
};

void libos_stats(struct libos_stats *st);



/*
 * Events from EL2 (docs/libos.md, "Events and revocation"). el1 calls
 * libos_events_handle from its IRQ handler for EXO_EVENT_INTID; a guest
 * that keeps IRQs masked may call it at a safe point. It reads EVENTS; on
 * EXO_EVENT_REVOKED it reads every REVOKED run, repairs the pool (and
 * retires the heap if frames it was using are gone), then REVOKED_ACK; on
 * a request (EXO_EVENT_REVOKE_REQUEST, or frames still asked back) the
 * pool gives back free frames; on EXO_EVENT_RECLAIMED it reads every
 * RECLAIMED run (frames an owner took back from this guest), remembers
 * them (libos_frame_reclaimed) and acknowledges. Never prints.
 */
void libos_events_handle(void);
/* Did an owner take back pa, a frame it had shared or lent to this guest
 * (since libos started)? Code that uses borrowed frames (libos/chan) asks
 * before touching them again. */
bool libos_frame_reclaimed(uint64_t pa);

struct libos_event_stats {
	uint64_t handled;	/* libos_events_handle calls */
	uint64_t pending_seen;	/* EXO_EVENT_* bits seen, ORed */
	uint64_t requests, frames_asked, frames_given;
	uint64_t runs_revoked, frames_revoked; /* taken by force */
	uint64_t dropped_free;	/* of those: free in the pool */
	uint64_t lost_in_use;	/* of those: handed out */
	uint64_t foreign;	/* of those: not the pool's */
	uint64_t first_lost_pa;
	uint64_t acks;		/* REVOKED_ACKs */
	uint64_t heaps_retired;
	uint64_t retired_frees;	/* frees of a retired heap's blocks */
	uint64_t runs_reclaimed, frames_reclaimed; /* taken back by owners */
	uint64_t reclaim_acks;	/* RECLAIMED_ACKs EL2 took */
	uint64_t stale_acks;	/* refused: a run came since the read */
	uint64_t want_left;	/* EL2 still asked (EVENTS x2) at the last
				 * read, less what the pool gave then */
};
void libos_event_stats(struct libos_event_stats *st);
/* One or two "libos: events: ..." lines (also at exit with --stats). */
void libos_events_print(void);
/* Frames, table pages, EL2's view (VM_INFO) and the heap, one per line,
 * each starting "libos: ". */
void libos_stats_print(void);

#endif
