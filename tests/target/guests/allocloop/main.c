/*
 * allocloop: allocates and frees one frame in a loop (args: count), the
 * frame-hypercall path alone, for profiling EL2 and as a soak of the
 * alloc/free transaction (the frame count must end where it started).
 */
#include <exo/hypercall.h>
#include <lib/print.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
	uint64_t before = exo_vm_info().x3;

	for (unsigned long i = 0; i < n; i++) {
		struct exo_ret a = exo_frame_alloc(1, 0);

		if (a.status != EXO_OK || exo_frame_free(a.x1, 1) != EXO_OK) {
			kprintf("allocloop: call %lu failed\n", i);
			return 1;
		}
	}
	kprintf("allocloop: %lu alloc+free, frames %lu -> %lu\n", n,
		(unsigned long)before, (unsigned long)exo_vm_info().x3);
	return exo_vm_info().x3 == before ? 0 : 1;
}
