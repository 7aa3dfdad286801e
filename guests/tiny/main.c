/* tiny: a whole guest. libos has set up its MMU and heap before main. */
#include <lib/print.h>
#include <libos/libos.h>

int main(int argc, char **argv)
{
	char *buf = libos_malloc(4096);	/* from the policy in the manifest */

	kprintf("hi from %s: %d args, heap block at %p\n", argv[0], argc, buf);
	libos_free(buf);
	return 0;
}
