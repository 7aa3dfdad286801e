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
 * the borrower sees the frames at IPA == PA with that permission; the owner
 * keeps them. Only towards guests the manifest's share-with names. */
#define EXO_HVC_FRAME_SHARE EXO_HVC(10)
/* x1 = PA, x2 = count, x3 = borrower id: the borrower loses access now */
#define EXO_HVC_FRAME_UNSHARE EXO_HVC(11)
/* x1 = PA, x2 = count, x3 = borrower id: exclusive loan; the owner loses
 * access until it reclaims */
#define EXO_HVC_FRAME_LEND EXO_HVC(12)
/* x1 = PA, x2 = count, x3 = borrower id: the loan ends; contents kept */
#define EXO_HVC_FRAME_RECLAIM EXO_HVC(13)
/* x1 = PA, x2 = count, x3 = recipient id: ownership moves for good, with
 * the contents; charged to the recipient's quota */
#define EXO_HVC_FRAME_DONATE EXO_HVC(14)
/* x1 = VM id: wakes that guest's EXO_HVC_WAIT (or makes its next one return
 * at once). Only towards guests the manifest's share-with names. */
#define EXO_HVC_NOTIFY EXO_HVC(15)
/* Blocks until another guest notifies this one -> x1 = bitmask of the VM
 * ids that notified since the last WAIT */
#define EXO_HVC_WAIT EXO_HVC(16)

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

/* Events, and the virtual interrupt (a PPI of the guest's virtual GIC CPU
 * interface) EL2 raises when one becomes pending. */
#define EXO_EVENT_INTID 23u
#define EXO_EVENT_REVOKE_REQUEST (1u << 0) /* give back frames: see x2, x3 */
#define EXO_EVENT_REVOKED (1u << 1)        /* EL2 took frames: see REVOKED */
#define EXO_EVENT_NOTIFY (1u << 2)         /* a guest notified: see WAIT */

/* VM ids are 1..EXO_MAX_VMS - 1 (0 is EL2, nobody's): WAIT's x1 has one
 * bit per id. A guest's manifest name, which VM_LOOKUP takes, is at most
 * EXO_VM_NAME_MAX bytes (two registers, NUL padded). */
#define EXO_MAX_VMS 64
#define EXO_VM_NAME_MAX 15

#define EXO_SHARE_R 1u
#define EXO_SHARE_RW 2u

#define EXO_ABI_VERSION 0x00010002u /* major 1, minor 2: EXIT's cause */
#define EXO_CONSOLE_MAX 48          /* bytes in x2-x7 */

/* Argument limits, checked before anything else: larger values are
 * EXO_EINVAL whatever the state of memory. */
#define EXO_FRAME_MAX_COUNT (1ul << 20)   /* frames in one call (4 GiB) */
#define EXO_FRAME_MAX_ALIGN_LOG2 18       /* 1 GiB alignment */
#define EXO_FRAME_ALLOC_FLAGS 0ul         /* no flags defined yet: must be 0 */

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

/* The emulated console: a PL011 data register at this IPA. A byte stored
 * there prints on EL2's console with the guest's "[name] " prefix. */
#define EXO_CONSOLE_IPA 0x09000000ul

#endif
