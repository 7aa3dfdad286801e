/*
 * primes: counts the primes below LIMIT on every vCPU the manifest gives it
 * (`cpus`, docs/abi.md "vCPUs"). vCPU 0 sieves the base primes up to
 * sqrt(LIMIT), starts the other vCPUs through PSCI CPU_ON (el1_cpu_start),
 * and each vCPU, itself included, sieves every n-th segment of the range
 * in a buffer of its own; vCPU 0 waits until the others are off and adds
 * their counts. Exits 0 when the total is the known pi(LIMIT). A started
 * vCPU takes no exception and shares nothing but what it writes for vCPU 0
 * (el1/smp.h says why).
 */
#include <el1/el1.h>
#include <el1/smp.h>
#include <exo/hvc.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <stdbool.h>
#include <stdint.h>

#define LIMIT 2000000u
#define PI_LIMIT 148933u	/* primes below 2,000,000 */
#define SQRT_LIMIT 1415u	/* above sqrt(LIMIT) */
#define SEGMENT 32768u		/* numbers per segment, one byte each */
#define STACK_BYTES 8192

static uint32_t base[SQRT_LIMIT];	/* the primes below SQRT_LIMIT */
static unsigned nr_base;
static bool composite[EXO_VM_MAX_VCPUS][SEGMENT];
static uint32_t counted[EXO_VM_MAX_VCPUS];
static uint8_t stacks[EXO_VM_MAX_VCPUS][STACK_BYTES]
	__attribute__((aligned(16)));
static unsigned nr_cpus;

static void sieve_base(void)
{
	static bool small[SQRT_LIMIT];

	for (uint32_t i = 2; i < SQRT_LIMIT; i++) {
		if (small[i])
			continue;
		base[nr_base++] = i;
		for (uint32_t j = i * i; j < SQRT_LIMIT; j += i)
			small[j] = true;
	}
}

/* The primes in [lo, lo + SEGMENT) below LIMIT. */
static uint32_t sieve_segment(bool *c, uint32_t lo)
{
	uint32_t hi = lo + SEGMENT < LIMIT ? lo + SEGMENT : LIMIT, n = 0;

	for (uint32_t i = 0; i < hi - lo; i++)
		c[i] = false;
	for (unsigned k = 0; k < nr_base; k++) {
		uint32_t p = base[k], first = (lo + p - 1) / p * p;

		if (first < p * p)
			first = p * p;
		for (uint32_t j = first; j < hi; j += p)
			c[j - lo] = true;
	}
	for (uint32_t i = lo < 2 ? 2 : lo; i < hi; i++)
		n += !c[i - lo];
	return n;
}

/* vCPU `cpu` takes segments cpu, cpu + nr_cpus, ... */
static void count(unsigned cpu, void *arg)
{
	uint32_t n = 0;

	(void)arg;
	for (uint32_t lo = cpu * SEGMENT; lo < LIMIT; lo += nr_cpus * SEGMENT)
		n += sieve_segment(composite[cpu], lo);
	__atomic_store_n(&counted[cpu], n, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
	uint32_t total = 0;

	(void)argc, (void)argv;
	nr_cpus = el1_boot_info()->cpus;
	sieve_base();
	for (unsigned c = 1; c < nr_cpus; c++) {
		int64_t rc = el1_cpu_start(c, count, NULL,
					   stacks[c] + STACK_BYTES);

		if (rc) {
			kprintf("primes: vCPU %u did not start (%ld)\n", c,
				(long)rc);
			return 1;
		}
	}
	count(0, NULL);
	for (unsigned c = 1; c < nr_cpus; c++)
		while (el1_cpu_state(c) != EXO_PSCI_AFF_OFF)
			exo_call0(EXO_HVC_YIELD);
	for (unsigned c = 0; c < nr_cpus; c++) {
		uint32_t n = __atomic_load_n(&counted[c], __ATOMIC_ACQUIRE);

		kprintf("primes: vCPU %u counted %u\n", c, n);
		total += n;
	}
	kprintf("primes: %u vCPUs counted %u primes below %u: %s\n", nr_cpus,
		total, LIMIT, total == PI_LIMIT ? "right" : "WRONG");
	return total == PI_LIMIT ? 0 : 1;
}
