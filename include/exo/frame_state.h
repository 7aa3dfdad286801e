/*
 * Frame ownership states as EL2's frame DB keeps them and FRAME_QUERY
 * reports them. See docs/memory-model.md.
 */
#ifndef EXO_FRAME_STATE_H
#define EXO_FRAME_STATE_H

enum exo_frame_state {
	EXO_FRAME_NONE = 0,   /* not RAM EL2 manages */
	EXO_FRAME_FREE = 1,   /* in EL2's pool, scrubbed */
	EXO_FRAME_HYP = 2,    /* EL2's own: image, tables, DB */
	EXO_FRAME_OWNED = 3,  /* exclusively one guest's */
	EXO_FRAME_SHARED = 4, /* owned by one guest, shared with borrowers */
	EXO_FRAME_LENT = 5,   /* lent exclusively to another guest */
	EXO_FRAME_DEVICE = 6, /* MMIO assigned to a guest */
};

#endif
