/*
 * What an hvcfuzz guest knows it holds, and the statuses EL2 may answer a
 * call with given that (docs/abi.md, docs/memory-model.md "Errors"). Owns:
 * the guest's table of its frames. Never: makes a hypercall itself except
 * FRAME_QUERY, at start (to find the frames it runs on) and when its peer
 * has ended (to see which loans came back).
 */
#ifndef HVCFUZZ_MODEL_H
#define HVCFUZZ_MODEL_H

#include <exo/hypercall.h>
#include <stdbool.h>
#include <stdint.h>

#define MODEL_RAM_BASE 0x40000000ul   /* the test systems' RAM: 1 GiB */
#define MODEL_RAM_SIZE 0x40000000ul
#define MODEL_EL2_IMAGE 0x40200000ul  /* a frame of EL2's image */
#define MODEL_CALL_ARGS 7
#define MODEL_SLOTS 4096u             /* > any quota a fuzz guest gets */

/* A call: its ID and x1-x7. */
struct model_call {
	uint32_t fid;
	uint64_t x[MODEL_CALL_ARGS];
};

/* One frame the guest knows it owns (key: frame number; 0 = empty). */
struct model_slot {
	uint32_t frame;
	uint8_t state;   /* enum model_hold */
};

struct model {
	uint64_t me, peer, quota;
	bool peer_runs;
	bool el2_image_hyp;  /* MODEL_EL2_IMAGE answered HYP at start */
	bool big_runs;       /* a 2 MiB block may map some of its frames */
	uint64_t nr_held;
	/* The frames it runs on (image, stack, tables, heap): found at start,
	 * never freed, lent, donated or shared by the fuzzer. */
	uint64_t vital_lo, vital_hi;
	struct model_slot slot[MODEL_SLOTS];
	/* Its offers to the peer not yet withdrawn (docs/abi.md, "Consent"):
	 * the peer never accepts one (its ACCEPTs are drawn at random), so
	 * they stay until withdrawn or the peer ends. */
	struct model_offer {
		uint64_t pa, n;
		uint32_t kind;   /* EXO_OFFER_* */
	} offer[EXO_OFFERS_MAX];
	unsigned nr_offers;
};

void model_init(struct model *m, uint64_t me, uint64_t peer, uint64_t quota,
		bool el2_image_hyp);
/* Finds the frames the guest owns before fuzzing (FRAME_QUERY on all of
 * RAM): the ones it runs on. */
void model_scan_own(struct model *m);
/* Would a call change frames the guest runs on? Such calls are not made. */
bool model_touches_vital(const struct model *m, const struct model_call *c);
/* The PA of one of its frames picked by r, or the RAM base. */
uint64_t model_some_frame(const struct model *m, uint64_t r);
/* A bitmask of the statuses (bit -s for status s) EL2 may answer. */
uint32_t model_predict(const struct model *m, const struct model_call *c);
/* After the call: what changed (a successful call), and whether its
 * results agree with what the guest holds (a FRAME_QUERY's state and
 * access; FRAME_ALLOC's frames must be none it holds; a frame call
 * handled as many frames as its bound allows). */
bool model_learn(struct model *m, const struct model_call *c,
		 const struct exo_ret *r);
/* The peer has ended: its shares and loans are back (or loans freed),
 * the offers to it gone. */
void model_peer_ended(struct model *m);
bool model_is_memory_call(uint32_t fid);
const char *model_call_name(uint32_t fid);

#endif
