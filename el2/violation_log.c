/* The stage-2 violation reports of a guest, printed off the trap path
 * (el2/violation_log.h). */
#include <arch/esr.h>
#include <el2/violation_log.h>
#include <el2/vm.h>
#include <lib/esr_names.h>
#include <lib/print.h>

static const char *access_name(uint8_t access)
{
	return access == VIOLATION_EXEC	   ? "execute"
	       : access == VIOLATION_WRITE ? "write"
					   : "read";
}

void violation_log_print(struct vm *vm)
{
	struct violation_log *log = &vm->violations;

	for (unsigned i = 0; i < log->count; i++) {
		const struct violation_entry *e = &log->e[i];

		kprintf("guest '%s': stage-2 violation %lu/%u: %s of PA 0x%lx "
			"(%s, level %u) at ELR 0x%lx\n", vm->name,
			(unsigned long)e->number, vm->config.violation_limit,
			access_name(e->access), (unsigned long)e->pa,
			esr_fsc_name(e->fsc), FSC_LEVEL(e->fsc),
			(unsigned long)e->elr);
	}
	if (log->dropped)
		kprintf("guest '%s': %lu stage-2 violation lines dropped "
			"(faster than its ticks; all counted)\n", vm->name,
			(unsigned long)log->dropped);
	log->count = 0;
	log->dropped = 0;
}
