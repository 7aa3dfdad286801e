/*
 * reader_run(shared, control, slot, good): a started vCPU's read loop
 * (cpurace's readers, main.c), in assembly so that nothing compiled sits
 * between its loads, and with its own exception vectors: a started vCPU
 * may not use el1's (el1/smp.h), and the abort it waits for must end its
 * loop. Each round loads the control word with acquire, then a word of
 * the shared frame:
 *   - a value other than `good` (the owner's poison after it took the
 *     frame back): stored in slot[POISON], the loop ends;
 *   - control was set and the load still succeeded: slot[LATE] = 1, the
 *     loop ends (a read after the unshare completed);
 *   - a synchronous abort (stage 2, reflected by EL2): ESR_EL1 into
 *     slot[ESR], slot[ABORTED] = 1, the loop ends.
 * slot[READS] counts the successful loads. Returns to its caller.
 */
#define READS 0
#define LATE 8
#define POISON 16
#define ABORTED 24
#define ESR 32
#define VECTOR_CUR_SPX_SYNC 0x200
#define VECTOR_TABLE_ALIGN 11     /* 2 KiB */

	.text
	.global reader_run
	.type reader_run, %function
reader_run:
	adr	x9, reader_vectors
	msr	vbar_el1, x9
	isb
1:	ldar	x4, [x1]
	ldr	x5, [x0]
	cmp	x5, x3
	b.ne	3f
	ldr	x6, [x2, #READS]
	add	x6, x6, #1
	str	x6, [x2, #READS]
	cbz	x4, 1b
	mov	x6, #1
	str	x6, [x2, #LATE]
	b	reader_done
3:	str	x5, [x2, #POISON]
reader_done:
	ret
	.size reader_run, . - reader_run

	/* Only the current-EL SPx synchronous entry is ever taken (the
	 * reader runs at EL1h with interrupts masked); the others spin, so
	 * that a surprise shows as a vCPU that never turns off. */
	.balign	1 << VECTOR_TABLE_ALIGN
reader_vectors:
	.rept	VECTOR_CUR_SPX_SYNC / 4
	b	.
	.endr
	mrs	x6, esr_el1
	str	x6, [x2, #ESR]
	mov	x6, #1
	str	x6, [x2, #ABORTED]
	adr	x6, reader_done
	msr	elr_el1, x6
	eret
