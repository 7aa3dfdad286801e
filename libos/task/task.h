/*
 * EL0 tasks as the library OS sees them: a table of tasks, each with its own
 * address space (libos/task/uspace.h: regions over a TTBR0 table) and saved
 * registers, a round-robin scheduler, and the system calls (mmap, munmap
 * and mprotect as regions of the task's space). Entering EL0 and taking exceptions from
 * it is el1's (el1/el0_task.c): it runs a task until libos_task_syscall says to
 * stop, or kills it.
 *
 * System-call ABI (SVC #0): number in x8, arguments in x0-x5, result in x0
 * (>= 0, or a negative Linux errno). Every pointer and length from EL0 is
 * checked against the TTBR0 half, and task memory is read and written only
 * with libos_arch_copy_*_user: a bad pointer is -EFAULT, never a fault of
 * the library OS.
 *
 * Portable: libos_tasks_setup takes the frames and table pages as callbacks
 * (host tests); libos_tasks_init wires the guest's pool and direct map.
 */
#ifndef EXO_LIBOS_TASK_TASK_H
#define EXO_LIBOS_TASK_TASK_H

#include <libos/task/uspace.h>
#include <stdbool.h>
#include <stdint.h>

enum libos_sys {
	LIBOS_SYS_WRITE = 1,     /* (fd 1|2, buf, len) -> bytes written */
	LIBOS_SYS_MMAP = 2,      /* (addr, len, prot, flags) -> addr */
	LIBOS_SYS_MUNMAP = 3,    /* (addr, len) */
	LIBOS_SYS_MPROTECT = 4,  /* (addr, len, prot) */
	LIBOS_SYS_EXIT = 5,      /* (status): does not return */
	LIBOS_SYS_YIELD = 6,     /* () */
	LIBOS_SYS_CLONE = 7,     /* () -> child id in the parent, 0 in the child */
	LIBOS_SYS_GETID = 8,     /* () -> task id */
};

#define LIBOS_PROT_READ 1u
#define LIBOS_PROT_WRITE 2u
#define LIBOS_PROT_EXEC 4u
#define LIBOS_PROT_ALL 7u
#define LIBOS_MAP_FIXED 1u       /* mmap: exactly at addr */
#define LIBOS_WRITE_MAX 4096     /* longer writes are cut (short count) */
#define LIBOS_TASK_STACK (UINT64_C(64) << 10)
#define LIBOS_TASKS_MAX 40

/* Saved EL0 state (as el1's trap frame, minus EL1's own fields). */
struct libos_task_regs {
	uint64_t x[31];
	uint64_t sp;             /* SP_EL0 */
	uint64_t pc;             /* ELR_EL1 */
	uint64_t pstate;         /* SPSR_EL1 */
	__uint128_t q[32];
	uint64_t fpsr, fpcr;
};

enum libos_task_state {
	LIBOS_TASK_FREE,
	LIBOS_TASK_RUNNABLE,
	LIBOS_TASK_EXITED,       /* status: what it passed to exit */
	LIBOS_TASK_KILLED,       /* status: 128 + ESR_EL1.EC */
};

struct libos_task {
	int id;                  /* 1.. */
	enum libos_task_state state;
	struct libos_task_regs regs;
	int64_t status;
	bool stop;               /* leave EL0 (yield, exit, kill) */
	bool on_cpu;             /* a vCPU runs it now (libos_tasks_run) */
	unsigned syscalls;
	/* Last: the system-call path reaches the fields above with short
	 * offsets. */
	struct uspace us;
};

/* Where task code is: frames mapped read-only, EL0-executable (never EL1)
 * at USPACE_CODE_VA in every task. A task's entry function returns to
 * USPACE_EXIT_VA, which is never mapped: that instruction fetch is exit(x0)
 * (libos_task_returned), so no exit stub is needed in the task's code. */
struct libos_task_code {
	uint64_t pa, size;       /* page-aligned */
};

/*
 * Target: address spaces over the guest's pool and direct map, ASIDs of
 * the CPU's width or "--asid-bits=N" (N < width: roll-over tests), faults
 * in the TTBR0 half routed here. 0 or -errno.
 */
int libos_tasks_init(int argc, char *const *argv,
		     const struct libos_task_code *code);
/* The portable core of libos_tasks_init (host tests). */
int libos_tasks_setup(const struct uspace_config *cfg,
		      const struct libos_task_code *code);

/*
 * Anonymous demand-zero memory in us, as mmap: *va = 0 picks the lowest
 * free range above USPACE_MMAP_BASE; else [*va, *va + size) must be free
 * (-EEXIST). prot: LIBOS_PROT_* (WRITE with EXEC is refused: W^X), 0 for
 * no access (mapped for EL1 only, so every EL0 touch faults). 0 or -errno.
 */
int libos_task_map_anon(struct uspace *us, uint64_t *va, uint64_t size,
			unsigned prot);

/* A task at code offset entry_off with x0 = arg and its own stack.
 * Returns its id or -errno. */
int libos_task_spawn(uint64_t entry_off, uint64_t arg);
struct libos_task *libos_task_get(int id);
/* The task the calling vCPU runs, or NULL. */
struct libos_task *libos_task_current(void);

/*
 * Round robin until no task is runnable: switches to each runnable task's
 * address space and calls enter(t), which runs it at EL0 until t->stop.
 * Tasks that exited or were killed lose their address space at once.
 * Several vCPUs may call it at once: each takes the runnable tasks no
 * other runs, and returns when none is left for it to take.
 */
void libos_tasks_run(void (*enter)(struct libos_task *t));

/* The system call in t->regs (x8, x0-x5); sets x0. false: leave EL0. */
bool libos_task_syscall(struct libos_task *t);
/* The registers a system call reads: x0..x8 (arguments and number). */
#define LIBOS_SYSCALL_REGS 9
/*
 * Whether system call nr reads nothing of t->regs but its first
 * LIBOS_SYSCALL_REGS registers and writes nothing but x0 (so the caller may
 * hand over only those, and the rest of the task's state when the call
 * says to leave EL0). false for clone (it copies the whole state) and for
 * anything unknown.
 */
bool libos_task_syscall_light(uint64_t nr);
void libos_task_kill(struct libos_task *t, int64_t status);
/* An instruction abort from EL0 at pc: the entry function returned (pc is
 * USPACE_EXIT_VA) and t exits with x0 (true), or not (false). */
bool libos_task_returned(struct libos_task *t, uint64_t pc);

/* How many times vCPU cpu entered a task (libos_tasks_run). */
unsigned libos_tasks_entered(unsigned cpu);

/* One line each, "tasks: ..." and "asid: ...". */
void libos_tasks_print_stats(void);

#endif
