/*
 * The system: the boot package, the manifest, and every VM built from it.
 * A guest whose manifest entry or image is bad is reported and skipped;
 * the others still boot. When no guest is left, the summary is printed and
 * the machine powers off.
 */
#include <el2/arch.h>
#include <el2/bootpkg.h>
#include <el2/faultinject.h>
#include <el2/hvc_fast.h>
#include <el2/hyp_lock.h>
#include <el2/manifest.h>
#include <el2/mem.h>
#include <el2/percpu.h>
#include <el2/s2.h>
#include <el2/sched.h>
#include <el2/snapshot.h>
#include <el2/summary.h>
#include <el2/system.h>
#include <el2/timing.h>
#include <el2/vm_ops.h>
#include <el2/vmid.h>
#include <exo/errors.h>
#include <lib/panic.h>
#include <lib/print.h>
#include <stdlib.h>
#include <string.h>

static struct bootpkg pkg;
static struct manifest manifest;
static struct vm boot_vms[MANIFEST_MAX_GUESTS];
/* Every guest's vCPUs beyond its first, allotted in manifest order. */
static struct vcpu extra_vcpus[MANIFEST_EXTRA_VCPUS];
static unsigned extra_vcpus_used;
/* The VMs of the run: boot_vms, or a host harness's (system_use_vms). */
static struct vm *vms = boot_vms;
static unsigned nr_vms;
/* The package or manifest could not be read: nothing ran, and the verdict
 * is a failure even though no guest failed. */
static bool system_unusable;

/* VM ids start at 1: 0 is EL2 in the frame DB. */
#define FIRST_VM_ID 1

static const char *error_name(int64_t rc)
{
	switch (rc) {
	case EXO_ENOMEM: return "not enough free memory";
	case EXO_EQUOTA: return "its quota-frames is too small";
	case EXO_EINVAL: return "its DTB does not fit";
	default: return "cannot be created";
	}
}

static void fail_guest(struct vm *vm, const char *name, const char *why)
{
	memset(vm, 0, sizeof(*vm));
	strncpy(vm->name, name, sizeof(vm->name) - 1);
	vm->state = VM_FAILED;
	vm->exit_status = -1;
	vm->stop_reason = why;
	/* Never configured: "-" keeps the summary row's last column. */
	strncpy(vm->config.heap_policy, "-", sizeof(vm->config.heap_policy) - 1);
	kprintf("error: %s\n", why);
}

/* The run's fault seed: exo.fault-seed= on the command line (a replay),
 * else the manifest's exo,fault-seed, else fresh entropy; always printed
 * when some guest injects faults, with the line that replays the run. */
static uint64_t fault_seed(const char *bootargs)
{
	const char *arg = strstr(bootargs, "exo.fault-seed=");
	bool any = false;
	uint64_t seed;

	for (unsigned i = 0; i < manifest.nr_guests; i++)
		any |= manifest.guests[i].status == MANIFEST_GUEST_OK &&
		       manifest.guests[i].faults;
	if (!any)
		return 0;
	seed = arg ? strtoul(arg + strlen("exo.fault-seed="), NULL, 0)
		   : manifest.fault_seed ? manifest.fault_seed : arch_entropy();
	/* EL2 cannot see QEMU's options: the exact replay also needs this
	 * run's --cpu, --icount and --seed (docs/testing.md, "Replay"). */
	kprintf("fault injection: seed 0x%lx (replay: tools/run --append "
		"exo.fault-seed=0x%lx --pkg <this package> <this EL2>, with "
		"this run's --cpu, --icount and --seed)\n",
		(unsigned long)seed, (unsigned long)seed);
	return seed;
}

static void create_guests(uint64_t timer_freq, const char *bootargs)
{
	uint64_t seed = fault_seed(bootargs);
	bool injecting = false;

	for (unsigned i = 0; i < manifest.nr_guests; i++) {
		const struct manifest_guest *g = &manifest.guests[i];
		struct vm *vm = &vms[nr_vms++];
		int64_t rc;

		if (g->status != MANIFEST_GUEST_OK) {
			fail_guest(vm, g->name, g->error);
			continue;
		}
		/* The manifest kept the guests' vCPUs within the budget
		 * (manifest_budget_vcpus); a failed guest keeps its share. */
		CHECK(g->cpus - 1 <= MANIFEST_EXTRA_VCPUS - extra_vcpus_used);
		rc = vm_create(vm, FIRST_VM_ID + i, g, timer_freq,
			       &extra_vcpus[extra_vcpus_used]);
		extra_vcpus_used += g->cpus - 1;
		if (!rc) {
			faultinject_init(vm, g, seed);
			injecting |= faultinject_on(vm);
			/* Names every guest that runs, so a reader of the
			 * console (tools/run on a timeout) knows them all. */
			kprintf("boot: guest '%s' is vmid %u, quota %lu frames\n",
				vm->name, vm->id,
				(unsigned long)g->quota_frames);
		}
		if (rc) {
			fail_guest(vm, g->name, error_name(rc));
			kprintf("error: guest '%s' not started (%ld)\n", g->name,
				(long)rc);
		}
	}
	/* The fault injector must see every call. */
	faultinject_any = injecting;
	hvc_fast_path_set(!injecting);
}

/* Returns false (reported) when the package or manifest is unusable. */
static bool read_manifest(uint64_t pkg_max)
{
	char err[128];
	struct bootpkg_blob m;

	if (bootpkg_parse((const void *)EXO_BOOT_PKG_ADDR, pkg_max, &pkg, err,
			  sizeof(err))) {
		kprintf("error: boot package at 0x%lx: %s\n",
			(unsigned long)EXO_BOOT_PKG_ADDR, err);
		return false;
	}
	m = bootpkg_find(&pkg, BOOTPKG_MANIFEST_NAME);
	if (!m.data) {
		kprintf("error: boot package has no %s\n", BOOTPKG_MANIFEST_NAME);
		return false;
	}
	if (manifest_parse(m.data, m.size, mem_ram_frames(), &manifest)) {
		kprintf("error: %s\n", manifest.error);	/* "manifest: ..." */
		return false;
	}
	manifest_bind_images(&manifest, &pkg);
	snapshot_enable(manifest.memory_snapshot);
	return true;
}

struct vm *system_vm(unsigned id)
{
	if (id < FIRST_VM_ID || id - FIRST_VM_ID >= nr_vms)
		return NULL;
	return vms[id - FIRST_VM_ID].state == VM_FAILED ? NULL
						       : &vms[id - FIRST_VM_ID];
}

struct vm *system_vm_by_name(const char *name)
{
	for (unsigned i = 0; i < nr_vms; i++) {
		if ((vms[i].state == VM_RUNNING ||
		     vms[i].vcpu.state == VCPU_REAPING) &&
		    !strcmp(vms[i].name, name))
			return &vms[i];
	}
	return NULL;
}

void system_use_vms(struct vm *table, unsigned nr)
{
	vms = table;
	nr_vms = nr;
}

bool system_may_share(const struct vm *from, const struct vm *to)
{
	const struct manifest_guest *g = from->manifest_entry;

	for (uint32_t k = 0; k < g->nr_share_ids; k++)
		if (g->share_ids[k] == to->id - FIRST_VM_ID)
			return true;
	return false;
}

void system_notify_peers(const struct vm *vm)
{
	for (unsigned i = 0; i < nr_vms; i++) {
		struct vm *o = &vms[i];

		if (o != vm && o->state == VM_RUNNING &&
		    (system_may_share(o, vm) || system_may_share(vm, o)))
			vm_notify(o, vm->id);
	}
}

/* Debug builds: memory hypercalls after which the invariant was checked. */
static uint64_t invariant_rounds;

/* A running VM none of whose vCPUs can run: one at least waits, the
 * others wait or are off. */
static bool vm_all_wait(const struct vm *vm)
{
	bool waits = false;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		enum vcpu_state s = vm->vcpus[i]->state;

		if (s != VCPU_BLOCKED && s != VCPU_OFF)
			return false;
		waits |= s == VCPU_BLOCKED;
	}
	return waits;
}

/* Every runnable guest is gone and some wait for a notification no one can
 * send: they are torn down (each one's peers told, as for any end). */
static void kill_deadlocked(void)
{
	for (unsigned i = 0; i < nr_vms; i++) {
		if (vms[i].state == VM_RUNNING && vm_all_wait(&vms[i]) &&
		    vm_kill(&vms[i], "waiting for a notification no guest is "
				     "left to send"))
			system_notify_peers(&vms[i]);
	}
}

void system_check_running(void)
{
	for (unsigned i = 0; i < nr_vms; i++) {
		if (vms[i].state == VM_RUNNING)
			mem_check_invariant(&vms[i]);
	}
}

void system_check_invariants(struct vm *caller)
{
	invariant_rounds++;
	caller->stats.invariant_rounds++;
	system_check_running();
}

void system_reap_step(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool last = vm_reap_step(vm);

#ifdef EXO_DEBUG
	system_check_running();
#endif
	/* Told when its end began (by whoever ended it) and now that all it
	 * held is back: a peer that woke, found it still there (VM_LOOKUP)
	 * and waited again is woken for good. */
	if (last)
		system_notify_peers(vm);
}

void system_reap_finish(struct vm *vm)
{
	while (vm->vcpu.state == VCPU_REAPING)
		system_reap_step(&vm->vcpu);
}

/* Guests ended here, at the end of the run, have no turn left to be
 * scrubbed in: their teardowns finish now, before the totals. */
static void reap_the_rest(void)
{
	for (unsigned i = 0; i < nr_vms; i++)
		system_reap_finish(&vms[i]);
}

#ifdef EXO_DEBUG
#define PAR_F 1u
#define PAR_ATTR_SHIFT 56
#define MAIR_DEVICE_MASK 0xf0u /* Device: outer nibble 0 */

/* Debug builds: the memory type the first guest, loaded and about to run
 * with its MMU off, gets for its own RAM, asked of the MMU: Normal
 * Write-Back when stage 2 forces it (FEAT_S2FWB), Device (stage 1 off,
 * combined with stage 2) otherwise (docs/stage2.md, "Memory attributes"). */
static void check_guest_memory_type(const struct vcpu *v)
{
	uint64_t par = arch_s12_read_par(v->vm->boot_run.pa);
	uint8_t attr = (uint8_t)(par >> PAR_ATTR_SHIFT);
	bool wb = !(par & PAR_F) && s2_mair_write_back(attr);
	bool device = !(par & PAR_F) && !(attr & MAIR_DEVICE_MASK);

	if (s2_forced_wb() ? !wb : !device)
		panic("stage 2: guest '%s' with its MMU off gets PAR_EL1 0x%lx "
		      "for its RAM (FWB %s)", v->vm->name, (unsigned long)par,
		      s2_forced_wb() ? "on" : "off");
	kprintf("debug: stage 2: guest '%s' with its MMU off reads its RAM as "
		"%s (PAR_EL1.ATTR 0x%02x)\n", v->vm->name,
		wb ? "Normal Write-Back" : "Device", attr);
}
#endif

static unsigned running_vms(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nr_vms; i++)
		n += vms[i].state == VM_RUNNING;
	return n;
}

_Noreturn void system_start(uint64_t pkg_max, bool have_pkg,
			    const char *bootargs)
{
	struct vcpu *first;

	if (have_pkg && read_manifest(pkg_max))
		create_guests(arch_timer_freq(), bootargs);
	else if (have_pkg)
		system_unusable = true;
	else
		kprintf("boot: no boot package at 0x%lx: no guests to run\n",
			(unsigned long)EXO_BOOT_PKG_ADDR);
	timing_expect_guests(manifest_nr_ok(&manifest));
	sched_set_reaper(system_reap_step);
	if (running_vms())   /* only when some guest will run */
		kprintf("boot: %u guest(s) starting\n",
			manifest_nr_ok(&manifest));
	/* VTCR_EL2 before any VTTBR_EL2 and HCR_EL2.VM (sched_first loads
	 * them): translation must never run with an UNKNOWN VTCR. */
	vmid_init(arch_vmid_bits(), FIRST_VM_ID + manifest.nr_guests - 1);
	arch_stage2_configure(s2_vtcr(arch_pa_bits(), arch_vmid_bits()));
	hyp_lock();
	sched_start();
	first = sched_first();
	if (!first)
		system_finish();
#ifdef EXO_DEBUG
	check_guest_memory_type(first);
#endif
	hyp_unlock();
	arch_guest_enter(first, this_cpu()->stack_top);
}

_Noreturn void system_cpu_run(void)
{
	struct vcpu *first;

	sched_wait_for_start();
	hvc_fast_path_cpu_init();
	arch_stage2_configure(s2_vtcr(arch_pa_bits(), arch_vmid_bits()));
	hyp_lock();
	first = sched_first();
	if (!first)
		system_finish();
	hyp_unlock();
	arch_guest_enter(first, this_cpu()->stack_top);
}

/* Debug builds: the proof that the checks ran, for the tests. */
static void print_invariant_counts(void)
{
#ifdef EXO_DEBUG
	uint64_t checks, pages;

	mem_invariant_counts(&checks, &pages);
	for (unsigned i = 0; i < nr_vms; i++)
		kprintf("debug: guest '%s': stage-2 invariant checked after its "
			"%lu memory hypercalls\n", vms[i].name,
			(unsigned long)vms[i].stats.invariant_rounds);
	kprintf("debug: stage-2 invariant checked after %lu memory hypercalls: "
		"%lu guest stage 2s, %lu mappings compared\n",
		(unsigned long)invariant_rounds, (unsigned long)checks,
		(unsigned long)pages);
#endif
}

_Noreturn void system_finish(void)
{
	struct summary_totals t;
	bool ok;

	kill_deadlocked();
	reap_the_rest();
	mem_totals(&t.frames_free, &t.frames_hyp, &t.frames_other);
	t.vmids_per_generation = vmid_per_generation();
	t.vmid_rollovers = vmid_rollovers();
	snapshot_system();
	ok = summary_print(vms, nr_vms, &t, arch_timer_freq());
	timing_print(arch_timer_freq());
	print_invariant_counts();
	if (system_unusable)
		kprintf("boot failed: the boot package or manifest is unusable "
			"(see the error above): no guest was run\n");
	arch_halt(ok && !system_unusable ? 0 : 1);
}
