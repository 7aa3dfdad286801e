/*
 * el2/sched.c, el2/vgic_lr.c and el2/vm_event.c on several CPUs: where
 * vCPUs are placed (least loaded, the manifest's cpu-affinity, a fallback
 * when it names no CPU online), what a kick does, and interrupts posted to
 * a vCPU whose registers are live on another CPU (kept aside, then put in
 * by that CPU). The fake CPU is CPU 0; the others are their records.
 */
#include "console_capture.h"
#include "fake_arch.h"
#include "fake_vm.h"

#include <criterion/criterion.h>
#include <el2/percpu.h>
#include <el2/sched.h>
#include <el2/vgic_lr.h>
#include <el2/vm_event.h>
#include <exo/hvc.h>
#include <lib/print.h>
#include <string.h>

#define FOUR_CPUS 0xfu

static struct vm quad, solo, pinned;
static struct vcpu quad_more[3];

static void setup(void)
{
	fake_reset();
	print_set_console(capture_console, "");
	capture_len = 0;
	capture_out[0] = '\0';
	for (unsigned cpu = 0; cpu < EL2_MAX_CPUS; cpu++) {
		memset(percpu_of(cpu), 0, sizeof(struct percpu));
		percpu_of(cpu)->cpu = cpu;
		percpu_of(cpu)->mpidr = 0x100 + cpu;
	}
	fake_vm_link(&quad, quad_more, 4);
	fake_vm_link(&solo, NULL, 1);
	fake_vm_link(&pinned, NULL, 1);
	strcpy(quad.name, "quad");
	strcpy(solo.name, "solo");
	strcpy(pinned.name, "pinned");
}

TestSuite(sched_cpus, .init = setup);

static void add_vm(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		sched_add(vm->vcpus[i]);
}

Test(sched_cpus, vcpus_spread_over_the_least_loaded_cpus)
{
	sched_set_cpus(FOUR_CPUS);
	add_vm(&quad);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(quad.vcpus[i]->cpu, i, "vCPU %u", i);
	add_vm(&solo);
	cr_assert_eq(solo.vcpu.cpu, 0, "a tie: the lowest CPU");
	cr_assert_eq(solo.vcpu.slot, 1, "second in CPU 0's queue");
	cr_assert(strstr(capture_out, "sched: guest 'quad' vCPU 3 runs on cpu 3"),
		  "%s", capture_out);
}

Test(sched_cpus, affinity_chooses_among_its_cpus)
{
	sched_set_cpus(FOUR_CPUS);
	pinned.config.cpu_affinity = 0x4 | 0x8;
	add_vm(&pinned);
	cr_assert_eq(pinned.vcpu.cpu, 2);
	quad.config.cpu_affinity = 0x8;
	add_vm(&quad);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(quad.vcpus[i]->cpu, 3, "all four on CPU 3");
}

Test(sched_cpus, affinity_with_no_cpu_online_falls_back_with_a_line)
{
	sched_set_cpus(0x3);
	pinned.config.cpu_affinity = 0x80;
	add_vm(&pinned);
	cr_assert_lt(pinned.vcpu.cpu, 2, "placed on an online CPU");
	cr_assert(strstr(capture_out, "sched: guest 'pinned' vCPU 0: its "
				      "cpu-affinity names no CPU online; placed "
				      "on any"), "%s", capture_out);
}

Test(sched_cpus, one_cpu_places_quietly_on_cpu_0)
{
	sched_set_cpus(0x1);
	add_vm(&quad);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(quad.vcpus[i]->cpu, 0);
	cr_assert_eq(capture_len, 0, "no placement lines on one CPU: %s",
		     capture_out);
}

Test(sched_cpus, a_kick_marks_the_cpu_and_sends_it_the_sgi)
{
	sched_set_cpus(FOUR_CPUS);
	add_vm(&quad);
	sched_kick(quad.vcpus[2]);
	cr_assert_eq(fake_sgis_sent, 0, "before the start nobody looks");
	sched_start();
	cr_assert_eq(fake_sgis_sent, 3, "the start wakes the other three");
	sched_kick(quad.vcpus[2]);
	cr_assert_eq(fake_sgis_sent, 4);
	cr_assert_eq(fake_sgi_last.mpidr, 0x102);
	cr_assert_eq(fake_sgi_last.intid, SCHED_KICK_SGI);
	cr_assert(percpu_of(2)->sched_pending & SCHED_PENDING_KICK);
	sched_kick(quad.vcpus[0]);
	cr_assert_eq(fake_sgis_sent, 4, "this CPU's own vCPU: no SGI");
	cr_assert_eq(this_cpu()->sched_pending & SCHED_PENDING_KICK, 0);
}

/* An SGI posted to a vCPU live on CPU 1 waits in posted_lr1 (its saved LR1
 * would be overwritten when CPU 1 saves the live one); CPU 1, kicked,
 * puts it in its live LR1. */
Test(sched_cpus, an_sgi_to_a_vcpu_live_elsewhere_waits_for_its_cpu)
{
	struct vcpu *t = quad.vcpus[1];

	sched_set_cpus(FOUR_CPUS);
	add_vm(&quad);
	sched_start();
	percpu_of(1)->current = t;
	vgic_lr_post(t, 5);
	cr_assert_eq(t->vgic.posted_lr1, 1u << 5);
	cr_assert_eq(t->vgic.lr1, 0, "the saved copy is not its state now");
	cr_assert_eq((fake.vgic_lr1 & ICH_LR_VINTID_MASK), 0, "not this CPU's LR1");
	cr_assert_eq(fake_sgi_last.mpidr, 0x101);
	/* On CPU 1 now: the kicked CPU puts it in. */
	percpu_of(1)->current = NULL;
	t->cpu = 0;
	this_cpu()->current = t;
	vgic_lr_take_posted(t);
	cr_assert_eq(t->vgic.posted_lr1, 0);
	cr_assert_eq((fake.vgic_lr1 & ICH_LR_VINTID_MASK), 5);
}

Test(sched_cpus, an_sgi_to_a_vcpu_off_every_cpu_goes_in_its_saved_lr1)
{
	struct vcpu *t = quad.vcpus[3];

	sched_set_cpus(FOUR_CPUS);
	add_vm(&quad);
	sched_start();
	vgic_lr_post(t, 6);
	cr_assert_eq(t->vgic.posted_lr1, 0);
	cr_assert_eq(t->vgic.lr1 & ICH_LR_VINTID_MASK, 6);
	cr_assert_eq(fake_sgi_last.mpidr, 0x103, "its CPU may idle: kicked");
}

Test(sched_cpus, an_event_for_a_vcpu_live_elsewhere_waits_for_its_cpu)
{
	sched_set_cpus(FOUR_CPUS);
	add_vm(&solo);
	add_vm(&pinned);
	sched_start();
	cr_assert_eq(pinned.vcpu.cpu, 1);
	percpu_of(1)->current = &pinned.vcpu;
	vm_event_raise(&pinned, EXO_EVENT_NOTIFY);
	cr_assert(pinned.vcpu.vgic.posted_event);
	cr_assert_eq(pinned.vcpu.vgic.lr0, 0, "not in the saved copy");
	cr_assert_eq(fake.vgic_raised, 0, "not in this CPU's LR0");
	cr_assert_eq(fake_sgi_last.mpidr, 0x101);
	vm_event_take_posted(&pinned.vcpu);
	cr_assert_not(pinned.vcpu.vgic.posted_event);
	cr_assert_eq(fake.vgic_raised, EXO_EVENT_INTID);
}
