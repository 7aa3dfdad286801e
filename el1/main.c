/*
 * el1_main: from the relocated, stack-guarded entry to the guest's main().
 * Starts the console, checks the image relocated cleanly, reads the guest
 * DTB, starts the library OS (libos_init) with the DTB's choices, then
 * runs main() and exits with its status. Owns no policy: memory management
 * is the library OS's.
 */
#include <el1/el1.h>
#include <el1/exit_status.h>
#include <exo/hypercall.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <libos/libos.h>

/* Written by el1/start.S: .rela.dyn entries it could not apply. */
uint64_t el1_bad_relocs;

extern char __image_start[], __image_end[];

static struct el1_boot_info boot_info;

const struct el1_boot_info *el1_boot_info(void)
{
	return &boot_info;
}

_Noreturn void el1_main(const void *dtb)
{
	const char *err;
	struct libos_config os;
	int status;

	el1_console_init();
	if (el1_bad_relocs)
		panic("image has %lu relocations other than R_AARCH64_RELATIVE",
		      (unsigned long)el1_bad_relocs);
	err = el1_parse_dtb(dtb, &boot_info);
	if (err)
		panic("guest DTB at 0x%lx: %s", (unsigned long)(uintptr_t)dtb,
		      err);
	boot_info.image_start = (uint64_t)(uintptr_t)__image_start;
	boot_info.image_end = (uint64_t)(uintptr_t)__image_end;
	os = (struct libos_config){ boot_info.name, boot_info.heap_policy,
				    boot_info.argc, boot_info.argv };
	if (libos_init(&os) != LIBOS_OK)
		exo_exit(EL1_EXIT_LIBOS);
	status = main(boot_info.argc, boot_info.argv);
	libos_fini();
	exo_exit(status);
}
