/*
 * bench: on-target path lengths, counted with the PMU under QEMU's
 * -icount shift=0 (every count is then an exact, repeatable number of
 * retired instructions). The cycle counter counts EL1 + EL2 (filter NSH),
 * event counter 0 counts INST_RETIRED at EL2 only (filter P|U|NSH), so each
 * figure comes as a total and its EL2 part. Each is the median over many
 * repetitions, less the cost of reading the counters (measured the same
 * way around nothing).
 *
 * Prints "BENCH <name> <value>" lines; tools/bench parses them. Roles:
 *   bench [--reps=N]       measures (hypercall, frames, guest switch,
 *                          stage-2 fault, heap policies, an SGI round
 *                          trip between its two vCPUs)
 *   bench --partner=N      yields N times, then exits: the other side of
 *                          the guest-switch measurement
 *   bench --smp-alloc=N    each of its vCPUs, one per CPU, N frame
 *                          alloc+free pairs at once (tools/bench makes
 *                          the systems); with --smp-alloc-guests=K, one
 *                          of K such guests (alloc0..) doing it at once
 *   bench --busy=NAME      calls EL2 in a loop while guest NAME runs: load
 *                          on the other CPUs beside a measurement
 * Needs the PMU at EL1 (el2/arch/cpu.c: MDCR_EL2.HPMN, no TPM/TPMCR).
 * Owns nothing in EL2 and changes nothing there; measures only.
 */
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <el1/gic_cpu.h>
#include <el1/smp.h>
#include <exo/frame.h>
#include <exo/hypercall.h>
#include <libos/mm/mm.h>
#include <lib/fmt.h>
#include <lib/print.h>
#include <libos/heap/heap.h>
#include <libos/libos.h>
#include <libos/mm/region.h>
#include <libos/mmu/pgtable.h>
#include <libos/task/usys.h>
#include <el1/el0_task.h>
#include <stdbool.h>
#include <stdint.h>

#define REPS_MAX 256
#define REPS_DEFAULT 101
#define FAULT_REPS 9            /* each fault prints a line at EL2 */
#define FAULT_IPA 0x20000000ul  /* no RAM, no device: never mapped */
#define FRAME_SIZE EXO_FRAME_SIZE

struct count {
	uint64_t total, el2;
};

static unsigned reps = REPS_DEFAULT;
static struct count overhead;
static uint64_t samples_total[REPS_MAX], samples_el2[REPS_MAX];

/* --- the PMU ----------------------------------------------------------- */

static bool pmu_init(void)
{
	uint64_t pmcr = read_sysreg(pmcr_el0);

	if (PMCR_N(pmcr) < 1)
		return false;
	write_sysreg(0, pmselr_el0);
	write_sysreg(PMU_FILTER_NSH | PMU_FILTER_U, pmccfiltr_el0);
	write_sysreg(PMU_FILTER_P | PMU_FILTER_U | PMU_FILTER_NSH |
		     PMU_EVENT_INST_RETIRED, pmevtyper0_el0);
	write_sysreg(PMCNTEN_C | BIT(0), pmcntenset_el0);
	write_sysreg(pmcr | PMCR_E | PMCR_P | PMCR_C | PMCR_LC, pmcr_el0);
	isb();
	return true;
}

static inline __attribute__((always_inline)) struct count pmu_read(void)
{
	struct count c;

	isb();
	c.total = read_sysreg(pmccntr_el0);
	c.el2 = read_sysreg(pmevcntr0_el0);
	return c;
}

/* --- samples ----------------------------------------------------------- */

static void sort(uint64_t *a, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint64_t v = a[i];
		unsigned j = i;

		for (; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

static void record(unsigned i, struct count a, struct count b)
{
	samples_total[i] = b.total - a.total;
	samples_el2[i] = b.el2 - a.el2;
}

/* Median of n samples, less the measuring overhead; per_op divides (a
 * sample covering several operations). */
static struct count median(unsigned n, unsigned per_op)
{
	struct count m;

	sort(samples_total, n);
	sort(samples_el2, n);
	m.total = samples_total[n / 2];
	m.el2 = samples_el2[n / 2];
	m.total = (m.total > overhead.total ? m.total - overhead.total : 0);
	m.el2 = (m.el2 > overhead.el2 ? m.el2 - overhead.el2 : 0);
	m.total /= per_op;
	m.el2 /= per_op;
	return m;
}

static void emit(const char *name, struct count m, bool el2_part)
{
	kprintf("BENCH %s_insns %lu\n", name, (unsigned long)m.total);
	if (el2_part)
		kprintf("BENCH %s_el2_insns %lu\n", name, (unsigned long)m.el2);
}

/* --- the measurements ------------------------------------------------ */

static void bench_overhead(void)
{
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();
		struct count b = pmu_read();

		record(i, a, b);
	}
	overhead = (struct count){ 0, 0 };
	overhead = median(reps, 1);
	kprintf("BENCH pmu_read_overhead_insns %lu\n",
		(unsigned long)overhead.total);
	/* Self-check: 64 NOPs at EL1 must read 64 in all, 0 at EL2. */
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();

		__asm__ volatile(".rept 64\n\tnop\n\t.endr");
		record(i, a, pmu_read());
	}
	emit("pmu_check_64_nops", median(reps, 1), true);
}

static void bench_hvc_null(void)
{
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();

		exo_call0(EXO_HVC_VERSION);
		record(i, a, pmu_read());
	}
	emit("hvc_null", median(reps, 1), true);
}

/* A call through EL2's C path with no work of its own (PSCI_VERSION is
 * not in the vector's fast set): the general trap path's cost. */
static void bench_hvc_c_null(void)
{
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();

		exo_call0(EXO_PSCI_VERSION);
		record(i, a, pmu_read());
	}
	emit("hvc_c_null", median(reps, 1), true);
}

/* FRAME_ALLOC of one frame, then FRAME_FREE of it. frame_alloc_free asks
 * for a frame it need not find zeroed (EXO_FRAME_ALLOC_NOZERO): the frame
 * it freed comes back unscrubbed; frame_alloc_free_zeroed asks for a zeroed
 * one, so each pair scrubs the frame once (at the alloc: the free leaves
 * it unscrubbed for its guest). */
static bool bench_frames_as(const char *name, bool zeroed)
{
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();
		struct exo_ret r = zeroed ? exo_frame_alloc(1, 0)
					  : exo_frame_alloc_nozero();
		int64_t st = r.status ? r.status : exo_frame_free(r.x1, 1);

		record(i, a, pmu_read());
		if (st) {
			kprintf("frame alloc/free: error %ld\n", (long)st);
			return false;
		}
	}
	emit(name, median(reps, 1), true);
	return true;
}


/* Each sample: this guest yields, EL2 switches to the partner, which
 * yields back at once: two switches and the partner's loop (a few
 * instructions), halved. */
static void bench_switch(void)
{
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();

		exo_yield();
		record(i, a, pmu_read());
	}
	emit("guest_switch", median(reps, 2), true);
}

static volatile unsigned faults_seen;
static uint64_t fault_va;

/* The guest's MMU is on: the abort comes through libos's fault hook. */
static bool on_abort(struct libos_fault *f)
{
	if (f->far != fault_va)
		return false;
	faults_seen++;
	f->elr += 4;   /* skip the load */
	return true;
}

/* A load from an IPA stage 2 does not map (the guest's own stage 1 maps
 * it, through the direct map): EL2 reports the violation (one console
 * line), reflects a synchronous external abort, libos's fault path calls
 * on_abort, which skips the load. */
static void bench_s2_fault(void)
{
	unsigned n = reps < FAULT_REPS ? reps : FAULT_REPS;
	libos_fault_hook old;

	libos_dmap_map(FAULT_IPA, libos_mm_info()->page_size);
	fault_va = (uint64_t)(uintptr_t)libos_dmap_phys_to_virt(FAULT_IPA);
	old = libos_fault_set_hook(on_abort);
	for (unsigned i = 0; i < n; i++) {
		struct count a = pmu_read();

		(void)*(volatile uint64_t *)fault_va;
		record(i, a, pmu_read());
	}
	libos_fault_set_hook(old);
	libos_dmap_unmap(FAULT_IPA, libos_mm_info()->page_size);
	emit("s2_fault_reflect", median(n, 1), true);
	kprintf("BENCH s2_fault_seen %u\n", faults_seen);
}

/* Page source for the heaps: frames from EL2, mapped in the libos direct
 * map while the heap holds them (16 frames, aligned: whole pages). */
static void *frames_grow(void *ctx, size_t min, size_t *got)
{
	uint64_t count = (min + FRAME_SIZE - 1) / FRAME_SIZE;
	struct exo_ret r;

	(void)ctx;
	if (count < 16)
		count = 16;
	r = exo_frame_alloc(count, 4);
	if (r.status)
		return NULL;
	if (libos_dmap_map(r.x1, count * FRAME_SIZE)) {
		exo_frame_free(r.x1, count);
		return NULL;
	}
	*got = count * FRAME_SIZE;
	return libos_dmap_phys_to_virt(r.x1);
}

static void frames_shrink(void *ctx, void *base, size_t bytes)
{
	uint64_t pa = libos_dmap_virt_to_phys(base);

	(void)ctx;
	libos_dmap_unmap(pa, bytes);
	exo_frame_free(pa, bytes / FRAME_SIZE);
}

/* alloc + free of one block of `size` bytes on a warm heap (one block
 * kept live so the heap does not give its region back). */
static bool bench_heap(const char *policy, size_t size)
{
	struct heap h;
	char name[64];
	void *keep;

	if (heap_create(policy, frames_grow, frames_shrink, NULL, &h))
		return false;
	keep = heap_alloc(&h, 64);
	heap_free(&h, heap_alloc(&h, size));
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();

		heap_free(&h, heap_alloc(&h, size));
		record(i, a, pmu_read());
	}
	heap_free(&h, keep);
	heap_destroy(&h);
	fmt_snprintf(name, sizeof(name), "heap_%s_alloc_free_%u", policy,
		     (unsigned)size);
	emit(name, median(reps, 1), false);
	return true;
}

/* libos stage 1: map one page of a frame and unmap it again, in the vmap
 * window (break-before-make and the TLB maintenance included). */
static bool bench_map_unmap(void)
{
	const struct libos_mm_info *mi = libos_mm_info();
	uint64_t va = mi->vmap_base + mi->vmap_size - 64 * mi->page_size, pa;
	uint32_t attrs = PGTABLE_KERNEL_RW;

	if (!libos_frames_alloc(mi->page_size / FRAME_SIZE, &pa))
		return false;
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();

		pgtable_map(libos_mm_kernel(), va, pa, mi->page_size, attrs);
		pgtable_unmap(libos_mm_kernel(), va, mi->page_size);
		record(i, a, pmu_read());
	}
	libos_frames_free(pa, mi->page_size / FRAME_SIZE);
	emit("libos_map_unmap_page", median(reps, 1), false);
	return true;
}

static int add_region(uint64_t va, uint64_t pages, enum libos_region_kind k)
{
	struct libos_region r = {
		.start = va, .end = va + pages * libos_mm_info()->page_size,
		.kind = k, .attrs = PGTABLE_KERNEL_RW,
	};

	return libos_region_insert(libos_kernel_aspace(), &r);
}

/* A first store to each page of an anonymous region: a translation fault
 * taken by libos, a frame from the pool, zeroed, mapped (zeroing included:
 * a 4 KiB page is 64 DC ZVA or 512 stores of it). */
static bool bench_demand_zero(void)
{
	const struct libos_mm_info *mi = libos_mm_info();
	uint64_t va = mi->vmap_base + mi->vmap_size / 2;

	if (add_region(va, reps, LIBOS_REGION_ANON))
		return false;
	for (unsigned i = 0; i < reps; i++) {
		volatile uint64_t *p = (uint64_t *)(va + i * mi->page_size);
		struct count a = pmu_read();

		*p = i;
		record(i, a, pmu_read());
	}
	libos_region_remove(libos_kernel_aspace(), va);
	emit("demand_zero_fault", median(reps, 1), false);
	return true;
}

/* A store to a page shared copy-on-write by two VAs: a permission fault,
 * a new frame, the page copied, mapped writable. */
static bool bench_cow(void)
{
	const struct libos_mm_info *mi = libos_mm_info();
	uint64_t page = mi->page_size, n = reps < 64 ? reps : 64;
	uint64_t a_va = mi->vmap_base + mi->vmap_size / 4;
	uint64_t b_va = a_va + (n + 16) * page, pa;

	if (add_region(a_va, n, LIBOS_REGION_COW) ||
	    add_region(b_va, n, LIBOS_REGION_COW))
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (!libos_frames_alloc(page / FRAME_SIZE, &pa) ||
		    libos_region_cow_map(libos_kernel_aspace(), a_va + i * page,
					 pa, 1) ||
		    libos_region_cow_map(libos_kernel_aspace(), b_va + i * page,
					 pa, 1))
			return false;
	}
	for (unsigned i = 0; i < n; i++) {
		volatile uint64_t *p = (uint64_t *)(a_va + i * page);
		struct count a = pmu_read();

		*p = i;
		record(i, a, pmu_read());
	}
	libos_region_remove(libos_kernel_aspace(), a_va);
	libos_region_remove(libos_kernel_aspace(), b_va);
	emit("cow_fault", median((unsigned)n, 1), false);
	return true;
}

/* FRAME_SHARE of one frame to the partner guest, then FRAME_UNSHARE: an
 * offer and its withdrawal, the sender's side of a share (the partner only
 * yields, it never accepts: docs/abi.md, "Consent"; its stage 2 is not
 * touched). */
static bool bench_share(void)
{
	uint64_t partner = exo_vm_lookup("bench-partner").x1, pa;
	struct exo_ret r = exo_frame_alloc(1, 0);

	if (r.status || !partner)
		return false;
	pa = r.x1;
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();
		int64_t st = exo_frame_share(pa, 1, partner, EXO_SHARE_R);

		if (!st)
			st = exo_frame_unshare(pa, 1, partner);
		record(i, a, pmu_read());
		if (st)
			return false;
	}
	exo_frame_free(pa, 1);
	emit("frame_share_unshare", median(reps, 1), true);
	return true;
}

/* An EL0 task making n getid system calls (SVC #0 to the library OS and
 * back). The round trip is the difference between tasks making SYSCALLS
 * calls and none, divided by SYSCALLS: task creation, entry and exit
 * cancel out. */
#define SYSCALLS 1000

EL1_TASK_FN static int task_syscalls(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		usys_getid();
	return 0;
}

static uint64_t task_run_insns(uint64_t calls)
{
	struct count a;

	if (el1_task_spawn(task_syscalls, calls) < 0)
		return 0;
	a = pmu_read();
	el1_tasks_run();
	return pmu_read().total - a.total;
}

/* An SGI round trip between two vCPUs of this guest (issue 16): vCPU 0
 * sends SGI_PING to vCPU 1 and waits in WFI; vCPU 1, polling its CPU
 * interface with IRQs masked, answers SGI_PONG, which vCPU 0 takes in its
 * interrupt handler. One sample: both SGI writes (trapped, emulated), two
 * WFI exits and vCPU switches, vCPU 1's poll and vCPU 0's interrupt. The
 * partner has ended first, so the two vCPUs have the CPU to themselves;
 * the cycle counter, a system guest's, counts vCPU 1 too. */
#define SGI_PING 1u
#define SGI_PONG 2u
#define SGI_STOP 3u
#define SGI_ECHO_STACK 8192

static uint8_t sgi_echo_stack[SGI_ECHO_STACK] __attribute__((aligned(16)));

static void wfi(void)
{
	__asm__ volatile("wfi" : : : "memory");   /* traps: EL2 switches */
}

static void sgi_echo(unsigned cpu, void *arg)
{
	uint32_t intid;

	(void)cpu;
	(void)arg;
	el1_gic_cpu_init();
	while ((intid = el1_irq_poll()) != SGI_STOP) {
		if (intid == SGI_PING)
			el1_sgi_send(1u << 0, SGI_PONG);
		else if (intid == EL1_IRQ_NONE)
			wfi();
	}
}

static void sgi_ping(void)
{
	unsigned long before = el1_sgi_count(SGI_PONG);

	el1_sgi_send(1u << 1, SGI_PING);
	while (el1_sgi_count(SGI_PONG) == before)
		wfi();
}

static bool bench_sgi(void)
{
	if (el1_boot_info()->cpus < 2)
		return false;
	while (exo_vm_lookup("bench-partner").status == EXO_OK)
		exo_yield();
	if (el1_cpu_start(1, sgi_echo, NULL,
			  sgi_echo_stack + SGI_ECHO_STACK) != 0)
		return false;
	sgi_ping();   /* vCPU 1 is polling from here on */
	for (unsigned i = 0; i < reps; i++) {
		struct count a = pmu_read();

		sgi_ping();
		record(i, a, pmu_read());
	}
	emit("sgi_round_trip", median(reps, 1), true);
	el1_sgi_send(1u << 1, SGI_STOP);
	while (el1_cpu_state(1) != EXO_PSCI_AFF_OFF)
		wfi();
	return true;
}

/* Frame alloc+free on several CPUs at once (issue 16, `--smp-alloc=N`):
 * each vCPU of this guest (manifest `cpus`, one per physical CPU) loops N
 * times over FRAME_ALLOC of one frame (NOZERO) and FRAME_FREE of it, the
 * EL2 lock's acquisitions and waits included. The vCPUs start the loop
 * together (a barrier on `smp_ready`). The run is timed with the virtual
 * counter, the same on every CPU: from the first vCPU's start to the last
 * one's end. Not with the PMU: under QEMU's -icount its instruction and
 * cycle counts are the machine's (one count for all CPUs, which QEMU runs
 * one at a time), so a vCPU's PMU would count the others' work too. With
 * -icount shift=0 a tick of the counter is 1e9/CNTFRQ instructions of
 * all the CPUs together; tools/bench divides by the operations. */
#define SMP_ALLOC_STACK 8192
#define SMP_CACHE_LINE 64

struct smp_alloc_slot {
	uint64_t start, end;     /* the virtual counter around the loop */
	int64_t status;          /* the first call that failed, else 0 */
} __attribute__((aligned(SMP_CACHE_LINE)));

static struct smp_alloc_slot smp_slots[EXO_VM_MAX_VCPUS];
static uint8_t smp_stacks[EXO_VM_MAX_VCPUS][SMP_ALLOC_STACK]
	__attribute__((aligned(16)));
static unsigned smp_ready, smp_ops, smp_cpus;

static uint64_t virtual_count(void)
{
	isb();
	return read_sysreg(cntvct_el0);
}

static void smp_alloc_loop(unsigned cpu, void *arg)
{
	struct smp_alloc_slot *slot = &smp_slots[cpu];

	(void)arg;
	__atomic_add_fetch(&smp_ready, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&smp_ready, __ATOMIC_ACQUIRE) < smp_cpus)
		;   /* at EL1: no lock taken while the others start */
	slot->start = virtual_count();
	for (unsigned i = 0; i < smp_ops && !slot->status; i++) {
		struct exo_ret r = exo_frame_alloc_nozero();

		slot->status = r.status ? r.status : exo_frame_free(r.x1, 1);
	}
	__atomic_store_n(&slot->end, virtual_count(), __ATOMIC_RELEASE);
}   /* a started vCPU then turns itself off: its CPU idles */

static bool smp_all_done(void)
{
	for (unsigned c = 0; c < smp_cpus; c++)
		if (!__atomic_load_n(&smp_slots[c].end, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/* `--smp-alloc-guests=K` beside `--smp-alloc=N`: this guest is one of K
 * (alloc0 .. alloc<K-1>, one vCPU each, each on its own CPU), and its loop
 * starts once all K run, so the loops overlap. The counter's values at
 * the start and the end are printed too: tools/bench takes the first
 * start and the last end over the K guests (the virtual counter is one
 * for all guests: EL2 keeps CNTVOFF_EL2 at 0). */
#define SMP_ALLOC_GUESTS_MAX 10   /* one digit in the names */

static void smp_wait_for_peers(unsigned guests)
{
	char name[] = "alloc0";

	for (unsigned g = 0; g < guests; g++) {
		name[sizeof(name) - 2] = (char)('0' + g);
		while (!(exo_vm_lookup(name).x2 & EXO_VM_RUNS))
			exo_yield();
	}
}

static int bench_smp_alloc(unsigned ops, unsigned guests)
{
	uint64_t first = UINT64_MAX, last = 0;
	int failed = 0;

	smp_ops = ops;
	smp_cpus = el1_boot_info()->cpus;
	if (guests > SMP_ALLOC_GUESTS_MAX || (guests && smp_cpus != 1)) {
		kprintf("smp alloc: %u guests of %u vCPUs: at most %u guests "
			"of one\n", guests, smp_cpus, SMP_ALLOC_GUESTS_MAX);
		return 1;
	}
	smp_wait_for_peers(guests);
	for (unsigned c = 1; c < smp_cpus; c++)
		if (el1_cpu_start(c, smp_alloc_loop, NULL,
				  smp_stacks[c] + SMP_ALLOC_STACK) != 0) {
			kprintf("smp alloc: vCPU %u did not start\n", c);
			return 1;
		}
	smp_alloc_loop(0, NULL);
	while (!smp_all_done())
		wfi();   /* off this CPU while the others run */
	for (unsigned c = 0; c < smp_cpus; c++) {
		const struct smp_alloc_slot *s = &smp_slots[c];

		if (s->status) {
			kprintf("smp alloc: vCPU %u: error %ld\n", c,
				(long)s->status);
			failed = 1;
		}
		first = s->start < first ? s->start : first;
		last = s->end > last ? s->end : last;
	}
	kprintf("BENCH smp_alloc_ops %u\n", ops);
	kprintf("BENCH smp_alloc_cpus %u\n", smp_cpus);
	kprintf("BENCH smp_alloc_ticks %lu\n", (unsigned long)(last - first));
	kprintf("BENCH smp_alloc_start %lu\n", (unsigned long)first);
	kprintf("BENCH smp_alloc_end %lu\n", (unsigned long)last);
	kprintf("BENCH smp_alloc_tick_hz %lu\n",
		(unsigned long)read_sysreg(cntfrq_el0));
	return failed;
}

/* `--busy=NAME`: calls EL2 (a yield and a lookup, both through its C
 * path and so its lock) for as long as guest NAME runs: the other CPUs'
 * load beside a measurement. */
static int busy_while(const char *name)
{
	while (exo_vm_lookup(name).status == EXO_OK)
		exo_yield();
	return 0;
}

static bool bench_syscall(void)
{
	uint64_t none, many;

	if (el1_tasks_init())
		return false;
	none = task_run_insns(0);
	many = task_run_insns(SYSCALLS);
	if (!none || many <= none)
		return false;
	kprintf("BENCH el0_syscall_insns %lu\n",
		(unsigned long)((many - none) / SYSCALLS));
	return true;
}

/* EL2's own cost per frame of a FRAME_FREE, measured in EL2: freeing a
 * run of SCRUB_RUN frames less freeing a run of SCRUB_BASE, over their
 * difference, EL2 instructions only. Per frame that is its scrub (DC ZVA,
 * and the clean where stage 2 does not force Write-Back), its frame-DB
 * update and its share of the stage-2 unmap. Both runs take the general
 * transaction, which scrubs every frame (a free of one frame takes the
 * one-frame path, which may leave its frame unscrubbed). */
#define SCRUB_RUN 8
#define SCRUB_BASE 2

static bool bench_scrub(void)
{
	for (unsigned i = 0; i < reps; i++) {
		struct exo_ret run = exo_frame_alloc(SCRUB_RUN, 0);
		struct exo_ret base = exo_frame_alloc(SCRUB_BASE, 0);
		struct count a, b, c;

		if (run.status || base.status || run.x2 != SCRUB_RUN ||
		    base.x2 != SCRUB_BASE)
			return false;
		a = pmu_read();
		exo_frame_free(run.x1, SCRUB_RUN);
		b = pmu_read();
		exo_frame_free(base.x1, SCRUB_BASE);
		c = pmu_read();
		samples_el2[i] = (b.el2 - a.el2) - (c.el2 - b.el2);
	}
	sort(samples_el2, reps);
	kprintf("BENCH frame_scrub_insns %lu\n",
		(unsigned long)(samples_el2[reps / 2] /
				(SCRUB_RUN - SCRUB_BASE)));
	return true;
}

static unsigned arg_uint(int argc, char **argv, const char *key,
			 unsigned dflt)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *k = key;

		while (*k && *a == *k)
			a++, k++;
		if (!*k) {
			unsigned v = 0;

			while (*a >= '0' && *a <= '9')
				v = v * 10 + (unsigned)(*a++ - '0');
			return v;
		}
	}
	return dflt;
}

/* --only=<name>: the one measurement tools/pathprofile traces. */
static const char *only;

static const char *arg_str(int argc, char **argv, const char *key)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *k = key;

		while (*k && *a == *k)
			a++, k++;
		if (!*k)
			return a;
	}
	return NULL;
}

static bool want(const char *name)
{
	const char *a = name, *b = only;

	if (!only)
		return true;
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* The measurements that do not stop the run when they cannot be made. */
static void bench_core(void)
{
	if (want("guest_switch"))
		bench_switch();     /* first: while the partner is yielding */
	/* while the partner is still running */
	if (want("frame_share_unshare") && !bench_share())
		kprintf("BENCH skipped frame_share_unshare\n");
	if (want("hvc_null"))
		bench_hvc_null();
	if (want("hvc_c_null"))
		bench_hvc_c_null();
}

static bool bench_libos(void)
{
	if ((want("libos_map_unmap_page") && !bench_map_unmap()) ||
	    (want("demand_zero_fault") && !bench_demand_zero()) ||
	    (want("cow_fault") && !bench_cow())) {
		kprintf("libos map/demand-zero/COW bench: cannot set up\n");
		return false;
	}
	for (const char *const *p = heap_policy_names(); *p; p++) {
		if (want("heap") && (!bench_heap(*p, 64) ||
				     !bench_heap(*p, 1024))) {
			kprintf("heap %s: cannot create\n", *p);
			return false;
		}
	}
	return true;
}

EL1_GUEST_OPTIONS("--partner=", "--reps=", "--only=", "--smp-alloc=",
		  "--smp-alloc-guests=", "--busy=");

int main(int argc, char **argv)
{
	unsigned partner = arg_uint(argc, argv, "--partner=", 0);
	unsigned smp_alloc = arg_uint(argc, argv, "--smp-alloc=", 0);
	const char *busy = arg_str(argc, argv, "--busy=");

	if (partner) {
		for (unsigned i = 0; i < partner; i++)
			exo_yield();
		return 0;
	}
	if (busy)
		return busy_while(busy);
	if (smp_alloc)
		return bench_smp_alloc(smp_alloc,
				       arg_uint(argc, argv,
						"--smp-alloc-guests=", 0));
	reps = arg_uint(argc, argv, "--reps=", REPS_DEFAULT);
	if (reps < 1 || reps > REPS_MAX)
		reps = REPS_DEFAULT;
	only = arg_str(argc, argv, "--only=");
	if (!pmu_init()) {
		kprintf("no PMU event counters\n");
		return 1;
	}
	kprintf("BENCH reps %u\n", reps);
	bench_overhead();
	bench_core();
	if (want("frame_alloc_free") &&
	    !bench_frames_as("frame_alloc_free", false))
		return 1;
	if (want("frame_alloc_free_zeroed") &&
	    !bench_frames_as("frame_alloc_free_zeroed", true))
		return 1;
	if (want("s2_fault_reflect"))
		bench_s2_fault();
	if (want("frame_scrub") && !bench_scrub())
		kprintf("BENCH skipped frame_scrub\n");
	if (want("el0_syscall") && !bench_syscall())
		kprintf("BENCH skipped el0_syscall\n");
	if (want("sgi_round_trip") && !bench_sgi())
		kprintf("BENCH skipped sgi_round_trip\n");
	if (!bench_libos())
		return 1;
	kprintf("BENCH done 1\n");
	return 0;
}
