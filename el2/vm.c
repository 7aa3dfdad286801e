/*
 * VM life: create a guest from its manifest entry (frames, stage 2, image,
 * DTB, vCPU), and end it (exit, kill) or boot it again (restart). Every end
 * scrubs and returns all its frames, in bounded steps the scheduler runs
 * at the VM's turns (so no end holds EL2 for long); nothing here affects
 * another VM.
 */
#include <el2/arch.h>
#include <el2/frames.h>
#include <el2/guest_dt.h>
#include <el2/manifest.h>
#include <el2/mem.h>
#include <el2/offers.h>
#include <el2/revoke.h>
#include <el2/sched.h>
#include <el2/snapshot.h>
#include <el2/vm_ops.h>
#include <exo/errors.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <string.h>

#define US_PER_S 1000000u
#define MS_PER_S 1000u

static uint64_t s2_roots[EXO_MAX_VMS][S2_ROOT_SIZE / sizeof(uint64_t)]
	__attribute__((aligned(S2_ROOT_SIZE)));

void vm_s2_roots(uint64_t *start, uint64_t *end)
{
	*start = (uint64_t)(uintptr_t)s2_roots;
	*end = *start + sizeof(s2_roots);
}

static const struct manifest_guest *entry_of(const struct vm *vm)
{
	return vm->manifest_entry;
}

/* Image, DTB and boot frames in one fresh run, aligned to the guest's
 * granule (the image's segments are 64 KiB-aligned at link time, so each
 * lands on its own stage-1 page); the vCPU at the entry. */
static int64_t vm_load(struct vm *vm)
{
	const struct manifest_guest *g = entry_of(vm);
	uint64_t count = manifest_boot_run_frames(g), pa, dtb;
	struct guest_dt_info dt;
	paddr_t run;
	int64_t rc = mem_frame_alloc(vm, count,
				      manifest_granule_frames_log2(g), &run);

	if (rc)
		return rc;
	pa = pa_addr(run);
	vm->boot_run = (struct vm_run){ pa, count };
	elf_load(g->blob.data, &g->elf, (void *)(uintptr_t)pa);
	dtb = pa + g->elf.span;
	dt = (struct guest_dt_info){
		.name = vm->name, .heap_policy = g->heap_policy,
		.granule = g->granule, .args = g->args,
		.args_len = g->args_len, .mem_base = pa,
		.mem_size = count << FRAMES_SHIFT,
		.restarts = (uint32_t)vm->stats.restarts,
		.memory_report = snapshot_enabled(),
		.cpus = vm->nr_vcpus,
	};
	/* The arm64 libfdt uses FP/SIMD registers: a guest's live state in
	 * them is saved first (el2/arch.h). */
	arch_fp_el2_begin();
	rc = guest_dt_build((void *)(uintptr_t)dtb,
			    GUEST_DT_FRAMES << FRAMES_SHIFT, &dt)
		     ? EXO_EINVAL
		     : EXO_OK;
	arch_fp_el2_end();
	if (rc)
		return rc;
	/* The guest starts with its MMU off: its fetches and loads go to
	 * DRAM, not to the cache lines EL2 just wrote (the image and the DTB;
	 * the boot frames after them came FREE, so already clean). */
	arch_dcache_clean_inval(pa, dtb - pa + (GUEST_DT_FRAMES << FRAMES_SHIFT));
	vcpu_reset(&vm->vcpu, pa + g->elf.entry_offset, dtb, s2_baddr(&vm->s2));
	arch_fp_forget(&vm->vcpu);   /* its fresh FP/SIMD state is in memory */
	for (unsigned i = 1; i < vm->nr_vcpus; i++)
		vm->vcpus[i]->state = VCPU_OFF;
	return EXO_OK;
}

static void configure(struct vm *vm, const struct manifest_guest *g,
		      uint64_t freq)
{
	struct vm_config *c = &vm->config;

	c->timeslice_ticks = freq * g->timeslice_us / US_PER_S;
	c->cpu_limit_ticks = freq * g->cpu_limit_ms / MS_PER_S;
	c->violation_limit = g->violation_limit;
	c->excused_touch_limit = g->excused_touch_limit;
	c->revoke_after_ticks = freq * g->revoke_after_ms / MS_PER_S;
	c->revoke_frames = g->revoke_frames;
	c->revoke_deadline_ticks = freq * g->revoke_deadline_ms / MS_PER_S;
	c->pmu_system = g->pmu_system;
	c->cpu_affinity = g->cpu_affinity;
	strncpy(c->heap_policy, g->heap_policy, sizeof(c->heap_policy) - 1);
}

/* vCPU 0 is the VM's own, the others `extra`'s; each knows its VM, its
 * index and the MPIDR the guest reads. */
static void vcpus_link(struct vm *vm, struct vcpu *extra, unsigned nr)
{
	vm->nr_vcpus = nr;
	for (unsigned i = 0; i < nr; i++) {
		struct vcpu *v = i ? &extra[i - 1] : &vm->vcpu;

		if (i)
			memset(v, 0, sizeof(*v));
		v->vm = vm;
		v->index = i;
		v->vmpidr = vcpu_mpidr(i, nr);
		v->state = VCPU_OFF;
		vm->vcpus[i] = v;
	}
}

int64_t vm_create(struct vm *vm, unsigned id, const struct manifest_guest *g,
		  uint64_t timer_freq, struct vcpu *extra)
{
	int64_t rc;

	memset(vm, 0, sizeof(*vm));
	vm->id = id;
	strncpy(vm->name, g->name, sizeof(vm->name) - 1);
	vm->manifest_entry = g;
	vcpus_link(vm, extra, extra && g->cpus > 1 ? g->cpus : 1);
	configure(vm, g, timer_freq);
	rc = mem_vm_create(vm, g->quota_frames, s2_roots[id]);
	if (rc)
		return rc;
	rc = vm_load(vm);
	if (rc) {
		mem_vm_teardown(vm);
		return rc;
	}
	vm->state = VM_RUNNING;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		sched_add(vm->vcpus[i]);
	return EXO_OK;
}

#ifdef EXO_DEBUG
/* vCPUs of vm on other CPUs than this one, which its end has kicked. */
static unsigned vcpus_elsewhere(const struct vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		n += sched_on_cpu(vm->vcpus[i]) &&
		     this_cpu()->current != vm->vcpus[i];
	return n;
}

/* Debug builds: how many of the VM's vCPUs its end found running on other
 * CPUs (the tests' proof that the case arises). */
static void debug_vcpus_on_cpus(const struct vm *vm)
{
	unsigned n = vcpus_elsewhere(vm);

	if (n)
		kprintf("debug: guest '%s' ends with %u vCPU(s) on other CPUs: "
			"kicked, its frames wait for them\n", vm->name, n);
}

/* Debug builds: no frame of a VM is scrubbed while one of its vCPUs but
 * the reaper is on a CPU (el2/sched.c makes the reaper wait). */
static void debug_check_vcpus_off(const struct vm *vm)
{
	for (unsigned i = 1; i < vm->nr_vcpus; i++)
		if (sched_on_cpu(vm->vcpus[i]))
			panic("guest '%s': scrubbing while its vCPU %u is on "
			      "cpu %u", vm->name, i, vm->vcpus[i]->cpu);
}
#else
static void debug_vcpus_on_cpus(const struct vm *vm)
{
	(void)vm;
}

static void debug_check_vcpus_off(const struct vm *vm)
{
	(void)vm;
}
#endif

/* The VM's end begins: nothing it gave stays mapped in a borrower, and its
 * vCPU will never run again in this life; its own frames are scrubbed a
 * step at a time (vm_reap_step). */
static void reap_begin(struct vm *vm, bool restart)
{
	offers_vm_end(vm->id);
	mem_vm_teardown_begin(vm);
	vm->reap = (struct vm_reap){ .restart = restart };
	/* vCPU 0 takes the teardown's turns; the others never run again in
	 * this life (a restart boots vCPU 0 alone, as a first boot does).
	 * Those on other CPUs are kicked off them; the scrubbing waits until
	 * they are (el2/sched.c). */
	for (unsigned i = 1; i < vm->nr_vcpus; i++)
		vm->vcpus[i]->state = VCPU_STOPPED;
	vm->vcpu.state = VCPU_REAPING;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		sched_kick(vm->vcpus[i]);
	debug_vcpus_on_cpus(vm);
}

static bool vm_stop(struct vm *vm, enum vm_state state, int64_t status,
		    const char *reason)
{
	if (vm->state != VM_RUNNING)
		return false;
	violation_log_print(vm);
	vm_console_flush(vm);
	snapshot_guest(vm);
	reap_begin(vm, false);
	vm->state = state;
	vm->exit_status = status;
	vm->stop_reason = reason;
	if (state == VM_EXITED)
		kprintf("guest '%s' exited with status %ld\n", vm->name,
			(long)status);
	else
		kprintf("guest '%s' torn down: %s\n", vm->name, reason);
	return true;
}

bool vm_exit(struct vm *vm, int64_t status, uint64_t cause, uint64_t addr)
{
	if (vm->state != VM_RUNNING)
		return false;
	vm->exit_cause = cause;
	vm->exit_addr = addr;
	return vm_stop(vm, VM_EXITED, status, NULL);
}

bool vm_kill(struct vm *vm, const char *reason)
{
	return vm_stop(vm, VM_KILLED, -1, reason);
}

void vm_restart(struct vm *vm)
{
	violation_log_print(vm);
	vm_console_flush(vm);
	reap_begin(vm, true);
	vm->state = VM_RESTARTING;
}

/* Its old frames all back: the same image again with fresh frames, or
 * the end of the VM when they cannot be had. */
static void reboot(struct vm *vm)
{
	const struct manifest_guest *g = entry_of(vm);
	int64_t rc;

	revoke_new_life(vm);
	vm->stats.restarts++;
	rc = mem_vm_create(vm, g->quota_frames, s2_roots[vm->id]);
	if (!rc) {
		rc = vm_load(vm);
		if (rc)
			mem_vm_teardown(vm);
	}
	if (rc) {
		vm->vcpu.state = VCPU_STOPPED;
		vm->state = VM_KILLED;
		vm->exit_status = -1;
		vm->stop_reason = "restart failed: no frames for a fresh boot";
		kprintf("guest '%s' torn down: %s\n", vm->name, vm->stop_reason);
		return;
	}
	vm->state = VM_RUNNING;
	kprintf("guest '%s' restarted with fresh frames\n", vm->name);
}

bool vm_reap_step(struct vm *vm)
{
	bool done;

	if (vm->vcpu.state != VCPU_REAPING)
		return false;
	debug_check_vcpus_off(vm);
	vm->reap.steps++;
	done = mem_vm_teardown_step(vm, &vm->reap.at,
				    MEM_TEARDOWN_STEP_FRAMES);
	if (!done)
		return false;
	if (vm->reap.restart)
		reboot(vm);
	else
		vm->vcpu.state = VCPU_STOPPED;
	return true;
}

struct vm_notified vm_notified_take(struct vm *vm)
{
	struct vm_notified n = { 0, 0, 0 };
	unsigned w = 0;

	while (w < VM_NOTIFY_WORDS && !vm->notified.word[w])
		w++;
	if (w == VM_NOTIFY_WORDS)
		return n;
	n.mask = vm->notified.word[w];
	n.base = (uint64_t)w * EXO_WAIT_WINDOW;
	vm->notified.word[w] = 0;
	while (++w < VM_NOTIFY_WORDS)
		n.more |= vm->notified.word[w] != 0;
	return n;
}

void vm_notify(struct vm *vm, unsigned from)
{
	CHECK(from < EXO_MAX_VMS);   /* a VM id: the caller's own */
	vm->notified.word[from / EXO_WAIT_WINDOW] |=
		UINT64_C(1) << (from % EXO_WAIT_WINDOW);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		if (v->state == VCPU_BLOCKED) {
			struct vm_notified n = vm_notified_take(vm);

			v->x[0] = EXO_OK;
			v->x[1] = n.mask;
			v->x[2] = n.base;
			v->x[3] = n.more;
			v->state = VCPU_RUNNABLE;
			sched_kick(v);
			return;
		}
	}
}

