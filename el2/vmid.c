/*
 * The VMID allocator (el2/vmid.h): leases by generation, renewed at vCPU
 * load. Portable: the host tests drive it with several modelled CPUs and
 * read the broadcast invalidation through the fake arch's log.
 *
 * Lock: vmid_lock, a leaf (nothing is taken under it). Held to give a
 * lease and to roll over; the fast path of vmid_load (inline, el2/vmid.h)
 * takes no lock.
 */
#include <el2/arch.h>
#include <el2/vmid.h>
#include <lib/panic.h>
#include <lib/spinlock.h>
#include <string.h>

#define VMID_SPACE (UINT64_C(1) << VMID_MAX_BITS)
#define WORD_BITS 64u
#define GEN_STEP (UINT64_C(1) << VMID_GEN_SHIFT)

static struct spinlock vmid_lock = SPINLOCK_INIT;
static unsigned nr_bits;
bool vmid_fixed;
uint64_t vmid_generation;       /* the current one, a multiple of GEN_STEP */
static uint64_t given[VMID_SPACE / WORD_BITS]; /* leased this generation */
static unsigned search_from;    /* where the next free VMID is looked for */
uint64_t vmid_lease[EXO_MAX_VMS];
/* The lease each CPU loaded last; a rollover swaps it to 0, so a CPU's
 * next load sees that one happened (its compare-and-swap fails). */
uint64_t vmid_active[EL2_MAX_CPUS];
/* What each CPU had loaded at the last rollover: kept into the new
 * generation by the guest holding it. */
static uint64_t reserved[EL2_MAX_CPUS];
static uint64_t rollovers;

static unsigned number(uint64_t l)
{
	return (unsigned)(l & VMID_NUMBER_MASK);
}

static bool of_this_generation(uint64_t l)
{
	return (l & ~VMID_NUMBER_MASK) ==
	       __atomic_load_n(&vmid_generation, __ATOMIC_RELAXED);
}

static bool is_given(unsigned n)
{
	return given[n / WORD_BITS] >> (n % WORD_BITS) & 1;
}

static void give(unsigned n)
{
	given[n / WORD_BITS] |= UINT64_C(1) << (n % WORD_BITS);
}

void vmid_init(unsigned bits, unsigned highest_vm)
{
	CHECK(bits == 8 || bits == VMID_MAX_BITS);
	CHECK(highest_vm < EXO_MAX_VMS);
	nr_bits = bits;
	vmid_generation = GEN_STEP;
	memset(given, 0, sizeof(given));
	memset(vmid_lease, 0, sizeof(vmid_lease));
	memset(vmid_active, 0, sizeof(vmid_active));
	memset(reserved, 0, sizeof(reserved));
	rollovers = 0;
	search_from = 1;
	give(VMID_NONE);
	/* Every id a VMID: the leases of generation 1, never renewed (a
	 * generation never ends: nobody else asks for a VMID). */
	vmid_fixed = highest_vm < (1u << bits);
	if (vmid_fixed)
		for (unsigned vm = 1; vm <= highest_vm; vm++) {
			give(vm);
			vmid_lease[vm] = vmid_generation | vm;
		}
}

unsigned vmid_per_generation(void)
{
	return (1u << nr_bits) - 1;
}

/* Under vmid_lock: a new generation. Every CPU's active lease becomes
 * reserved (or stays, if the CPU loaded nothing since the last rollover),
 * every other VMID is free; then nothing cached under any VMID survives,
 * on any CPU, before one is given again. */
static void rollover(void)
{
	__atomic_store_n(&vmid_generation, vmid_generation + GEN_STEP,
			 __ATOMIC_RELAXED);
	memset(given, 0, sizeof(given));
	give(VMID_NONE);
	for (unsigned c = 0; c < EL2_MAX_CPUS; c++) {
		uint64_t l = __atomic_exchange_n(&vmid_active[c], 0,
						 __ATOMIC_RELAXED);

		if (!l)
			l = reserved[c];
		if (l)
			give(number(l));
		reserved[c] = l;
	}
	arch_tlbi_all_guests();
	rollovers++;
	search_from = 1;
}

/* Renews old into this generation if some CPU reserved it. */
static bool renew_reserved(uint64_t old, uint64_t renewed)
{
	bool hit = false;

	for (unsigned c = 0; c < EL2_MAX_CPUS; c++) {
		if (reserved[c] == old) {
			reserved[c] = renewed;
			hit = true;
		}
	}
	return hit;
}

/* A free VMID, the preferred one if it is free, or VMID_NONE. */
static unsigned free_vmid(unsigned preferred)
{
	unsigned space = 1u << nr_bits;

	if (preferred && preferred < space && !is_given(preferred))
		return preferred;
	for (unsigned i = 0; i < space; i++) {
		unsigned n = (search_from + i) % space;

		if (!is_given(n))
			return n;
	}
	return VMID_NONE;
}

/* Under vmid_lock: VM vm's lease for this generation, its old one of an
 * older generation (or 0). */
static uint64_t new_lease(unsigned vm, uint64_t old)
{
	unsigned n;

	if (old) {
		uint64_t renewed = vmid_generation | number(old);

		if (renew_reserved(old, renewed))
			return renewed;
		if (!is_given(number(old))) {
			give(number(old));
			return renewed;
		}
	}
	n = free_vmid(vm);
	if (n == VMID_NONE) {
		rollover();
		n = free_vmid(vm);
		CHECK(n != VMID_NONE);   /* at most EL2_MAX_CPUS are reserved */
	}
	give(n);
	search_from = n + 1;
	return vmid_generation | n;
}

unsigned vmid_load_slow(unsigned vm, unsigned cpu)
{
	uint64_t l;

	CHECK(vm < EXO_MAX_VMS && cpu < EL2_MAX_CPUS);
	spin_lock(&vmid_lock);
	l = vmid_lease[vm];
	if (!of_this_generation(l)) {
		l = new_lease(vm, l);
		__atomic_store_n(&vmid_lease[vm], l, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&vmid_active[cpu], l, __ATOMIC_RELAXED);
	spin_unlock(&vmid_lock);
	/* The lease is visible before any walk under it: a stage-2 change
	 * whose TLBI read the VMID before this store (vmid_current, after
	 * its DSB) was published before that read, so this CPU's walks see
	 * it. */
	arch_dsb_ish();
	return number(l);
}

uint64_t vmid_rollovers(void)
{
	return rollovers;
}
