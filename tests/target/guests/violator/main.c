/*
 * violator: touches a physical address it does not own, again and again,
 * handling each reflected abort and carrying on. EL2 must tear it down when
 * its violation count reaches the manifest's limit; it never exits by
 * itself (an exit is a test failure).
 */
#include <exo/hypercall.h>
#include <lib/print.h>

#include "../faultcatch.h"

#define FOREIGN_PA 0x40000000ul   /* the host DTB: EL2's */
#define ATTEMPTS 1000

int main(int argc, char **argv)
{
	(void)argc, (void)argv;
	faultcatch_install();
	for (int i = 1; i <= ATTEMPTS; i++) {
		probe_read(FOREIGN_PA + 8 * (uint64_t)i);
		kprintf("violation %d caught (%u aborts so far)\n", i,
			caught.count);
	}
	kprintf("still running after %d violations\n", ATTEMPTS);
	return 1;
}
