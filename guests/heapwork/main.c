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
 * On a guest of several vCPUs (manifest `cpus`) every vCPU runs the
 * workload at the same time on the one heap, vCPU n with seed + n and
 * slots of its own; then vCPU 0 alone runs each of those seeds again and
 * checks that it gets the checksum that vCPU got: sharing the heap with
 * the others changed nothing a vCPU saw (guests/heapsmp.dts;
 * docs/architecture.md, "libos on several vCPUs"). On one vCPU the
 * output is what it always was.
 *
 * Arguments: --seed=N (default 1), --ops=N (default 3000), --burst=N
 * blocks of 8 KiB (default 64, 0 for none); libos's own options are
 * ignored here. Exits 0 only if every check passed and no allocation
 * failed, 1 otherwise.
 */
#include <el1/el1.h>
#include <el1/smp.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <libos/libos.h>
#include <libos/lock.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS	    128
#define BURST_BYTES 8192u
#define BURST_MAX   256
#define CHECK_EVERY 500
#define FNV_BASIS   0xcbf29ce484222325ull /* FNV-1a offset basis */
#define FNV_PRIME   0x100000001b3ull
#define WORKER_STACK 16384

struct slot {
	unsigned char *p;
	size_t size;
	uint32_t id;
};

/* One run of the workload: each vCPU has its own. */
struct work {
	struct slot slots[SLOTS];
	uint64_t rng_state;
	uint64_t checksum;
	unsigned long errors;
	uint32_t next_id;
};

/* vCPU 0's; the others' (and their stacks) come from the heap when the
 * guest has several, so a guest of one carries none of them. */
static struct work work0;
static struct work *works[EXO_VM_MAX_VCPUS] = { &work0 };
static unsigned char *stacks[EXO_VM_MAX_VCPUS];
static unsigned char *burst[BURST_MAX];

static uint64_t rng(struct work *k)
{
	k->rng_state ^= k->rng_state << 13;
	k->rng_state ^= k->rng_state >> 7;
	k->rng_state ^= k->rng_state << 17;
	return k->rng_state;
}

static void work_init(struct work *k, unsigned long seed)
{
	memset(k, 0, sizeof(*k));
	k->rng_state = seed * 0x9e3779b97f4a7c15ull | 1;
	k->checksum = FNV_BASIS;
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
static void verify(struct work *k, const unsigned char *p, uint32_t id,
		   size_t n, const char *when)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		bad += p[i] != pattern(id, i);
		k->checksum = (k->checksum ^ p[i]) * FNV_PRIME;
	}
	if (bad) {
		kprintf("block %u (%lu B) %s: %lu bytes wrong\n", id,
			(unsigned long)n, when, (unsigned long)bad);
		k->errors++;
	}
}

static size_t random_size(struct work *k)
{
	uint64_t r = rng(k) % 100;

	if (r < 70)
		return 1 + rng(k) % 256;
	if (r < 95)
		return 257 + rng(k) % 1792;
	return 2049 + rng(k) % 14336;
}

static void fail(struct work *k, const char *what, size_t size, int op)
{
	kprintf("op %d: %s of %lu B failed\n", op, what, (unsigned long)size);
	k->errors++;
}

static void check_align(struct work *k, const void *p, size_t align, int op)
{
	if ((uintptr_t)p % align) {
		kprintf("op %d: %p not aligned to %lu\n", op, p,
			(unsigned long)align);
		k->errors++;
	}
}

static void check_zero(struct work *k, const unsigned char *p, size_t size,
		       int op)
{
	for (size_t i = 0; i < size; i++)
		if (p[i]) {
			kprintf("op %d: calloc byte %lu not 0\n", op,
				(unsigned long)i);
			k->errors++;
			return;
		}
}

static void do_alloc(struct work *k, struct slot *s, int op)
{
	size_t size = random_size(k), align = 16;
	unsigned kind = (unsigned)(rng(k) % 10);

	if (kind == 0) {
		s->p = libos_calloc(1, size);
		if (s->p)
			check_zero(k, s->p, size, op);
	} else if (kind == 1) {
		align = (size_t)16 << (rng(k) % 9);
		s->p = libos_aligned_alloc(align, size);
	} else {
		s->p = libos_malloc(size);
	}
	if (!s->p) {
		fail(k, "alloc", size, op);
		return;
	}
	check_align(k, s->p, align, op);
	if (libos_usable_size(s->p) < size) {
		kprintf("op %d: usable size below %lu\n", op,
			(unsigned long)size);
		k->errors++;
	}
	s->size = size;
	s->id = k->next_id++;
	fill(s->p, s->id, 0, size);
}

static void do_realloc(struct work *k, struct slot *s, int op)
{
	size_t size = random_size(k);
	size_t keep = size < s->size ? size : s->size;
	unsigned char *p;

	verify(k, s->p, s->id, s->size, "before realloc");
	p = libos_realloc(s->p, size);
	if (!p) {
		fail(k, "realloc", size, op);
		return;
	}
	check_align(k, p, 16, op);
	verify(k, p, s->id, keep, "after realloc");
	fill(p, s->id, keep, size);
	s->p = p;
	s->size = size;
}

static void do_free(struct work *k, struct slot *s)
{
	verify(k, s->p, s->id, s->size, "before free");
	libos_free(s->p);
	s->p = NULL;
}

static void check_heap(struct work *k, int op)
{
	const char *err = libos_check();

	if (err) {
		kprintf("op %d: heap check: %s\n", op, err);
		k->errors++;
	}
}

static void workload(struct work *k, int ops)
{
	for (int op = 0; op < ops; op++) {
		struct slot *s = &k->slots[rng(k) % SLOTS];

		if (!s->p)
			do_alloc(k, s, op);
		else if (rng(k) % 10 < 3)
			do_realloc(k, s, op);
		else
			do_free(k, s);
		if (op % CHECK_EVERY == 0)
			check_heap(k, op);
	}
	check_heap(k, ops);
}

static unsigned live_blocks(const struct work *k)
{
	unsigned live = 0;

	for (unsigned i = 0; i < SLOTS; i++)
		live += k->slots[i].p != NULL;
	return live;
}

static void free_all(struct work *k)
{
	for (unsigned i = 0; i < SLOTS; i++)
		if (k->slots[i].p)
			do_free(k, &k->slots[i]);
	check_heap(k, -1);
}

static unsigned long charged(void)
{
	struct libos_vm_info vm = {0};

	libos_el2_vm_info(&vm);
	return (unsigned long)vm.charged;
}

/* Large blocks, then all freed: the heap shrinks, the pool gives frames
 * back to EL2 above its high-water mark. */
static void burst_phase(struct work *k, unsigned n)
{
	unsigned long before = charged(), during, after;

	for (unsigned i = 0; i < n; i++) {
		burst[i] = libos_malloc(BURST_BYTES);
		if (!burst[i]) {
			fail(k, "burst alloc", BURST_BYTES, (int)i);
			n = i;
			break;
		}
		fill(burst[i], k->next_id + i, 0, BURST_BYTES);
	}
	during = charged();
	for (unsigned i = 0; i < n; i++) {
		verify(k, burst[i], k->next_id + i, BURST_BYTES, "in burst");
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

/* --- several vCPUs ------------------------------------------------------- */

struct parallel {
	unsigned long seed;
	int ops;
	unsigned done;		/* workers finished */
};

/* A started vCPU: its workload, its blocks freed, then off. */
static void worker(unsigned cpu, void *arg)
{
	struct parallel *par = arg;
	struct work *k = works[cpu];

	work_init(k, par->seed + cpu);
	workload(k, par->ops);
	free_all(k);
	__atomic_fetch_add(&par->done, 1, __ATOMIC_RELEASE);
}

/* Every vCPU runs the workload at once (vCPU 0 too, its blocks kept live
 * for the stats, as on one vCPU); then each other vCPU's seed again,
 * alone, must give the checksum that vCPU got. 0 or the errors. */
static unsigned long run_parallel(unsigned cpus, unsigned long seed, int ops)
{
	struct parallel par = { .seed = seed, .ops = ops };
	unsigned long errors = 0;
	unsigned started = 0;

	for (unsigned c = 1; c < cpus; c++) {
		stacks[c] = libos_aligned_alloc(16, WORKER_STACK);
		works[c] = libos_malloc(sizeof(struct work));
		if (!stacks[c] || !works[c] ||
		    el1_cpu_start(c, worker, &par, stacks[c] + WORKER_STACK)) {
			kprintf("heapwork: vCPU %u did not start\n", c);
			errors++;
			libos_free(stacks[c]);
			libos_free(works[c]);
			stacks[c] = NULL;
			works[c] = NULL;
			continue;
		}
		started++;
	}
	workload(works[0], ops);
	while (__atomic_load_n(&par.done, __ATOMIC_ACQUIRE) != started)
		exo_call0(EXO_HVC_YIELD);
	for (unsigned c = 1; c < cpus; c++) {
		struct work *k = works[c], again;

		if (!k)
			continue;	/* counted above */

		work_init(&again, seed + c);
		workload(&again, ops);
		free_all(&again);
		kprintf("heapwork: vCPU %u: seed %lu, checksum 0x%016lx, "
			"alone 0x%016lx: %s\n", c, seed + c,
			(unsigned long)k->checksum,
			(unsigned long)again.checksum,
			k->checksum == again.checksum ? "same" : "DIFFERENT");
		errors += k->errors + again.errors +
			  (k->checksum != again.checksum);
		/* Off (its last steps ran on its stack): both go back. */
		while (el1_cpu_state(c) != EXO_PSCI_AFF_OFF)
			exo_call0(EXO_HVC_YIELD);
		libos_free(stacks[c]);
		libos_free(k);
	}
	return errors;
}

EL1_GUEST_OPTIONS("--seed=", "--ops=", "--burst=");

int main(int argc, char **argv)
{
	unsigned long seed = arg_value(argc, argv, "--seed=", 1);
	int ops = (int)arg_value(argc, argv, "--ops=", 3000);
	unsigned n = (unsigned)arg_value(argc, argv, "--burst=", 64);
	const char *policy = el1_boot_info()->heap_policy;
	unsigned cpus = el1_boot_info()->cpus;
	struct work *k = works[0];
	unsigned long others = 0;

	if (n > BURST_MAX)
		n = BURST_MAX;
	if (cpus > EXO_VM_MAX_VCPUS)
		cpus = EXO_VM_MAX_VCPUS;
	work_init(k, seed);
	kprintf("heapwork: policy %s, seed %lu, %d ops\n",
		policy ? policy : LIBOS_DEFAULT_POLICY, seed, ops);
	if (cpus > 1) {
		kprintf("heapwork: %u vCPUs at once on one heap\n", cpus);
		others = run_parallel(cpus, seed, ops);
	} else {
		workload(k, ops);
	}
	if (cpus > 1)
		kprintf("heapwork: libos's lock: %lu waits, %lu slices "
			"yielded\n", (unsigned long)libos_lock.waits,
			(unsigned long)libos_lock.yields);
	kprintf("heapwork: %u blocks live after the workload:\n",
		live_blocks(k));
	libos_stats_print();
	free_all(k);
	burst_phase(k, n);
	kprintf("checksum 0x%016lx\n", (unsigned long)k->checksum);
	kprintf("heapwork: at the end:\n");
	libos_stats_print();
	k->errors += others;
	kprintf("heapwork: %s (%lu errors)\n", k->errors ? "FAILED" : "ok",
		k->errors);
	return k->errors ? 1 : 0;
}
