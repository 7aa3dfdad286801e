/*
 * Catching the aborts EL2 reflects into a guest (stage-2 violations arrive
 * as synchronous external aborts): a handler records the syndrome and
 * resumes after the faulting instruction, so a test can probe memory it
 * must not reach and check what happened.
 */
#ifndef EXO_TESTS_FAULTCATCH_H
#define EXO_TESTS_FAULTCATCH_H

#include <arch/esr.h>
#include <el1/trap.h>
#include <stdint.h>

struct caught {
	unsigned count;
	uint64_t esr, far;
};

static volatile struct caught caught;

static bool catch_data_abort(struct el1_frame *f)
{
	caught.count++;
	caught.esr = f->esr;
	caught.far = f->far;
	f->elr += 4;
	return true;
}

/* An instruction fetch from a forbidden page: return to the caller. */
static bool catch_insn_abort(struct el1_frame *f)
{
	caught.count++;
	caught.esr = f->esr;
	caught.far = f->far;
	f->elr = f->x[30];
	return true;
}

static inline void faultcatch_install(void)
{
	el1_set_sync_handler(ESR_EC_DABT_CUR, catch_data_abort);
	el1_set_sync_handler(ESR_EC_IABT_CUR, catch_insn_abort);
}

/* Did the last probe end in a synchronous external abort at pa? */
static inline bool faultcatch_external(unsigned before, uint64_t pa)
{
	return caught.count == before + 1 &&
	       FSC_KIND(ESR_ISS(caught.esr) & 0x3f) == FSC_SYNC_EXTERNAL &&
	       caught.far == pa;
}

static inline uint64_t probe_read(uint64_t pa)
{
	return *(volatile uint64_t *)(uintptr_t)pa;
}

static inline void probe_write(uint64_t pa, uint64_t v)
{
	*(volatile uint64_t *)(uintptr_t)pa = v;
}

static inline void probe_exec(uint64_t pa)
{
	((void (*)(void))(uintptr_t)pa)();
}

#endif
