/*
 * A guest's device tree: its memory (the boot run of frames), /chosen with
 * what the manifest chose for it, PSCI through HVC, the exo hypervisor node
 * and the emulated console window. Nothing of the host DTB leaks into it.
 */
#include <el2/guest_dt.h>
#include <exo/guest_dt.h>
#include <exo/hvc.h>
#include <lib/fmt.h>
#include <libfdt.h>

#define CONSOLE_WINDOW_SIZE 0x1000

static int prop_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int add_memory(void *fdt, const struct guest_dt_info *in)
{
	char node[32];
	int rc;

	fmt_snprintf(node, sizeof(node), "memory@%lx",
		     (unsigned long)in->mem_base);
	rc = fdt_begin_node(fdt, node);
	if (!rc)
		rc = fdt_property_string(fdt, "device_type", EXO_DT_MEMORY_TYPE);
	if (!rc)
		rc = prop_reg(fdt, in->mem_base, in->mem_size);
	if (!rc)
		rc = fdt_end_node(fdt);
	return rc;
}

static int add_chosen(void *fdt, const struct guest_dt_info *in)
{
	int rc = fdt_begin_node(fdt, "chosen");

	if (!rc)
		rc = fdt_property_string(fdt, EXO_DT_NAME, in->name);
	if (!rc && in->heap_policy)
		rc = fdt_property_string(fdt, EXO_DT_HEAP_POLICY,
					 in->heap_policy);
	if (!rc && in->granule)
		rc = fdt_property_string(fdt, EXO_DT_GRANULE, in->granule);
	if (!rc && (in->args && in->args_len))
		rc = fdt_property(fdt, EXO_DT_ARGS, in->args, (int)in->args_len);
	if (!rc)
		rc = fdt_property_u32(fdt, EXO_DT_RESTARTS, in->restarts);
	if (!rc && in->memory_report)
		rc = fdt_property(fdt, EXO_DT_MEMORY_REPORT, NULL, 0);
	if (!rc)
		rc = fdt_property_string(fdt, "stdout-path", "/console@9000000");
	if (!rc)
		rc = fdt_end_node(fdt);
	return rc;
}

static int add_devices(void *fdt)
{
	int rc = fdt_begin_node(fdt, "psci");

	if (!rc)
		rc = fdt_property_string(fdt, "compatible", "arm,psci-1.0");
	if (!rc)
		rc = fdt_property_string(fdt, "method", "hvc");
	if (!rc)
		rc = fdt_end_node(fdt);
	if (!rc)
		rc = fdt_begin_node(fdt, "hypervisor");
	if (!rc)
		rc = fdt_property_string(fdt, "compatible", "exo,hypervisor");
	if (!rc)
		rc = fdt_property_u32(fdt, "exo,abi-version", EXO_ABI_VERSION);
	if (!rc)
		rc = fdt_end_node(fdt);
	if (!rc)
		rc = fdt_begin_node(fdt, "console@9000000");
	if (!rc)
		rc = fdt_property_string(fdt, "compatible", "exo,console");
	if (!rc)
		rc = prop_reg(fdt, EXO_CONSOLE_IPA, CONSOLE_WINDOW_SIZE);
	if (!rc)
		rc = fdt_end_node(fdt);
	return rc;
}

_Static_assert(EXO_VM_MAX_VCPUS <= 10, "cpu@N: one decimal digit");

/* /cpus: vCPU n has MPIDR affinity n (el2/vcpu.h, vcpu_mpidr), started
 * through PSCI (vCPU 0 runs at boot). */
static int add_cpus(void *fdt, const struct guest_dt_info *in)
{
	uint32_t n = in->cpus ? in->cpus : 1;
	int rc = fdt_begin_node(fdt, "cpus");

	if (!rc)
		rc = fdt_property_u32(fdt, "#address-cells", 1);
	if (!rc)
		rc = fdt_property_u32(fdt, "#size-cells", 0);
	for (uint32_t i = 0; !rc && i < n; i++) {
		char name[] = "cpu@0";

		name[sizeof(name) - 2] = (char)('0' + i);
		rc = fdt_begin_node(fdt, name);
		if (!rc)
			rc = fdt_property_string(fdt, "device_type", "cpu");
		if (!rc)
			rc = fdt_property_string(fdt, "compatible", "arm,armv8");
		if (!rc)
			rc = fdt_property_u32(fdt, "reg", i);
		if (!rc)
			rc = fdt_property_string(fdt, "enable-method", "psci");
		if (!rc)
			rc = fdt_end_node(fdt);
	}
	if (!rc)
		rc = fdt_end_node(fdt);
	return rc;
}

int guest_dt_build(void *buf, size_t size, const struct guest_dt_info *in)
{
	void *fdt = buf;
	/* No name de-duplication: libfdt would compare each new property name
	 * at every offset of the strings block (quadratic in the names, and
	 * most of a host fuzzer's vm_create); the DTB grows by a few hundred
	 * bytes, well inside GUEST_DT_FRAMES. */
	int rc = fdt_create_with_flags(fdt, (int)size,
				       FDT_CREATE_FLAG_NO_NAME_DEDUP);

	if (!rc)
		rc = fdt_finish_reservemap(fdt);
	if (!rc)
		rc = fdt_begin_node(fdt, "");
	if (!rc)
		rc = fdt_property_u32(fdt, "#address-cells", 2);
	if (!rc)
		rc = fdt_property_u32(fdt, "#size-cells", 2);
	if (!rc)
		rc = fdt_property_string(fdt, "compatible", "exo,guest");
	if (!rc)
		rc = add_memory(fdt, in);
	if (!rc)
		rc = add_chosen(fdt, in);
	if (!rc)
		rc = add_cpus(fdt, in);
	if (!rc)
		rc = add_devices(fdt);
	if (!rc)
		rc = fdt_end_node(fdt);
	if (!rc)
		rc = fdt_finish(fdt);
	return rc;
}
