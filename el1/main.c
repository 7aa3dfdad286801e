/*
 * el1_main: from the relocated, stack-guarded entry to the guest's main().
 * Starts the console, checks the image relocated cleanly, reads the guest
 * DTB, then runs main() and exits with its status. Owns no policy: memory
 * management is the library OS's, started by the guest.
 */
#include <el1/el1.h>
#include <exo/hypercall.h>
#include <lib/panic.h>
#include <lib/print.h>

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
	exo_exit(main(boot_info.argc, boot_info.argv));
}
