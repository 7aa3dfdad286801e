/*
 * GICv3 driver for EL2. Register offsets and bits by name from the GICv3
 * architecture specification (IHI 0069). EL2 owns the physical interrupt
 * controller; guests only ever see the virtual CPU interface.
 */
#include <el2/arch.h>
#include <el2/gic.h>
#include <el2/percpu.h>
#include <lib/print.h>

#define GICD_CTLR 0x0000
#define GICD_CTLR_ENABLE_GRP1 (1u << 1)
#define GICD_CTLR_ARE (1u << 4)
#define GICD_CTLR_RWP (1u << 31)

#define GICR_FRAME_STRIDE 0x20000   /* RD_base + SGI_base, no VLPI frames */
#define GICR_CTLR 0x0000
#define GICR_TYPER 0x0008
#define GICR_TYPER_LAST (1u << 4)
#define GICR_WAKER 0x0014
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_SGI_BASE 0x10000
#define GICR_IGROUPR0 (GICR_SGI_BASE + 0x0080)
#define GICR_ISENABLER0 (GICR_SGI_BASE + 0x0100)
#define GICR_IPRIORITYR(n) (GICR_SGI_BASE + 0x0400 + (n))

#define GIC_PRIORITY_DEFAULT 0xa0u
#define GIC_POLL_LIMIT 1000000u

static uint64_t gicd_base;

static bool poll_clear(uint64_t addr, uint32_t bit)
{
	for (uint32_t i = 0; i < GIC_POLL_LIMIT; i++) {
		if (!(arch_mmio_read32(addr) & bit))
			return true;
	}
	return false;
}

/* GICR_TYPER[63:32] is the affinity of the CPU a redistributor serves. */
static uint64_t find_redistributor(const struct platform *p, uint64_t mpidr)
{
	uint32_t aff = (uint32_t)((mpidr & 0xffffff) |
				  ((mpidr >> 32) & 0xff) << 24);

	for (uint64_t r = p->gicr.base; r < p->gicr.base + p->gicr.size;
	     r += GICR_FRAME_STRIDE) {
		uint32_t typer_lo = arch_mmio_read32(r + GICR_TYPER);
		uint32_t typer_hi = arch_mmio_read32(r + GICR_TYPER + 4);

		if (typer_hi == aff)
			return r;
		if (typer_lo & GICR_TYPER_LAST)
			break;
	}
	return 0;
}

bool gic_init(const struct platform *p, uint64_t mpidr)
{
	gicd_base = p->gicd.base;
	arch_mmio_write32(gicd_base + GICD_CTLR,
			  GICD_CTLR_ARE | GICD_CTLR_ENABLE_GRP1);
	if (!poll_clear(gicd_base + GICD_CTLR, GICD_CTLR_RWP))
		kprintf("warning: gic: distributor register write pending\n");
	return gic_cpu_init(p, mpidr);
}

bool gic_cpu_init(const struct platform *p, uint64_t mpidr)
{
	uint64_t gicr = find_redistributor(p, mpidr);

	if (!gicr) {
		kprintf("error: gic: no redistributor for MPIDR 0x%lx\n",
			(unsigned long)mpidr);
		return false;
	}
	this_cpu()->gicr = gicr;
	arch_mmio_write32(gicr + GICR_WAKER,
			  arch_mmio_read32(gicr + GICR_WAKER) &
				  ~GICR_WAKER_PROCESSOR_SLEEP);
	if (!poll_clear(gicr + GICR_WAKER, GICR_WAKER_CHILDREN_ASLEEP)) {
		kprintf("error: gic: redistributor did not wake up\n");
		return false;
	}
	arch_gic_cpu_init();
	return true;
}

void gic_enable_ppi(uint32_t intid)
{
	uint64_t gicr_base = this_cpu()->gicr;
	uint32_t bit = 1u << intid;

	arch_mmio_write32(gicr_base + GICR_IGROUPR0,
			  arch_mmio_read32(gicr_base + GICR_IGROUPR0) | bit);
	/* IPRIORITYR is byte-accessible but written as words for MMIO rules. */
	uint64_t prio = gicr_base + GICR_IPRIORITYR(intid & ~3u);
	uint32_t shift = (intid & 3u) * 8;
	uint32_t v = arch_mmio_read32(prio);

	v = (v & ~(0xffu << shift)) | (GIC_PRIORITY_DEFAULT << shift);
	arch_mmio_write32(prio, v);
	arch_mmio_write32(gicr_base + GICR_ISENABLER0, bit);
}

uint32_t gic_ack(void)
{
	return arch_gic_ack();
}

void gic_eoi(uint32_t intid)
{
	arch_gic_eoi(intid);
}
