/*
 * sgi: SGIs between a guest's own vCPUs (issue 16; EL2 emulates the
 * guest's ICC_SGI1R_EL1 writes, el2/vgic_sgi.c). vCPU 0 starts the
 * others; each turns its own CPU interface on and polls it with IRQs
 * masked (a started vCPU takes no exception yet, el1/smp.h), waiting in
 * WFI, and answers each SGI_PING from vCPU 0 with an SGI_PONG, which
 * vCPU 0 takes in its interrupt handler. Then: a burst of SGIs to one
 * vCPU (one list register holds one; the rest wait and come through the
 * maintenance interrupt, each exactly once), a broadcast (IRM) that
 * reaches every other vCPU once and not the writer, SGIs aimed where the
 * guest has no vCPU (another Aff1, another range, a vCPU past `cpus`)
 * that reach nobody, one to itself. With `--bystander` (a second guest of
 * two vCPUs, started first) it broadcasts while sgi runs, sends itself
 * one, and stays until sgi has ended: it gets its own SGIs only, and sgi
 * none of its.
 */
#include <arch/sysreg.h>
#include <el1/el1.h>
#include <el1/gic_cpu.h>
#include <el1/smp.h>
#include <exo/hvc.h>
#include <exo/hypercall.h>
#include <string.h>

#include "../tap.h"

#define SGI_BROADCAST 0u
#define SGI_PING 1u
#define SGI_PONG 2u
#define SGI_BURST_FIRST 3u
#define SGI_BURST_LAST 10u
#define SGI_NOBODY 11u
#define SGI_SELF 14u
#define SGI_STOP 15u
#define PINGS 50u
#define STACK_BYTES 8192
#define AFF1_ONE (UINT64_C(1) << ICC_SGI1R_AFF1_SHIFT)
#define RANGE_ONE (UINT64_C(1) << ICC_SGI1R_RS_SHIFT)

static uint8_t stacks[EXO_VM_MAX_VCPUS][STACK_BYTES]
	__attribute__((aligned(16)));
/* got[c][i]: SGI i taken by vCPU c (c > 0: its poll loop). */
static unsigned got[EXO_VM_MAX_VCPUS][GIC_SGI_COUNT];

static void wfi(void)
{
	__asm__ volatile("wfi" : : : "memory");   /* traps: EL2 runs another */
}

static unsigned got_load(unsigned cpu, unsigned intid)
{
	return __atomic_load_n(&got[cpu][intid], __ATOMIC_ACQUIRE);
}

/* A started vCPU: takes SGIs by polling until SGI_STOP; answers pings. */
static void poller(unsigned cpu, void *arg)
{
	uint32_t intid;

	(void)arg;
	el1_gic_cpu_init();
	do {
		intid = el1_irq_poll();
		if (intid == EL1_IRQ_NONE) {
			wfi();
			continue;
		}
		if (intid < GIC_SGI_COUNT)
			__atomic_fetch_add(&got[cpu][intid], 1,
					   __ATOMIC_RELEASE);
		if (intid == SGI_PING)
			el1_sgi_send(1u << 0, SGI_PONG);
	} while (intid != SGI_STOP);
}

static bool start_pollers(unsigned cpus)
{
	bool ok = true;

	for (unsigned c = 1; c < cpus; c++)
		ok &= el1_cpu_start(c, poller, NULL,
				    stacks[c] + STACK_BYTES) == 0;
	return ok;
}

static void stop_pollers(unsigned cpus)
{
	el1_sgi_send_others(SGI_STOP);
	for (unsigned c = 1; c < cpus; c++)
		while (el1_cpu_state(c) != EXO_PSCI_AFF_OFF)
			wfi();
}

/* vCPU 0 waits for count SGIs intid in its handler (el1_sgi_count). */
static bool wait_own(unsigned intid, unsigned long count)
{
	for (unsigned spins = 0; el1_sgi_count(intid) < count; spins++) {
		if (spins > 100000)
			return false;
		wfi();
	}
	return true;
}

static bool wait_got(unsigned cpu, unsigned intid, unsigned count)
{
	for (unsigned spins = 0; got_load(cpu, intid) < count; spins++) {
		if (spins > 100000)
			return false;
		wfi();
	}
	return true;
}

static bool ping_pong(unsigned cpus)
{
	unsigned long pongs = 0;

	for (unsigned c = 1; c < cpus; c++)
		for (unsigned r = 0; r < PINGS; r++) {
			el1_sgi_send(1u << c, SGI_PING);
			if (!wait_own(SGI_PONG, ++pongs))
				return false;
		}
	for (unsigned c = 1; c < cpus; c++)
		if (got_load(c, SGI_PING) != PINGS)
			return false;
	return el1_sgi_count(SGI_PONG) == pongs;
}

/* Every burst INTID once to vCPU 1, back to back: each arrives once. */
static bool burst(void)
{
	bool ok = true;

	for (unsigned i = SGI_BURST_FIRST; i <= SGI_BURST_LAST; i++)
		el1_sgi_send(1u << 1, i);
	for (unsigned i = SGI_BURST_FIRST; i <= SGI_BURST_LAST; i++)
		ok &= wait_got(1, i, 1) && got_load(1, i) == 1;
	return ok;
}

static bool broadcast(unsigned cpus)
{
	bool ok = true;

	el1_sgi_send_others(SGI_BROADCAST);
	for (unsigned c = 1; c < cpus; c++)
		ok &= wait_got(c, SGI_BROADCAST, 1);
	return ok;
}

/* Aimed where this guest has no vCPU: Aff1 = 1 (every Aff0), the second
 * range of 16, and the vCPU just past `cpus`. */
static void aim_at_nobody(unsigned cpus)
{
	uint64_t intid = (uint64_t)SGI_NOBODY << ICC_SGI1R_INTID_SHIFT;

	write_sysreg(intid | AFF1_ONE | ICC_SGI1R_TARGET_LIST_MASK,
		     SYSREG_ICC_SGI1R_EL1);
	write_sysreg(intid | RANGE_ONE | ICC_SGI1R_TARGET_LIST_MASK,
		     SYSREG_ICC_SGI1R_EL1);
	el1_sgi_send(1u << cpus, SGI_NOBODY);
	isb();
}

static bool nobody_got(unsigned cpus, unsigned intid)
{
	for (unsigned c = 1; c < cpus; c++)
		if (got_load(c, intid))
			return false;
	return el1_sgi_count(intid) == 0;
}

EL1_GUEST_OPTIONS("--bystander");

static int bystander(unsigned cpus)
{
	TAP_CHECK(start_pollers(cpus), "bystander: its vCPU 1 started");
	el1_sgi_send_others(SGI_BROADCAST);
	TAP_CHECK(wait_got(1, SGI_BROADCAST, 1),
		  "bystander: its broadcast reached its own vCPU 1");
	el1_sgi_send(1u << 0, SGI_SELF);
	TAP_CHECK(wait_own(SGI_SELF, 1) && el1_sgi_count(SGI_SELF) == 1,
		  "bystander: an SGI to itself arrives once");
	while (exo_vm_lookup("sgi").status == EXO_OK)
		wfi();
	stop_pollers(cpus);
	TAP_CHECK(got_load(1, SGI_PING) == 0 && got_load(1, SGI_NOBODY) == 0 &&
			  got_load(1, SGI_BROADCAST) == 1 &&
			  el1_sgi_count(SGI_PONG) == 0 &&
			  el1_sgi_count(SGI_BROADCAST) == 0,
		  "bystander: none of sgi's SGIs reached it");
	return tap_done();
}

int main(int argc, char **argv)
{
	unsigned cpus = el1_boot_info()->cpus;

	if (argc > 1 && !strcmp(argv[1], "--bystander"))
		return bystander(cpus);
	TAP_CHECK(cpus >= 3, "%u vCPUs", cpus);
	TAP_CHECK(start_pollers(cpus), "vCPUs 1..%u started", cpus - 1);
	TAP_CHECK(ping_pong(cpus), "%u ping-pong round trips with each vCPU",
		  PINGS);
	TAP_CHECK(burst(), "a burst of %u SGIs to vCPU 1: each arrives once",
		  SGI_BURST_LAST - SGI_BURST_FIRST + 1);
	TAP_CHECK(broadcast(cpus) && el1_sgi_count(SGI_BROADCAST) == 0,
		  "a broadcast reaches every other vCPU, not the writer");
	aim_at_nobody(cpus);
	el1_sgi_send(1u << 0, SGI_SELF);
	TAP_CHECK(wait_own(SGI_SELF, 1),
		  "an SGI to itself arrives (and after the ones to nobody)");
	TAP_CHECK(nobody_got(cpus, SGI_NOBODY),
		  "SGIs to another Aff1, range or a vCPU past cpus: dropped");
	stop_pollers(cpus);
	TAP_CHECK(got_load(1, SGI_BROADCAST) == 1 && got_load(2, SGI_PONG) == 0,
		  "no SGI arrived twice or at the wrong vCPU (the bystander's "
		  "broadcast stayed in its guest)");
	return tap_done();
}
