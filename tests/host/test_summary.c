/* el2/summary.c: rows, reasons, leak detection and the verdict. */
#include "fake_arch.h"

#include <criterion/criterion.h>
#include <el2/summary.h>
#include <string.h>

static struct vm make_vm(unsigned id, const char *name, enum vm_state st,
			 int64_t status)
{
	struct vm vm;

	memset(&vm, 0, sizeof(vm));
	vm.id = id;
	strcpy(vm.name, name);
	strcpy(vm.config.heap_policy, "tlsf");
	vm.state = st;
	vm.exit_status = status;
	vm.stats.hypercalls = 12;
	vm.stats.frames_peak = 40;
	vm.vcpu.run_ticks = 62500000 / 4;   /* 250 ms at 62.5 MHz */
	return vm;
}

Test(summary, all_good)
{
	struct vm vms[2] = { make_vm(1, "hello", VM_EXITED, 0),
			     make_vm(2, "counter", VM_EXITED, 0) };
	struct summary_totals t = { 1000, 50, 0 };

	fake_reset();
	cr_assert(summary_print(vms, 2, &t, 62500000));
	cr_assert(strstr(fake.console, "hello              1 exited       0      40"),
		  "%s", fake.console);
	cr_assert(strstr(fake.console, "250 tlsf"));
	cr_assert(strstr(fake.console, "result: 2 of 2 guests succeeded\n"));
}

Test(summary, failure_and_reason)
{
	struct vm vms[2] = { make_vm(1, "hello", VM_EXITED, 0),
			     make_vm(2, "attack", VM_KILLED, 0) };
	struct summary_totals t = { 1000, 50, 0 };

	vms[1].stop_reason = "stage-2 violation limit reached";
	fake_reset();
	cr_assert_not(summary_print(vms, 2, &t, 62500000));
	cr_assert(strstr(fake.console, "reason: stage-2 violation limit reached"));
	cr_assert(strstr(fake.console, "result: 1 of 2 guests succeeded; see above"));
}

Test(summary, leak_fails)
{
	struct vm vm = make_vm(1, "hello", VM_EXITED, 0);
	struct summary_totals t = { 1000, 50, 3 };

	fake_reset();
	cr_assert_not(summary_print(&vm, 1, &t, 62500000));
	cr_assert(strstr(fake.console, "3 still held by guests (LEAK)"));
}
