/*
 * The guest runtime's interface to guests: what the guest DTB said, and the
 * entry points the runtime calls. el1 never decides memory policy: it hands
 * the DTB's choices to the guest and its library OS.
 */
#ifndef EXO_EL1_EL1_H
#define EXO_EL1_EL1_H

#include <el1/trap.h>
#include <stdbool.h>
#include <stddef.h>
#include <libos/libos.h>
#include <stdint.h>

#define EL1_MEM_RANGES_MAX 16	/* /memory reg entries kept */
#define EL1_ARGS_MAX 32		/* arguments after argv[0] */
#define EL1_STRINGS_MAX 2048	/* bytes for the name, policy, args */

struct el1_mem_range {
	uint64_t base, size;	/* IPA == PA */
};

/* What the guest DTB said, copied out of it (the guest may reuse the DTB's
 * frames once it has read this). */
struct el1_boot_info {
	uint64_t dtb;		/* IPA of the guest DTB */
	uint64_t dtb_size;	/* its totalsize */
	uint64_t image_start;	/* virtual address the image runs at */
	uint64_t image_end;	/* end of the boot stack, 64 KiB-aligned */
	uint64_t image_pa;	/* where EL2 loaded it (IPA == PA) */
	const char *name;	/* /chosen/exo,name, or "guest" */
	const char *heap_policy;	/* /chosen/exo,heap-policy, or NULL */
	const char *granule;	/* /chosen/exo,granule, or NULL (4k) */
	bool memory_report;	/* /chosen/exo,memory-report present */
	unsigned cpus;		/* /cpus's CPU nodes: its vCPUs (at least 1) */
	unsigned mem_count;
	struct el1_mem_range mem[EL1_MEM_RANGES_MAX];
	int argc;		/* 1 + the exo,args entries */
	char **argv;		/* argv[argc] == NULL */
};

/* The image's span as EL2 loads it: its ELF segments, page-rounded (the
 * boot stack ends them; __image_end's 64 KiB alignment is not loaded). */
uint64_t el1_image_span(void);

/* The libos configuration the DTB and the image give (start-up needs
 * included): for libos_init, and for libos_startup_report when the MMU
 * cannot be turned on. image_bytes: el1_image_span(). */
struct libos_config el1_libos_config(const struct el1_boot_info *info,
				     uint64_t image_bytes);

/* Valid from the start of main(). */
const struct el1_boot_info *el1_boot_info(void);

/* Parses a guest DTB into info; returns NULL or what is wrong with it.
 * Portable (libfdt only). */
const char *el1_parse_dtb(const void *dtb, struct el1_boot_info *info);

/*
 * The options (arguments starting "--") the guest's main() reads, so libos
 * can tell a typo from an option: a guest that takes any says, once at
 * file scope,
 *	EL1_GUEST_OPTIONS("--seed=", "--verbose");
 * A name ending in '=' takes a value; any other is matched whole. A guest
 * that declares none reads none: an argument "--x" that is not libos's
 * stops it before main (EXO_EXIT_UNKNOWN_OPTION).
 */
#define EL1_GUEST_OPTIONS(...)                                                 \
	const char *const el1_guest_options[] = { __VA_ARGS__, NULL }
extern const char *const el1_guest_options[];

/* The guest's program: its return value is the guest's exit status. */
int main(int argc, char **argv);

/* Entered from el1/start.S with the guest DTB; never returns. */
_Noreturn void el1_main(const void *dtb);

/* Sends kprintf's output through EXO_HVC_CONSOLE_WRITE. */
void el1_console_init(void);

/* MMU off, at the load address: the DTB to libos, which builds the stage-1
 * tables; returns the virtual address of the image (exits on failure). */
uint64_t el1_mmu_prepare(const void *dtb);
/* First call at the virtual address: libos finishes, aborts go to libos. */
void el1_mmu_switched(void);
/* The abort handler el1_mmu_switched installs (el1/vectors.S compares the
 * class's handler with it before its fast path). */
bool el1_abort(struct el1_frame *f);
/* el1/vectors.S's light path for a synchronous external abort from EL1
 * (ESR and FAR as read; the frame holds only what C may clobber, ELR,
 * SPSR, ESR and FAR): el1_abort's answer through libos's refusal route. */
bool el1_abort_external(struct el1_frame *f, uint64_t esr, uint64_t far);

/* EL2's event interrupt (el1/events.c): turns the virtual GIC CPU
 * interface on, routes EXO_EVENT_INTID to libos_events_handle and unmasks
 * IRQs. el1_main calls it after libos_init, before main. */
void el1_events_init(void);
/* Interrupts other than EXO_EVENT_INTID acknowledged and ignored. */
unsigned long el1_other_irqs(void);

/* CPU set-up from el1/start.S: FP/SIMD on, VBAR_EL1. */
void el1_cpu_init(void);
/* Best entropy the CPU offers (RNDR, else the virtual counter, mixed). */
uint64_t el1_entropy(void);

#endif
