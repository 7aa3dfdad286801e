/*
 * The ASID allocator (asid.h): Linux arm64's generation scheme, every vCPU
 * under the caller's lock.
 * A switch to a context of the current generation costs a compare; any
 * other takes a number from the bitmap (its old one if free), and when the
 * bitmap is full the generation rolls over: bitmap cleared, each vCPU's
 * running context's number reserved, every TLB flushed (broadcast) before
 * TTBR0 changes.
 */
#include <libos/arch.h>
#include <libos/task/asid.h>
#include <string.h>

static uint32_t limit(const struct asid_allocator *a)
{
	return UINT32_C(1) << a->bits;
}

static bool test_and_set(struct asid_allocator *a, uint32_t n)
{
	uint64_t bit = UINT64_C(1) << (n % 64);
	bool was = a->map[n / 64] & bit;

	a->map[n / 64] |= bit;
	return was;
}

/* First clear bit at or after from, below the limit; limit if none. */
static uint32_t find_free(const struct asid_allocator *a, uint32_t from)
{
	for (uint32_t n = from; n < limit(a); n++)
		if (!(a->map[n / 64] & (UINT64_C(1) << (n % 64))))
			return n;
	return limit(a);
}

void asid_init(struct asid_allocator *a, unsigned bits)
{
	if (bits < ASID_BITS_MIN)
		bits = ASID_BITS_MIN;
	if (bits > ASID_BITS_MAX)
		bits = ASID_BITS_MAX;
	memset(a, 0, sizeof(*a));
	a->bits = bits;
	a->generation = UINT64_C(1) << bits;
	a->next = 1;
	a->map[0] = 1;               /* ASID 0: never a task's */
}

/* New generation: only the contexts running on some vCPU keep their
 * numbers. */
static void rollover(struct asid_allocator *a)
{
	a->generation += limit(a);
	memset(a->map, 0, sizeof(a->map));
	a->map[0] = 1;
	for (unsigned cpu = 0; cpu < LIBOS_CPUS_MAX; cpu++) {
		a->reserved[cpu] = a->active[cpu];
		if (a->reserved[cpu])
			test_and_set(a, asid_of(a, a->reserved[cpu]));
	}
	a->flush_pending = true;
	a->stats.rollovers++;
}

/* old ran on some vCPU at the last roll-over: every such record becomes
 * fresh (one context may have run on two vCPUs, one after the other). */
static bool reserved_update(struct asid_allocator *a, uint64_t old,
			    uint64_t fresh)
{
	bool hit = false;

	for (unsigned cpu = 0; cpu < LIBOS_CPUS_MAX; cpu++) {
		if (a->reserved[cpu] == old) {
			a->reserved[cpu] = fresh;
			hit = true;
		}
	}
	return hit;
}

static uint64_t new_context(struct asid_allocator *a, uint64_t old)
{
	uint32_t n;

	if (old) {
		uint64_t fresh = a->generation | asid_of(a, old);

		/* A context that was running at the roll-over. */
		if (reserved_update(a, old, fresh)) {
			a->stats.kept++;
			return fresh;
		}
		if (!test_and_set(a, asid_of(a, old))) {
			a->stats.kept++;
			return fresh;
		}
	}
	n = find_free(a, a->next);
	if (n == limit(a)) {
		rollover(a);
		n = find_free(a, 1);
	}
	/* A roll-over leaves at most one number per running vCPU taken:
	 * fewer than the usable ones (ASID_BITS_SMP_MIN, libos/task/task.c
	 * with several vCPUs; one at ASID_BITS_MIN with one), so n is valid. */
	test_and_set(a, n);
	a->next = n;
	a->stats.allocs++;
	return a->generation | n;
}

uint16_t asid_switch(struct asid_allocator *a, uint64_t *ctx)
{
	a->stats.switches++;
	if (asid_current(a, *ctx)) {
		a->stats.fast++;
	} else {
		*ctx = new_context(a, *ctx);
	}
	if (a->flush_pending) {
		libos_arch_tlbi_vmalle1is();
		a->flush_pending = false;
		a->stats.flushes++;
	}
	a->active[libos_cpu_self()] = *ctx;
	return asid_of(a, *ctx);
}

void asid_deactivate(struct asid_allocator *a)
{
	a->active[libos_cpu_self()] = 0;
}
