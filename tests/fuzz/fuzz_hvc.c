/*
 * libFuzzer target: the hypercall dispatcher (el2/hvc.c) over a simulated
 * machine. RAM is an mmap'd host buffer at PA 0x40000000 (the host address
 * IS the PA: el2/mem.c dereferences PAs directly, and stage 2 takes 40-bit
 * IPAs, so the buffer must sit low), with guard pages on both sides. The
 * frame DB covers it with its storage carved from RAM (HYP), a hole that
 * is not RAM and a second HYP range. Up to four guests are created with
 * vm_create() from a synthetic manifest entry (a tiny static-PIE ELF), so
 * EXIT, PSCI SYSTEM_OFF and SYSTEM_RESET run the real teardown and restart
 * paths; a guest that has stopped is created again before its next call.
 *
 * The input: a header (number of guests, quota and boot-frames classes),
 * then hypercalls: [guest][function][which of x1-x7 are set][each: a tag
 * and its payload]. See decode_arg() for the tags.
 *
 * After every call:
 *  - mem_check_invariant() for every running guest (stage 2 == frame DB);
 *  - registers: x4-x30, ELR and SPSR unchanged; x1-x3 are 0 unless the call
 *    defines them; x0 is 0 or a documented error of that call;
 *  - a shadow model of who owns each frame, kept from the results alone,
 *    agrees with the DB on the frames the call touched (and every frame at
 *    the end); allocated frames arrive zeroed; freed frames are scrubbed;
 *  - frames are conserved: FREE + HYP + held - tables == RAM (held
 *    counts stage-2 table frames, which are HYP too), held == sum of the
 *    guests' charges, HYP == EL2's own + stage-2 tables; no guest is
 *    charged above its quota; a failed call changes no count.
 * At the end every guest is torn down: frames_guest_held() == 0, HYP is
 * back to EL2's own, and every frame a guest or a stage-2 table touched
 * is zero again. Then the next input starts from a fresh frame DB.
 */
#define _GNU_SOURCE /* MAP_FIXED_NOREPLACE */
#include "../host/fake_arch.h"
#include "fuzz_common.h"
#include "fuzz_el2_console.h"

#include <el2/elf.h>
#include <el2/frames.h>
#include <el2/guest_dt.h>
#include <el2/hvc.h>
#include <el2/manifest.h>
#include <el2/mem.h>
#include <el2/vm.h>
#include <el2/vm_ops.h>
#include <exo/errors.h>
#include <exo/frame_state.h>
#include <exo/hvc.h>
#include <sys/mman.h>

extern struct frames_db mem_db; /* el2/mem.c */

/* --- the machine ------------------------------------------------------- */

#define RAM_BASE UINT64_C(0x40000000)
#define RAM_FRAMES 8192u                 /* 32 MiB */
#define RAM_BYTES ((uint64_t)RAM_FRAMES << FRAMES_SHIFT)
#define RAM_END (RAM_BASE + RAM_BYTES)
#define HOLE_FIRST 3000u                 /* frames [3000, 3064) are not RAM */
#define HOLE_FRAMES 64u
#define HYP2_FIRST 5000u                 /* frames [5000, 5040): EL2's */
#define HYP2_FRAMES 40u

#define NR_SLOTS 4
#define MAX_CALLS 128
#define BOOT_DTB_FRAMES GUEST_DT_FRAMES

static uint8_t *ram;
static uint64_t db_frames;      /* frames [0, db_frames): DB storage, HYP */
static uint64_t ram_frames;     /* frames mem_add_ram added */
static uint64_t hyp_base;       /* HYP frames with no guest: EL2's own */

/* Shadow: owner[frame] = VM id, 0 if no guest owns it. */
static uint8_t owner[RAM_FRAMES];
static uint64_t owned_count[EXO_MAX_VMS];
static uint8_t dirty[RAM_FRAMES]; /* touched by a guest or a table write */
static bool dirty_overflow;       /* the s2 log overflowed: scan everything */

static uint64_t frame_of(uint64_t pa)
{
	return (pa - RAM_BASE) >> FRAMES_SHIFT;
}

static uint64_t pa_of(uint64_t frame)
{
	return RAM_BASE + (frame << FRAMES_SHIFT);
}

static bool in_ram_span(uint64_t pa)
{
	return pa >= RAM_BASE && pa < RAM_END;
}

static bool frame_zero(uint64_t frame)
{
	static const uint8_t zero[FRAMES_SIZE];

	return !memcmp(ram + (frame << FRAMES_SHIFT), zero, FRAMES_SIZE);
}

static void machine_map(void)
{
	/* RAM plus a guard page each side; nothing else may live there. */
	uint8_t *lo = mmap((void *)(uintptr_t)(RAM_BASE - FRAMES_SIZE),
			   RAM_BYTES + 2 * FRAMES_SIZE, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
				   MAP_NORESERVE,
			   -1, 0);

	if (lo == MAP_FAILED || lo != (uint8_t *)(uintptr_t)(RAM_BASE -
							     FRAMES_SIZE))
		fuzz_fail("cannot map the simulated RAM at 0x%lx",
			  (unsigned long)RAM_BASE);
	ram = lo + FRAMES_SIZE;
	if (mprotect(ram, RAM_BYTES, PROT_READ | PROT_WRITE))
		fuzz_fail("mprotect of the simulated RAM failed");
}

/* A fresh frame DB over all-zero RAM (the previous input left it so). */
static void machine_boot(void)
{
	size_t size = mem_storage_size(RAM_FRAMES);
	int rc;

	db_frames = (size + FRAMES_SIZE - 1) >> FRAMES_SHIFT;
	FUZZ_CHECK(!mem_init(RAM_BASE, RAM_FRAMES, ram, size), "mem_init");
	rc = mem_add_ram(RAM_BASE, HOLE_FIRST);
	rc |= mem_add_ram(pa_of(HOLE_FIRST + HOLE_FRAMES),
			  RAM_FRAMES - HOLE_FIRST - HOLE_FRAMES);
	rc |= mem_claim_hyp(RAM_BASE, db_frames);
	rc |= mem_claim_hyp(pa_of(HYP2_FIRST), HYP2_FRAMES);
	FUZZ_CHECK(!rc, "machine boot: mem_add_ram/mem_claim_hyp failed");
	ram_frames = RAM_FRAMES - HOLE_FRAMES;
	hyp_base = db_frames + HYP2_FRAMES;
	/* mem.c's debug checks (the caller's invariant, FREE frames zero when
	 * handed out) are a subset of what this harness checks after every
	 * call, for every guest: off, to halve the cost of a call. */
	mem_set_debug_checks(false);
	memset(owner, 0, sizeof(owner));
	memset(owned_count, 0, sizeof(owned_count));
	memset(dirty, 0, sizeof(dirty));
	dirty_overflow = false;
	fake_s2.nr = 0;
}

static bool is_plain_ram(uint64_t frame)
{
	return frame >= db_frames &&
	       !(frame >= HOLE_FIRST && frame < HOLE_FIRST + HOLE_FRAMES) &&
	       !(frame >= HYP2_FIRST && frame < HYP2_FIRST + HYP2_FRAMES);
}

/* Frames holding a stage-2 descriptor written since the last call. */
static void note_table_writes(void)
{
	if (fake_s2.nr >= FAKE_S2_LOG_MAX)
		dirty_overflow = true;
	for (size_t i = 0; i < fake_s2.nr; i++) {
		const struct fake_s2_event *e = &fake_s2.ev[i];
		uint64_t pa = (uint64_t)(uintptr_t)e->pte;

		if (e->kind == FAKE_S2_PTE && in_ram_span(pa))
			dirty[frame_of(pa)] = 1;
	}
	fake_s2.nr = 0;
}

/* --- the guests ---------------------------------------------------------- */

/* A minimal static PIE: one R+X PT_LOAD of the headers and a few bytes of
 * "code", memsz two pages (a bss page). */
static uint8_t guest_elf[256];

static void build_guest_elf(void)
{
	struct elf64_ehdr eh = {
		.e_ident = { ELF_MAG0, 'E', 'L', 'F', ELF_CLASS64, ELF_DATA2LSB,
			     ELF_EV_CURRENT },
		.e_type = ELF_ET_DYN,
		.e_machine = ELF_EM_AARCH64,
		.e_version = ELF_EV_CURRENT,
		.e_entry = 0x80,
		.e_phoff = sizeof(struct elf64_ehdr),
		.e_ehsize = sizeof(struct elf64_ehdr),
		.e_phentsize = sizeof(struct elf64_phdr),
		.e_phnum = 1,
	};
	struct elf64_phdr ph = {
		.p_type = ELF_PT_LOAD,
		.p_flags = ELF_PF_R | ELF_PF_X,
		.p_filesz = sizeof(guest_elf),
		.p_memsz = 2 * ELF_PAGE_SIZE,
		.p_align = ELF_PAGE_SIZE,
	};

	memcpy(guest_elf, &eh, sizeof(eh));
	memcpy(guest_elf + sizeof(eh), &ph, sizeof(ph));
	memset(guest_elf + 0x80, 0xd5, sizeof(guest_elf) - 0x80);
}

struct slot {
	struct vm vm;
	struct manifest_guest g;
	unsigned id;
	uint64_t boot_pa, boot_count; /* its boot run, while running */
};

static struct slot slots[NR_SLOTS];
static unsigned nr_slots;
static const unsigned slot_ids[NR_SLOTS] = { 1, 2, EXO_MAX_VMS - 1, 7 };
static const uint32_t quota_classes[] = { 9, 12, 16, 40, 200, 600, 2048,
					  4096, 8000, 9000 };
static const uint32_t boot_classes[] = { 1, 4, 16, 64 };

static void setup_slots(struct fuzz_in *in)
{
	char err[128];

	nr_slots = 1 + fuzz_u8(in) % NR_SLOTS;
	for (unsigned i = 0; i < nr_slots; i++) {
		struct slot *s = &slots[i];
		uint8_t q = fuzz_u8(in);
		struct manifest_guest *g = &s->g;

		memset(s, 0, sizeof(*s));
		s->id = slot_ids[i];
		snprintf(g->name, sizeof(g->name), "g%u", s->id);
		g->status = MANIFEST_GUEST_OK;
		g->image = "guest.elf";
		g->quota_frames = quota_classes[q % 10];
		g->boot_frames = boot_classes[(q / 10) % 4];
		g->heap_policy = "tlsf";
		g->args = "";
		g->timeslice_us = MANIFEST_DEFAULT_TIMESLICE_US;
		g->violation_limit = MANIFEST_DEFAULT_VIOLATION_LIMIT;
		g->granule = "4k";
		g->granule_bytes = 4096;
		g->blob = (struct bootpkg_blob){ g->image, guest_elf,
						 sizeof(guest_elf) };
		FUZZ_CHECK(!elf_check(guest_elf, sizeof(guest_elf), &g->elf,
				      err, sizeof(err)),
			   "the harness's guest ELF is refused: %s", err);
	}
}

static const struct frames_account *acct(unsigned id)
{
	return frames_account(&mem_db, id);
}

static uint64_t shadow_owned(unsigned id)
{
	return owned_count[id];
}

static uint64_t marker(unsigned id, uint64_t frame)
{
	return UINT64_C(0x6775657374000000) | (uint64_t)id << 16 | frame;
}

/* The guest writes to every frame it was given: first and last word. */
static void guest_scribble(unsigned id, uint64_t frame)
{
	uint64_t *w = (uint64_t *)(void *)(ram + (frame << FRAMES_SHIFT));

	w[0] = marker(id, frame);
	w[FRAMES_SIZE / 8 - 1] = marker(id, frame);
	dirty[frame] = 1;
}

/* Frames [pa, pa + count) have just become id's. */
static void shadow_take(unsigned id, uint64_t pa, uint64_t count,
			bool must_be_zero, const char *what)
{
	FUZZ_CHECK(pa >= RAM_BASE && !(pa & (FRAMES_SIZE - 1)) &&
			   count <= RAM_FRAMES && pa + count * FRAMES_SIZE <= RAM_END,
		   "%s: guest %u got [0x%lx, +%lu frames), not inside RAM", what,
		   id, (unsigned long)pa, (unsigned long)count);
	for (uint64_t f = frame_of(pa); f < frame_of(pa) + count; f++) {
		FUZZ_CHECK(is_plain_ram(f),
			   "%s: guest %u got frame 0x%lx, which is EL2's or "
			   "not RAM", what, id, (unsigned long)pa_of(f));
		FUZZ_CHECK(!owner[f],
			   "%s: guest %u got frame 0x%lx, which guest %u owns",
			   what, id, (unsigned long)pa_of(f), owner[f]);
		FUZZ_CHECK(!must_be_zero || frame_zero(f),
			   "%s: guest %u got frame 0x%lx not zeroed", what, id,
			   (unsigned long)pa_of(f));
		owner[f] = (uint8_t)id;
		owned_count[id]++;
		guest_scribble(id, f);
	}
}

/* Everything id owned is gone: each frame must be scrubbed already. */
static void shadow_drop_all(unsigned id, const char *what)
{
	for (unsigned f = 0; f < RAM_FRAMES; f++) {
		if (owner[f] != id)
			continue;
		owner[f] = 0;
		owned_count[id]--;
		FUZZ_CHECK(frame_zero(f),
			   "%s: guest %u's frame 0x%lx back in the pool "
			   "without being scrubbed", what, id,
			   (unsigned long)pa_of(f));
	}
}

static void check_gone(struct slot *s, const char *what)
{
	struct frames_run run;
	uint64_t cursor = 0;

	FUZZ_CHECK(!acct(s->id)->live && !acct(s->id)->used,
		   "%s: guest %u still has a live account (%lu charged)", what,
		   s->id, (unsigned long)acct(s->id)->used);
	FUZZ_CHECK(!frames_vm_next(&mem_db, s->id, &cursor, &run),
		   "%s: guest %u still holds 0x%lx (+%lu, relation %d)", what,
		   s->id, (unsigned long)run.pa, (unsigned long)run.count,
		   run.rel);
}

/* Where the boot run of a guest that has just been created or restarted
 * is: its vCPU starts at the ELF entry inside it. */
static uint64_t boot_run_pa(struct slot *s)
{
	const struct elf_info *e = &s->g.elf;

	s->boot_count = (e->span >> FRAMES_SHIFT) + BOOT_DTB_FRAMES +
			s->g.boot_frames;
	return s->vm.vcpu.elr - e->entry_offset;
}

static void note_boot_run(struct slot *s, const char *what)
{
	const struct elf_info *e = &s->g.elf;

	s->boot_pa = boot_run_pa(s);
	FUZZ_CHECK(s->vm.vcpu.x[0] == s->boot_pa + e->span,
		   "%s: guest %u: x0 = 0x%lx is not its DTB at 0x%lx", what,
		   s->id, (unsigned long)s->vm.vcpu.x[0],
		   (unsigned long)(s->boot_pa + e->span));
	FUZZ_CHECK(!memcmp(ram + (s->boot_pa - RAM_BASE), guest_elf,
			   sizeof(guest_elf)),
		   "%s: guest %u: image not loaded at 0x%lx", what, s->id,
		   (unsigned long)s->boot_pa);
	shadow_take(s->id, s->boot_pa, s->boot_count, false, what);
}

/* --- global checks --------------------------------------------------------- */

struct counts {
	uint64_t free, hyp, held, owned;
	uint64_t used[NR_SLOTS], tables[NR_SLOTS];
};

static struct counts counts_now(void)
{
	struct counts c = { 0 };

	mem_totals(&c.free, &c.hyp, &c.held);
	c.owned = frames_count(&mem_db, EXO_FRAME_OWNED);
	for (unsigned i = 0; i < nr_slots; i++) {
		c.used[i] = acct(slots[i].id)->used;
		c.tables[i] = acct(slots[i].id)->tables;
	}
	return c;
}

static void check_counts(const char *what)
{
	struct counts c = counts_now();
	uint64_t used = 0, tables = 0, owned = 0;

	for (unsigned i = 0; i < nr_slots; i++) {
		struct slot *s = &slots[i];
		const struct frames_account *a = acct(s->id);
		uint64_t mine = shadow_owned(s->id);

		used += a->used;
		tables += a->tables;
		owned += mine;
		FUZZ_CHECK(a->used == mine + a->tables,
			   "%s: guest %u charged %lu, owns %lu + %lu tables",
			   what, s->id, (unsigned long)a->used,
			   (unsigned long)mine, (unsigned long)a->tables);
		FUZZ_CHECK(!a->live || a->used <= a->quota,
			   "%s: guest %u charged %lu above its quota %lu", what,
			   s->id, (unsigned long)a->used,
			   (unsigned long)a->quota);
		if (s->vm.state == VM_RUNNING) {
			FUZZ_CHECK(a->live, "%s: running guest %u has no "
				   "account", what, s->id);
			mem_check_invariant(&s->vm);
		} else {
			/* check_gone() walks the span: done where a guest
			 * ends, here only the O(1) part. */
			FUZZ_CHECK(!a->live && !a->used, "%s: stopped guest "
				   "%u still has an account", what, s->id);
		}
	}
	/* held counts stage-2 table frames, which are HYP too. */
	FUZZ_CHECK(c.free + c.hyp + c.held - tables == ram_frames,
		   "%s: frames not conserved: FREE %lu + HYP %lu + held %lu "
		   "- tables %lu != RAM %lu", what, (unsigned long)c.free,
		   (unsigned long)c.hyp, (unsigned long)c.held,
		   (unsigned long)tables, (unsigned long)ram_frames);
	FUZZ_CHECK(c.held == used,
		   "%s: held %lu != sum of charges %lu", what,
		   (unsigned long)c.held, (unsigned long)used);
	FUZZ_CHECK(c.hyp == hyp_base + tables,
		   "%s: HYP %lu != EL2's %lu + tables %lu", what,
		   (unsigned long)c.hyp, (unsigned long)hyp_base,
		   (unsigned long)tables);
	FUZZ_CHECK(c.owned == owned,
		   "%s: DB has %lu OWNED frames, the guests were given %lu",
		   what, (unsigned long)c.owned, (unsigned long)owned);
	FUZZ_CHECK(!fuzz_warnings, "%s: EL2 warned: %s", what,
		   fuzz_last_warning);
}

/* Every frame: the DB and the shadow agree, guests' writes are intact. */
static void check_all_frames(const char *what)
{
	for (unsigned f = 0; f < RAM_FRAMES; f++) {
		struct frames_info info;
		const uint64_t *w = (const uint64_t *)(const void *)(
			ram + ((uint64_t)f << FRAMES_SHIFT));

		FUZZ_CHECK(!frames_query(&mem_db, pa_of(f), &info),
			   "%s: query of RAM frame 0x%lx failed", what,
			   (unsigned long)pa_of(f));
		if (!owner[f]) {
			FUZZ_CHECK(info.state != EXO_FRAME_OWNED,
				   "%s: frame 0x%lx OWNED by %u, given to "
				   "nobody", what, (unsigned long)pa_of(f),
				   info.owner);
			continue;
		}
		FUZZ_CHECK(info.state == EXO_FRAME_OWNED &&
				   info.owner == owner[f],
			   "%s: frame 0x%lx is state %d owner %u, given to %u",
			   what, (unsigned long)pa_of(f), info.state,
			   info.owner, owner[f]);
		FUZZ_CHECK(w[0] == marker(owner[f], f) &&
				   w[FRAMES_SIZE / 8 - 1] == marker(owner[f], f),
			   "%s: guest %u's frame 0x%lx was overwritten by EL2",
			   what, owner[f], (unsigned long)pa_of(f));
	}
}

/* --- one hypercall --------------------------------------------------------- */

#define NR_HIST 16
static uint64_t hist[NR_HIST];   /* PAs FRAME_ALLOC returned */
static unsigned nr_hist, hist_next;

/* An argument register. Tags favour values that reach deep: frames of RAM,
 * PAs handed out earlier, powers of two and their neighbours, RAM's end. */
static uint64_t decode_arg(struct fuzz_in *in)
{
	uint8_t tag = fuzz_u8(in);
	uint64_t v;

	switch (tag % 9) {
	case 0:
		return fuzz_u8(in);
	case 1:
		return pa_of(fuzz_u16(in) % RAM_FRAMES);
	case 2:
		v = nr_hist ? hist[fuzz_u8(in) % nr_hist] : RAM_BASE;
		return v + (uint64_t)(int8_t)fuzz_u8(in) * FRAMES_SIZE;
	case 3:
		return fuzz_u64(in);
	case 4:
		return UINT64_C(1) << (fuzz_u8(in) % 64);
	case 5:
		v = UINT64_C(1) << (fuzz_u8(in) % 64);
		return v + (uint64_t)(fuzz_u8(in) % 3) - 1;
	case 6:
		v = pa_of(fuzz_u16(in) % RAM_FRAMES);
		return v + fuzz_u16(in) % 4096;
	case 7:
		return RAM_END - (uint64_t)fuzz_u16(in) * FRAMES_SIZE;
	default:
		return (uint64_t)fuzz_u16(in);
	}
}

static const uint32_t fids[] = {
	EXO_HVC_VERSION, EXO_HVC_CONSOLE_WRITE, EXO_HVC_FRAME_ALLOC,
	EXO_HVC_FRAME_ALLOC_AT, EXO_HVC_FRAME_FREE, EXO_HVC_FRAME_QUERY,
	EXO_HVC_VM_INFO, EXO_HVC_YIELD, EXO_HVC_EXIT, EXO_PSCI_VERSION,
	EXO_PSCI_SYSTEM_OFF, EXO_PSCI_SYSTEM_RESET,
};
#define NR_FIDS (sizeof(fids) / sizeof(fids[0]))

static uint64_t sentinel(unsigned r)
{
	return UINT64_C(0x5e5e5e5e00000000) | r;
}

static bool is_error(int64_t rc)
{
	return rc >= EXO_ESTATE && rc <= EXO_ENOTSUP;
}

/* Errors each call may return (docs/abi.md). */
static bool error_documented(uint32_t fid, int64_t rc)
{
	switch (fid) {
	case EXO_HVC_CONSOLE_WRITE:
		return rc == EXO_EINVAL;
	case EXO_HVC_FRAME_ALLOC:
		return rc == EXO_EINVAL || rc == EXO_EQUOTA || rc == EXO_ENOMEM;
	case EXO_HVC_FRAME_ALLOC_AT:
		return rc == EXO_EINVAL || rc == EXO_ERANGE ||
		       rc == EXO_EQUOTA || rc == EXO_ENOMEM || rc == EXO_EBUSY ||
		       rc == EXO_EHYP || rc == EXO_EPERM || rc == EXO_ESHARED ||
		       rc == EXO_ELENT || rc == EXO_EDEVICE;
	case EXO_HVC_FRAME_FREE:
		/* EQUOTA/ENOMEM: freeing part of a 2 MiB block needs a
		 * stage-2 table page (found by this fuzzer, tests/fuzz/
		 * corpus/hvc/free-enomem; docs/abi.md says so since). */
		return rc == EXO_EINVAL || rc == EXO_ERANGE ||
		       rc == EXO_EPERM || rc == EXO_EHYP ||
		       rc == EXO_ESHARED || rc == EXO_ELENT ||
		       rc == EXO_EQUOTA || rc == EXO_ENOMEM;
	case EXO_HVC_FRAME_QUERY:
		return rc == EXO_ERANGE;
	case EXO_HVC_VERSION:
	case EXO_HVC_VM_INFO:
	case EXO_HVC_YIELD:
	case EXO_PSCI_VERSION:
		return false;
	default:
		return rc == EXO_ENOTSUP;
	}
}

static bool count_ok(uint64_t count)
{
	return count && count <= EXO_FRAME_MAX_COUNT;
}

/* Does the range lie in RAM and is every frame of it owned by id? */
static bool all_owned_by(unsigned id, uint64_t pa, uint64_t count)
{
	if (pa < RAM_BASE || pa >= RAM_END || count > RAM_FRAMES ||
	    count > frame_of(RAM_END) - frame_of(pa))
		return false;
	for (uint64_t f = frame_of(pa); f < frame_of(pa) + count; f++)
		if (owner[f] != id)
			return false;
	return true;
}

/* The calls that do not end the caller: results and shadow. */
static void check_result(struct slot *s, uint32_t fid, const uint64_t *arg,
			 const struct counts *before)
{
	struct vcpu *v = &s->vm.vcpu;
	int64_t rc = (int64_t)v->x[0];
	uint64_t r1 = v->x[1], r2 = v->x[2], r3 = v->x[3];

	for (unsigned r = 4; r < 31; r++)
		FUZZ_CHECK(v->x[r] == (r < 8 ? arg[r] : sentinel(r)),
			   "fid 0x%x: x%u changed to 0x%lx", fid, r,
			   (unsigned long)v->x[r]);
	FUZZ_CHECK(v->elr == sentinel(100) && v->spsr == sentinel(101),
		   "fid 0x%x: ELR or SPSR changed", fid);
	if (fid == EXO_PSCI_VERSION) {
		FUZZ_CHECK(rc == EXO_PSCI_VERSION_1_1 && !r1 && !r2 && !r3,
			   "PSCI_VERSION returned 0x%lx 0x%lx 0x%lx 0x%lx",
			   (unsigned long)rc, (unsigned long)r1,
			   (unsigned long)r2, (unsigned long)r3);
		return;
	}
	FUZZ_CHECK(rc == EXO_OK || is_error(rc),
		   "fid 0x%x: x0 = 0x%lx is neither OK nor an error", fid,
		   (unsigned long)rc);
	if (rc) {
		struct counts after = counts_now();

		FUZZ_CHECK(error_documented(fid, rc),
			   "fid 0x%x (x1 0x%lx x2 0x%lx x3 0x%lx): error %ld is "
			   "not documented for this call", fid,
			   (unsigned long)arg[1], (unsigned long)arg[2],
			   (unsigned long)arg[3], (long)rc);
		FUZZ_CHECK(!r1 && !r2 && !r3,
			   "fid 0x%x failed (%ld) but x1-x3 = 0x%lx 0x%lx 0x%lx",
			   fid, (long)rc, (unsigned long)r1, (unsigned long)r2,
			   (unsigned long)r3);
		FUZZ_CHECK(!memcmp(before, &after, sizeof(after)),
			   "fid 0x%x failed (%ld) but left a trace in the frame "
			   "counts", fid, (long)rc);
	}

	switch (fid) {
	case EXO_HVC_VERSION:
		FUZZ_CHECK(!rc && r1 == EXO_ABI_VERSION && !r2 && !r3,
			   "VERSION returned %ld 0x%lx", (long)rc,
			   (unsigned long)r1);
		break;
	case EXO_HVC_CONSOLE_WRITE:
		FUZZ_CHECK((arg[1] > EXO_CONSOLE_MAX) == (rc == EXO_EINVAL),
			   "CONSOLE_WRITE(%lu) returned %ld",
			   (unsigned long)arg[1], (long)rc);
		FUZZ_CHECK(rc || (r1 == arg[1] && !r2 && !r3),
			   "CONSOLE_WRITE(%lu): x1-x3 = 0x%lx 0x%lx 0x%lx",
			   (unsigned long)arg[1], (unsigned long)r1,
			   (unsigned long)r2, (unsigned long)r3);
		break;
	case EXO_HVC_FRAME_ALLOC: {
		bool bad = !count_ok(arg[1]) ||
			   arg[2] > EXO_FRAME_MAX_ALIGN_LOG2 ||
			   (arg[3] & ~EXO_FRAME_ALLOC_FLAGS);

		FUZZ_CHECK(bad == (rc == EXO_EINVAL),
			   "FRAME_ALLOC(%lu, %lu, 0x%lx) returned %ld",
			   (unsigned long)arg[1], (unsigned long)arg[2],
			   (unsigned long)arg[3], (long)rc);
		if (rc)
			break;
		FUZZ_CHECK(!r2 && !r3, "FRAME_ALLOC: x2/x3 not 0");
		FUZZ_CHECK(!(r1 & ((FRAMES_SIZE << arg[2]) - 1)),
			   "FRAME_ALLOC(%lu, align %lu) returned 0x%lx, not "
			   "aligned", (unsigned long)arg[1],
			   (unsigned long)arg[2], (unsigned long)r1);
		shadow_take(s->id, r1, arg[1], true, "FRAME_ALLOC");
		hist[hist_next++ % NR_HIST] = r1;
		if (nr_hist < NR_HIST)
			nr_hist++;
		break;
	}
	case EXO_HVC_FRAME_ALLOC_AT:
		if (arg[1] & (FRAMES_SIZE - 1))
			FUZZ_CHECK(rc == EXO_ERANGE, "ALLOC_AT(0x%lx) "
				   "unaligned returned %ld",
				   (unsigned long)arg[1], (long)rc);
		else if (!count_ok(arg[2]))
			FUZZ_CHECK(rc == EXO_EINVAL, "ALLOC_AT(count %lu) "
				   "returned %ld", (unsigned long)arg[2],
				   (long)rc);
		if (rc)
			break;
		FUZZ_CHECK(!r1 && !r2 && !r3, "ALLOC_AT: x1-x3 not 0");
		shadow_take(s->id, arg[1], arg[2], true, "FRAME_ALLOC_AT");
		break;
	case EXO_HVC_FRAME_FREE: {
		bool mine = all_owned_by(s->id, arg[1], arg[2]);

		if (arg[1] & (FRAMES_SIZE - 1))
			FUZZ_CHECK(rc == EXO_ERANGE, "FREE(0x%lx) unaligned "
				   "returned %ld", (unsigned long)arg[1],
				   (long)rc);
		else if (!count_ok(arg[2]))
			FUZZ_CHECK(rc == EXO_EINVAL, "FREE(count %lu) returned "
				   "%ld", (unsigned long)arg[2], (long)rc);
		if (rc) {
			/* Freeing what is yours may only fail for want of a
			 * table page to split a block. */
			FUZZ_CHECK(!mine || !count_ok(arg[2]) ||
					   rc == EXO_EQUOTA || rc == EXO_ENOMEM,
				   "FREE(0x%lx, %lu) of guest %u's own frames "
				   "returned %ld", (unsigned long)arg[1],
				   (unsigned long)arg[2], s->id, (long)rc);
			break;
		}
		FUZZ_CHECK(!r1 && !r2 && !r3, "FREE: x1-x3 not 0");
		FUZZ_CHECK(mine, "FREE(0x%lx, %lu) succeeded for guest %u, "
			   "which does not own all of it",
			   (unsigned long)arg[1], (unsigned long)arg[2], s->id);
		for (uint64_t f = frame_of(arg[1]);
		     f < frame_of(arg[1]) + arg[2]; f++) {
			owner[f] = 0;
			owned_count[s->id]--;
			FUZZ_CHECK(frame_zero(f), "FREE: frame 0x%lx not "
				   "scrubbed", (unsigned long)pa_of(f));
		}
		break;
	}
	case EXO_HVC_FRAME_QUERY: {
		uint64_t pa = arg[1];
		bool in_span = pa >= RAM_BASE && pa < RAM_END;

		FUZZ_CHECK(!r3, "QUERY: x3 not 0");
		if ((pa & (FRAMES_SIZE - 1)) || !in_span) {
			FUZZ_CHECK(rc == EXO_ERANGE, "QUERY(0x%lx) returned %ld",
				   (unsigned long)pa, (long)rc);
			break;
		}
		FUZZ_CHECK(!rc, "QUERY(0x%lx) returned %ld", (unsigned long)pa,
			   (long)rc);
		if (owner[frame_of(pa)]) {
			FUZZ_CHECK(r1 == EXO_FRAME_OWNED &&
					   r2 == (owner[frame_of(pa)] == s->id),
				   "QUERY(0x%lx) by %u: state %lu access %lu, "
				   "guest %u owns it", (unsigned long)pa, s->id,
				   (unsigned long)r1, (unsigned long)r2,
				   owner[frame_of(pa)]);
		} else {
			FUZZ_CHECK((r1 == EXO_FRAME_FREE || r1 == EXO_FRAME_HYP ||
				    r1 == EXO_FRAME_NONE) && !r2,
				   "QUERY(0x%lx): state %lu access %lu, no guest "
				   "owns it", (unsigned long)pa,
				   (unsigned long)r1, (unsigned long)r2);
		}
		break;
	}
	case EXO_HVC_VM_INFO:
		FUZZ_CHECK(!rc && r1 == s->id && r2 == s->g.quota_frames &&
				   r3 == acct(s->id)->used,
			   "VM_INFO of %u: %ld %lu %lu %lu", s->id, (long)rc,
			   (unsigned long)r1, (unsigned long)r2,
			   (unsigned long)r3);
		break;
	case EXO_HVC_YIELD:
		FUZZ_CHECK(!rc && !r1 && !r2 && !r3, "YIELD returned %ld",
			   (long)rc);
		break;
	default:
		FUZZ_CHECK(rc == EXO_ENOTSUP, "unknown fid 0x%x returned %ld",
			   fid, (long)rc);
	}
}

/* EXIT, SYSTEM_OFF, SYSTEM_RESET: the caller's old life is over. */
static void check_lifecycle(struct slot *s, uint32_t fid, uint64_t status)
{
	struct vm *vm = &s->vm;

	if (fid == EXO_PSCI_SYSTEM_RESET) {
		note_table_writes();
		if (vm->state == VM_RUNNING) {
			/* The fresh boot run may reuse old frames: those hold
			 * the image again, the others must be scrubbed. */
			uint64_t first = frame_of(boot_run_pa(s));

			for (uint64_t f = first; f < first + s->boot_count;
			     f++)
				if (f < RAM_FRAMES && owner[f] == s->id) {
					owner[f] = 0;
					owned_count[s->id]--;
				}
			shadow_drop_all(s->id, "SYSTEM_RESET");
			note_boot_run(s, "SYSTEM_RESET");
		} else {
			shadow_drop_all(s->id, "failed SYSTEM_RESET");
			FUZZ_CHECK(vm->state == VM_KILLED,
				   "SYSTEM_RESET left guest %u in state %d",
				   s->id, vm->state);
			check_gone(s, "failed SYSTEM_RESET");
		}
		return;
	}
	FUZZ_CHECK(vm->state == VM_EXITED && vm->vcpu.state == VCPU_STOPPED,
		   "fid 0x%x left guest %u in state %d", fid, s->id,
		   vm->state);
	FUZZ_CHECK(vm->exit_status ==
			   (fid == EXO_HVC_EXIT ? (int64_t)status : 0),
		   "exit status %ld", (long)vm->exit_status);
	shadow_drop_all(s->id, "EXIT");
	check_gone(s, "EXIT");
}

/* (Re)creates a guest that is not running; false if it cannot be. */
static bool ensure_running(struct slot *s)
{
	struct counts before;
	int64_t rc;

	if (s->vm.state == VM_RUNNING)
		return true;
	before = counts_now();
	rc = vm_create(&s->vm, s->id, &s->g, arch_timer_freq());
	note_table_writes();
	if (rc) {
		struct counts after = counts_now();

		FUZZ_CHECK(rc == EXO_EQUOTA || rc == EXO_ENOMEM,
			   "vm_create of guest %u (quota %u): %ld", s->id,
			   s->g.quota_frames, (long)rc);
		FUZZ_CHECK(!memcmp(&before, &after, sizeof(after)),
			   "failed vm_create of guest %u left a trace", s->id);
		check_gone(s, "failed vm_create");
		return false;
	}
	note_boot_run(s, "vm_create");
	check_counts("vm_create");
	return true;
}

static bool lifecycle_fid(uint32_t fid)
{
	return fid == EXO_HVC_EXIT || fid == EXO_PSCI_SYSTEM_OFF ||
	       fid == EXO_PSCI_SYSTEM_RESET;
}

static void one_call(struct fuzz_in *in)
{
	uint8_t who = fuzz_u8(in), sel = fuzz_u8(in), mask = fuzz_u8(in);
	struct slot *s = &slots[who % nr_slots];
	struct vcpu *v = &s->vm.vcpu;
	uint64_t arg[8] = { 0 }, hypercalls;
	uint32_t fid;
	struct counts before;

	/* Function: one of the known IDs, or any 32-bit value; bit 7 puts
	 * junk in the upper half of x0, which SMCCC says to ignore. */
	fid = (sel & 0x7f) % (NR_FIDS + 1) < NR_FIDS
		      ? fids[(sel & 0x7f) % (NR_FIDS + 1)]
		      : fuzz_u32(in);
	arg[0] = fid | (sel & 0x80 ? UINT64_C(0xdead000000000000) : 0);
	for (unsigned r = 1; r < 8; r++)
		if (mask & (1u << (r - 1)))
			arg[r] = decode_arg(in);
	if (!ensure_running(s))
		return;

	for (unsigned r = 0; r < 31; r++)
		v->x[r] = r < 8 ? arg[r] : sentinel(r);
	v->elr = sentinel(100);
	v->spsr = sentinel(101);
	hypercalls = s->vm.stats.hypercalls;
	before = counts_now();

	hvc_handle(v);
	note_table_writes();
	if (fuzz_verbose)
		fprintf(stderr, "guest %u: 0x%lx(0x%lx, 0x%lx, 0x%lx) -> %ld 0x%lx "
			"0x%lx 0x%lx\n", s->id, (unsigned long)arg[0],
			(unsigned long)arg[1], (unsigned long)arg[2],
			(unsigned long)arg[3], (long)v->x[0],
			(unsigned long)v->x[1], (unsigned long)v->x[2],
			(unsigned long)v->x[3]);

	if (lifecycle_fid(fid))
		check_lifecycle(s, fid, arg[1]);
	else {
		FUZZ_CHECK(s->vm.stats.hypercalls == hypercalls + 1,
			   "hypercall count not incremented");
		check_result(s, fid, arg, &before);
	}
	check_counts("after a hypercall");
}

/* --- the end of an input: tear everything down ----------------------------- */

static void teardown_all(void)
{
	uint64_t free, hyp, held;

	check_all_frames("before teardown");
	for (unsigned i = 0; i < nr_slots; i++) {
		struct slot *s = &slots[i];

		if (s->vm.state == VM_RUNNING) {
			vm_exit(&s->vm, 0, 0, 0);
			shadow_drop_all(s->id, "teardown");
		}
		check_gone(s, "teardown");
	}
	note_table_writes();
	mem_totals(&free, &hyp, &held);
	FUZZ_CHECK(!frames_guest_held(&mem_db) && !held,
		   "after teardown guests still hold %lu frames",
		   (unsigned long)held);
	FUZZ_CHECK(hyp == hyp_base && free == ram_frames - hyp_base,
		   "after teardown: FREE %lu HYP %lu, expected %lu and %lu",
		   (unsigned long)free, (unsigned long)hyp,
		   (unsigned long)(ram_frames - hyp_base),
		   (unsigned long)hyp_base);
	FUZZ_CHECK(!fuzz_warnings, "teardown: EL2 warned: %s",
		   fuzz_last_warning);
	for (unsigned f = 0; f < RAM_FRAMES; f++) {
		if (!dirty[f] && !(dirty_overflow && is_plain_ram(f)))
			continue;
		FUZZ_CHECK(frame_zero(f),
			   "after teardown frame 0x%lx (guest data or stage-2 "
			   "table) is not scrubbed", (unsigned long)pa_of(f));
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_console_init();
	machine_map();
	build_guest_elf();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	fuzz_warnings = 0;
	nr_hist = hist_next = 0;
	machine_boot();
	setup_slots(&in);
	for (unsigned i = 0; i < nr_slots; i++)
		ensure_running(&slots[i]);
	check_counts("boot");
	for (unsigned n = 0; n < MAX_CALLS && !fuzz_done(&in); n++)
		one_call(&in);
	teardown_all();
	return 0;
}
