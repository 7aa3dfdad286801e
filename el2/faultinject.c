/*
 * The fault injector (el2/faultinject.h). Each guest has its own xorshift64*
 * stream seeded from the run's seed and its VM id, so one guest's faults do
 * not depend on what the others do. Corruption touches only the guest's own
 * registers and frames: injection never breaks isolation.
 */
#include <arch/esr.h>
#include <el2/arch.h>
#include <el2/faultinject.h>
#include <el2/manifest.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/hvc.h>
#include <lib/print.h>
#include <string.h>

#define PERMILLE 1000u
#define GPRS 31u
#define BITS 64u

_Static_assert(sizeof(((struct vm_faultinject *)0)->param) >=
		       sizeof(((struct manifest_guest *)0)->fault_param),
	       "room for every fault's parameter");

static uint64_t next(struct vm *vm)
{
	uint64_t x = vm->faultinject.rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	vm->faultinject.rng = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

static bool has(const struct vm *vm, enum manifest_fault f)
{
	return vm->faultinject.faults & (1u << f);
}

/* corrupt-*: the fault fires at the hypercall its parameter counts to. */
static bool at_hypercall(const struct vm *vm, enum manifest_fault f)
{
	return has(vm, f) &&
	       vm->faultinject.hypercalls == vm->faultinject.param[f];
}

static bool chance(struct vm *vm, enum manifest_fault f)
{
	return has(vm, f) && next(vm) % PERMILLE < vm->faultinject.param[f];
}

void faultinject_init(struct vm *vm, const struct manifest_guest *g,
		      uint64_t seed)
{
	memset(&vm->faultinject, 0, sizeof(vm->faultinject));
	if (!g->faults)
		return;
	vm->faultinject.faults = g->faults;
	memcpy(vm->faultinject.param, g->fault_param, sizeof(g->fault_param));
	/* Never zero: xorshift would stay at zero. */
	vm->faultinject.rng = (seed ^ (UINT64_C(0x9e3779b97f4a7c15) * vm->id)) | 1;
	kprintf("guest '%s': fault injection on (mask 0x%x)\n", vm->name,
		g->faults);
}

static bool gets_frames(uint64_t fid)
{
	return fid == EXO_HVC_FRAME_ALLOC || fid == EXO_HVC_FRAME_ALLOC_AT;
}

bool faultinject_any;

bool faultinject_hvc_fails(struct vm *vm, uint64_t fid, int64_t *status)
{
	vm->faultinject.hypercalls++;
	if (!gets_frames(fid))
		return false;
	if (has(vm, MANIFEST_FAULT_NO_FRAMES) ||
	    chance(vm, MANIFEST_FAULT_HVC_FAIL)) {
		vm->faultinject.injected++;
		*status = EXO_ENOMEM;
		return true;
	}
	return false;
}

static void flip_register(struct vcpu *v)
{
	unsigned reg = (unsigned)(next(v->vm) % GPRS);
	unsigned bit = (unsigned)(next(v->vm) % BITS);

	v->x[reg] ^= UINT64_C(1) << bit;
	kprintf("guest '%s': injected: flipped bit %u of x%u\n", v->vm->name,
		bit, reg);
}

/* A bit of the guest's own boot run (image, DTB or boot frames), the only
 * write EL2 makes to a frame while a guest owns it: cleaned at once, so a
 * guest reading it non-cacheable sees the flip, and no dirty line of EL2's
 * is left to be written back over what the guest writes there later. Out
 * of line: inlined, it made faultinject_after_hvc, which every hypercall
 * runs, save one more register (two instructions on every call). */
static __attribute__((noinline)) void flip_memory(struct vm *vm)
{
	uint64_t bytes = vm->boot_run.count << EXO_FRAME_SHIFT;
	uint64_t off = next(vm) % bytes;
	unsigned bit = (unsigned)(next(vm) % 8);

	*(volatile uint8_t *)(uintptr_t)(vm->boot_run.pa + off) ^=
		(uint8_t)(1u << bit);
	arch_dcache_clean_inval(vm->boot_run.pa + off, 1);
	kprintf("guest '%s': injected: flipped bit %u of PA 0x%lx\n", vm->name,
		bit, (unsigned long)(vm->boot_run.pa + off));
}

void faultinject_after_hvc(struct vcpu *v)
{
	struct vm *vm = v->vm;

	if (!vm->faultinject.faults || vm->state != VM_RUNNING)
		return;
	if (at_hypercall(vm, MANIFEST_FAULT_CORRUPT_REG))
		flip_register(v);
	if (at_hypercall(vm, MANIFEST_FAULT_CORRUPT_MEM))
		flip_memory(vm);
}

unsigned faultinject_before_resume(struct vcpu *v)
{
	struct vm *vm = v->vm;
	unsigned what = 0;

	if (!vm->faultinject.faults || vm->state != VM_RUNNING)
		return 0;
	if (chance(vm, MANIFEST_FAULT_SPURIOUS_IRQ)) {
		vm->faultinject.injected++;
		what |= FAULTINJECT_EVENT_IRQ;
	}
	if (chance(vm, MANIFEST_FAULT_SPURIOUS_ABORT)) {
		vm->faultinject.injected++;
		what |= FAULTINJECT_EXTERNAL_ABORT;
	}
	return what;
}

bool faultinject_drops_revoke(const struct vm *vm)
{
	return has(vm, MANIFEST_FAULT_DROP_REVOKE);
}

uint32_t faultinject_revoke_delay_ms(const struct vm *vm)
{
	return has(vm, MANIFEST_FAULT_DELAY_REVOKE)
		       ? vm->faultinject.param[MANIFEST_FAULT_DELAY_REVOKE]
		       : 0;
}
