/*
 * hello: the smallest guest. Prints its name, arguments (and the word its
 * one option --greeting=WORD gives), heap policy, boot memory and what EL2
 * says about its VM, then exits 0. Touches no frames beyond its own image.
 */
#include <el1/el1.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <string.h>

#define GREETING "--greeting="

static void print_boot_info(const struct el1_boot_info *bi)
{
	kprintf("heap policy: %s\n", bi->heap_policy ? bi->heap_policy
						      : "(default)");
	kprintf("granule: %s\n", bi->granule ? bi->granule : "(default)");
	for (unsigned i = 0; i < bi->mem_count; i++)
		kprintf("memory: 0x%lx-0x%lx\n", (unsigned long)bi->mem[i].base,
			(unsigned long)(bi->mem[i].base + bi->mem[i].size - 1));
	kprintf("image: 0x%lx-0x%lx, dtb 0x%lx\n",
		(unsigned long)bi->image_start, (unsigned long)bi->image_end,
		(unsigned long)bi->dtb);
}

EL1_GUEST_OPTIONS(GREETING);

int main(int argc, char **argv)
{
	struct exo_ret vm = exo_vm_info();
	struct exo_ret version = exo_call0(EXO_HVC_VERSION);

	kprintf("hello from %s\n", argv[0]);
	kprintf("argc: %d\n", argc);
	for (int i = 1; i < argc; i++)
		kprintf("argv[%d]: %s\n", i, argv[i]);
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], GREETING, sizeof(GREETING) - 1))
			kprintf("greeting: %s\n", argv[i] + sizeof(GREETING) - 1);
	print_boot_info(el1_boot_info());
	kprintf("abi: 0x%lx (status %ld)\n", (unsigned long)version.x1,
		(long)version.status);
	if (vm.status != EXO_OK) {
		kprintf("vm info: error %ld\n", (long)vm.status);
		return 1;
	}
	kprintf("vm info: id %lu, quota %lu frames, %lu charged\n",
		(unsigned long)vm.x1, (unsigned long)vm.x2,
		(unsigned long)vm.x3);
	return 0;
}
