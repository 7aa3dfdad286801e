/*
 * attack_hw: attacks on the machine rather than on frames
 * (tests/target/test_attacks.py): the GICv3 distributor and
 * redistributors, the real PL011 behind the console window, the other
 * platform devices and unassigned MMIO, addresses past the stage-2 input
 * range; EL2-only system registers written from EL1 (UNDEFINED there),
 * the EL1 physical timer and group-0 and alias SGIs (trapped by EL2,
 * reflected as undefined instructions; group-1 SGIs EL2 keeps among the
 * guest's own vCPUs, here none but itself), set/way cache maintenance;
 * SMC and HVC with unknown function IDs and immediates, PSCI calls that would stop or restart the
 * machine or start a CPU. Each case is one TAP line. It then stays until
 * the guest "attacker" has ended, so the attacker always has a running
 * guest outside its share-with to aim at.
 */
#include <arch/esr.h>
#include <arch/sysreg.h>
#include <el1/gic_cpu.h>
#include <exo/hypercall.h>

#include "../attack.h"

#define GICD 0x08000000ul
#define GICR 0x080a0000ul
#define UART 0x09000000ul
#define UART_DR 0x00
#define UART_FR 0x18
#define UART_CR 0x30
#define UART_IMSC 0x38

static void mmio(void)
{
	volatile uint32_t *uart = dev_ptr(UART);
	unsigned n;

	TAP_CHECK(mmio_read_aborts(GICD), "read of GICD_CTLR (0x08000000): external abort");
	TAP_CHECK(mmio_write_aborts(GICD, 0), "write 0 to GICD_CTLR (disable every interrupt): external abort");
	TAP_CHECK(mmio_write_aborts(GICD + 0x180, ~0u),
		  "write to GICD_ICENABLER0: external abort");
	TAP_CHECK(mmio_read_aborts(GICR + 0x8), "read of GICR_TYPER (0x080a0008): external abort");
	TAP_CHECK(mmio_write_aborts(GICR + 0x10000 + 0x180, ~0u),
		  "write to GICR_ICENABLER0 (SGI frame: mask the timer PPIs): external abort");
	TAP_CHECK(mmio_write_aborts(GICR + 0x20000 + 0x14, 2),
		  "write to the next CPU's GICR_WAKER: external abort");
	/* The console window: emulated, never the real PL011. */
	n = caught.count;
	uart[UART_CR / 4] = 0;
	uart[UART_IMSC / 4] = 0x7ff;
	TAP_CHECK(caught.count == n,
		  "writes to UARTCR (disable) and UARTIMSC go to the emulated "
		  "window, no abort");
	TAP_CHECK(uart[UART_CR / 4] == 0 && uart[UART_FR / 4] == 0,
		  "reads of the window's registers give 0 (TXFF clear)");
	/* Stores to UARTDR reach this guest's console, byte by byte
	 * (test_attacks.py looks for the line). */
	for (const char *c = "window DR says hi\n"; *c; c++)
		uart[UART_DR / 4] = (uint32_t)(unsigned char)*c;
	TAP_CHECK(caught.count == n, "stores to UARTDR: no abort");
	TAP_CHECK(mmio_read_aborts(UART + 0x1000),
		  "read past the console window's page (0x09001000): external abort");
	TAP_CHECK(mmio_read_aborts(0x09010000ul), "read of the PL031 RTC: external abort");
	TAP_CHECK(mmio_write_aborts(0x09020008ul, 0),
		  "write to fw_cfg's selector: external abort");
	TAP_CHECK(mmio_write_aborts(0x09030400ul, 0xff),
		  "write to the PL061 GPIO (power key): external abort");
	TAP_CHECK(mmio_read_aborts(0x0a000000ul), "read of virtio-mmio 0x0a000000: external abort");
	TAP_CHECK(mmio_read_aborts(0), "read of PA 0 (flash): external abort");
	TAP_CHECK(mmio_write_aborts(0x04000000ul, 0), "write to flash bank 1: external abort");
	TAP_CHECK(mmio_read_aborts(0x10000000ul), "read of PCIe MMIO 0x10000000: external abort");
	TAP_CHECK(mmio_read_aborts(0x3f000000ul), "read of PCIe ECAM 0x3f000000: external abort");
	TAP_CHECK(read_aborts(0xfffffff000ul),
		  "read of the last IPA stage 2 covers (2^40 - 4 KiB): external abort");
	TAP_CHECK(read_aborts(1ul << 40),
		  "read of an IPA past stage 2's 40 bits: external abort");
}

static void sysregs(void)
{
	unsigned u;
	uint64_t v;

	u = undefs;
	__asm__ volatile("msr vbar_el2, %0" : : "r"(0x40000000ul));
	TAP_CHECK(undef_since(u), "msr vbar_el2 at EL1: undefined instruction");
	u = undefs;
	__asm__ volatile("msr hcr_el2, %0" : : "r"(0ul));
	TAP_CHECK(undef_since(u), "msr hcr_el2 at EL1: undefined instruction");
	u = undefs;
	__asm__ volatile("msr vttbr_el2, %0" : : "r"(0ul));
	TAP_CHECK(undef_since(u), "msr vttbr_el2 at EL1: undefined instruction");
	u = undefs;
	__asm__ volatile("msr sctlr_el2, %0" : : "r"(0ul));
	TAP_CHECK(undef_since(u), "msr sctlr_el2 at EL1: undefined instruction");
	u = undefs;
	__asm__ volatile("mrs %0, vttbr_el2" : "=r"(v));
	TAP_CHECK(undef_since(u), "mrs vttbr_el2 at EL1: undefined instruction");
	u = undefs;
	__asm__ volatile("mrs %0, tpidr_el2" : "=r"(v));
	TAP_CHECK(undef_since(u), "mrs tpidr_el2 (EL2's per-CPU pointer) at EL1: undefined instruction");
	u = undefs;
	__asm__ volatile("msr cnthctl_el2, %0" : : "r"(3ul));
	TAP_CHECK(undef_since(u), "msr cnthctl_el2 at EL1: undefined instruction");
	u = undefs;
	__asm__ volatile("tlbi alle2" ::: "memory");
	TAP_CHECK(undef_since(u), "tlbi alle2 at EL1: undefined instruction");
	u = undefs;
	__asm__ volatile("msr cntp_ctl_el0, %0" : : "r"(1ul));
	TAP_CHECK(undef_since(u), "EL1 physical timer (cntp_ctl_el0) write: undefined instruction");
	u = undefs;
	__asm__ volatile("msr cntp_cval_el0, %0" : : "r"(0ul));
	TAP_CHECK(undef_since(u), "EL1 physical timer (cntp_cval_el0) write: undefined instruction");
	u = undefs;
	__asm__ volatile("msr S3_0_C12_C11_5, %0" : : "r"((1ul << 40) | 0xfffful));
	__asm__ volatile("msr S3_0_C12_C11_5, %0" : : "r"((1ul << 16) | 0xfffful));
	isb();
	TAP_CHECK(!undef_since(u) && el1_sgi_count(0) == 0,
		  "ICC_SGI1R_EL1 writes (to every CPU, to every CPU of cluster "
		  "1): emulated by EL2 among the guest's own vCPUs: none but the "
		  "writer, nothing arrives");
	u = undefs;
	__asm__ volatile("msr S3_0_C12_C11_6, %0" : : "r"(1ul << 40));
	TAP_CHECK(undef_since(u), "ICC_ASGI1R_EL1 write: undefined instruction");
	u = undefs;
	__asm__ volatile("msr S3_0_C12_C11_7, %0" : : "r"(1ul << 40));
	TAP_CHECK(undef_since(u),
		  "ICC_SGI0R_EL1 write (group 0, every CPU): undefined instruction");
	u = undefs;
	__asm__ volatile("dc isw, %0" : : "r"(0ul) : "memory");
	TAP_CHECK(undef_since(u), "dc isw (set/way clean) at EL1: undefined instruction");
	/* State EL2 does not switch, trapped (HCR_EL2.TLOR, TERR): undefined
	 * where the CPU has it (-cpu max), and where it has not. */
	u = undefs;
	__asm__ volatile("mrs %0, S3_0_C10_C4_3" : "=r"(v));	/* LORC_EL1 */
	TAP_CHECK(undef_since(u), "LORC_EL1 read: undefined instruction");
	u = undefs;
	__asm__ volatile("msr S3_0_C10_C4_0, %0" : : "r"(0x40000000ul));
	TAP_CHECK(undef_since(u), "LORSA_EL1 write: undefined instruction");
	u = undefs;
	__asm__ volatile("mrs %0, S3_0_C5_C3_0" : "=r"(v));	/* ERRIDR_EL1 */
	TAP_CHECK(undef_since(u), "ERRIDR_EL1 read (RAS error records): undefined instruction");
	/* Its identity is EL2's choice (VMPIDR_EL2), not the CPU's: one CPU,
	 * affinity 0, the uniprocessor bit set. */
	v = read_sysreg(mpidr_el1);
	TAP_CHECK(v == 0xc0000000ul, "MPIDR_EL1 reads 0x%lx: a uniprocessor, "
		  "affinity 0", (unsigned long)v);
}

static int64_t smc(uint64_t fid)
{
	register uint64_t x0 __asm__("x0") = fid;

	__asm__ volatile("smc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
	return (int64_t)x0;
}

static int64_t smc_imm(uint64_t fid)
{
	register uint64_t x0 __asm__("x0") = fid;

	__asm__ volatile("smc #0x1234" : "+r"(x0) : : "x1", "x2", "x3", "memory");
	return (int64_t)x0;
}

static int64_t hvc_imm(uint64_t fid)
{
	register uint64_t x0 __asm__("x0") = fid;

	__asm__ volatile("hvc #0xffff" : "+r"(x0) : : "x1", "x2", "x3", "memory");
	return (int64_t)x0;
}

static void calls(void)
{
	struct exo_ret r;

	TAP_CHECK(smc(EXO_PSCI_SYSTEM_OFF) == EXO_ENOTSUP,
		  "SMC PSCI SYSTEM_OFF: ENOTSUP, the machine runs on");
	TAP_CHECK(smc(EXO_PSCI_SYSTEM_RESET) == EXO_ENOTSUP,
		  "SMC PSCI SYSTEM_RESET: ENOTSUP");
	TAP_CHECK(smc(EXO_HVC_EXIT) == EXO_ENOTSUP, "SMC with an exo ID: ENOTSUP");
	TAP_CHECK(smc_imm(EXO_PSCI_VERSION) == EXO_ENOTSUP, "SMC #0x1234: ENOTSUP");
	TAP_CHECK(hvc_imm(EXO_PSCI_SYSTEM_RESET) == EXO_ENOTSUP,
		  "HVC #0xffff with SYSTEM_RESET: ENOTSUP, no restart");
	TAP_CHECK(hvc_imm(EXO_HVC_EXIT) == EXO_ENOTSUP, "HVC #0xffff with EXIT: ENOTSUP");
	TAP_CHECK(exo_call3(EXO_PSCI_CPU_ON, 1, 0x40000000ul, 0).status ==
			  EXO_PSCI_INVALID_PARAMETERS,
		  "PSCI CPU_ON (a second vCPU at an address of my choice, one "
		  "vCPU given): INVALID_PARAMETERS");
	TAP_CHECK(exo_call3(EXO_PSCI_CPU_ON, 0, 0x40000000ul, 0).status ==
			  EXO_PSCI_ALREADY_ON,
		  "PSCI CPU_ON of myself at another address: ALREADY_ON");
	TAP_CHECK(exo_call0(EXO_PSCI_CPU_OFF).status == EXO_PSCI_DENIED,
		  "PSCI CPU_OFF of my only vCPU: DENIED");
	TAP_CHECK(exo_call0(0x84000007u).status == EXO_ENOTSUP,
		  "PSCI MIGRATE_INFO_TYPE: ENOTSUP");
	TAP_CHECK(exo_call0(EXO_HVC_LAST + 1).status == EXO_ENOTSUP,
		  "the first exo ID past the last call: ENOTSUP");
	TAP_CHECK(exo_call0(EXO_HVC(0xffffff)).status == EXO_ENOTSUP,
		  "exo ID 0xffffff: ENOTSUP");
	TAP_CHECK(exo_call0(0).status == EXO_ENOTSUP, "function ID 0: ENOTSUP");
	TAP_CHECK(exo_call0(0xffffffffu).status == EXO_ENOTSUP,
		  "function ID 0xffffffff (SMCCC unknown): ENOTSUP");
	TAP_CHECK(exo_call0(0x86000000u).status == EXO_ENOTSUP,
		  "SMC32 vendor-hypervisor ID: ENOTSUP");
	TAP_CHECK(exo_call0(EXO_SMCCC_VERSION).status == EXO_SMCCC_VERSION_1_1,
		  "SMCCC_VERSION: 1.1 (speculation answers, docs/abi.md)");
	TAP_CHECK(exo_call0(0x80000002u).status == EXO_ENOTSUP,
		  "SMCCC_ARCH_SOC_ID (arch call, not offered): ENOTSUP");
	r = exo_hvc(0xc6000020u, ~0ul, ~0ul, ~0ul, ~0ul, ~0ul, ~0ul, ~0ul);
	TAP_CHECK(r.status == EXO_ENOTSUP && !r.x1 && !r.x2 && !r.x3,
		  "unknown ID with every argument ~0: ENOTSUP, x1-x3 zeroed");
}

int main(int argc, char **argv)
{
	(void)argc, (void)argv;
	faultcatch_install();
	undef_install();
	mmio();
	sysregs();
	calls();
	TAP_CHECK(exo_call0(EXO_HVC_VERSION).x1 == EXO_ABI_VERSION,
		  "EL2 still answers VERSION after all of it");
	while (exo_vm_lookup("attacker").status == EXO_OK)
		exo_yield();
	return tap_done();
}
