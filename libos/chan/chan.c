/*
 * libos/chan (chan.h): the ring, its wait/notify protocol, and setting a
 * channel up between two guests. Owns: the layout of the shared frames and
 * the order of every access to them. Never: trusts what the peer wrote,
 * blocks without first checking the peer still runs, or touches the ring
 * after letting go of it.
 */
#include "libos/chan/chan.h"

#include "libos/addr.h"
#include "libos/arch.h"
#include "libos/el2.h"
#include "libos/libos.h"
#include "libos/consent.h"

#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <string.h>

#define MIN_DATA_ORDER 4                /* 64 KiB */
#define MAX_DATA_ORDER 8                /* 1 + 2^8 frames fit a pool run */

_Static_assert(sizeof(struct chan_shared) <= CHAN_HEADER_BYTES,
	       "the header fits its frame");

/* --- EL2 through libos/el2.h ----------------------------------------------- */

static int64_t el2_notify(void *ctx, uint64_t vm)
{
	(void)ctx;
	return libos_el2_notify(vm);
}

static uint64_t el2_wait(void *ctx)
{
	(void)ctx;
	return libos_el2_wait();
}

/* The peer runs while its name still gives its VM id (a restarted guest
 * keeps its id but has lost the ring: its share ended with its frames). */
static bool el2_alive(void *ctx, const struct chan *c)
{
	uint64_t id;

	(void)ctx;
	return libos_el2_vm_lookup(c->peer_name, &id) == EXO_OK &&
	       id == c->peer;
}

const struct chan_env chan_env_el2 = { el2_notify, el2_wait, el2_alive,
				       NULL };

/* --- the ring ---------------------------------------------------------------- */

static uint64_t acquire(const volatile uint64_t *p)
{
	return libos_arch_load_acquire(p);
}

static void release(volatile uint64_t *p, uint64_t v)
{
	libos_arch_store_release(p, v);
}

int chan_attach(struct chan *c, void *mem, uint64_t bytes, bool producer,
		uint64_t self, uint64_t peer, const struct chan_env *env)
{
	struct chan_shared *sh = mem;
	uint64_t room, size;

	if (!mem || bytes <= CHAN_HEADER_BYTES || !env)
		return CHAN_EINVAL;
	memset(c, 0, sizeof(*c));
	room = bytes - CHAN_HEADER_BYTES;
	if (producer) {
		for (size = 1; size * 2 <= room; size *= 2)
			;
		memset(sh, 0, sizeof(*sh));
		sh->size = size;
		sh->producer = self;
		sh->consumer = peer;
		release(&sh->magic, CHAN_MAGIC);
	} else {
		if (acquire(&sh->magic) != CHAN_MAGIC)
			return CHAN_ECORRUPT;
		size = sh->size;
		if (!size || (size & (size - 1)) || size > room ||
		    sh->producer != peer || sh->consumer != self)
			return CHAN_ECORRUPT;
	}
	c->sh = sh;
	c->data = (uint8_t *)mem + CHAN_HEADER_BYTES;
	c->size = size;
	c->mask = size - 1;
	c->producer = producer;
	c->self = self;
	c->peer = peer;
	c->env = env;
	return CHAN_OK;
}

/* After publishing: DMB ISH orders our index store before the load of the
 * other side's flag (a store-release alone does not order a later load). */
static void kick(struct chan *c, volatile uint64_t *their_flag)
{
	libos_arch_dmb_ish();
	if (*their_flag) {
		c->st.notifies++;
		c->env->notify(c->env->ctx, c->peer);
	}
}

size_t chan_write(struct chan *c, const void *buf, size_t n)
{
	uint64_t head = c->sh->head, tail = acquire(&c->sh->tail);
	uint64_t used = head - tail, space, k, at, first;

	if (used > c->size)   /* the consumer wrote nonsense: no room */
		return 0;
	space = c->size - used;
	k = n < space ? n : space;
	if (!k)
		return 0;
	at = head & c->mask;
	first = k < c->size - at ? k : c->size - at;
	memcpy(c->data + at, buf, first);
	memcpy(c->data, (const uint8_t *)buf + first, k - first);
	release(&c->sh->head, head + k);
	c->st.bytes += k;
	kick(c, &c->sh->cons_waiting);
	return k;
}

int64_t chan_read(struct chan *c, void *buf, size_t n)
{
	uint64_t tail = c->sh->tail, head = acquire(&c->sh->head);
	uint64_t avail = head - tail, k, at, first;

	if (avail > c->size)
		return CHAN_ECORRUPT;
	k = n < avail ? n : avail;
	if (!k)
		return 0;
	at = tail & c->mask;
	first = k < c->size - at ? k : c->size - at;
	memcpy(buf, c->data + at, first);
	memcpy((uint8_t *)buf + first, c->data, k - first);
	release(&c->sh->tail, tail + k);
	c->st.bytes += k;
	kick(c, &c->sh->prod_waiting);
	return (int64_t)k;
}

/* One side's wait: flag up, DMB ISH, look again (ready() reads the other
 * side's index with a load-acquire), WAIT only if still not ready and the
 * peer still runs; flag down. */
static int wait_for(struct chan *c, volatile uint64_t *my_flag,
		    bool (*ready)(struct chan *c))
{
	int rc = CHAN_OK;

	*my_flag = 1;
	libos_arch_dmb_ish();
	if (!ready(c)) {
		if (!c->env->alive(c->env->ctx, c)) {
			rc = CHAN_EPEER;
		} else {
			c->st.waits++;
			c->env->wait(c->env->ctx);
		}
	}
	*my_flag = 0;
	return rc;
}

static bool has_room(struct chan *c)
{
	return acquire(&c->sh->tail) + c->size != c->sh->head ||
	       c->sh->done;
}

static bool has_data(struct chan *c)
{
	return acquire(&c->sh->head) != c->sh->tail ||
	       acquire(&c->sh->closed);
}

static bool is_done(struct chan *c)
{
	return acquire(&c->sh->done) != 0;
}

int chan_send(struct chan *c, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		size_t k = chan_write(c, p, n);

		if (k) {
			p += k;
			n -= k;
			continue;
		}
		if (acquire(&c->sh->done))   /* the consumer let go */
			return CHAN_EPEER;
		c->st.full++;
		if (wait_for(c, &c->sh->prod_waiting, has_room))
			return CHAN_EPEER;
	}
	return CHAN_OK;
}

int64_t chan_recv(struct chan *c, void *buf, size_t n)
{
	for (;;) {
		int64_t k = chan_read(c, buf, n);

		if (k)
			return k;
		if (acquire(&c->sh->closed)) {
			/* closed is published after the last head: look
			 * once more, then it is the end. */
			k = chan_read(c, buf, n);
			return k;
		}
		c->st.empty++;
		if (wait_for(c, &c->sh->cons_waiting, has_data))
			return CHAN_EPEER;
	}
}

void chan_close(struct chan *c)
{
	release(&c->sh->closed, 1);
	/* Always: a last NOTIFY costs little, and a consumer that is between
	 * its flag and WAIT finds it latched. */
	c->st.notifies++;
	c->env->notify(c->env->ctx, c->peer);
}

void chan_finish(struct chan *c)
{
	release(&c->sh->done, 1);
	c->st.notifies++;
	c->env->notify(c->env->ctx, c->peer);
}

int chan_wait_done(struct chan *c)
{
	while (!is_done(c))
		if (wait_for(c, &c->sh->prod_waiting, is_done))
			return CHAN_EPEER;
	return CHAN_OK;
}

/* --- between guests ------------------------------------------------------------ */

static int set_names(const char *peer, uint64_t *self, uint64_t *peer_id)
{
	struct libos_vm_info vi;

	if (strlen(peer) >= CHAN_NAME_MAX)
		return CHAN_EINVAL;
	if (libos_el2_vm_lookup(peer, peer_id) != EXO_OK)
		return CHAN_EPEER;
	if (libos_el2_vm_info(&vi) != EXO_OK)
		return CHAN_EINVAL;
	*self = vi.vmid;
	return CHAN_OK;
}

int chan_create(struct chan *c, const char *peer, unsigned data_order)
{
	uint64_t self, peer_id, pa, frames;
	int rc;

	if (data_order < MIN_DATA_ORDER || data_order > MAX_DATA_ORDER)
		return CHAN_EINVAL;
	rc = set_names(peer, &self, &peer_id);
	if (rc)
		return rc;
	frames = 1 + ((uint64_t)1 << data_order);
	if (!libos_frames_alloc(frames, &pa))
		return CHAN_ENOMEM;
	/* Formatted before it is offered: the consumer sees the whole header
	 * from its first look, and it cannot look before it accepts. */
	rc = chan_attach(c, libos_phys_to_virt(pa), frames * EXO_FRAME_SIZE,
			 true, self, peer_id, &chan_env_el2);
	if (!rc && libos_el2_frame_share(pa, frames, peer_id, EXO_SHARE_RW))
		rc = CHAN_EDENIED;
	if (rc) {
		c->sh = NULL;
		libos_frames_free(pa, frames);
		return rc;
	}
	memcpy(c->peer_name, peer, strlen(peer) + 1);
	c->pa = pa;
	c->frames = frames;
	c->env->notify(c->env->ctx, peer_id);
	return CHAN_OK;
}

static uint64_t page_round(uint64_t bytes)
{
	uint64_t page = libos_addr_page_size();

	return (bytes + page - 1) & ~(page - 1);
}

/* Is the offer we accepted, frames shared with us, the ring peer_id made
 * for us? Maps it if so. */
static bool try_ring(struct chan *c, const struct libos_offer *o,
		     uint64_t self, uint64_t peer_id)
{
	uint64_t header = page_round(CHAN_HEADER_BYTES), bytes, size;
	uint64_t pa = o->pa;
	const struct chan_shared *sh;

	if (o->count * EXO_FRAME_SIZE < header || libos_addr_map(pa, header))
		return false;
	sh = libos_phys_to_virt(pa);
	size = sh->size;
	bytes = CHAN_HEADER_BYTES + size;
	if (acquire(&sh->magic) != CHAN_MAGIC || sh->producer != peer_id ||
	    sh->consumer != self || !size ||
	    size > ((uint64_t)EXO_FRAME_SIZE << MAX_DATA_ORDER) ||
	    page_round(bytes) > o->count * EXO_FRAME_SIZE ||
	    (page_round(bytes) > header &&
	     libos_addr_map(pa + header, page_round(bytes) - header))) {
		libos_addr_unmap(pa, header);
		return false;
	}
	if (chan_attach(c, libos_phys_to_virt(pa), bytes, false, self, peer_id,
			&chan_env_el2)) {
		libos_addr_unmap(pa, page_round(bytes));
		return false;
	}
	c->pa = pa;
	c->frames = o->count;
	return true;
}

/* The consumer's consent: it accepts a read-write share from the peer it
 * chose to connect to, and nothing else; an accepted share that is not a
 * ring for us is dropped again. */
int chan_connect(struct chan *c, const char *peer)
{
	uint64_t self, peer_id;
	struct libos_offer o;
	int rc = set_names(peer, &self, &peer_id);

	if (rc)
		return rc;
	for (;;) {
		if (libos_offer_wait(peer, EXO_OFFER_SHARE_RW, &o) != EXO_OK)
			return CHAN_EPEER;
		rc = (int)libos_accept(o.sender, o.pa, o.count, o.kind);
		if (rc == EXO_EQUOTA || rc == EXO_ENOMEM)
			return CHAN_ENOMEM;   /* the offer stays: retry later */
		if (rc)   /* no longer as offered, and gone: the next one */
			continue;
		if (o.sender == peer_id && try_ring(c, &o, self, peer_id))
			break;
		libos_el2_frame_drop(o.pa, o.count, o.sender);
	}
	memcpy(c->peer_name, peer, strlen(peer) + 1);
	return CHAN_OK;
}

void chan_destroy(struct chan *c)
{
	if (!c->sh)
		return;
	if (c->producer) {
		libos_el2_frame_unshare(c->pa, c->frames, c->peer);
		libos_frames_free(c->pa, c->frames);
	} else {
		libos_addr_unmap(c->pa,
				 page_round(c->size + CHAN_HEADER_BYTES));
		libos_el2_frame_drop(c->pa, c->frames, c->peer);
	}
	c->sh = NULL;
}

const char *chan_strerror(int err)
{
	switch (err) {
	case CHAN_OK: return "ok";
	case CHAN_EPEER: return "the peer has ended";
	case CHAN_ECORRUPT: return "the shared ring holds impossible values";
	case CHAN_ENOMEM: return "no frames for the ring";
	case CHAN_EDENIED: return "EL2 refused to share the ring";
	default: return "invalid argument";
	}
}
