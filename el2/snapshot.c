/*
 * Memory snapshot lines (see snapshot.h). One line per run, so a 1 GiB
 * machine with a few guests prints tens of lines, not thousands:
 *
 *   snap: begin <version> <ram base> <frames>
 *   snap: guest <id> <name> <state>                 (a guest stopping)
 *   snap: held <id> <pa> <frames> <relation> <peer>   its frame-DB runs
 *   snap: use <id> <pa> <frames> <use>        what EL2 put in its boot run
 *   snap: s2 <id> <ipa> <bytes> <prot>               its stage-2 runs
 *   snap: hyp <pa> <frames> <part>          (shutdown) EL2's own frames
 *   snap: frames <pa> <frames> <state> <owner> <peer> (shutdown, whole DB)
 *   snap: totals free <n> hyp <n> held <n>
 *   snap: end
 *
 * Owns: the list of what EL2's boot claims hold (noted by el2/main.c as it
 * claims them). Called on one CPU with no hypercall in flight (guest stop,
 * shutdown), so it reads the DB without mem.c's lock. Never writes the DB,
 * a table or a frame.
 */
#include <el2/elf.h>
#include <el2/frames.h>
#include <el2/guest_dt.h>
#include <el2/manifest.h>
#include <el2/mem.h>
#include <el2/snapshot.h>
#include <lib/print.h>

struct hyp_range {
	uint64_t pa, frames;
	enum snapshot_hyp part;
};

static bool enabled;
static bool begun;
static struct hyp_range hyp_ranges[SNAPSHOT_HYP_RANGES_MAX];
static unsigned nr_hyp_ranges;

const char *snapshot_hyp_name(enum snapshot_hyp part)
{
	static const char *const name[] = {
		[SNAPSHOT_HYP_DTB] = "dtb",
		[SNAPSHOT_HYP_TEXT] = "text",
		[SNAPSHOT_HYP_RODATA] = "rodata",
		[SNAPSHOT_HYP_DATA] = "data",
		[SNAPSHOT_HYP_EL2_TABLES] = "el2-tables",
		[SNAPSHOT_HYP_S2_ROOTS] = "s2-roots",
		[SNAPSHOT_HYP_STACK] = "stack",
		[SNAPSHOT_HYP_FRAME_DB] = "frame-db",
		[SNAPSHOT_HYP_BOOT_PKG] = "boot-pkg",
		[SNAPSHOT_HYP_RESERVED] = "reserved",
	};

	return (unsigned)part < SNAPSHOT_HYP_PARTS ? name[part] : "?";
}

bool snapshot_note_hyp(enum snapshot_hyp part, uint64_t pa, uint64_t frames)
{
	if (nr_hyp_ranges == SNAPSHOT_HYP_RANGES_MAX)
		return false;
	hyp_ranges[nr_hyp_ranges++] = (struct hyp_range){ pa, frames, part };
	return true;
}

void snapshot_enable(bool on)
{
	enabled = on;
}

bool snapshot_enabled(void)
{
	return enabled;
}

static void begin(void)
{
	const struct frames_db *db = mem_frames_db();

	if (begun)
		return;
	begun = true;
	kprintf("snap: begin %d 0x%lx %lu\n", SNAPSHOT_VERSION,
		(unsigned long)db->base, (unsigned long)db->nr);
}

static const char *rel_name(enum frames_rel rel)
{
	static const char *const name[] = {
		[FRAMES_REL_OWNED] = "owned",
		[FRAMES_REL_SHARED_OUT] = "shared-out",
		[FRAMES_REL_LENT_OUT] = "lent-out",
		[FRAMES_REL_BORROWED] = "borrowed",
		[FRAMES_REL_LENT_IN] = "lent-in",
		[FRAMES_REL_TABLE] = "s2-table",
		[FRAMES_REL_DEVICE] = "device",
	};

	return (unsigned)rel < sizeof(name) / sizeof(name[0]) && name[rel]
		       ? name[rel] : "?";
}

static const char *state_name(enum exo_frame_state s)
{
	static const char *const name[] = {
		[EXO_FRAME_NONE] = "NONE",     [EXO_FRAME_FREE] = "FREE",
		[EXO_FRAME_HYP] = "HYP",       [EXO_FRAME_OWNED] = "OWNED",
		[EXO_FRAME_SHARED] = "SHARED", [EXO_FRAME_LENT] = "LENT",
		[EXO_FRAME_DEVICE] = "DEVICE",
	};

	return (unsigned)s < sizeof(name) / sizeof(name[0]) ? name[s] : "?";
}

/* Stage-2 leaves merged into runs of contiguous IPA with one prot. */
struct s2_runs {
	unsigned id;
	uint64_t ipa, size;
	unsigned prot;
};

static void s2_run_print(const struct s2_runs *r)
{
	char prot[6];
	unsigned n = 0;

	if (!r->size)
		return;
	prot[n++] = r->prot & S2_PROT_R ? 'r' : '-';
	prot[n++] = r->prot & S2_PROT_W ? 'w' : '-';
	prot[n++] = r->prot & S2_PROT_X ? 'x' : '-';
	if (r->prot & S2_PROT_DEVICE)
		prot[n++] = 'd';
	prot[n] = '\0';
	kprintf("snap: s2 %u 0x%lx 0x%lx %s\n", r->id, (unsigned long)r->ipa,
		(unsigned long)r->size, prot);
}

static void s2_leaf(void *ctx, const struct s2_leaf *leaf)
{
	struct s2_runs *r = ctx;

	/* A lender's no-access view of what it lent is no mapping. */
	if (leaf->prot == S2_PROT_NONE)
		return;
	if (r->size && r->ipa + r->size == leaf->ipa &&
	    r->prot == leaf->prot) {
		r->size += leaf->size;
		return;
	}
	s2_run_print(r);
	r->ipa = leaf->ipa;
	r->size = leaf->size;
	r->prot = leaf->prot;
}

static const char *vm_state_name(const struct vm *vm)
{
	return vm->state == VM_RUNNING ? "stopping" : "stopped";
}

static void use_print(unsigned id, uint64_t pa, uint64_t frames,
		      const char *use)
{
	if (frames)
		kprintf("snap: use %u 0x%lx %lu %s\n", id, (unsigned long)pa,
			(unsigned long)frames, use);
}

/* The boot run as vm_load filled it: image, guest DTB, then the boot
 * frames (with the rounding to the guest's granule). */
static void boot_run_print(const struct vm *vm)
{
	const struct manifest_guest *g = vm->manifest_entry;
	uint64_t pa = vm->boot_run.pa, left = vm->boot_run.count;
	uint64_t image, dtb = GUEST_DT_FRAMES;

	if (!g)
		return;
	image = elf_frames(&g->elf);
	if (image + dtb > left)
		return;
	use_print(vm->id, pa, image, "image");
	use_print(vm->id, pa + image * FRAMES_SIZE, dtb, "dtb");
	use_print(vm->id, pa + (image + dtb) * FRAMES_SIZE,
		  left - image - dtb, "boot-frames");
}

void snapshot_guest(const struct vm *vm)
{
	struct s2_runs r = { .id = vm->id };
	struct frames_run run;
	uint64_t cursor = 0;

	if (!enabled)
		return;
	begin();
	kprintf("snap: guest %u %s %s\n", vm->id, vm->name, vm_state_name(vm));
	while (frames_vm_next(mem_frames_db(), vm->id, &cursor, &run))
		kprintf("snap: held %u 0x%lx %lu %s %u\n", vm->id,
			(unsigned long)run.pa, (unsigned long)run.count,
			rel_name(run.rel), run.peer);
	boot_run_print(vm);
	s2_walk(&vm->s2, s2_leaf, &r);
	s2_run_print(&r);
}

static bool same_run(const struct frames_info *a, const struct frames_info *b)
{
	return a->state == b->state && a->owner == b->owner &&
	       a->peer == b->peer;
}

static void frames_run_print(uint64_t pa, uint64_t count,
			     const struct frames_info *i)
{
	kprintf("snap: frames 0x%lx %lu %s %u %u\n", (unsigned long)pa,
		(unsigned long)count, state_name(i->state), i->owner, i->peer);
}

static void hyp_print(uint64_t pa, uint64_t frames, const char *part)
{
	kprintf("snap: hyp 0x%lx %lu %s\n", (unsigned long)pa,
		(unsigned long)frames, part);
}

static void hyp_parts_print(void)
{
	for (unsigned i = 0; i < nr_hyp_ranges; i++)
		hyp_print(hyp_ranges[i].pa, hyp_ranges[i].frames,
			  snapshot_hyp_name(hyp_ranges[i].part));
}

void snapshot_system(void)
{
	const struct frames_db *db = mem_frames_db();
	struct frames_info cur = { 0 }, next;
	uint64_t start = 0, count = 0;

	if (!enabled)
		return;
	begin();
	hyp_parts_print();
	for (uint64_t f = 0; f < db->nr; f++) {
		uint64_t pa = db->base + f * FRAMES_SIZE;

		if (frames_query(db, pa, &next))
			next = (struct frames_info){ .state = EXO_FRAME_NONE };
		if (count && same_run(&cur, &next)) {
			count++;
			continue;
		}
		if (count)
			frames_run_print(start, count, &cur);
		cur = next;
		start = pa;
		count = 1;
	}
	if (count)
		frames_run_print(start, count, &cur);
	kprintf("snap: totals free %lu hyp %lu held %lu\n",
		(unsigned long)frames_count(db, EXO_FRAME_FREE),
		(unsigned long)frames_count(db, EXO_FRAME_HYP),
		(unsigned long)frames_guest_held(db));
	kprintf("snap: end\n");
}
