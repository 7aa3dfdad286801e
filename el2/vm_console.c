/*
 * Guest console lines. Bytes come from CONSOLE_WRITE (in registers) or the
 * emulated PL011; they are printed a whole line at a time so guests'
 * output never interleaves mid-line. Control characters other than tab are
 * shown as '.', so a guest cannot drive the terminal.
 */
#include <el2/timing.h>
#include <el2/vm.h>
#include <lib/fmt.h>
#include <lib/print.h>

void vm_console_flush(struct vm *vm)
{
	char prefix[VM_NAME_MAX + 4];

	if (!vm->line_len)
		return;
	timing_guest_line();
	fmt_snprintf(prefix, sizeof(prefix), "[%s] ", vm->name);
	print_line(prefix, vm->line, vm->line_len);
	vm->line_len = 0;
}

void vm_console_put(struct vm *vm, const char *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\n') {
			if (!vm->line_len)
				vm->line[vm->line_len++] = ' ';
			vm_console_flush(vm);
			continue;
		}
		if (c == '\r')
			continue;
		if ((c < ' ' && c != '\t') || c == 0x7f)
			c = '.';
		vm->line[vm->line_len++] = c;
		if (vm->line_len == VM_CONSOLE_LINE)
			vm_console_flush(vm);
	}
}
