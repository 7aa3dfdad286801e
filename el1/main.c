/*
 * el1_main: from the relocated, stack-guarded entry to the guest's main().
 * Starts the console, checks the image relocated cleanly, reads the guest
 * DTB, starts the library OS (libos_init) with the DTB's choices, turns
 * EL2's event interrupt on (IRQs unmasked from here), then runs main() and exits with its status. Owns no policy: memory management
 * is the library OS's.
 */
#include <el1/el1.h>
#include <exo/exit_status.h>
#include <exo/hypercall.h>
#include <lib/backtrace.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <libos/mm/mm.h>
#include <libos/libos.h>

/* Written by el1/start.S: .rela.dyn entries it could not apply, and the
 * physical address it was loaded at. */
uint64_t el1_bad_relocs;
uint64_t el1_image_pa;

extern char __image_start[], __image_end[];

static struct el1_boot_info boot_info;

/* Each reason libos refuses to start has its own status. */
static int64_t libos_refusal_status(int err)
{
	switch (err) {
	case LIBOS_EPOLICY:
		return EXO_EXIT_HEAP_POLICY;
	case LIBOS_EUNKNOWN_OPTION:
		return EXO_EXIT_UNKNOWN_OPTION;
	case LIBOS_EQUOTA:
		return EXO_EXIT_STARTUP_QUOTA;
	default:
		return EXO_EXIT_BAD_OPTION;
	}
}

const struct el1_boot_info *el1_boot_info(void)
{
	return &boot_info;
}

_Noreturn void el1_main(const void *dtb_pa)
{
	const void *dtb;
	const char *err;
	struct libos_config os;
	int status;

	/* Running at the high VA with the MMU on (el1/start.S): everything
	 * physical is reached through libos's direct map from here on. */
	el1_mmu_switched();
	backtrace_set_image((uint64_t)(uintptr_t)__image_start);
	el1_console_init();
	dtb = libos_dmap_phys_to_virt((uint64_t)(uintptr_t)dtb_pa);
	if (el1_bad_relocs)
		panic("image has %lu relocations other than R_AARCH64_RELATIVE",
		      (unsigned long)el1_bad_relocs);
	err = el1_parse_dtb(dtb, &boot_info);
	if (err)
		panic("guest DTB at 0x%lx: %s",
		      (unsigned long)(uintptr_t)dtb_pa, err);
	boot_info.dtb = (uint64_t)(uintptr_t)dtb_pa;
	boot_info.image_pa = el1_image_pa;
	boot_info.image_start = (uint64_t)(uintptr_t)__image_start;
	boot_info.image_end = (uint64_t)(uintptr_t)__image_end;
	os = el1_libos_config(&boot_info, el1_image_span());
	os.guest_options = el1_guest_options;
	status = libos_init(&os);
	if (status != LIBOS_OK)
		exo_exit(libos_refusal_status(status));
	el1_events_init();
	status = main(boot_info.argc, boot_info.argv);
	libos_fini();
	exo_exit(status);
}
