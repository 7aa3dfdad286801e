/*
 * hvcstorm: seeded random hypercalls from every vCPU of a guest at once
 * (issue 16; tests/target/test_smp.py, systems/hvcstorm.dts). Two such
 * guests, each of four vCPUs spread over four CPUs, call EL2 and each
 * other at the same time while a victim runs; the debug EL2 checks its
 * stage-2 invariant after every memory call, so any interleaving that
 * breaks it panics.
 *
 * args: seed, calls per started vCPU, the peer's name. vCPU 0 starts the
 * others (el1/smp.h: they make no libos call, take no fault, print
 * nothing) and waits until all are off. Each draws calls from its own
 * stream: memory calls on the frames it allocated itself, or on random
 * frames this guest does not own (never one of vCPU 0's: the guest must
 * survive its own storm), offers to and from the peer, notifications,
 * PSCI's calls on its siblings (CPU_ON only of vCPUs that are on, or
 * that do not exist), and random IDs of exo's range; never EXIT, WAIT,
 * CPU_OFF or the system calls that end the guest. At the end
 * each gives back what it still holds, and vCPU 0 reports.
 */
#include <el1/el1.h>
#include <el1/smp.h>
#include <exo/frame.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <libos/libos.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"

#define STACK_BYTES 8192
#define HELD_MAX 64
#define CALLS_DEFAULT 2000u
#define CACHE_LINE 64
#define SMALL_BLOCK 64
/* The RAM of QEMU's virt machine, for random frames. */
#define RAM_BASE 0x40000000ull
#define RAM_FRAMES (0x40000000ull >> EXO_FRAME_SHIFT)

struct storm {
	uint64_t rng;
	unsigned self;             /* its vCPU number */
	uint64_t held[HELD_MAX];   /* frames it allocated, still its own */
	unsigned nr_held;
	uint64_t calls, ok, refused;
	int64_t worst;             /* the lowest status seen */
} __attribute__((aligned(CACHE_LINE)));

static uint8_t stacks[EXO_VM_MAX_VCPUS][STACK_BYTES]
	__attribute__((aligned(16)));
static struct storm storms[EXO_VM_MAX_VCPUS];
static uint64_t peer_id, calls_each = CALLS_DEFAULT;
static unsigned nr_cpus;

static uint64_t next(struct storm *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static uint64_t random_frame(struct storm *s)
{
	return RAM_BASE + (next(s) % RAM_FRAMES) * EXO_FRAME_SIZE;
}

/* A frame to change: one of its own, or one this guest does not own. */
static uint64_t frame_to_change(struct storm *s)
{
	uint64_t pa;
	struct exo_ret q;

	if (s->nr_held && next(s) % 4)
		return s->held[next(s) % s->nr_held];
	pa = random_frame(s);
	q = exo_frame_query(pa);
	return q.status == EXO_OK && q.x2 ? s->held[0] * !!s->nr_held : pa;
}

static void keep(struct storm *s, uint64_t pa)
{
	if (s->nr_held < HELD_MAX)
		s->held[s->nr_held++] = pa;
	else
		exo_frame_free(pa, 1);
}

/* A frame it held left it (freed, donated): forgotten. */
static void forget(struct storm *s, uint64_t pa)
{
	for (unsigned i = 0; i < s->nr_held; i++) {
		if (s->held[i] == pa) {
			s->held[i] = s->held[--s->nr_held];
			return;
		}
	}
}

static struct exo_ret memory_call(struct storm *s, unsigned which)
{
	uint64_t pa = frame_to_change(s), who = next(s) % 4 ? peer_id : next(s);
	struct exo_ret r = { .status = EXO_EINVAL };

	switch (which) {
	case 0:
		r = exo_frame_alloc(1, 0);
		if (r.status == EXO_OK)
			keep(s, r.x1);
		break;
	case 1:
		r = exo_hvc(EXO_HVC_FRAME_ALLOC_AT, random_frame(s), 1, 0, 0, 0,
			    0, 0);
		if (r.status == EXO_OK)
			keep(s, r.x1);
		break;
	case 2:
		r = exo_hvc(EXO_HVC_FRAME_FREE, pa, 1, 0, 0, 0, 0, 0);
		if (r.status == EXO_OK)
			forget(s, pa);
		break;
	case 3:
		r = exo_hvc(EXO_HVC_FRAME_SHARE, pa, 1, who,
			    next(s) % 2 ? EXO_SHARE_R : EXO_SHARE_RW, 0, 0, 0);
		break;
	case 4:
		r = exo_hvc(EXO_HVC_FRAME_UNSHARE, pa, 1, who, 0, 0, 0, 0);
		break;
	case 5:
		r = exo_hvc(EXO_HVC_FRAME_LEND, pa, 1, who, 0, 0, 0, 0);
		break;
	case 6:
		r = exo_hvc(EXO_HVC_FRAME_RECLAIM, pa, 1, who, 0, 0, 0, 0);
		break;
	default:
		r = exo_hvc(EXO_HVC_FRAME_DONATE, pa, 1, who, 0, 0, 0, 0);
		if (r.status == EXO_OK)
			forget(s, pa);
		break;
	}
	return r;
}

/* The peer's first offer, accepted or dropped. */
static struct exo_ret offer_call(struct storm *s)
{
	struct exo_ret o = exo_frame_offer(next(s) % 4);

	if (o.status != EXO_OK)
		return o;
	if (next(s) % 2)
		return (struct exo_ret){
			.status = exo_frame_accept(o.x2, o.x3,
						   EXO_OFFER_SENDER(o.x1),
						   (unsigned)EXO_OFFER_KIND(o.x1))
		};
	return exo_hvc(EXO_HVC_FRAME_DROP, o.x2, o.x3, EXO_OFFER_SENDER(o.x1),
		       0, 0, 0, 0);
}

static struct exo_ret other_call(struct storm *s, unsigned which)
{
	uint64_t fid = EXO_HVC(next(s) % 64);

	switch (which) {
	case 0:
		return (struct exo_ret){
			.status = exo_notify(next(s) % 4 ? peer_id : next(s))
		};
	case 1:
		/* Itself (ALREADY_ON) or a vCPU the guest does not have: a
		 * sibling whose storm has ended is off, and must not be
		 * started again at a random address. */
		return exo_hvc(EXO_PSCI_CPU_ON,
			       next(s) % 2 ? s->self : nr_cpus + next(s) % 8,
			       next(s), next(s), 0, 0, 0, 0);
	case 2:
		return exo_hvc(EXO_PSCI_AFFINITY_INFO, next(s) % (nr_cpus + 1),
			       next(s) % 2, 0, 0, 0, 0, 0);
	case 3:
		return offer_call(s);
	default:
		/* Any ID of exo's range but those that end the guest, block
		 * it or print. */
		if (fid == EXO_HVC_EXIT || fid == EXO_HVC_WAIT ||
		    fid == EXO_HVC_CONSOLE_WRITE)
			fid = EXO_HVC_VERSION;
		return exo_hvc(fid, next(s), next(s), next(s), next(s), 0, 0,
			       0);
	}
}

static void storm(unsigned cpu, void *arg)
{
	struct storm *s = &storms[cpu];
	struct exo_ret r;

	(void)arg;
	for (uint64_t i = 0; i < calls_each; i++) {
		unsigned pick = (unsigned)(next(s) % 13);

		r = pick < 8 ? memory_call(s, pick) : other_call(s, pick - 8);
		s->calls++;
		if (r.status == EXO_OK)
			s->ok++;
		else
			s->refused++;
		if (r.status < s->worst)
			s->worst = r.status;
	}
	while (s->nr_held)   /* lent or shared ones come back at the end */
		exo_frame_free(s->held[--s->nr_held], 1);
}

static void wait_off(void)
{
	for (unsigned c = 1; c < nr_cpus; c++)
		while (el1_cpu_state(c) != EXO_PSCI_AFF_OFF)
			exo_yield();
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoul(argv[1], NULL, 0) : 1;
	struct exo_ret peer = argc > 3 ? exo_vm_lookup(argv[3])
				       : (struct exo_ret){ .status = EXO_ENOENT };
	bool ok = true;
	void *p;

	nr_cpus = el1_boot_info()->cpus;
	if (argc > 2)
		calls_each = strtoul(argv[2], NULL, 0);
	peer_id = peer.status == EXO_OK ? peer.x1 : 0;
	TAP_CHECK(nr_cpus > 1 && peer_id, "%u vCPUs, peer %lu", nr_cpus,
		  (unsigned long)peer_id);
	for (unsigned c = 1; c < nr_cpus; c++) {
		storms[c].rng = seed * 0x9e3779b97f4a7c15ull + c;
		storms[c].self = c;
		ok &= el1_cpu_start(c, storm, NULL, stacks[c] + STACK_BYTES) == 0;
	}
	TAP_CHECK(ok, "started %u storms", nr_cpus - 1);
	wait_off();
	for (unsigned c = 1; c < nr_cpus; c++) {
		const struct storm *s = &storms[c];

		TAP_CHECK(s->calls == calls_each && s->ok + s->refused == s->calls,
			  "vCPU %u: %lu calls, %lu done, %lu refused (lowest "
			  "status %ld)", c, (unsigned long)s->calls,
			  (unsigned long)s->ok, (unsigned long)s->refused,
			  (long)s->worst);
	}
	/* Its quota may be spent (the peer's donations, frames still lent):
	 * a small block from what the heap holds. */
	p = libos_malloc(SMALL_BLOCK);
	if (p)
		memset(p, 0x5a, SMALL_BLOCK);
	TAP_CHECK(p && libos_check() == NULL,
		  "vCPU 0's heap still works after the storm");
	libos_free(p);
	return tap_done();
}
