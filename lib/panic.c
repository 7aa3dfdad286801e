/* panic: report once, then stop through the layer's arch_halt. */
#include <lib/backtrace.h>
#include <lib/fmt.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <stdbool.h>

static bool panicking;

_Noreturn void panic(const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (panicking) /* a panic while reporting one: stop without printing */
		arch_halt(PANIC_HALT_NESTED);
	panicking = true;
	print_enter_panic();
	va_start(ap, fmt);
	fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("PANIC: %s\n", msg);
#ifndef EXO_HOST
	backtrace_print(0, (uint64_t)(uintptr_t)__builtin_frame_address(0));
#endif
	arch_halt(PANIC_HALT);
}

#ifdef EXO_HOST
void panic_recovered(void)
{
	panicking = false;
}
#endif
