/*
 * A host test that asks (fake_halt_recover) gets control back when EL2
 * panics, with the panic's line, and can boot a new machine and go on:
 * what the model checker (model_check.c) relies on to report a panic as a
 * counterexample instead of crashing.
 */
#include "fake_arch.h"
#include "mem_machine.h"

#include <criterion/criterion.h>
#include <el2/frames.h>
#include <el2/mem.h>
#include <el2/s2.h>
#include <el2/vm.h>
#include <exo/errors.h>
#include <lib/panic.h>
#include <stdlib.h>
#include <string.h>

#define RAM_FRAMES 64u

static jmp_buf back;

Test(halt_recover, a_panic_returns_with_its_line_and_the_next_reports_again)
{
	volatile int panics = 0;

	fake_reset();
	fake_halt_recover = &back;
	if (!setjmp(back)) {
		panic("first %d", 1);
		cr_assert_fail("panic returned");
	}
	panics++;
	cr_expect_str_eq(fake_halt_line, "PANIC: first 1");
	panic_recovered();
	if (!setjmp(back)) {
		panic("second %d", 2);
		cr_assert_fail("panic returned");
	}
	panics++;
	fake_halt_recover = NULL;
	cr_expect_str_eq(fake_halt_line, "PANIC: second 2",
			 "a panic after panic_recovered reports its own line");
	cr_expect_eq(panics, 2);
}

/* A panic inside a memory call leaves mem's lock taken: a new boot frees
 * it, so the next call runs instead of spinning for ever. */
Test(halt_recover, a_machine_booted_after_a_panic_in_a_call_works)
{
	struct vm vm = { .id = 1, .state = VM_RUNNING };
	uint64_t *root = aligned_alloc(S2_ROOT_SIZE, S2_ROOT_SIZE);
	volatile bool panicked = false;
	paddr_t pa;

	cr_assert(mem_machine_map(RAM_FRAMES), "RAM at its PA");
	fake_reset();
	cr_assert_eq(mem_machine_boot(true, 0), 0);
	cr_assert_eq(mem_vm_create(&vm, RAM_FRAMES, root), EXO_OK);
	/* A FREE frame that is not zero although a scrub reached it (a
	 * frame RAM had at boot is scrubbed at its first hand-over, so it goes
	 * through a guest first; and it is freed while the frame above it is
	 * left unscrubbed for the guest, el2/mem.c, so its free scrubs it):
	 * the debug check panics in the allocation that hands it out, with
	 * mem's lock held. */
	cr_assert_eq(mem_frame_alloc_at(&vm, pa_init(MEM_MACHINE_BASE), 2),
		     EXO_OK);
	cr_assert_eq(mem_frame_free(&vm, pa_init(MEM_MACHINE_BASE +
						 EXO_FRAME_SIZE), 1), EXO_OK);
	cr_assert_eq(mem_frame_free(&vm, pa_init(MEM_MACHINE_BASE), 1), EXO_OK);
	*(volatile uint64_t *)(uintptr_t)MEM_MACHINE_BASE = 1;
	fake_halt_recover = &back;
	if (!setjmp(back))
		mem_frame_alloc(&vm, 1, 0, &pa);
	else
		panicked = true;
	fake_halt_recover = NULL;
	cr_assert(panicked, "the unscrubbed frame was handed out");
	cr_expect(strstr(fake_halt_line, "was not scrubbed"), "%s",
		  fake_halt_line);

	*(volatile uint64_t *)(uintptr_t)MEM_MACHINE_BASE = 0;
	panic_recovered();
	fake_reset();
	cr_assert_eq(mem_machine_boot(true, 0), 0);
	memset(&vm, 0, sizeof(vm));
	vm.id = 1;
	vm.state = VM_RUNNING;
	cr_assert_eq(mem_vm_create(&vm, RAM_FRAMES, root), EXO_OK);
	cr_expect_eq(mem_frame_alloc(&vm, 1, 0, &pa), EXO_OK);
	mem_vm_teardown(&vm);
	mem_machine_unmap();
	free(root);
}
