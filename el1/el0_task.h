/*
 * EL0 tasks from a guest's point of view: task functions live in the image's
 * user section (EL1_TASK_FN, EL1_TASK_RODATA for their constants; they may
 * call only other task functions and libos/task/usys.h), el1_task_spawn
 * starts one at EL0 in its own address space, el1_tasks_run runs them all
 * until none is runnable. el1 enters EL0 and takes its exceptions: system
 * calls go to libos (libos/task/task.h), faults libos cannot resolve kill
 * the task with a report, never the guest.
 */
#ifndef EXO_EL1_EL0_TASK_H
#define EXO_EL1_EL0_TASK_H

#include <libos/task/task.h>
#include <stdint.h>

/* Task code: no stack protector (its guard is the library OS's), not
 * inlined into library OS code, placed where tasks can run it. */
#define EL1_TASK_FN                                                          \
	__attribute__((section(".user.text"), noinline, used,                \
		       no_stack_protector))
#define EL1_TASK_RODATA __attribute__((section(".user.rodata")))

typedef int (*el1_task_fn)(uint64_t arg);

/* After main starts: address spaces, ASIDs (--asid-bits=N caps them),
 * handlers for SVC and EL0 exceptions. 0 or -errno. */
int el1_tasks_init(void);
/* Task id, or -errno. fn must be an EL1_TASK_FN. */
int el1_task_spawn(el1_task_fn fn, uint64_t arg);
void el1_tasks_run(void);

#endif
