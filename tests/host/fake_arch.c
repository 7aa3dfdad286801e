/* Recorders behind el2/arch.h for the host tests (see fake_arch.h). */
#include "fake_arch.h"

#include <arch/sysreg.h>
#include <el2/arch.h>
#include <exo/frame.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

/* What a failing test shows of EL2's console when EL2 stops (a panic or
 * a halt): enough for the panic line and what led to it. */
#define HALT_CONSOLE_TAIL 2048

struct fake_arch fake;
void (*fake_halt_context)(FILE *out);
jmp_buf *fake_halt_recover;
char fake_halt_line[FAKE_HALT_LINE_MAX];

/* The cache model (fake_arch.h). The simulated RAM the code under test
 * reads and writes is what cacheable accesses see (the cache over DRAM);
 * dram is what DRAM holds. A line is stale while DRAM may differ from it:
 * zeroed by DC ZVA (dirty whatever DRAM holds) or written and not cleaned
 * (DRAM keeps its old bytes: no line is ever evicted, the worst case). */
static struct {
	uint64_t base, frames;
	uint8_t *dram;
	uint8_t *zeroed;	/* one bit per line: DC ZVA'd, not cleaned */
	uint8_t *icache;	/* the I-cache's copy of each line it holds */
	uint8_t *fetched;	/* one bit per line: in the I-cache */
} cache;

static uint8_t *ram_at(uint64_t pa)
{
	return (uint8_t *)(uintptr_t)pa;
}

static uint64_t model_bytes(void)
{
	return cache.frames << EXO_FRAME_SHIFT;
}

static void model_stop(void)
{
	free(cache.dram);
	free(cache.zeroed);
	free(cache.icache);
	free(cache.fetched);
	memset(&cache, 0, sizeof(cache));
}

void fake_cache_model(uint64_t base, uint64_t frames)
{
	model_stop();
	cache.base = base;
	cache.frames = frames;
	cache.dram = malloc(frames << EXO_FRAME_SHIFT);
	cache.zeroed = calloc((frames * FAKE_LINES_PER_FRAME + 7) / 8, 1);
	cache.icache = malloc(frames << EXO_FRAME_SHIFT);
	cache.fetched = calloc((frames * FAKE_LINES_PER_FRAME + 7) / 8, 1);
	if (!cache.dram || !cache.zeroed || !cache.icache || !cache.fetched)
		abort();
	memcpy(cache.dram, ram_at(base), frames << EXO_FRAME_SHIFT);
}

/* xorshift64: the same garbage for one seed. */
void fake_cache_fill_garbage(uint64_t seed)
{
	uint64_t x = seed | 1;

	for (uint64_t off = 0; off < model_bytes(); off += sizeof(x)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(ram_at(cache.base + off), &x, sizeof(x));
	}
	memcpy(cache.dram, ram_at(cache.base), model_bytes());
	memset(cache.zeroed, 0, (cache.frames * FAKE_LINES_PER_FRAME + 7) / 8);
	memset(cache.fetched, 0, (cache.frames * FAKE_LINES_PER_FRAME + 7) / 8);
}

static bool in_model(uint64_t pa)
{
	return cache.dram && pa >= cache.base && pa - cache.base < model_bytes();
}

static uint64_t line_of(uint64_t pa)
{
	return (pa - cache.base) / FAKE_CACHE_LINE;
}

static void mark_zeroed(uint64_t line, bool zeroed)
{
	if (zeroed)
		cache.zeroed[line / 8] |= (uint8_t)(1u << (line % 8));
	else
		cache.zeroed[line / 8] &= (uint8_t)~(1u << (line % 8));
}

static bool line_stale(uint64_t line)
{
	uint64_t off = line * FAKE_CACHE_LINE;

	return (cache.zeroed[line / 8] & (1u << (line % 8))) ||
	       memcmp(cache.dram + off, ram_at(cache.base + off),
		      FAKE_CACHE_LINE);
}

bool fake_frame_dirty(uint64_t pa)
{
	uint64_t first;

	if (!in_model(pa))
		return false;
	first = line_of(pa & ~EXO_FRAME_OFFSET_MASK);
	for (uint64_t l = first; l < first + FAKE_LINES_PER_FRAME; l++)
		if (line_stale(l))
			return true;
	return false;
}

void fake_nc_read(uint64_t pa, void *dst, size_t len)
{
	if (!in_model(pa) || !in_model(pa + len - 1))
		abort(); /* a test reading outside the model is a test bug */
	memcpy(dst, cache.dram + (pa - cache.base), len);
}

static bool line_fetched(uint64_t line)
{
	return cache.fetched[line / 8] & (1u << (line % 8));
}

static void mark_fetched(uint64_t line, bool fetched)
{
	if (fetched)
		cache.fetched[line / 8] |= (uint8_t)(1u << (line % 8));
	else
		cache.fetched[line / 8] &= (uint8_t)~(1u << (line % 8));
}

void fake_guest_fetch(uint64_t pa, void *dst, size_t len)
{
	uint8_t *out = dst;

	if (!len || !in_model(pa) || !in_model(pa + len - 1))
		abort();
	for (uint64_t a = pa; a < pa + len;) {
		uint64_t line = line_of(a), off = line * FAKE_CACHE_LINE;
		uint64_t in_line = a - cache.base - off;
		size_t n = FAKE_CACHE_LINE - in_line;

		if (n > pa + len - a)
			n = pa + len - a;
		if (fake.ctr_dic) {
			memcpy(out, ram_at(a), n);
		} else {
			if (!line_fetched(line)) {
				memcpy(cache.icache + off,
				       ram_at(cache.base + off),
				       FAKE_CACHE_LINE);
				mark_fetched(line, true);
			}
			memcpy(out, cache.icache + off + in_line, n);
		}
		out += n;
		a += n;
	}
}

bool fake_frame_in_icache(uint64_t pa)
{
	uint64_t first;

	if (!in_model(pa))
		return false;
	first = line_of(pa & ~EXO_FRAME_OFFSET_MASK);
	for (uint64_t l = first; l < first + FAKE_LINES_PER_FRAME; l++)
		if (line_fetched(l))
			return true;
	return false;
}

void fake_guest_write(uint64_t pa, const void *src, size_t len)
{
	if (!in_model(pa) || !in_model(pa + len - 1))
		abort();
	memcpy(ram_at(pa), src, len);
	memcpy(cache.dram + (pa - cache.base), src, len);
}

void fake_reset(void)
{
	model_stop();
	memset(&fake, 0, sizeof(fake));
	print_set_console(fake_console_write, "");
}

void fake_console_write(const char *s, size_t n)
{
	size_t room = sizeof(fake.console) - 1 - fake.console_len;

	if (n > room)
		n = room;
	memcpy(fake.console + fake.console_len, s, n);
	fake.console_len += n;
	fake.console[fake.console_len] = '\0';
}

struct image_layout arch_image_layout(void)
{
	return (struct image_layout){ 0 };
}

uint64_t arch_entropy(void)
{
	return 0x123456789abcdef0u;
}

uint32_t arch_mmio_read32(uint64_t addr)
{
	(void)addr;
	return 0; /* a PL011 whose FIFO is never full */
}

void arch_mmio_write32(uint64_t addr, uint32_t value)
{
	if (fake.nr_mmio < FAKE_LOG_MAX)
		fake.mmio[fake.nr_mmio++] = (struct fake_mmio_write){ addr, value };
}

static uint64_t record_smc(uint64_t fid)
{
	if (fake.nr_smc < 16)
		fake.smc_fid[fake.nr_smc++] = fid;
	return 0;
}

uint64_t arch_smc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	uint64_t ret = record_smc(fid);

	return fake.smc_hook ? fake.smc_hook(fid, a1, a2, a3) : ret;
}

_Static_assert(sizeof(fake.signature) / sizeof(fake.signature[0]) ==
		       ARCH_CPU_SIGNATURE_REGS,
	       "one fake value per signature register");

const char *const arch_cpu_signature_names[ARCH_CPU_SIGNATURE_REGS] = {
	"sig0", "sig1", "sig2", "sig3", "sig4", "sig5", "sig6", "sig7",
	"sig8", "sig9", "sig10", "sig11", "sig12", "sig13",
};

void arch_cpu_signature(uint64_t sig[ARCH_CPU_SIGNATURE_REGS])
{
	memcpy(sig, fake.signature, sizeof(fake.signature));
}

/* Values a secondary CPU would load: recognisable, not meaningful. */
void arch_cpu_boot_regs(struct cpu_boot *b)
{
	b->mair = 0x11;
	b->tcr = 0x22;
	b->ttbr0 = 0x33;
	b->sctlr = 0x44;
	b->vbar = 0x55;
}

uint64_t arch_secondary_entry_pa(void)
{
	return FAKE_SECONDARY_ENTRY;
}

uint64_t arch_hvc(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a1, (void)a2, (void)a3;
	return record_smc(fid | (UINT64_C(1) << 63));
}

unsigned arch_pa_bits(void)
{
	return 48;
}

unsigned arch_vmid_bits(void)
{
	return 16;
}


void arch_mmu_enable(uint64_t root_pa, unsigned pa_bits)
{
	(void)root_pa, (void)pa_bits;
}

uint64_t arch_read_sctlr_el2(void)
{
	return 0;
}

/* DC CIVAC over every line the range touches, as el2/arch/cpu.c does:
 * DRAM gets what the cache holds. */
void arch_dcache_clean_inval(uint64_t start, uint64_t size)
{
	uint64_t a = start & ~(uint64_t)(FAKE_CACHE_LINE - 1);

	/* Relaxed atomics, here and in the records below: CPUs (threads,
	 * tests/host/tsan/) scrub and write tables at once on hardware, so
	 * the model's records must neither race nor order them (a lock
	 * here would hide their races from ThreadSanitizer). */
	__atomic_store_n(&fake.cleaned_start, start, __ATOMIC_RELAXED);
	__atomic_store_n(&fake.cleaned_size, size, __ATOMIC_RELAXED);
	for (; a < start + size; a += FAKE_CACHE_LINE) {
		if (!in_model(a))
			continue;
		memcpy(cache.dram + (a - cache.base), ram_at(a),
		       FAKE_CACHE_LINE);
		mark_zeroed(line_of(a), false);
	}
}

/* EL2 stopped: on target the console says why, so here it goes to the
 * test's stderr before the abort that Criterion reports as a crash. */
/* The console's last non-empty line, or how EL2 stopped. */
static void keep_last_line(const char *how)
{
	size_t end = fake.console_len, start;

	while (end && fake.console[end - 1] == '\n')
		end--;
	start = end;
	while (start && fake.console[start - 1] != '\n')
		start--;
	if (end == start)
		snprintf(fake_halt_line, sizeof(fake_halt_line), "EL2 %s", how);
	else
		snprintf(fake_halt_line, sizeof(fake_halt_line), "%.*s",
			 (int)(end - start), fake.console + start);
}

static _Noreturn void halt_with_console(const char *how)
{
	size_t from = fake.console_len > HALT_CONSOLE_TAIL ?
		      fake.console_len - HALT_CONSOLE_TAIL : 0;

	if (fake_halt_recover) {
		keep_last_line(how);
		longjmp(*fake_halt_recover, 1);
	}
	fprintf(stderr, "fake arch: EL2 %s; its console ends:\n%s\n", how,
		fake.console + from);
	if (fake_halt_context)
		fake_halt_context(stderr);
	abort();
}

void arch_wait_forever(void)
{
	halt_with_console("waits forever");
}

void arch_halt(int status)
{
	char how[32];

	snprintf(how, sizeof(how), "halts (status %d)", status);
	halt_with_console(how);
}

uint64_t arch_mpidr(void)
{
	return 0;
}

void arch_gic_cpu_init(void)
{
}

uint32_t arch_gic_ack(void)
{
	return 1023;
}

void arch_gic_eoi(uint32_t intid)
{
	(void)intid;
}

uint64_t arch_timer_freq(void)
{
	return 62500000;
}

uint64_t arch_counter(void)
{
	uint64_t now = fake.counter;

	fake.counter += fake.counter_step;
	return now;
}

void arch_hyp_timer_arm_at(uint64_t at)
{
	(void)at;
}

void arch_hyp_timer_stop(void)
{
}

void arch_irq_enable(void)
{
}

void arch_irq_disable(void)
{
}

void arch_wait_for_interrupt(void)
{
}

struct fake_sgi fake_sgi_last;
unsigned fake_sgis_sent;

void arch_send_sgi(uint64_t mpidr, unsigned intid)
{
	fake_sgi_last = (struct fake_sgi){ .mpidr = mpidr, .intid = intid };
	fake_sgis_sent++;
}
void arch_el2_traps_init(void)
{
}

/* vCPU switch and trap state: a fake CPU with one set of EL1 registers.
 * Each host thread is a CPU of its own (TPIDR_EL2 is per CPU): the
 * threaded tests (tests/host/tsan/) run one guest's vCPU per thread. */
#include <el2/percpu.h>
#include <el2/vcpu.h>

/* The fake CPU is CPU 0 unless a thread says otherwise (tests/host/tsan:
 * each thread one CPU, its own record); the others are records another
 * CPU's code reads and writes (kicks, placement). */
struct percpu el2_percpus[EL2_MAX_CPUS];
static _Thread_local struct percpu thread_percpu;
static _Thread_local struct percpu *fake_cpu;
#define fake_percpu (*this_cpu())

static pthread_t main_thread;

__attribute__((constructor)) static void note_main_thread(void)
{
	main_thread = pthread_self();
}

static bool fake_thread_is_main(void)
{
	return pthread_equal(pthread_self(), main_thread);
}

/* The main thread is CPU 0 (el2_percpus[0]); any other thread has its
 * own record. */
struct percpu *this_cpu(void)
{
	if (!fake_cpu)
		fake_cpu = fake_thread_is_main() ? &el2_percpus[0]
						 : &thread_percpu;
	return fake_cpu;
}

void fake_bind_cpu(unsigned cpu)
{
	fake_cpu = &el2_percpus[cpu];
	fake_cpu->cpu = cpu;
}

void percpu_init(unsigned cpu, uint64_t mpidr, uint64_t stack_top)
{
	fake_percpu.cpu = cpu;
	fake_percpu.mpidr = mpidr;
	fake_percpu.stack_top = stack_top;
}

void arch_vcpu_save(struct vcpu *v)
{
	(void)v;
	fake.vcpu_switches++;
}

void arch_vcpu_load(const struct vcpu *v)
{
	fake.loaded_vcpu = v;
}

/* The host has no FP trap: the owner is the only state to model. */
void arch_fp_take(struct vcpu *v)
{
	fake.fp_owner = v;
}

void arch_fp_forget(const struct vcpu *v)
{
	if (fake.fp_owner == v)
		fake.fp_owner = NULL;
}

void arch_fp_el2_begin(void)
{
	fake.fp_owner = NULL;
	fake.el2_fp_depth++;
	fake.el2_fp_uses++;
}

void arch_fp_el2_end(void)
{
	fake.el2_fp_depth--;
}

void arch_stage2_configure(uint64_t vtcr)
{
	fake.vtcr = vtcr;
}

void arch_guest_enter(struct vcpu *v, uint64_t stack_top)
{
	(void)v, (void)stack_top;
	abort();
}

struct guest_syndrome arch_guest_syndrome(void)
{
	return fake.syndrome;
}

uint64_t arch_guest_far(void)
{
	return fake.syndrome.far;
}

uint64_t arch_guest_hpfar(void)
{
	return fake.syndrome.hpfar;
}

uint64_t arch_inject_sync(uint64_t esr, uint64_t far, uint64_t elr,
			  uint64_t spsr)
{
	fake.injected++;
	fake.injected_esr = esr;
	fake.injected_far = far;
	fake.injected_elr = elr;
	fake.injected_spsr = spsr;
	return FAKE_VBAR_EL1;
}

/* The frames' lines, as arch_dcache_clean_inval. */
void arch_clean_frames(uint64_t pa, uint64_t count)
{
	arch_dcache_clean_inval(pa, count * EXO_FRAME_SIZE);
}

/* IC IVAU on each line of the frames: the model's I-cache drops them. */
void arch_icache_inval_frames(uint64_t pa, uint64_t count)
{
	for (uint64_t a = pa; a < pa + count * EXO_FRAME_SIZE;
	     a += FAKE_CACHE_LINE) {
		__atomic_fetch_add(&fake.icache_lines_invalidated, 1,
				   __ATOMIC_RELAXED);
		if (in_model(a))
			mark_fetched(line_of(a), false);
	}
}

bool arch_icache_coherent(void)
{
	return fake.ctr_dic;
}

void arch_zero_frames(uint64_t pa, uint64_t count, unsigned icache)
{
	memset(ram_at(pa), 0, count * EXO_FRAME_SIZE);
	for (uint64_t a = pa; a < pa + count * EXO_FRAME_SIZE;
	     a += FAKE_CACHE_LINE)
		if (in_model(a))
			mark_zeroed(line_of(a), true);
	if (icache & ARCH_SCRUB_ICACHE)
		arch_icache_inval_frames(pa, count);
}

/* The passes in turn, as on a CPU whose DC ZVA block is not its cache
 * line (el2/arch/frame_scrub.S): the model's lines end the same. */
void arch_scrub_frames(uint64_t pa, uint64_t count, unsigned icache)
{
	arch_zero_frames(pa, count, 0);
	arch_clean_frames(pa, count);
	if (icache & ARCH_SCRUB_ICACHE)
		arch_icache_inval_frames(pa, count);
}

struct fake_s2_log fake_s2;

void fake_s2_reset(void)
{
	memset(&fake_s2, 0, sizeof(fake_s2));
}

static void s2_record(enum fake_s2_kind kind, uint64_t *pte, uint64_t arg,
		      uint64_t vttbr)
{
	size_t at;

	__atomic_fetch_add(&fake_s2.count[kind], 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&fake_s2.nr, __ATOMIC_RELAXED) >= FAKE_S2_LOG_MAX)
		return;
	/* A slot each: threads append at once (the log's order is then
	 * the slots', not the calls'); read once they are joined. */
	at = __atomic_fetch_add(&fake_s2.nr, 1, __ATOMIC_RELAXED);
	if (at < FAKE_S2_LOG_MAX)
		fake_s2.ev[at] = (struct fake_s2_event){ kind, pte,
							 pte ? *pte : 0, arg,
							 vttbr };
	else
		__atomic_store_n(&fake_s2.nr, FAKE_S2_LOG_MAX,
				 __ATOMIC_RELAXED);
}

void arch_s2_write_pte(uint64_t *pte, uint64_t desc)
{
	s2_record(FAKE_S2_PTE, pte, desc, 0);
	*pte = desc;
}

void arch_dsb_ish(void)
{
	s2_record(FAKE_S2_DSB, NULL, 0, 0);
}

void arch_isb(void)
{
	s2_record(FAKE_S2_ISB, NULL, 0, 0);
}

void arch_s2_tlbi_ipa(uint64_t vttbr, uint64_t ipa)
{
	s2_record(FAKE_S2_TLBI_IPA, NULL, ipa, vttbr);
}

void arch_s2_tlbi_vmalle1(uint64_t vttbr)
{
	s2_record(FAKE_S2_TLBI_VMALLE1, NULL, 0, vttbr);
}

void arch_s2_tlbi_vmid(uint64_t vttbr)
{
	s2_record(FAKE_S2_TLBI_VMID, NULL, 0, vttbr);
}

void arch_tlbi_all_guests(void)
{
	s2_record(FAKE_S2_TLBI_ALL, NULL, 0, 0);
	if (cache.fetched) /* IC IALLUIS */
		memset(cache.fetched, 0,
		       (cache.frames * FAKE_LINES_PER_FRAME + 7) / 8);
}

void arch_vcpu_state_init(void)
{
}

void arch_vectors_set(enum arch_vectors which)
{
	(void)which;
}

void arch_vgic_enable(void)
{
}

void arch_vgic_raise(uint32_t intid, uint8_t priority)
{
	(void)priority;
	fake.vgic_raised = intid;
}

/* The saved list register's format is the hardware's: the fake keeps the
 * interrupt number, so a test can see which vCPU got it. */
void arch_vgic_raise_saved(struct vcpu *v, uint32_t intid, uint8_t priority)
{
	(void)priority;
	v->vgic.lr0 = intid;
}

bool arch_vtimer_take(void)
{
	uint64_t ctl = fake.cntv_ctl;

	if ((ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK | CNT_CTL_ISTATUS)) !=
	    (CNT_CTL_ENABLE | CNT_CTL_ISTATUS))
		return false;
	fake.cntv_ctl = ctl | CNT_CTL_IMASK;
	return true;
}

bool arch_vgic_has_lr1(void)
{
	return !fake.vgic_one_lr;
}

uint64_t arch_vgic_lr1_read(void)
{
	return fake.vgic_lr1;
}

void arch_vgic_lr1_write(uint64_t lr)
{
	fake.vgic_lr1 = lr;
}
