/*
 * The system manifest: a DTB (compiled by dtc from a .dts) in the boot
 * package that says which guests to boot and with what resources. This
 * header owns the parsed form. manifest.c reads the DTB with read-only
 * libfdt calls only and never allocates, loads or starts anything: it
 * decides what is valid, the boot code acts on it. docs/manifest.md is the
 * reference for every property.
 */
#ifndef EXO_EL2_MANIFEST_H
#define EXO_EL2_MANIFEST_H

#include <el2/bootpkg.h>
#include <el2/elf.h>
#include <exo/hvc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_COMPATIBLE "exo,system"
/* Root property: print the memory snapshot (el2/snapshot.h). */
#define MANIFEST_MEMORY_SNAPSHOT "exo,memory-snapshot"
/* Root property EL2 ignores: the manifest is broken on purpose (a test of
 * EL2's errors), so the host checker (tools/mancheck.c) only warns. */
#define MANIFEST_EXPECT_ERRORS "exo,expect-errors"
#define MANIFEST_MAX_GUESTS (EXO_MAX_VMS - 1) /* VM ids 1..1023; 0 is nobody's */
/* Guests one guest's share-with may name. */
#define MANIFEST_MAX_SHARE_WITH 8u
/* vCPUs beyond each guest's first, for all guests together: given at boot
 * in manifest order from the guests' `cpus` (a guest the rest cannot
 * cover is refused), never at run time, so no guest takes another's. */
#define MANIFEST_EXTRA_VCPUS 32u
/* cpu-affinity names EL2's CPUs 0..7 (el2/percpu.h's EL2_MAX_CPUS). */
#define MANIFEST_MAX_CPUS 8u
#define MANIFEST_NAME_MAX EXO_VM_NAME_MAX
#define MANIFEST_STR_MAX 63         /* heap-policy */
#define MANIFEST_MAX_ARGS 32
#define MANIFEST_ARGS_MAX_BYTES 1024
#define MANIFEST_ERR_SIZE 192
#define MANIFEST_WHY_SIZE 128

#define MANIFEST_DEFAULT_BOOT_FRAMES 64
#define MANIFEST_DEFAULT_HEAP_POLICY "tlsf"
#define MANIFEST_DEFAULT_TIMESLICE_US 10000
#define MANIFEST_MIN_TIMESLICE_US 100
#define MANIFEST_MAX_TIMESLICE_US 1000000
#define MANIFEST_DEFAULT_VIOLATION_LIMIT 3
#define MANIFEST_DEFAULT_EXCUSED_TOUCH_LIMIT 64
#define MANIFEST_DEFAULT_GRANULE "4k"
#define MANIFEST_PMU_GUEST "guest"
#define MANIFEST_PMU_SYSTEM "system"

enum manifest_status {
	MANIFEST_GUEST_OK,          /* valid: boot it */
	MANIFEST_GUEST_INVALID,     /* error says why; skipped, others boot */
};

/* Fault injection (test manifests only: root `exo,testing`), per guest. */
enum manifest_fault {
	MANIFEST_FAULT_HVC_FAIL,      /* param: permille of frame calls that fail */
	MANIFEST_FAULT_NO_FRAMES,     /* frame allocations fail: exhaustion */
	MANIFEST_FAULT_DROP_REVOKE,   /* revocation notices never arrive */
	MANIFEST_FAULT_SPURIOUS_ABORT,/* param: permille of traps followed by one */
	MANIFEST_FAULT_SPURIOUS_IRQ,  /* param: permille of traps followed by one */
	MANIFEST_FAULT_CORRUPT_REG,   /* param: at that hypercall, flip a bit */
	MANIFEST_FAULT_CORRUPT_MEM,   /* param: at that hypercall, flip a bit */
	MANIFEST_FAULT_DELAY_REVOKE,  /* param: ms of its CPU time a notice waits */
	MANIFEST_NR_FAULTS,
};

struct manifest_guest {
	char name[MANIFEST_NAME_MAX + 1];
	enum manifest_status status;
	char error[MANIFEST_ERR_SIZE];  /* "guest 'x': property 'y': ..." */
	char why[MANIFEST_WHY_SIZE];    /* a property error quoting its value */
	int node;                   /* its node in the manifest DTB */

	/* Strings point into the manifest DTB, which must stay in place. */
	const char *image;          /* boot package entry name */
	uint32_t quota_frames;      /* everything it may hold, 4 KiB frames */
	uint32_t boot_frames;       /* stack + early heap beyond the image */
	const char *heap_policy;    /* for the guest; EL2 does not read it */
	const char *args;           /* argv as NUL-separated strings */
	uint32_t args_len;          /* bytes of args, last NUL included */
	uint32_t nr_args;
	uint32_t timeslice_us;
	uint32_t violation_limit;   /* torn down at this many violations */
	uint32_t excused_touch_limit; /* touches of frames taken back it may
				       * make (not violations); one more
				       * tears it down */
	uint32_t cpu_limit_ms;      /* CPU time before teardown; 0: none */
	uint32_t cpus;              /* its vCPUs, 1..EXO_VM_MAX_VCPUS */
	/* cpu-affinity: bit c, its vCPUs may be placed on EL2's CPU c
	 * (el2/sched.c); 0: on any. */
	uint32_t cpu_affinity;
	const char *share_with;     /* guest names, NUL-separated */
	uint32_t share_with_len;
	uint16_t share_ids[MANIFEST_MAX_SHARE_WITH]; /* may share with these
						      * guests[] indexes */
	uint32_t nr_share_ids;
	uint32_t revoke_after_ms;   /* revoke-schedule: when (its CPU time), */
	uint32_t revoke_frames;     /* how many frames EL2 asks back (0: none) */
	uint32_t revoke_deadline_ms;/* and how long it has to give them */
	uint32_t faults;            /* bit f: enum manifest_fault f injected */
	uint32_t fault_param[MANIFEST_NR_FAULTS];
	const char *granule;        /* "4k", "16k" or "64k", for the guest */
	uint32_t granule_bytes;
	bool pmu_system;            /* pmu = "system": counts EL2 and every
				     * guest (el2/pmu.h); "guest": itself */

	/* Filled by manifest_bind_images. */
	struct bootpkg_blob blob;
	struct elf_info elf;
};

struct manifest {
	unsigned nr_guests;         /* valid and invalid ones, in DTB order */
	int testing;                /* root has exo,testing: faults allowed */
	uint64_t fault_seed;        /* root exo,fault-seed; 0: EL2 picks one */
	struct manifest_guest guests[MANIFEST_MAX_GUESTS];
	char error[MANIFEST_ERR_SIZE]; /* whole-manifest error, or "" */
	bool memory_snapshot;       /* root has exo,memory-snapshot */
};

/* Parses the manifest DTB at fdt (size bytes readable) for a machine with
 * ram_frames 4 KiB frames of RAM. Returns 0 when the manifest as a whole is
 * usable (each guest then has its own status), or -1 with out->error set
 * when it is not (not a DTB, wrong compatible, no guests, too many,
 * duplicate names). */
int manifest_parse(const void *fdt, size_t size, uint64_t ram_frames,
		   struct manifest *out);

/* For each valid guest: finds its image in the package, checks the ELF and
 * that image + boot-frames fit its quota. A guest that fails becomes
 * invalid with an error naming the 'image' or 'quota-frames' property.
 * Returns the number of guests still valid. */
unsigned manifest_bind_images(struct manifest *m, const struct bootpkg *pkg);

/* For a bound guest: the frames EL2 gives it at boot in one run (image,
 * guest DTB, boot-frames, rounded up to its stage-1 granule), that
 * granule in frames (log2), and the fewest stage-2 table pages the run
 * costs. manifest_bind_images checks the sum fits the quota. */
uint64_t manifest_boot_run_frames(const struct manifest_guest *g);
unsigned manifest_granule_frames_log2(const struct manifest_guest *g);
uint64_t manifest_boot_s2_tables(const struct manifest_guest *g);

/* Valid guests. */
unsigned manifest_nr_ok(const struct manifest *m);

#endif
