/*
 * libos memory management: the guest's stage-1 MMU. Boot (before main, from
 * el1): build the TTBR1 tables (the image W^X at a high VA, a direct map of
 * the frames the library OS holds), turn the MMU on, switch to the high VA.
 * After: the direct map, feature flags, fault handling with per-kind
 * counters. Portable: hardware only through libos/arch.h. Never includes
 * el1: el1 passes what the guest DTB and its linker script say.
 */
#ifndef EXO_LIBOS_MM_MM_H
#define EXO_LIBOS_MM_MM_H

#include <libos/arch.h>
#include <libos/mmu/pgtable.h>
#include <stdbool.h>
#include <stdint.h>

/* --- virtual layout (in the TTBR1 half; N = VA bits) ---------------------
 *   [half base, half base + 2^(N-2))      direct map: VA = base + PA
 *   [half base + 2^(N-2), + 2^(N-2))      vmap window (libos_mm_vmap_base)
 *   [half base + 2^(N-1), top)            the image, at its link offset
 */

#define LIBOS_MM_RANGES_MAX 16

/* What el1 tells libos at boot. Offsets are link addresses (the image is
 * linked at 0), each 64 KiB-aligned by el1/el1.ld except the ends noted. */
struct libos_mm_boot_params {
	const char *granule;         /* "4k", "16k", "64k"; NULL: 4k */
	/* The guest's arguments: libos reads its own options from them,
	 * "--sw-af" (force the software Access flag and dirty fallback) and
	 * "--va-bits=39" (default 48). Read during the call only. */
	int argc;
	char *const *argv;
	uint64_t image_pa;           /* physical address of offset 0 */
	uint64_t user_start;         /* [user_start, text_end): EL0 task
				      * code, R XN for EL1; == text_end: none */
	uint64_t text_end;           /* [0, user_start): RX */
	uint64_t rodata_end;         /* [text_end, rodata_end): R */
	uint64_t relro_end;          /* [rodata_end, relro_end): R once relocated */
	uint64_t guard;              /* [relro_end, guard): RW */
	uint64_t stack_bottom;       /* [guard, stack_bottom): unmapped */
	uint64_t image_end;          /* [stack_bottom, image_end): RW */
	unsigned mem_count;          /* the guest's boot frames (IPA == PA) */
	struct { uint64_t base, size; } mem[LIBOS_MM_RANGES_MAX];
	/* Other vCPUs will be started (each turns its MMU on from the load
	 * address too): the TTBR0 identity map of the text stays, unused
	 * but by their switch (libos_mm_cpu_switched). */
	bool keep_idmap;
};

/*
 * MMU off, at the load address: checks the granule against the CPU, builds
 * the tables, fills *regs for libos_arch_mmu_on and *image_va with the VA of
 * image offset 0. Returns NULL, or why the MMU cannot be turned on (the
 * guest must not go on: el1 exits with EXO_EXIT_MMU).
 */
const char *libos_mm_boot(const struct libos_mm_boot_params *p,
			  struct libos_mmu_regs *regs, uint64_t *image_va);
/* First thing at the high VA: direct map live, identity map gone, PAN on
 * (FEAT_PAN), fault handling ready. */
void libos_mm_switched(void);
/* The same on another vCPU, first thing at the high VA after it turned
 * its MMU on with the boot vCPU's registers: its own TTBR0 walks off, its
 * local TLB clean, PAN on. The tables are the boot vCPU's. */
void libos_mm_cpu_switched(void);

/* --- direct map ----------------------------------------------------------- */
void *libos_dmap_phys_to_virt(uint64_t pa);
uint64_t libos_dmap_virt_to_phys(const void *va);
bool libos_dmap_contains(uint64_t pa, uint64_t size);
/* Maps [pa, pa + size) (granule-aligned, frames the guest holds) RW XN, or
 * removes it before the frames go back to EL2. 0 or a PGTABLE_E* error. */
int libos_dmap_map(uint64_t pa, uint64_t size);
int libos_dmap_unmap(uint64_t pa, uint64_t size);

/* --- the running configuration -------------------------------------------- */
struct libos_mm_info {
	enum pgtable_granule granule;
	uint64_t page_size;
	unsigned va_bits;
	uint64_t half_base;          /* lowest TTBR1 VA */
	uint64_t dmap_base;
	uint64_t vmap_base, vmap_size;
	uint64_t image_va, image_pa;
	bool hw_af, hw_dirty;        /* TCR_EL1.HA / HD in use */
	bool sw_af_forced;           /* the manifest asked for the fallback */
	bool pan;                    /* FEAT_PAN: PSTATE.PAN set, SPAN clear */
	unsigned asid_bits;          /* 8 or 16 */
	bool several_cpus;           /* other vCPUs may run (keep_idmap) */
	unsigned tables;             /* table pages of the TTBR1 half */
};
const struct libos_mm_info *libos_mm_info(void);
/* The TTBR1 half's tables: libos maps its own memory through them. */
struct pgtable *libos_mm_kernel(void);

/* --- faults (fault.c) ----------------------------------------------------- */

struct libos_region;

enum libos_fault_kind {
	LIBOS_FAULT_TRANSLATION,
	LIBOS_FAULT_ACCESS_FLAG,
	LIBOS_FAULT_PERMISSION,
	LIBOS_FAULT_OTHER,           /* alignment, external, address size... */
	LIBOS_FAULT_KINDS,
};

enum libos_access { LIBOS_READ, LIBOS_WRITE, LIBOS_EXEC };

/* One stage-1 abort, as el1 hands it over; a handler may change elr (and
 * x30) to resume elsewhere. */
struct libos_fault {
	uint64_t esr, far;
	uint64_t elr, x30;
	bool from_el0;
	/* decoded by libos_fault_handle */
	enum libos_fault_kind kind;
	unsigned level;
	enum libos_access access;
	/* set by the region handlers (libos/mm/region.h) */
	const struct libos_region *region;   /* holding far, or NULL */
	int vm_action;                       /* enum libos_vm_action */
	bool nested;   /* taken while another fault was being handled */
};

/* A handler of last resort before the report (tests, later regions):
 * returns true when it dealt with the fault. */
typedef bool (*libos_fault_hook)(struct libos_fault *f);
libos_fault_hook libos_fault_set_hook(libos_fault_hook hook);

/*
 * Faults are routed to the address space attached to their half
 * (libos_vm_attach; TTBR0: the running task's, attached by libos/task). A
 * fault on task memory is the regions' to resolve only when it comes from
 * EL0 itself or from the user-copy routines (which act for EL0: they are
 * held to EL0's permissions); a user copy nobody resolves resumes at its
 * fixup (a short count). Any other EL1 access to the TTBR0 half is the
 * library OS's bug (PAN) and is reported like any other fault.
 */

/*
 * Decodes and handles an instruction or data abort: software Access flag
 * and dirty state, then the hook. false: nobody handled it; a report
 * (kind, address, region, walk) has been printed and the caller must not
 * return to the faulting code.
 */
bool libos_fault_handle(struct libos_fault *f);
/*
 * The same for a synchronous external abort (what EL2 reflects for a touch
 * stage 2 refuses) or any fault decoded as kind other: nothing to fix, so
 * in the library OS's half straight to the regions' refusal and the hook
 * (libos_vm_refuse), counted and reported exactly as libos_fault_handle
 * would; anything else it hands to libos_fault_handle. el1's light abort
 * path calls it.
 */
bool libos_fault_external(struct libos_fault *f);

/*
 * The fault fast path (libos/mm/vmfault.c; docs/libos.md, "The fault fast
 * path"), which el1's vector tries first for a data abort from EL1: a
 * level-3 translation fault in the TTBR1 half, inside the last region
 * libos_vm_fault zero-filled in (struct libos_vm_fast), where the level-3
 * table the last walk reached covers the page (pgtable's hot table) and
 * the page source has a page at once (try_alloc): zeroed, mapped and
 * counted exactly as libos_fault_handle would. true: resolved. false:
 * nothing changed, libos_fault_handle must take the fault.
 */
bool libos_fault_fast(uint64_t esr, uint64_t far);

struct libos_fault_stats {
	unsigned taken[LIBOS_FAULT_KINDS];   /* every abort seen, by kind */
	unsigned af_fixed;                   /* software AF set */
	unsigned dirty_fixed;                /* software dirty set */
	unsigned hooked;                     /* handled by the hook */
	unsigned user_resolved;              /* by the TTBR0 half's regions */
	unsigned uaccess_fixups;             /* user copies cut short */
	unsigned unhandled;
};
void libos_fault_stats(struct libos_fault_stats *out);
const char *libos_fault_kind_name(enum libos_fault_kind kind);

#endif
