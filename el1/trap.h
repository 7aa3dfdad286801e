/*
 * EL1 exception entry: the frame el1/vectors.S saves and the handler table
 * the library OS fills. Handlers decide; el1 only dispatches, and reports
 * and exits when nobody handled an exception. Never reached from EL2.
 */
#ifndef EXO_EL1_TRAP_H
#define EXO_EL1_TRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Laid out as el1/vectors.S stores it (offsets checked in el1/trap.c). */
struct el1_frame {
	uint64_t x[31];
	uint64_t sp;		/* SP_EL1 before the exception (read-only) */
	uint64_t elr;
	uint64_t spsr;
	uint64_t esr;
	uint64_t far;
	uint64_t kind;		/* vector slot: (group << 2) | type */
	uint64_t sp_el0;
	/* No FP/SIMD registers: el1 never touches them (-mgeneral-regs-only),
	 * so they hold what the interrupted code left there. */
};

/* Vector groups and types, as in the Arm ARM's vector table. */
enum el1_trap_group {
	EL1_TRAP_CUR_SP0,	/* from EL1 with SP_EL0: never used by el1 */
	EL1_TRAP_CUR_SPX,	/* from EL1 with SP_EL1 */
	EL1_TRAP_LOWER_A64,	/* from EL0, AArch64 */
	EL1_TRAP_LOWER_A32,	/* from EL0, AArch32: not supported */
};
enum el1_trap_type { EL1_TRAP_SYNC, EL1_TRAP_IRQ, EL1_TRAP_FIQ,
		     EL1_TRAP_SERROR };

#define EL1_TRAP_GROUP(kind) (((kind) >> 2) & 3)
#define EL1_TRAP_TYPE(kind) ((kind) & 3)
#define EL1_EC_COUNT 64		/* ESR_ELx.EC is 6 bits */

/*
 * A handler returns true when it dealt with the exception: el1 then restores
 * the frame (a handler may change x[], elr, spsr, sp_el0; never sp) and
 * returns with ERET. A handler never touches FP/SIMD registers (el1 saves
 * none; compiled C cannot, -mgeneral-regs-only). false means "not mine":
 * el1 reports it and exits with EXO_EXIT_SYNC_BASE + EC
 * (exo/exit_status.h), passing EL2 the fault address (FAR for an abort,
 * else ELR) and the cause a handler gave with el1_trap_decline.
 */
typedef bool (*el1_sync_fn)(struct el1_frame *frame);
typedef bool (*el1_irq_fn)(struct el1_frame *frame);

/* Synchronous exceptions of class ec from EL1 (SP_EL1) or EL0 (AArch64).
 * Returns the previous handler, so a handler may chain to it. NULL removes. */
el1_sync_fn el1_set_sync_handler(unsigned ec, el1_sync_fn fn);
/* Synchronous exceptions from EL0 that no class handler took (el1/el0_task.c
 * kills the task). Returns the previous one. */
el1_sync_fn el1_set_lower_fallback(el1_sync_fn fn);
/* IRQs from EL1 or EL0; returns the previous handler. */
el1_irq_fn el1_set_irq_handler(el1_irq_fn fn);

/* A handler about to return false (and only then) says why it could not
 * resolve the exception (EXO_EXIT_CAUSE_*): the guest's exit carries it to EL2's
 * summary if no one else handles the exception. */
void el1_trap_decline(uint64_t cause);

/* How deep class handlers are nested now on the calling vCPU
 * (el1/vectors.S counts it around each call, in el1/this_cpu.h; el1/trap.c
 * ends a guest nested past its limit): read by tests, which check that
 * every path to a handler counts it. */
unsigned el1_handler_depth_now(void);

/* A vCPU besides the boot one is about to start (el1_cpu_start), or its
 * function has returned and it touches libos no more: libos's lock-free
 * fast paths are off while any is on (libos/lock.h). */
void el1_smp_cpu_on(void);
void el1_smp_cpu_off(void);

/* Called by el1/vectors.S only: the exceptions it does not take
 * straight to a class handler, and a class handler's "not mine". */
void el1_trap(struct el1_frame *frame);
void el1_trap_declined(struct el1_frame *frame);

/* Decoding, for reports. */
const char *el1_ec_name(unsigned ec);
/* One line describing the syndrome, e.g. "translation fault, level 3, read". */
void el1_describe_iss(uint64_t esr, char *buf, size_t size);
/* The full report of an exception nobody handled. */
void el1_trap_report(const struct el1_frame *frame);

#endif
