/*
 * libos start-up and its options: checks the guest's configuration (heap
 * policy, "--" options, what start-up needs against the quota), then
 * starts libos's rooms in order (internal.h): the frame pool fed by EL2,
 * the kernel address space, the heap; at exit, the reports the options
 * asked for.
 *
 * Owns: the libos options and the order of start-up. Never: calls EL2
 * except through libos/el2.h, or panics over a guest's choice (a bad
 * policy or option is reported and returned).
 */
#include "libos/libos.h"

#include "libos/addr.h"
#include "libos/internal.h"
#include "libos/mm/boot_need.h"
#include "libos/mm/mm.h"
#include "libos/startup.h"
#include "libos/options.h"

#include <lib/print.h>
#include <stdlib.h>
#include <string.h>

/* What the options asked for at exit. */
static struct {
	bool stats, ptdump, memory_report;
} at_exit;

/* ---- start-up ---- */

static bool policy_known(const char *policy)
{
	for (const char *const *n = heap_policy_names(); *n; n++)
		if (strcmp(*n, policy) == 0)
			return true;
	return false;
}

static int parse_options(const struct libos_config *cfg, uint64_t *hwm)
{
	const char *unknown = libos_options_unknown(cfg->argc, cfg->argv,
						    cfg->guest_options);

	if (unknown) {
		libos_options_report_unknown(unknown, cfg->guest_options);
		return LIBOS_EUNKNOWN_OPTION;
	}
	for (int i = 1; i < cfg->argc && cfg->argv[i]; i++) {
		const char *a = cfg->argv[i];
		char *end;

		if (strcmp(a, LIBOS_OPT_STATS) == 0) {
			at_exit.stats = true;
		} else if (strcmp(a, LIBOS_OPT_PTDUMP) == 0) {
			at_exit.ptdump = true;
		} else if (strncmp(a, LIBOS_OPT_HIGH_WATER,
				   sizeof(LIBOS_OPT_HIGH_WATER) - 1) == 0) {
			a += sizeof(LIBOS_OPT_HIGH_WATER) - 1;
			*hwm = strtoul(a, &end, 0);
			if (end == a || *end) {
				kprintf("libos: %s: bad option '%s' (want "
					"%sN, N in frames)\n",
					cfg->name, cfg->argv[i],
					LIBOS_OPT_HIGH_WATER);
				return LIBOS_EOPTION;
			}
		}
	}
	return LIBOS_OK;
}

/* ---- what start-up needs, against the quota ---- */

static const char *policy_of(const struct libos_config *cfg)
{
	return cfg->heap_policy ? cfg->heap_policy : LIBOS_DEFAULT_POLICY;
}

/* The estimate and EL2's view; false when there is nothing to check. */
static bool startup_estimate(const struct libos_config *cfg,
			     struct libos_startup_need *need,
			     struct libos_vm_info *vm)
{
	struct libos_startup_params p = {
		.granule = cfg->granule, .argc = cfg->argc, .argv = cfg->argv,
		.heap_policy = policy_of(cfg), .image_bytes = cfg->image_bytes,
		.boot_run_frames = cfg->boot_run_frames,
	};

	return cfg->boot_run_frames && !libos_startup_need(&p, need) &&
	       libos_el2_vm_info(vm) == 0;
}

static void startup_print(const struct libos_startup_need *need,
			  const struct libos_vm_info *vm)
{
	char line[160];

	libos_startup_format(need, vm->quota, line, sizeof(line));
	kprintf("libos: %s; %lu charged\n", line, (unsigned long)vm->charged);
}

bool libos_startup_report(const struct libos_config *cfg)
{
	struct libos_startup_need need;
	struct libos_vm_info vm;
	enum pgtable_granule granule;

	if (!startup_estimate(cfg, &need, &vm) ||
	    libos_mm_granule(cfg->granule, &granule))
		return false;
	/* Short of quota: the next table batch cannot come. Any other
	 * failure (a granule the CPU lacks, EL2 out of memory) keeps its
	 * own message. */
	if (vm.charged > vm.quota ||
	    vm.quota - vm.charged >= libos_mm_table_frames(granule, 1))
		return false;
	startup_print(&need, &vm);
	return true;
}

/* The heap is created at the first allocation; its first chunk must fit
 * now, or that malloc would fail with nothing said. */
static int startup_check(const struct libos_config *cfg)
{
	struct libos_startup_need need;
	struct libos_vm_info vm;

	if (!startup_estimate(cfg, &need, &vm) || vm.charged > vm.quota ||
	    vm.quota - vm.charged >= need.heap)
		return LIBOS_OK;
	startup_print(&need, &vm);
	return LIBOS_EQUOTA;
}

int libos_init(const struct libos_config *cfg)
{
	const char *policy = policy_of(cfg);
	uint64_t hwm = POOL_DEFAULT_HIGH_WATER;
	uint64_t page = libos_addr_page_size();
	unsigned unit = 0;
	int err;
	LIBOS_CRIT_ENTER();

	/* Users of the pool first: their frames go back to it, then it
	 * gives back what it holds. */
	libos_kernel_aspace_reset();
	libos_heap_reset();
	libos_guest_pool_reset();
	libos_events_reset();
	memset(&at_exit, 0, sizeof(at_exit));
	LIBOS_CRIT_LEAVE();
	while (((uint64_t)POOL_FRAME_SIZE << unit) < page)
		unit++;
	if (!policy_known(policy)) {
		char msg[160];

		heap_strerror(HEAP_EPOLICY, policy, msg, sizeof(msg));
		kprintf("libos: %s: %s\n", cfg->name, msg);
		return LIBOS_EPOLICY;
	}
	err = parse_options(cfg, &hwm);
	if (!err)
		err = startup_check(cfg);
	if (err)
		return err;
	at_exit.memory_report = cfg->memory_report;
	libos_heap_start(policy);
	libos_guest_pool_start(hwm, unit);
	libos_kernel_aspace_start();
	return LIBOS_OK;
}

void libos_fini(void)
{
	if (at_exit.stats) {
		libos_stats_print();
		libos_events_print();
	}
	if (at_exit.ptdump)
		libos_ptdump();
	if (at_exit.memory_report)
		libos_memory_report();
}
