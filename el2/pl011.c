/*
 * PL011 transmit path. No set-up: firmware (QEMU) leaves it enabled. Waits
 * for room in the FIFO before each byte; "\n" becomes "\r\n".
 */
#include <el2/arch.h>
#include <el2/pl011.h>

#define PL011_DR 0x00
#define PL011_FR 0x18
#define PL011_FR_TXFF (1u << 5)   /* transmit FIFO full */

static uint64_t pl011_base;

void pl011_init(uint64_t base)
{
	pl011_base = base;
}

static void put(char c)
{
	while (arch_mmio_read32(pl011_base + PL011_FR) & PL011_FR_TXFF)
		;
	arch_mmio_write32(pl011_base + PL011_DR, (uint8_t)c);
}

void pl011_write(const char *s, size_t n)
{
	if (!pl011_base)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			put('\r');
		put(s[i]);
	}
}
