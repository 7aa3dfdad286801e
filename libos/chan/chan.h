/*
 * libos/chan: a byte stream from one guest to another, built only from
 * EL2's primitives: a single-producer single-consumer ring in frames the
 * producer owns and offers read-write to the consumer (FRAME_SHARE), which
 * accepts it (FRAME_ACCEPT: the consumer's consent, docs/abi.md), NOTIFY when the other side may be waiting, WAIT when the ring is empty
 * (consumer) or full (producer). docs/libos.md, "Channels", has the whole
 * protocol; in short:
 *
 *  - head (bytes written, ever) is written only by the producer, tail
 *    (bytes read, ever) only by the consumer; each publishes with a
 *    store-release after the data, each reads the other's with a
 *    load-acquire before touching the data.
 *  - Before WAIT a side sets its `waiting` flag, DMB ISH, and looks again;
 *    after publishing, a side does DMB ISH and NOTIFYs if the other's flag
 *    is set (Dekker: one of the two always sees the other's store). NOTIFY
 *    is latched by EL2, so a NOTIFY before the WAIT is never lost.
 *  - Every WAIT is preceded by a liveness check of the peer (VM_LOOKUP of
 *    its name still gives its id): a side whose peer has ended gets
 *    CHAN_EPEER instead of blocking.
 *  - End of stream: the producer sets `closed` and NOTIFYs; the consumer
 *    drains, sets `done`, NOTIFYs and drops its view (FRAME_DROP); only
 *    then does the producer unshare (the consumer never touches the ring
 *    after `done`, so the unshare never faults it; an unshare after the
 *    drop changes nothing).
 *
 * Shared memory is never trusted: sizes and indices the peer wrote are
 * checked before use (CHAN_ECORRUPT).
 *
 * Portable: hardware through libos/arch.h, EL2 through a struct chan_env
 * (chan_env_el2 on target; the host tests drive interleavings with their
 * own).
 */
#ifndef EXO_LIBOS_CHAN_H
#define EXO_LIBOS_CHAN_H

#include <exo/frame.h>
#include <exo/hvc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAN_MAGIC 0x316e616863786f65ull   /* "eoxchan1" */
#define CHAN_HEADER_BYTES EXO_FRAME_SIZE    /* one frame, then the data */
#define CHAN_NAME_MAX (EXO_VM_NAME_MAX + 1) /* a peer's manifest name + NUL */

enum chan_error {
	CHAN_OK = 0,
	CHAN_EPEER = -1,    /* the peer has ended (or never existed) */
	CHAN_ECORRUPT = -2, /* the shared header holds impossible values */
	CHAN_ENOMEM = -3,   /* no frames for the ring */
	CHAN_EDENIED = -4,  /* EL2 refused to share (manifest share-with) */
	CHAN_EINVAL = -5,
};

/* The shared header; each side's fields on their own cache line. */
struct chan_shared {
	uint64_t magic;     /* written last by the producer (release) */
	uint64_t size;      /* data bytes: a power of two */
	uint64_t producer;  /* VM ids */
	uint64_t consumer;
	uint64_t pad0[4];
	/* producer's line */
	volatile uint64_t head;         /* bytes written, ever */
	volatile uint64_t closed;       /* no more bytes will come */
	volatile uint64_t prod_waiting; /* the producer may be in WAIT */
	uint64_t pad1[5];
	/* consumer's line */
	volatile uint64_t tail;         /* bytes read, ever */
	volatile uint64_t done;         /* the consumer has let go */
	volatile uint64_t cons_waiting; /* the consumer may be in WAIT */
	uint64_t pad2[5];
};

struct chan;

/* How a channel reaches EL2. alive says whether the peer still runs. */
struct chan_env {
	int64_t (*notify)(void *ctx, uint64_t vm);
	uint64_t (*wait)(void *ctx);
	bool (*alive)(void *ctx, const struct chan *c);
	void *ctx;
};

/* NOTIFY, WAIT and VM_LOOKUP through libos/el2.h. */
extern const struct chan_env chan_env_el2;

struct chan_stats {
	uint64_t bytes;          /* moved through this end */
	uint64_t waits;          /* WAITs made */
	uint64_t notifies;       /* NOTIFYs made */
	uint64_t full, empty;    /* times the ring was found full / empty */
};

struct chan {
	struct chan_shared *sh;
	uint8_t *data;
	uint64_t size, mask;
	bool producer;
	uint64_t self, peer;           /* VM ids */
	char peer_name[CHAN_NAME_MAX];
	const struct chan_env *env;
	uint64_t pa, frames;           /* the ring's frames (producer: owned) */
	struct chan_stats st;
};

/* --- over memory already shared (host tests; used by the calls below) ---- */

/* The producer formats [mem, mem + bytes): header, then a power-of-two data
 * area (the largest that fits). The consumer checks a formatted one. */
int chan_attach(struct chan *c, void *mem, uint64_t bytes, bool producer,
		uint64_t self, uint64_t peer, const struct chan_env *env);

/* Non-blocking: bytes written / read (0: full / empty, or closed). */
size_t chan_write(struct chan *c, const void *buf, size_t n);
int64_t chan_read(struct chan *c, void *buf, size_t n); /* or ECORRUPT */

/* Blocking: all n bytes, or CHAN_EPEER / CHAN_ECORRUPT. */
int chan_send(struct chan *c, const void *buf, size_t n);
/* Blocking: 1..n bytes, 0 at the end of the stream (closed and drained),
 * or a chan_error. */
int64_t chan_recv(struct chan *c, void *buf, size_t n);

/* Producer: no more bytes. */
void chan_close(struct chan *c);
/* Consumer: lets go of the ring for good (sets done, notifies). */
void chan_finish(struct chan *c);
/* Producer: waits until the consumer let go (CHAN_OK) or ended
 * (CHAN_EPEER). */
int chan_wait_done(struct chan *c);

/* --- between guests (target) ----------------------------------------------- */

/* Producer: a ring of 2^data_order data frames from the guest's pool,
 * formatted, offered read-write to guest `peer`, which is then notified. */
int chan_create(struct chan *c, const char *peer, unsigned data_order);
/* Consumer: waits for a read-write share offered by guest `peer`, accepts
 * it and maps it (a share that is not a ring for us is dropped again);
 * CHAN_ENOMEM when this guest's quota cannot take it (the offer stays). */
int chan_connect(struct chan *c, const char *peer);
/* Producer: unshares and frees the ring (after chan_wait_done). Consumer:
 * unmaps it and drops its view. */
void chan_destroy(struct chan *c);

const char *chan_strerror(int err);

#endif
