/*
 * The test stand-in for EL2 (see stub.S): prints the guest's console bytes
 * with a "[guest] " prefix, answers VERSION, VM_INFO, FRAME_ALLOC/FREE from
 * a bump region, and halts on EXIT with "[el2] halting (status N)" as the
 * real EL2 does, so tests/target can read the status. Anything else the
 * guest does that reaches EL2 is reported and halts with status 99.
 * The guest's load address and DTB come from two words QEMU's loader
 * device writes at STUB_PARAMS.
 */
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <exo/errors.h>
#include <exo/hvc.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STUB_PARAMS 0x401ff000ul	/* u64 guest entry, u64 guest DTB */
#define FRAMES_BASE 0x48000000ul	/* FRAME_ALLOC hands out from here */
#define FRAME_SIZE 4096ul
#define QUOTA 1024ul
#define UART_DR 0x09000000ul
#define PSCI_SYSTEM_OFF 0x84000008ul
#define STATUS_UNEXPECTED 99

struct regs { uint64_t x[31]; };

void stub_main(void);
void stub_enter_el1(uint64_t entry, uint64_t dtb);
void stub_trap(struct regs *r, uint64_t kind);

static uint64_t next_frame = FRAMES_BASE;
static uint64_t charged;
static bool guest_line_start = true;

static void uart_putc(char c)
{
	*(volatile uint32_t *)UART_DR = (uint8_t)c;
}

static void uart_write(const char *s, size_t n)
{
	while (n--)
		uart_putc(*s++);
}

static _Noreturn void psci_system_off(void)
{
	register uint64_t x0 __asm__("x0") = PSCI_SYSTEM_OFF;

	__asm__ volatile("smc #0" : "+r"(x0) : : "memory");
	for (;;)
		;
}

_Noreturn void arch_halt(int status)
{
	kprintf("halting (status %d)\n", status);
	psci_system_off();
}

static void guest_console(struct regs *r)
{
	uint64_t n = r->x[1];

	if (n > EXO_CONSOLE_MAX) {
		r->x[0] = (uint64_t)EXO_EINVAL;
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		char c = (char)(r->x[2 + i / 8] >> (8 * (i % 8)));

		if (guest_line_start)
			uart_write("[guest] ", 8);
		uart_putc(c);
		guest_line_start = c == '\n';
	}
	r->x[0] = EXO_OK;
}

static void frame_alloc(struct regs *r)
{
	uint64_t count = r->x[1];

	if (!count || charged + count > QUOTA) {
		r->x[0] = (uint64_t)EXO_EQUOTA;
		return;
	}
	r->x[0] = EXO_OK;
	r->x[1] = next_frame;
	next_frame += count * FRAME_SIZE;
	charged += count;
}

static void hvc(struct regs *r)
{
	switch ((uint32_t)r->x[0]) {
	case EXO_HVC_VERSION:
		r->x[0] = EXO_OK;
		r->x[1] = EXO_ABI_VERSION;
		break;
	case EXO_HVC_CONSOLE_WRITE:
		guest_console(r);
		break;
	case EXO_HVC_VM_INFO:
		r->x[0] = EXO_OK;
		r->x[1] = 1;
		r->x[2] = QUOTA;
		r->x[3] = charged;
		break;
	case EXO_HVC_FRAME_ALLOC:
		frame_alloc(r);
		break;
	case EXO_HVC_FRAME_FREE:
		charged -= r->x[2] <= charged ? r->x[2] : charged;
		r->x[0] = EXO_OK;
		break;
	case EXO_HVC_EXIT:
		arch_halt((int)r->x[1]);
	default:
		r->x[0] = (uint64_t)EXO_ENOTSUP;
	}
}

void stub_trap(struct regs *r, uint64_t kind)
{
	uint64_t esr = read_sysreg(esr_el2);

	if (kind == 8 && ESR_EC(esr) == ESR_EC_HVC64) { /* lower EL, sync */
		hvc(r);
		return;
	}
	kprintf("stub: unexpected exception kind %lu ESR 0x%lx ELR 0x%lx\n",
		(unsigned long)kind, (unsigned long)esr,
		(unsigned long)read_sysreg(elr_el2));
	arch_halt(STATUS_UNEXPECTED);
}

void stub_main(void)
{
	const volatile uint64_t *params = (const uint64_t *)STUB_PARAMS;

	print_set_console(uart_write, "[el2] ");
	kprintf("el1 stub: guest at 0x%lx, dtb 0x%lx\n",
		(unsigned long)params[0], (unsigned long)params[1]);
	stub_enter_el1(params[0], params[1]);
}
