/*
 * spin: loops forever without yielding or calling EL2, so only preemption
 * by EL2's timer can take the CPU back. For the CPU-isolation tests.
 */
#include <lib/print.h>
#include <stdint.h>

int main(int argc, char **argv)
{
	volatile uint64_t n = 0;

	(void)argc;
	kprintf("%s: spinning\n", argv[0]);
	for (;;)
		n++;
}
