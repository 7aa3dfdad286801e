/*
 * heapwork: the same deterministic heap workload under whatever policy the
 * manifest chose. A seeded sequence of malloc / calloc / aligned_alloc /
 * realloc / free over 128 slots; every block holds a pattern of its id and
 * is checked before each realloc and free, so the printed checksum depends
 * only on the seed and the operation count, never on the policy or the
 * addresses. The libos stats are printed with the workload's blocks still
 * live; then a burst of large blocks, freed again, shows frames going back
 * to EL2 (VM_INFO before, during, after), and the stats once more.
 *
 * Arguments: --seed=N (default 1), --ops=N (default 3000), --burst=N
 * blocks of 8 KiB (default 64, 0 for none); libos's own options are
 * ignored here. Exits 0 only if every check passed and no allocation
 * failed, 1 otherwise.
 */
#include <el1/el1.h>
#include <lib/print.h>
#include <libos/libos.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS	    128
#define BURST_BYTES 8192u
#define BURST_MAX   256
#define CHECK_EVERY 500

struct slot {
	unsigned char *p;
	size_t size;
	uint32_t id;
};

static struct slot slots[SLOTS];
static unsigned char *burst[BURST_MAX];
static uint64_t rng_state;
static uint64_t checksum = 0xcbf29ce484222325ull; /* FNV-1a offset basis */
static unsigned long errors;
static uint32_t next_id;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static unsigned char pattern(uint32_t id, size_t i)
{
	return (unsigned char)(id * 0x9du + i * 0x3bu + (i >> 8));
}

static void fill(unsigned char *p, uint32_t id, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		p[i] = pattern(id, i);
}

/* Checks bytes [0, n) of a block and folds them into the checksum. */
static void verify(const unsigned char *p, uint32_t id, size_t n,
		   const char *when)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		bad += p[i] != pattern(id, i);
		checksum = (checksum ^ p[i]) * 0x100000001b3ull;
	}
	if (bad) {
		kprintf("block %u (%lu B) %s: %lu bytes wrong\n", id,
			(unsigned long)n, when, (unsigned long)bad);
		errors++;
	}
}

static size_t random_size(void)
{
	uint64_t r = rng() % 100;

	if (r < 70)
		return 1 + rng() % 256;
	if (r < 95)
		return 257 + rng() % 1792;
	return 2049 + rng() % 14336;
}

static void fail(const char *what, size_t size, int op)
{
	kprintf("op %d: %s of %lu B failed\n", op, what, (unsigned long)size);
	errors++;
}

static void check_align(const void *p, size_t align, int op)
{
	if ((uintptr_t)p % align) {
		kprintf("op %d: %p not aligned to %lu\n", op, p,
			(unsigned long)align);
		errors++;
	}
}

static void do_alloc(struct slot *s, int op)
{
	size_t size = random_size(), align = 16;
	unsigned kind = (unsigned)(rng() % 10);

	if (kind == 0) {
		s->p = libos_calloc(1, size);
		for (size_t i = 0; s->p && i < size; i++)
			if (s->p[i]) {
				kprintf("op %d: calloc byte %lu not 0\n", op,
					(unsigned long)i);
				errors++;
				break;
			}
	} else if (kind == 1) {
		align = (size_t)16 << (rng() % 9);
		s->p = libos_aligned_alloc(align, size);
	} else {
		s->p = libos_malloc(size);
	}
	if (!s->p) {
		fail("alloc", size, op);
		return;
	}
	check_align(s->p, align, op);
	if (libos_usable_size(s->p) < size) {
		kprintf("op %d: usable size below %lu\n", op,
			(unsigned long)size);
		errors++;
	}
	s->size = size;
	s->id = next_id++;
	fill(s->p, s->id, 0, size);
}

static void do_realloc(struct slot *s, int op)
{
	size_t size = random_size();
	size_t keep = size < s->size ? size : s->size;
	unsigned char *p;

	verify(s->p, s->id, s->size, "before realloc");
	p = libos_realloc(s->p, size);
	if (!p) {
		fail("realloc", size, op);
		return;
	}
	check_align(p, 16, op);
	verify(p, s->id, keep, "after realloc");
	fill(p, s->id, keep, size);
	s->p = p;
	s->size = size;
}

static void do_free(struct slot *s)
{
	verify(s->p, s->id, s->size, "before free");
	libos_free(s->p);
	s->p = NULL;
}

static void check_heap(int op)
{
	const char *err = libos_check();

	if (err) {
		kprintf("op %d: heap check: %s\n", op, err);
		errors++;
	}
}

static void workload(int ops)
{
	for (int op = 0; op < ops; op++) {
		struct slot *s = &slots[rng() % SLOTS];

		if (!s->p)
			do_alloc(s, op);
		else if (rng() % 10 < 3)
			do_realloc(s, op);
		else
			do_free(s);
		if (op % CHECK_EVERY == 0)
			check_heap(op);
	}
	check_heap(ops);
}

static void free_all(void)
{
	unsigned live = 0;

	for (unsigned i = 0; i < SLOTS; i++)
		live += slots[i].p != NULL;
	kprintf("heapwork: %u blocks live after the workload:\n", live);
	libos_stats_print();
	for (unsigned i = 0; i < SLOTS; i++)
		if (slots[i].p)
			do_free(&slots[i]);
	check_heap(-1);
}

static unsigned long charged(void)
{
	struct libos_vm_info vm = {0};

	libos_el2_vm_info(&vm);
	return (unsigned long)vm.charged;
}

/* Large blocks, then all freed: the heap shrinks, the pool gives frames
 * back to EL2 above its high-water mark. */
static void burst_phase(unsigned n)
{
	unsigned long before = charged(), during, after;

	for (unsigned i = 0; i < n; i++) {
		burst[i] = libos_malloc(BURST_BYTES);
		if (!burst[i]) {
			fail("burst alloc", BURST_BYTES, (int)i);
			n = i;
			break;
		}
		fill(burst[i], next_id + i, 0, BURST_BYTES);
	}
	during = charged();
	for (unsigned i = 0; i < n; i++) {
		verify(burst[i], next_id + i, BURST_BYTES, "in burst");
		libos_free(burst[i]);
	}
	after = charged();
	kprintf("burst: %u blocks of %u B: frames charged %lu -> %lu -> %lu\n",
		n, BURST_BYTES, before, during, after);
}

static unsigned long arg_value(int argc, char **argv, const char *name,
			       unsigned long def)
{
	size_t len = strlen(name);

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], name, len) == 0)
			return strtoul(argv[i] + len, NULL, 0);
	return def;
}

EL1_GUEST_OPTIONS("--seed=", "--ops=", "--burst=");

int main(int argc, char **argv)
{
	unsigned long seed = arg_value(argc, argv, "--seed=", 1);
	int ops = (int)arg_value(argc, argv, "--ops=", 3000);
	unsigned n = (unsigned)arg_value(argc, argv, "--burst=", 64);
	const char *policy = el1_boot_info()->heap_policy;

	if (n > BURST_MAX)
		n = BURST_MAX;
	rng_state = seed * 0x9e3779b97f4a7c15ull | 1;
	kprintf("heapwork: policy %s, seed %lu, %d ops\n",
		policy ? policy : LIBOS_DEFAULT_POLICY, seed, ops);
	workload(ops);
	free_all();
	burst_phase(n);
	kprintf("checksum 0x%016lx\n", (unsigned long)checksum);
	kprintf("heapwork: at the end:\n");
	libos_stats_print();
	kprintf("heapwork: %s (%lu errors)\n", errors ? "FAILED" : "ok",
		errors);
	return errors ? 1 : 0;
}
