/*
 * What EL2 learns from the host DTB: RAM, console, interrupt controller,
 * timer interrupts and the PSCI conduit. Parsed once at boot with libfdt.
 */
#ifndef EXO_EL2_PLATFORM_H
#define EXO_EL2_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLATFORM_MAX_RAM 8
#define PLATFORM_MAX_RESERVED 16
#define PLATFORM_MAX_CPUS 8          /* EL2_MAX_CPUS (el2/percpu.h) */

/* The affinity fields of MPIDR_EL1 (Aff3 in [39:32], Aff2-Aff0 in [23:0]),
 * which a /cpus/cpu node's reg holds. */
#define MPIDR_AFFINITY_MASK UINT64_C(0xff00ffffff)

struct mem_range {
	uint64_t base;
	uint64_t size;
};

/* Memory the host DTB keeps from the OS: a /memreserve/ entry or a
 * /reserved-memory child with a reg. No guest is ever given it. no-map
 * ranges are not RAM at all for EL2 (they are cut out of ram[]: never
 * mapped, not even in EL2's own tables); the others stay RAM, claimed by
 * EL2 (HYP) at boot. Frame-aligned outwards. */
struct reserved_range {
	uint64_t base;
	uint64_t size;
	bool no_map;
};

enum psci_conduit { PSCI_CONDUIT_NONE, PSCI_CONDUIT_SMC, PSCI_CONDUIT_HVC };

/* A /cpus/cpu node: its MPIDR affinity, and whether EL2 can start it
 * (enable-method "psci"; the boot CPU is running already). */
struct platform_cpu {
	uint64_t mpidr;
	bool psci;
};

/* Generic-timer interrupts, in the order of the DT binding. */
enum timer_irq { TIMER_SEC_PHYS, TIMER_NS_PHYS, TIMER_VIRT, TIMER_HYP_PHYS,
		 TIMER_NR_IRQS };

struct platform {
	struct mem_range ram[PLATFORM_MAX_RAM];   /* less no-map reservations */
	unsigned nr_ram;
	struct reserved_range reserved[PLATFORM_MAX_RESERVED];
	unsigned nr_reserved;
	struct mem_range uart;            /* PL011 */
	struct mem_range gicd;            /* GICv3 distributor */
	struct mem_range gicr;            /* GICv3 redistributors */
	uint32_t timer_intid[TIMER_NR_IRQS]; /* PPI INTIDs (16-31) */
	uint32_t gic_maintenance_intid;   /* its PPI's INTID; 0: none given */
	enum psci_conduit psci;
	const char *bootargs;             /* /chosen/bootargs, or "" */
	/* /cpus, in DTB order: the first PLATFORM_MAX_CPUS with a valid
	 * reg; cpus_beyond counts the others, cpus_bad those without a
	 * valid reg. No /cpus: nr_cpus 0, the boot CPU alone. */
	struct platform_cpu cpu[PLATFORM_MAX_CPUS];
	unsigned nr_cpus, cpus_beyond, cpus_bad;
};

/* Fills p from the DTB at fdt, of which size bytes are readable. On error
 * returns a negative value and writes a sentence naming the missing or
 * malformed node (or what makes the blob unreadable) into err. */
int platform_parse(const void *fdt, size_t size, struct platform *p,
		   char *err, size_t err_size);

/* Prints the summary EL2 shows at boot. */
void platform_print(const struct platform *p);

#endif
