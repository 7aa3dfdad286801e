/*
 * The exo hypercall ABI: function IDs and argument conventions.
 *
 * HVC #0, SMCCC 1.1: function ID in x0, arguments in x1-x7, status in x0
 * (EXO_OK or a negative error from exo/errors.h), results in x1-x3.
 * IDs are SMC64 fast calls in the vendor-specific-hypervisor range
 * (owner 6). PSCI calls go through the same HVC path. docs/abi.md is the
 * full reference.
 */
#ifndef EXO_HVC_H
#define EXO_HVC_H

#define EXO_SMCCC_FAST (1u << 31)
#define EXO_SMCCC_64 (1u << 30)
#define EXO_SMCCC_OWNER_VENDOR_HYP (6u << 24)
#define EXO_HVC_BASE (EXO_SMCCC_FAST | EXO_SMCCC_64 | EXO_SMCCC_OWNER_VENDOR_HYP)
#define EXO_HVC(n) (EXO_HVC_BASE | (n))

/* -> x1 = EXO_ABI_VERSION */
#define EXO_HVC_VERSION EXO_HVC(0)
/* x1 = byte count (<= EXO_CONSOLE_MAX), x2-x7 = bytes, little-endian */
#define EXO_HVC_CONSOLE_WRITE EXO_HVC(1)
/* x1 = count, x2 = log2 alignment in frames, x3 = flags -> x1 = PA of a
 * contiguous run of count frames, zeroed, mapped RW at IPA == PA */
#define EXO_HVC_FRAME_ALLOC EXO_HVC(2)
/* x1 = PA, x2 = count: allocate exactly these free frames */
#define EXO_HVC_FRAME_ALLOC_AT EXO_HVC(3)
/* x1 = PA, x2 = count: give owned frames back (scrubbed) */
#define EXO_HVC_FRAME_FREE EXO_HVC(4)
/* x1 = PA -> x1 = enum exo_frame_state, x2 = 1 if the caller may access it */
#define EXO_HVC_FRAME_QUERY EXO_HVC(5)
/* -> x1 = VM id, x2 = quota (frames), x3 = frames charged now */
#define EXO_HVC_VM_INFO EXO_HVC(6)
/* give up the rest of the time slice */
#define EXO_HVC_YIELD EXO_HVC(7)
/* x1 = exit status, x2 = cause, x3 = address (exo/exit_status.h: what
 * EL2's summary prints of why); does not return */
#define EXO_HVC_EXIT EXO_HVC(8)

/* x1, x2 = a guest's manifest name, up to 15 bytes, little-endian, NUL
 * padded -> x1 = its VM id */
#define EXO_HVC_VM_LOOKUP EXO_HVC(9)
/* x1 = PA, x2 = count, x3 = borrower id, x4 = EXO_SHARE_R or EXO_SHARE_RW:
 * offers the borrower a view of the frames at IPA == PA with that
 * permission (the owner keeps them); the borrower sees them once it
 * accepts (FRAME_ACCEPT). Only towards guests the manifest's share-with
 * names. LEND and DONATE below are offers too: nothing reaches another
 * guest's stage 2 or quota before it accepts (docs/abi.md, "Consent"). */
#define EXO_HVC_FRAME_SHARE EXO_HVC(10)
/* x1 = PA, x2 = count, x3 = borrower id: the borrower loses access now;
 * a share of exactly that range still only offered is withdrawn */
#define EXO_HVC_FRAME_UNSHARE EXO_HVC(11)
/* x1 = PA, x2 = count, x3 = borrower id: exclusive loan; the owner loses
 * access until it reclaims */
#define EXO_HVC_FRAME_LEND EXO_HVC(12)
/* x1 = PA, x2 = count, x3 = borrower id: the loan ends; contents kept. A
 * loan or donation of exactly that range still only offered is withdrawn */
#define EXO_HVC_FRAME_RECLAIM EXO_HVC(13)
/* x1 = PA, x2 = count, x3 = recipient id: ownership moves for good, with
 * the contents, when the recipient accepts; charged to its quota then */
#define EXO_HVC_FRAME_DONATE EXO_HVC(14)
/* x1 = VM id: wakes that guest's EXO_HVC_WAIT (or makes its next one return
 * at once). Only towards guests the manifest's share-with names. */
#define EXO_HVC_NOTIFY EXO_HVC(15)
/* Blocks until another guest notifies this one. Notifiers come a window of
 * EXO_WAIT_WINDOW ids at a time, the lowest pending window first -> x1 =
 * bitmask of the window's ids that notified since they were last returned
 * (bit n: VM id x2 + n), x2 = the window's first id (a multiple of
 * EXO_WAIT_WINDOW), x3 = 1 if other windows still have notifiers (the next
 * WAIT returns at once), else 0. x1 = 0: woken by an event or an interrupt,
 * no notifier (x2 and x3 mean nothing then). */
#define EXO_HVC_WAIT EXO_HVC(16)
#define EXO_WAIT_WINDOW 64u

/* -> x1 = pending events (EXO_EVENT_*, cleared by this call), x2 = frames
 * EL2 still asks back (0: none), x3 = the guest's CPU time left before EL2
 * takes them by force, in microseconds */
#define EXO_HVC_EVENTS EXO_HVC(17)
/* x1 = index -> x1 = PA, x2 = count: the index-th run EL2 took by force;
 * EXO_ENOENT past the last. Valid until REVOKED_ACK. */
#define EXO_HVC_REVOKED EXO_HVC(18)
/* The guest has repaired its structures: EL2 forgets the runs it took (a
 * touch of one counts as a violation again). */
#define EXO_HVC_REVOKED_ACK EXO_HVC(19)
/* x1 = index -> x1 = PA, x2 = count, x3 = the list's generation: the
 * index-th run this guest lost through its owner (UNSHARE, RECLAIM, the
 * owner's end or forced revocation); EXO_ENOENT past the last. */
#define EXO_HVC_RECLAIMED EXO_HVC(23)
/* x1 = generation: forgets those runs (a touch counts as a violation
 * again); EXO_ESTATE if a run came since that generation (read again). */
#define EXO_HVC_RECLAIMED_ACK EXO_HVC(24)
/* The highest exo function ID defined: every ID above it is EXO_ENOTSUP. */
#define EXO_HVC_LAST EXO_HVC_RECLAIMED_ACK

/* Consent (docs/abi.md, "Consent"). x1 = PA, x2 = count, x3 = sender id,
 * x4 = EXO_OFFER_* kind: the recipient accepts exactly that offer; EL2
 * performs the share, loan or donation then, charged to the recipient. */
#define EXO_HVC_FRAME_ACCEPT EXO_HVC(20)
/* x1 = PA, x2 = count, x3 = owner id: a borrower unmaps its own view of a
 * share it accepted */
#define EXO_HVC_FRAME_DROP EXO_HVC(21)
/* x1 = index -> x1 = sender id | kind << 32 (EXO_OFFER_SENDER/KIND), x2 =
 * PA, x3 = count: the index-th offer made to the caller; EXO_ENOENT past
 * the last */
#define EXO_HVC_FRAME_OFFER EXO_HVC(22)

/* What an offer gives: a view (R or RW, the EXO_SHARE_* values), a loan,
 * or the frames for good. */
#define EXO_OFFER_SHARE_R 1u
#define EXO_OFFER_SHARE_RW 2u
#define EXO_OFFER_LEND 3u
#define EXO_OFFER_DONATE 4u
#define EXO_OFFER_SENDER(x1) ((x1) & 0xffffffffu)
#define EXO_OFFER_KIND(x1) ((x1) >> 32)
/* Offers one guest may have outstanding (made, neither accepted nor
 * withdrawn) at a time: EXO_EFULL beyond. */
#define EXO_OFFERS_MAX 16u

/* Events, and the virtual interrupt (a PPI of the guest's virtual GIC CPU
 * interface) EL2 raises when one becomes pending. */
#define EXO_EVENT_INTID 23u
/* The vCPU's virtual timer (CNTV_*_EL0): this PPI when its condition is
 * met, with CNTV_CTL_EL0.IMASK set by EL2; writing CTL re-arms it
 * (docs/abi.md, "Interrupts"). */
#define EXO_VTIMER_INTID 27u
#define EXO_EVENT_REVOKE_REQUEST (1u << 0) /* give back frames: see x2, x3 */
#define EXO_EVENT_REVOKED (1u << 1)        /* EL2 took frames: see REVOKED */
#define EXO_EVENT_NOTIFY (1u << 2)         /* a guest notified: see WAIT */
#define EXO_EVENT_OFFER (1u << 3)          /* a guest offered: see OFFER */
#define EXO_EVENT_RECLAIMED (1u << 4)      /* an owner took back: RECLAIMED */

/* VM ids are 1..EXO_MAX_VMS - 1 (0 is EL2, nobody's); WAIT returns them
 * a window at a time. A guest's manifest name, which VM_LOOKUP takes, is
 * at most EXO_VM_NAME_MAX bytes (two registers, NUL padded). */
#define EXO_MAX_VMS 1024
#define EXO_VM_NAME_MAX 15
/* Guests one frame may be shared with at once: ACCEPT of one more share
 * of it is EXO_EFULL. */
#define EXO_SHARE_MAX_BORROWERS 7

#define EXO_SHARE_R 1u
#define EXO_SHARE_RW 2u

/* major 3: VM ids up to EXO_MAX_VMS - 1 (1,023), so WAIT returns its
 * notifiers a window at a time (x1 mask, x2 window, x3 more); 2.1 (kept in
 * 3.0): FRAME_ALLOC's flag EXO_FRAME_ALLOC_NOZERO; major 2:
 * FRAME_SHARE/LEND/DONATE are offers the recipient accepts (FRAME_ACCEPT),
 * and the calls of the lost-runs list (RECLAIMED) */
#define EXO_ABI_VERSION 0x00030000u
#define EXO_CONSOLE_MAX 48          /* bytes in x2-x7 */

/* Argument limits, checked before anything else: larger values are
 * EXO_EINVAL whatever the state of memory. */
#define EXO_FRAME_MAX_COUNT (1ul << 20)   /* frames in one call (4 GiB) */
#define EXO_FRAME_MAX_ALIGN_LOG2 18       /* 1 GiB alignment */
/* FRAME_ALLOC's x3. NOZERO: the caller does not need the frame zeroed,
 * so a one-frame call may give back, unscrubbed, the frame the caller
 * itself freed last, holding what it left there (never another guest's
 * data, nor EL2's: docs/abi.md, "Frames not zeroed"). */
#define EXO_FRAME_ALLOC_NOZERO 1ul
#define EXO_FRAME_ALLOC_FLAGS EXO_FRAME_ALLOC_NOZERO  /* every defined flag */

/* Bounded work (docs/abi.md, "Bounded work per call"): FRAME_ALLOC,
 * FRAME_ALLOC_AT and FRAME_FREE map, unmap or scrub at most this many
 * frames per call and say how many they did (ALLOC: x2; ALLOC_AT, FREE:
 * x1); the guest calls again for the rest. 4 MiB: scrubbing it is about
 * 0.6 ms at QEMU's 1 instruction per ns. */
#define EXO_CALL_MAX_FRAMES 1024ul
/* VM_LOOKUP's x2: the guest runs (calls between guests reach it), or it is
 * restarting or still being scrubbed after its end (they say ENOENT). */
#define EXO_VM_ENDING 0ul
#define EXO_VM_RUNS 1ul

/* What a quota pays for beyond the frames themselves (docs/abi.md,
 * "Quotas"): the guest's stage-2 table pages. EL2 keeps
 * EXO_S2_TABLE_RESERVE pages beyond what its mappings need, charged; a
 * last-level stage-2 table maps EXO_S2_L3_TABLE_FRAMES frames (2 MiB), a
 * table of the level above EXO_S2_L2_TABLE_FRAMES (1 GiB). */
#define EXO_S2_TABLE_RESERVE 2u
#define EXO_S2_L3_TABLE_FRAMES 512u
#define EXO_S2_L2_TABLE_FRAMES (512u * 512u)

/* PSCI through the same HVC path (SMCCC standard-secure-service IDs). */
#define EXO_PSCI_VERSION 0x84000000u
#define EXO_PSCI_SYSTEM_OFF 0x84000008u   /* = EXIT(0) */
#define EXO_PSCI_SYSTEM_RESET 0x84000009u /* restart with fresh frames */
#define EXO_PSCI_VERSION_1_1 0x00010001u
/* x1 = a function ID -> 0 if EL2 answers it (PSCI's own calls, and
 * SMCCC_VERSION so that a guest goes on to ask SMCCC_ARCH_FEATURES), else
 * EXO_ENOTSUP */
#define EXO_PSCI_FEATURES 0x8400000Au
/* A guest's own vCPUs (manifest `cpus`, at most EXO_VM_MAX_VCPUS; vCPU n
 * has MPIDR affinity n in Aff0, the others 0; docs/abi.md, "vCPUs"):
 *   CPU_ON(x1 = target MPIDR, x2 = entry IPA, x3 = context): the vCPU
 *     starts at entry, EL1h, MMU off, x0 = context -> 0, or
 *     EXO_PSCI_INVALID_PARAMETERS (no such vCPU), EXO_PSCI_ALREADY_ON;
 *   CPU_OFF: the calling vCPU stops (no return) -> EXO_PSCI_DENIED when
 *     it is the guest's last vCPU on (SYSTEM_OFF ends a guest);
 *   AFFINITY_INFO(x1 = target MPIDR, x2 = 0) -> EXO_PSCI_AFF_ON / _OFF,
 *     or EXO_PSCI_INVALID_PARAMETERS. */
#define EXO_PSCI_CPU_OFF 0x84000002u
#define EXO_PSCI_CPU_ON 0xC4000003u
#define EXO_PSCI_AFFINITY_INFO 0xC4000004u
#define EXO_PSCI_AFF_ON 0
#define EXO_PSCI_AFF_OFF 1
#define EXO_PSCI_INVALID_PARAMETERS (-2)
#define EXO_PSCI_DENIED (-3)
#define EXO_PSCI_ALREADY_ON (-4)
#define EXO_VM_MAX_VCPUS 8u

/* SMCCC's architecture calls (Arm DEN0028), through the same HVC path. */
#define EXO_SMCCC_VERSION 0x80000000u       /* -> EXO_SMCCC_VERSION_1_1 */
#define EXO_SMCCC_VERSION_1_1 0x00010001u
/* x1 = a function ID -> 0 (implemented; for a workaround: needed and EL2
 * applies it), EXO_SMCCC_WA_UNAFFECTED (this CPU does not need it),
 * EXO_SMCCC_NOT_REQUIRED (WORKAROUND_2: not needed, or always on) or
 * EXO_ENOTSUP (not implemented; for a workaround: this CPU is vulnerable
 * and nothing mitigates it). docs/security.md, "Speculation". */
#define EXO_SMCCC_ARCH_FEATURES 0x80000001u
#define EXO_SMCCC_ARCH_WORKAROUND_1 0x80008000u  /* branch target injection */
#define EXO_SMCCC_ARCH_WORKAROUND_2 0x80007fffu  /* speculative store bypass */
#define EXO_SMCCC_ARCH_WORKAROUND_3 0x80003fffu  /* branch history (and 1) */
#define EXO_SMCCC_WA_UNAFFECTED 1
#define EXO_SMCCC_NOT_REQUIRED (-2)

/* The emulated console: a PL011 data register at this IPA. A byte stored
 * there prints on EL2's console with the guest's "[name] " prefix. */
#define EXO_CONSOLE_IPA 0x09000000ul

#endif
