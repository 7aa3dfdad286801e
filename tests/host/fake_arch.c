/* Recorders behind el2/arch.h for the host tests (see fake_arch.h). */
#include "fake_arch.h"

#include <el2/arch.h>
#include <exo/frame.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a failing test shows of EL2's console when EL2 stops (a panic or
 * a halt): enough for the panic line and what led to it. */
#define HALT_CONSOLE_TAIL 2048

struct fake_arch fake;
void (*fake_halt_context)(FILE *out);
jmp_buf *fake_halt_recover;
char fake_halt_line[FAKE_HALT_LINE_MAX];

/* The cache model (fake_arch.h): one bit per frame, set while DRAM may
 * still hold what the frame held before it was zeroed. */
static struct {
	uint64_t base, frames;
	uint8_t *dirty;
} cache;

void fake_cache_model(uint64_t base, uint64_t frames)
{
	free(cache.dirty);
	cache.base = base;
	cache.frames = frames;
	cache.dirty = calloc((frames + 7) / 8, 1);
}

static bool in_model(uint64_t pa)
{
	return cache.dirty && pa >= cache.base &&
	       (pa - cache.base) >> EXO_FRAME_SHIFT < cache.frames;
}

static void mark(uint64_t pa, bool dirty)
{
	uint64_t i = (pa - cache.base) >> EXO_FRAME_SHIFT;

	if (dirty)
		cache.dirty[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		cache.dirty[i / 8] &= (uint8_t)~(1u << (i % 8));
}

bool fake_frame_dirty(uint64_t pa)
{
	uint64_t i = (pa - cache.base) >> EXO_FRAME_SHIFT;

	return in_model(pa) && (cache.dirty[i / 8] & (1u << (i % 8)));
}

void fake_reset(void)
{
	free(cache.dirty);
	memset(&cache, 0, sizeof(cache));
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
	(void)a1, (void)a2, (void)a3;
	return record_smc(fid);
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

void arch_mmu_enable(uint64_t root_pa, unsigned pa_bits)
{
	(void)root_pa, (void)pa_bits;
}

uint64_t arch_read_sctlr_el2(void)
{
	return 0;
}

/* Whole frames of the range become clean; a partial frame stays as it
 * was (the model is per frame: cleaning half a frame is not enough). */
void arch_dcache_clean_inval(uint64_t start, uint64_t size)
{
	uint64_t first = (start + EXO_FRAME_SIZE - 1) & ~EXO_FRAME_OFFSET_MASK;

	for (uint64_t pa = first; pa + EXO_FRAME_SIZE <= start + size;
	     pa += EXO_FRAME_SIZE)
		if (in_model(pa))
			mark(pa, false);
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
	return fake.counter;
}

void arch_hyp_timer_arm(uint64_t ticks)
{
	(void)ticks;
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
void arch_el2_traps_init(void)
{
}

/* vCPU switch and trap state: a fake CPU with one set of EL1 registers. */
#include <el2/percpu.h>
#include <el2/vcpu.h>

static struct percpu fake_percpu;

struct percpu *this_cpu(void)
{
	return &fake_percpu;
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

void arch_inject_sync(uint64_t esr, uint64_t far, uint64_t vector_offset,
		      struct vcpu *v)
{
	fake.injected_esr = esr;
	fake.injected_far = far;
	fake.injected_elr = v->elr;
	v->elr = 0xffff000000000000ull + vector_offset; /* fake VBAR_EL1 */
}

void arch_zero_frames(uint64_t pa, uint64_t count)
{
	memset((void *)(uintptr_t)pa, 0, count * EXO_FRAME_SIZE);
	for (uint64_t i = 0; i < count; i++)
		if (in_model(pa + i * EXO_FRAME_SIZE))
			mark(pa + i * EXO_FRAME_SIZE, true);
}

struct fake_s2_log fake_s2;

void fake_s2_reset(void)
{
	memset(&fake_s2, 0, sizeof(fake_s2));
}

static void s2_record(enum fake_s2_kind kind, uint64_t *pte, uint64_t arg,
		      uint64_t vttbr)
{
	fake_s2.count[kind]++;
	if (fake_s2.nr < FAKE_S2_LOG_MAX)
		fake_s2.ev[fake_s2.nr++] = (struct fake_s2_event){
			kind, pte, pte ? *pte : 0, arg, vttbr
		};
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

void arch_vcpu_state_init(void)
{
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
