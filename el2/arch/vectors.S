/*
 * EL2 exception vectors. Exceptions from EL2 itself save a struct
 * hyp_trap_frame (el2/hyp_trap.h) on the current stack and call
 * hyp_trap_entry(frame, kind); exceptions from a guest go to
 * el2_guest_trap_entry (guest.S).
 * The kind numbers are the vector slots: (group << 2) | type, group 0 =
 * current EL with SP_EL0, 1 = current EL with SP_ELx, 2 = lower EL AArch64,
 * 3 = lower EL AArch32; type 0 sync, 1 IRQ, 2 FIQ, 3 SError.
 */
#include <arch/vector_frame.h>
#include <el2/hvc_fast.h>

#define TRAP_KIND_LOWER_SYNC 8

#define TRAP_FRAME_SIZE 288
#define TF_ELR 256
#define TF_SPSR 264
#define TF_ESR 272
#define TF_FAR 280

	.macro	ventry kind
	.balign	0x80
	sub	sp, sp, #TRAP_FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	el2_trap_common
	.endm

	/* Lower-EL entries save straight into the running vCPU. ESB first:
	 * with FEAT_RAS an SError the guest's accesses raised and not yet
	 * taken is deferred into DISR_EL1 now, so it is the guest's, not the
	 * next one's (el2/ras.c); without FEAT_RAS it is a NOP. */
	.macro	ventry_guest kind, entry
	.balign	0x80
	hint	#16                       /* ESB */
	stp	x0, x1, [sp, #-16]!
	mov	x1, #\kind
	b	\entry
	.endm

	/* Lower-EL synchronous with the hypercall fast path (el2/hvc_fast.h):
	 * VERSION from HVC #0 is answered here, in the slot: x0 = EXO_OK,
	 * x1 = the ABI version, x2 and x3 = 0 (no result), every other
	 * register untouched. The function ID is checked first (x0 is still
	 * the guest's), then the syndrome; anything else goes to the entry
	 * of the table's variant (guest.S: HVC #0 saves less) with x0 and x1
	 * pushed, as ventry_guest does. */
	.macro	ventry_guest_sync_fast variant
	.balign	0x80
	hint	#16                       /* ESB */
	stp	x0, x1, [sp, #-16]!
	movz	w1, #HVC_FAST_VERSION_FID_HI, lsl #16
	cmp	w0, w1
	b.ne	el2_guest_sync_entry_\variant
	mrs	x0, esr_el2
	movz	x1, #(HVC_FAST_ESR >> 16), lsl #16
	cmp	x0, x1
	b.ne	el2_guest_sync_entry_\variant
	mov	x0, xzr                   /* EXO_OK */
	movz	x1, #HVC_FAST_ABI_VERSION_HI, lsl #16
	movk	x1, #HVC_FAST_ABI_VERSION_LO
	mov	x2, xzr
	mov	x3, xzr
	add	sp, sp, #16
	eret
	.endm

	/* A table: EL2's own exceptions, then a guest's; sync_lower names
	 * the macro of the lower-EL synchronous slot, variant its argument,
	 * exit where the guest's other slots go. */
	.macro	vector_table name, sync_lower, variant, exit
	.balign	2048
	.global	\name
\name:
	ventry	0
	ventry	1
	ventry	2
	ventry	3
	ventry	4
	ventry	5
	ventry	6
	ventry	7
	\sync_lower \variant
	ventry_guest	9, \exit
	ventry_guest	10, \exit
	ventry_guest	11, \exit
	ventry_guest	12, \exit
	ventry_guest	13, \exit
	ventry_guest	14, \exit
	ventry_guest	15, \exit
	.endm

	.macro	ventry_guest_sync_full variant
	ventry_guest	TRAP_KIND_LOWER_SYNC, el2_guest_trap_entry
	.endm

	.text
	/* With the fast path, one table for each variant of the HVC entry's
	 * exit checks (guest.S), alone on one CPU or _locked with several;
	 * without it (a guest injects faults, and the injector must see
	 * every call). arch_vectors_set picks one for every CPU; start.S
	 * boots on the generic one. */
	vector_table	el2_vectors, ventry_guest_sync_fast, generic, \
			el2_guest_trap_entry_generic
	vector_table	el2_vectors_ras, ventry_guest_sync_fast, ras, \
			el2_guest_trap_entry_ras
	vector_table	el2_vectors_noras, ventry_guest_sync_fast, noras, \
			el2_guest_trap_entry_noras
	vector_table	el2_vectors_generic_locked, ventry_guest_sync_fast, \
			generic_locked, el2_guest_trap_entry_generic
	vector_table	el2_vectors_ras_locked, ventry_guest_sync_fast, \
			ras_locked, el2_guest_trap_entry_ras
	vector_table	el2_vectors_noras_locked, ventry_guest_sync_fast, \
			noras_locked, el2_guest_trap_entry_noras
	vector_table	el2_vectors_full, ventry_guest_sync_full, none, \
			el2_guest_trap_entry

el2_trap_common:
	vframe_save_x2_x29
	vframe_save_x30_sp TRAP_FRAME_SIZE
	mrs	x1, elr_el2
	mrs	x2, spsr_el2
	stp	x1, x2, [sp, #TF_ELR]
	mrs	x1, esr_el2
	mrs	x2, far_el2
	stp	x1, x2, [sp, #TF_ESR]

	mov	x1, x0
	mov	x0, sp
	bl	hyp_trap_entry

	ldp	x1, x2, [sp, #TF_ELR]
	msr	elr_el2, x1
	msr	spsr_el2, x2
	vframe_restore_x0_x30
	add	sp, sp, #TRAP_FRAME_SIZE
	eret
