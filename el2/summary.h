/* The table EL2 prints when every guest has ended. */
#ifndef EXO_EL2_SUMMARY_H
#define EXO_EL2_SUMMARY_H

#include <el2/vm.h>
#include <stdbool.h>

struct summary_totals {
	uint64_t frames_free, frames_hyp, frames_other;
	unsigned vmids_per_generation;  /* el2/vmid.h */
	uint64_t vmid_rollovers;
};

/* Prints a row per VM and a closing verdict line; returns true when every
 * VM exited with status 0 and no frame is left outside FREE/HYP. */
bool summary_print(const struct vm *vms, unsigned nr,
		   const struct summary_totals *t, uint64_t timer_freq);

#endif
