/*
 * The shutdown summary: one aligned row per guest, a line per failed guest
 * saying why in words (its exit status decoded by lib/exit_describe.c, or
 * why EL2 stopped it), then the frame totals and a verdict line tools/run
 * and the tests read.
 */
#include <el2/summary.h>
#include <lib/exit_describe.h>
#include <lib/print.h>

static const char *state_name(const struct vm *vm)
{
	switch (vm->state) {
	case VM_EXITED: return "exited";
	case VM_KILLED: return "killed";
	case VM_FAILED: return "failed";
	case VM_RUNNING: return "running";
	default: return "unused";
	}
}

static bool vm_ok(const struct vm *vm)
{
	return vm->state == VM_EXITED && vm->exit_status == 0;
}

/* "  name: exit status 165: unhandled data abort ... (why)", or what EL2
 * said when it stopped the guest. */
static void print_failure(const struct vm *vm)
{
	char why[EXIT_STATUS_DESC_MAX];

	if (vm->state != VM_EXITED) {
		kprintf("  %s: %s: %s\n", vm->name, state_name(vm),
			vm->stop_reason ? vm->stop_reason : "no reason given");
		return;
	}
	exit_status_describe(vm->exit_status, vm->exit_cause, vm->exit_addr,
			     why, sizeof(why));
	kprintf("  %s: exit status %ld: %s\n", vm->name,
		(long)vm->exit_status, why);
}

static void print_failures(const struct vm *vms, unsigned nr,
			   unsigned failed)
{
	if (!failed)
		return;
	kprintf("failed guests:\n");
	for (unsigned i = 0; i < nr; i++)
		if (!vm_ok(&vms[i]))
			print_failure(&vms[i]);
}

bool summary_print(const struct vm *vms, unsigned nr,
		   const struct summary_totals *t, uint64_t timer_freq)
{
	bool ok = t->frames_other == 0;
	unsigned failed = 0;

	kprintf("summary:\n");
	kprintf("  %-15s %4s %-7s %6s %7s %10s %10s %6s %s\n", "guest", "vmid",
		"state", "status", "frames", "hypercalls", "violations",
		"cpu-ms", "heap");
	for (unsigned i = 0; i < nr; i++) {
		const struct vm *vm = &vms[i];
		uint64_t ms = timer_freq ? vm_run_ticks(vm) * 1000 / timer_freq
					 : 0;

		kprintf("  %-15s %4u %-7s %6ld %7lu %10lu %10lu %6lu %s\n",
			vm->name, vm->id, state_name(vm), (long)vm->exit_status,
			(unsigned long)vm->stats.frames_peak,
			(unsigned long)vm_hypercalls(vm),
			(unsigned long)vm->stats.violations, (unsigned long)ms,
			vm->config.heap_policy);
		if (vm->stop_reason)
			kprintf("  %-15s      reason: %s\n", "", vm->stop_reason);
		if (!vm_ok(vm))
			failed++;
	}
	print_failures(vms, nr, failed);
	kprintf("frames: %lu free, %lu EL2, %lu still held by guests%s\n",
		(unsigned long)t->frames_free, (unsigned long)t->frames_hyp,
		(unsigned long)t->frames_other,
		t->frames_other ? " (LEAK)" : "");
	/* Whether guests outnumbered VMIDs: each rollover invalidated every
	 * guest's TLB entries (tests/target/test_thousand.py reads it). */
	kprintf("vmids: %u a generation, %lu rollovers\n",
		t->vmids_per_generation, (unsigned long)t->vmid_rollovers);
	ok = ok && failed == 0;
	kprintf("result: %u of %u guests succeeded%s\n", nr - failed, nr,
		ok ? "" : "; see above");
	return ok;
}
