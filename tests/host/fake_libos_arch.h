/*
 * Host replacements for libos/arch.h: descriptor stores, barriers and TLBIs
 * are recorded, and a break-before-make checker watches every store to a
 * table reachable from the configured TTBRs (tests/host/walker.h finds
 * them). Tests read the counters and the first violation.
 */
#ifndef EXO_TESTS_FAKE_LIBOS_ARCH_H
#define EXO_TESTS_FAKE_LIBOS_ARCH_H

#include "walker.h"

#include <stdbool.h>
#include <stdint.h>

enum fake_tlbi {
	FAKE_TLBI_VAE1IS,
	FAKE_TLBI_VALE1IS,
	FAKE_TLBI_VAAE1IS,
	FAKE_TLBI_VAALE1IS,
	FAKE_TLBI_ASIDE1IS,
	FAKE_TLBI_KINDS,
};

#define FAKE_TLBI_LOG 256
#define FAKE_PENDING_MAX 1024

struct fake_pending {
	uint64_t *slot;
	uint64_t va, size;
	bool table, global;
	int state;                  /* see fake_libos_arch.c */
};

struct fake_libos {
	const struct walker_cfg *cfg;   /* NULL: checker off */
	uint16_t asid;                  /* ASID of non-global entries */
	unsigned writes, dsb_ishst, dsb_ish, isb;
	unsigned tlbi[FAKE_TLBI_KINDS];
	struct {
		enum fake_tlbi kind;
		uint64_t op;
	} tlbi_log[FAKE_TLBI_LOG];
	unsigned nr_tlbi_log;
	struct fake_pending pending[FAKE_PENDING_MAX];
	unsigned nr_pending;
	unsigned violations;
	char first_violation[256];
	/* MMU registers libos wrote, and TLBI VMALLE1IS count. */
	uint64_t tcr, ttbr0;
	unsigned ttbr0_writes, vmalle1is;
	/* User copies (libos_arch_copy_*_user): returns bytes not copied;
	 * NULL copies nothing. to_user: kbuf is the source. */
	uint64_t (*uaccess)(void *kbuf, uint64_t uaddr, uint64_t n,
			    bool to_user);
};

/* libos_arch_uaccess_fixup knows one user-copy instruction: faults a fake
 * user copy reports at FAKE_UACCESS_PC resume at FAKE_UACCESS_FIXUP. */
#define FAKE_UACCESS_PC UINT64_C(0xffff000000a0c000)
#define FAKE_UACCESS_FIXUP (FAKE_UACCESS_PC + 0x100)

extern struct fake_libos fake_libos;

/* Clears counters and the checker; cfg may be NULL. */
void fake_libos_reset(const struct walker_cfg *cfg, uint16_t asid);
/* The TTBRs changed (a table was created): re-read the table tree. */
void fake_libos_tables_changed(void);
/*
 * Call between operations: every entry taken down must have been
 * invalidated in the TLBs by now. Returns the violation count.
 */
unsigned fake_libos_quiescent(void);

#endif
