/*
 * The guest console: kprintf's lines go to EL2 through
 * EXO_HVC_CONSOLE_WRITE, up to EXO_CONSOLE_MAX bytes per call packed into
 * x2-x7, so EL2 never reads guest memory for it. No line prefix: EL2 adds
 * "[name] ". Never touches the PL011 itself.
 */
#include <el1/el1.h>
#include <exo/hypercall.h>
#include <lib/print.h>

#define CONSOLE_REGS (EXO_CONSOLE_MAX / sizeof(uint64_t))
#define BITS_PER_BYTE 8

_Static_assert(CONSOLE_REGS == 6, "bytes travel in x2-x7");

static void console_send(const char *s, size_t n)
{
	uint64_t w[CONSOLE_REGS] = { 0 };

	/* Byte by byte: s may be unaligned and the MMU may be off. */
	for (size_t i = 0; i < n; i++)
		w[i / sizeof(uint64_t)] |= (uint64_t)(unsigned char)s[i]
					   << (BITS_PER_BYTE * (i % sizeof(uint64_t)));
	exo_hvc(EXO_HVC_CONSOLE_WRITE, n, w[0], w[1], w[2], w[3], w[4], w[5]);
}

static void console_write(const char *s, size_t n)
{
	while (n) {
		size_t chunk = n < EXO_CONSOLE_MAX ? n : EXO_CONSOLE_MAX;

		console_send(s, chunk);
		s += chunk;
		n -= chunk;
	}
}

void el1_console_init(void)
{
	print_set_console(console_write, NULL);
}
