/* el2/summary.c: rows, reasons, the failed guests in words, leak
 * detection and the verdict; lib/exit_describe.c: what each status means. */
#include "fake_arch.h"

#include <arch/esr.h>
#include <criterion/criterion.h>
#include <el2/summary.h>
#include <exo/exit_status.h>
#include <lib/exit_describe.h>
#include <stdint.h>
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
	vm.vcpu.hypercalls = 12;
	vm.stats.frames_peak = 40;
	vm.run_ticks = 62500000 / 4;   /* 250 ms at 62.5 MHz */
	return vm;
}

Test(summary, all_good)
{
	struct vm vms[2] = { make_vm(1, "hello", VM_EXITED, 0),
			     make_vm(2, "counter", VM_EXITED, 0) };
	struct summary_totals t = { 1000, 50, 0, 255, 3 };

	fake_reset();
	cr_assert(summary_print(vms, 2, &t, 62500000));
	cr_assert(strstr(fake.console, "vmids: 255 a generation, 3 rollovers\n"));
	cr_assert(strstr(fake.console, "hello              1 exited       0      40"),
		  "%s", fake.console);
	cr_assert(strstr(fake.console, "250 tlsf"));
	cr_assert(strstr(fake.console, "result: 2 of 2 guests succeeded\n"));
}

Test(summary, failure_and_reason)
{
	struct vm vms[2] = { make_vm(1, "hello", VM_EXITED, 0),
			     make_vm(2, "attack", VM_KILLED, 0) };
	struct summary_totals t = { 1000, 50, 0, 255, 0 };

	vms[1].stop_reason = "stage-2 violation limit reached";
	fake_reset();
	cr_assert_not(summary_print(vms, 2, &t, 62500000));
	cr_assert(strstr(fake.console, "reason: stage-2 violation limit reached"));
	cr_assert(strstr(fake.console, "result: 1 of 2 guests succeeded; see above"));
}

Test(summary, leak_fails)
{
	struct vm vm = make_vm(1, "hello", VM_EXITED, 0);
	struct summary_totals t = { 1000, 50, 3, 255, 0 };

	fake_reset();
	cr_assert_not(summary_print(&vm, 1, &t, 62500000));
	cr_assert(strstr(fake.console, "3 still held by guests (LEAK)"));
}

Test(summary, failed_guests_say_why_in_words)
{
	struct vm vms[3] = { make_vm(1, "hello", VM_EXITED, 0),
			     make_vm(2, "over", VM_EXITED,
				     EXO_EXIT_SYNC_BASE + ESR_EC_DABT_CUR),
			     make_vm(3, "attack", VM_KILLED, -1) };
	struct summary_totals t = { 1000, 50, 0, 255, 0 };

	vms[1].exit_cause = EXO_EXIT_CAUSE_STACK_OVERFLOW;
	vms[1].exit_addr = 0xffff400000010ff8;
	vms[2].stop_reason = "stage-2 violation limit reached";
	fake_reset();
	cr_assert_not(summary_print(vms, 3, &t, 62500000));
	cr_assert(strstr(fake.console,
			 "failed guests:\n"
			 "  over: exit status 165: unhandled data abort (same "
			 "EL) at 0xffff400000010ff8 (stack overflow past the "
			 "guard)\n"
			 "  attack: killed: stage-2 violation limit reached\n"
			 "frames: "),
		  "%s", fake.console);
	cr_assert_null(strstr(fake.console, "hello: "), "%s", fake.console);
}

Test(summary, no_failed_block_when_all_succeed)
{
	struct vm vm = make_vm(1, "hello", VM_EXITED, 0);
	struct summary_totals t = { 1000, 50, 0, 255, 0 };

	fake_reset();
	cr_assert(summary_print(&vm, 1, &t, 62500000));
	cr_assert_null(strstr(fake.console, "failed guests"));
}

/* lib/exit_describe.c: every status and cause a guest can give. */
static const char *describe(int64_t status, uint64_t cause, uint64_t addr)
{
	static char buf[EXIT_STATUS_DESC_MAX];

	exit_status_describe(status, cause, addr, buf, sizeof(buf));
	return buf;
}

Test(exit_status, runtime_statuses_each_have_their_own_words)
{
	static const int64_t distinct[] = {
		EXO_EXIT_SUCCESS, EXO_EXIT_PANIC, EXO_EXIT_BAD_LOAD, EXO_EXIT_NESTED_FAULT, EXO_EXIT_MMU,
		EXO_EXIT_BAD_DTB, EXO_EXIT_HEAP_POLICY, EXO_EXIT_BAD_OPTION,
		EXO_EXIT_UNKNOWN_OPTION, EXO_EXIT_STARTUP_QUOTA,
	};
	char seen[sizeof(distinct) / sizeof(distinct[0])][EXIT_STATUS_DESC_MAX];

	for (size_t i = 0; i < sizeof(distinct) / sizeof(distinct[0]); i++) {
		strcpy(seen[i], describe(distinct[i], 0, 0));
		cr_assert_null(strstr(seen[i], "guest's own"), "%ld: %s",
			       (long)distinct[i], seen[i]);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(seen[i], seen[j], "%ld and %ld",
					  (long)distinct[i], (long)distinct[j]);
	}
	for (int64_t st = EXO_EXIT_RUNTIME_MIN; st < EXO_EXIT_SYNC_BASE; st++)
		cr_assert_null(strstr(describe(st, 0, 0), "guest's own"),
			       "runtime status %ld has no words", (long)st);
	cr_assert_str_eq(describe(EXO_EXIT_UNKNOWN_OPTION, 0, 0),
			 "an option in args is neither libos's nor the "
			 "guest's");
	cr_assert_str_eq(describe(EXO_EXIT_MMU, 0, 0),
			 "libos could not turn the MMU on (the reason is "
			 "printed above)");
}

Test(exit_status, exceptions_name_the_class_and_address)
{
	cr_assert_str_eq(describe(EXO_EXIT_SYNC_BASE + ESR_EC_DABT_CUR, 0,
				  0x1000),
			 "unhandled data abort (same EL) at 0x1000");
	cr_assert_str_eq(describe(EXO_EXIT_SYNC_BASE + ESR_EC_UNKNOWN, 0,
				  0x40080),
			 "unhandled unknown reason (undefined instruction) at "
			 "pc 0x40080");
	cr_assert_str_eq(describe(EXO_EXIT_SYNC_BASE + ESR_EC_IABT_LOWER,
				  EXO_EXIT_CAUSE_NO_REGION, 0),
			 "unhandled instruction abort (lower EL) at 0x0 (the "
			 "address is in no region)");
	cr_assert_str_eq(describe(EXO_EXIT_ASYNC_BASE + EXO_EXIT_ASYNC_SERROR,
				  0, 0), "unhandled SError");
	cr_assert_str_eq(describe(EXO_EXIT_SYNC_BASE + 0x3f, 0, 8),
			 "unhandled unrecognised exception class at pc 0x8");
}

Test(exit_status, every_cause_has_a_name)
{
	cr_assert_null(exit_cause_name(EXO_EXIT_CAUSE_NONE));
	for (uint64_t c = 1; c < EXO_EXIT_CAUSES; c++)
		cr_assert_not_null(exit_cause_name(c), "cause %lu",
				   (unsigned long)c);
	cr_assert_null(exit_cause_name(EXO_EXIT_CAUSES));
	cr_assert_null(exit_cause_name(UINT64_MAX));
}

Test(exit_status, a_guest_cannot_make_it_lie_or_overflow)
{
	char small[12];

	cr_assert_str_eq(describe(1, 0, 0),
			 "the guest's own status (main returned it)");
	cr_assert_str_eq(describe(7, 0, 0),
			 "the guest's own status (main returned it)");
	cr_assert_str_eq(describe(-5, 0, 0),
			 "the guest's own status (main returned it)");
	cr_assert_str_eq(describe(3, 999, 0),
			 "the guest's own status (main returned it) (cause "
			 "999, not one the ABI defines)");
	cr_assert_str_eq(describe(INT64_MAX, UINT64_MAX, UINT64_MAX),
			 "the guest's own status (main returned it) (cause "
			 "18446744073709551615, not one the ABI defines)");
	memset(small, 'x', sizeof(small));
	exit_status_describe(EXO_EXIT_SYNC_BASE + ESR_EC_DABT_CUR,
			     EXO_EXIT_CAUSE_STACK_OVERFLOW, 0xffff, small,
			     sizeof(small));
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	exit_status_describe(0, 0, 0, small, 0);  /* size 0: writes nothing */
	cr_assert_eq(small[0], 'u');
}
