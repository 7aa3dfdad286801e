/*
 * libFuzzer target: the hypercall dispatcher (el2/dispatch.c) over a simulated
 * machine, every hypercall ID, with up to four guests that share, lend,
 * donate and notify between them. SHARE, LEND and DONATE are offers
 * (docs/abi.md, "Consent"): the harness's recipients accept each offer at
 * once (FRAME_ACCEPT, their policy), so the shadow's transaction is the
 * accept's; an offer the recipient has no room for stays, and the sender
 * withdraws it (UNSHARE/RECLAIM must succeed). FRAME_DROP (a borrower
 * lets go of a share), FRAME_ACCEPT and FRAME_OFFER are fuzzed too. RAM is an mmap'd host buffer at PA
 * 0x40000000 (the host address IS the PA: el2/mem.c dereferences PAs
 * directly, and stage 2 takes 40-bit IPAs, so the buffer must sit low),
 * with guard pages on both sides. The frame DB covers it with its storage
 * carved from RAM (HYP), a hole that is not RAM and a second HYP range.
 * The guests are made with vm_create() from synthetic manifest entries (a
 * tiny static-PIE ELF) into the VM table el2/system.c looks peers up in
 * (system_use_vms), so EXIT, PSCI SYSTEM_OFF and SYSTEM_RESET run the real
 * teardown, restart and peer-notification paths; a guest that has stopped
 * is created again before its next call. Every guest may share with every
 * other, except that guest 7 may not share with guest 1 (EDENIED).
 *
 * The input: a header (number of guests, quota and boot-frames classes),
 * then steps: [guest][function][which of x1-x7 are set][each: a tag and
 * its payload]. See decode_arg() for the tags: most pick values that make
 * a call succeed (a run of frames handed out earlier, a real peer id, a
 * guest's name). Two "functions" are EL2 events, not hypercalls: EL2 asks
 * the guest for frames back (revoke_request), and the guest's CPU time
 * passes (revoke_tick: past the deadline EL2 takes frames, mem_revoke).
 *
 * A shadow model, kept from the calls' results alone, says who owns each
 * frame, who borrows it (shared R/RW, lent) and whose data it holds; it
 * predicts each call: arguments and peers are checked exactly (error and
 * precedence), a transaction whose frames are in the right state must
 * succeed unless a quota or RAM is nearly exhausted, one whose frames are
 * not must fail. After every call:
 *  - registers: x4-x30, ELR and SPSR unchanged; x1-x3 are 0 unless the call
 *    defines them; x0 is 0 or a documented error of that call;
 *  - every frame the call named or changed, and every frame a stage-2
 *    descriptor it wrote points at (before and after): the DB agrees with
 *    the shadow (state, owner, borrower, borrowers and their permission),
 *    the owner's data is intact (also across share, lend, reclaim and
 *    donate), FREE frames are zero (allocated frames arrive zeroed, freed
 *    ones scrubbed), and the stage 2 of the caller, the peer and every
 *    guest whose stage 2 was written maps each of them exactly as the
 *    shadow allows. That is the stage-2 invariant, by induction: a stage 2
 *    changes only where a descriptor is written, the DB only in frames the
 *    shadow touched (else a count below differs);
 *  - counts: FREE + HYP + held - tables == RAM (held counts stage-2 table
 *    frames, which are HYP too), held == sum of charges, HYP == EL2's own
 *    + stage-2 tables (EL2's own never change: it keeps no reserve, a
 *    split takes the page its block kept); OWNED, SHARED and LENT frames
 *    as the shadow says;
 *    each guest charged exactly what it owns + its tables, borrowing and
 *    lending out what the shadow says, never above its quota, not even
 *    when EL2 takes frames by force or a split is needed; a failed
 *    call changes no count; notifications and events as the shadow says.
 * At the end every frame a guest or a table had is compared with the
 * shadow, mem_check_invariant() (stage 2 == frame DB, all of it) runs for
 * every guest, and every guest is torn down: frames_guest_held() == 0,
 * HYP is back to EL2's own, and every frame a guest or a stage-2 table
 * touched is zero again.
 *
 * FUZZ_HVC_FULL_CHECKS=1 adds mem_check_invariant() for every guest and a
 * comparison of every frame after every call.
 *
 * Speed (docs/testing.md): the machine is mapped once; an input resets the
 * frame DB (O(RAM) once) and the checks after each call are proportional
 * to what it touched, not to RAM.
 */
#define _GNU_SOURCE /* MAP_FIXED_NOREPLACE */
#include "../host/fake_arch.h"
#include "../host/share_bits.h"
#include "fuzz_common.h"
#include "fuzz_el2_console.h"

#include <el2/elf.h>
#include <el2/frames.h>
#include <el2/guest_dt.h>
#include <el2/dispatch.h>
#include <el2/manifest.h>
#include <el2/mem.h>
#include <el2/revoke.h>
#include <el2/s2.h>
#include <el2/system.h>
#include <el2/vm.h>
#include <el2/vm_ops.h>
#include <exo/errors.h>
#include <exo/frame_state.h>
#include <exo/hvc.h>
#include <sys/mman.h>


/* --- the machine --------------------------------------------------------- */

#define RAM_BASE UINT64_C(0x40000000)
#define RAM_FRAMES 2048u                 /* 8 MiB: four 2 MiB blocks */
#define RAM_BYTES ((uint64_t)RAM_FRAMES << FRAMES_SHIFT)
#define RAM_END (RAM_BASE + RAM_BYTES)
#define HOLE_FIRST 1100u                 /* frames [1100, 1164) are not RAM */
#define HOLE_FRAMES 64u
#define HYP2_FIRST 1300u                 /* frames [1300, 1340): EL2's */
#define HYP2_FRAMES 40u

#define NR_SLOTS 4
#define MAX_CALLS 128
#define BOOT_DTB_FRAMES GUEST_DT_FRAMES
/* Table pages a transaction of n frames may need beyond the frames (three
 * levels below the root, a split at each end): with less headroom than
 * this, EQUOTA or ENOMEM is a plausible answer. */
#define TABLE_SLACK(n) (8 + (n) / 256)

static uint8_t *ram;
static uint64_t db_frames;      /* frames [0, db_frames): DB storage, HYP */
static uint64_t ram_frames;     /* frames mem_add_ram added */
static uint64_t hyp_base;       /* HYP frames with no guest at boot */
static uint64_t el2_own;        /* HYP frames with no guest: never change */

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

/* A loop, not memcmp: libFuzzer's memcmp hook costs more than the loop. */
static bool frame_zero(uint64_t frame)
{
	const uint64_t *w = (const uint64_t *)(const void *)(
		ram + (frame << FRAMES_SHIFT));
	uint64_t any = 0;

	for (unsigned i = 0; i < FRAMES_SIZE / 8; i++)
		any |= w[i];
	return !any;
}

/* Where data can be in a frame: a guest writes the first and last word of
 * every frame it gets (guest_scribble), a boot run's image and DTB start
 * at a frame's start; only stage-2 tables put data anywhere. */
enum dirt { CLEAN, GUEST_DATA, TABLE_DATA };

static bool scrubbed(uint64_t frame, enum dirt d)
{
	const uint64_t *w = (const uint64_t *)(const void *)(
		ram + (frame << FRAMES_SHIFT));

	if (d == TABLE_DATA)
		return frame_zero(frame);
	return d == CLEAN || (!w[0] && !w[FRAMES_SIZE / 8 - 1]);
}

static bool is_plain_ram(uint64_t frame)
{
	return frame >= db_frames &&
	       !(frame >= HOLE_FIRST && frame < HOLE_FIRST + HOLE_FRAMES) &&
	       !(frame >= HYP2_FIRST && frame < HYP2_FIRST + HYP2_FRAMES);
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

/* --- the guests' table --------------------------------------------------- */

/* What the shadow expects of a guest besides its frames. */
struct slot {
	struct vm *vm;
	struct manifest_guest g;
	unsigned id;
	uint64_t boot_pa, boot_count; /* its boot run, while running */
	bool waiting;                 /* blocked in WAIT */
	struct vm_notifiers pending;  /* notifiers WAIT has not returned */
	uint64_t events;              /* EXO_EVENT_* EVENTS has not returned */
	bool revoke_active;           /* EL2's request is outstanding */
	uint64_t revoke_want, revoke_deadline;
	uint64_t revoke_target;       /* met when its charge is this low */
	bool lost;                    /* an owner took frames back from it
				       * (el2/lost.c), not acknowledged */
	struct vm_run taken[VM_REVOKED_MAX];
	unsigned nr_taken;
	bool forced;                  /* EL2 took frames: tables may exceed
				       * the quota */
};

/* el2/system.c's VM table: VM id i + 1 is vms[i]. */
static struct vm vms[EXO_MAX_VMS - 1];
static struct slot slots[NR_SLOTS];
static unsigned nr_slots;
/* The shadow keeps borrowers as 64-bit masks of VM ids and owners in a
 * byte: the highest id it names is 63 (ids up to EXO_MAX_VMS - 1 are the
 * host tests' and tests/target/test_thousand.py's). */
#define SHADOW_MAX_ID 63u
static const unsigned slot_ids[NR_SLOTS] = { 1, 2, SHADOW_MAX_ID, 7 };
#define DENIED_FROM 7u  /* its share-with leaves out ... */
#define DENIED_TO 1u    /* ... this one */
static const uint32_t quota_classes[] = { 9, 12, 16, 40, 200, 600, 2048,
					  4096, 8000, 9000 };
static const uint32_t boot_classes[] = { 1, 4, 16, 64 };

static struct slot *slot_of(unsigned id)
{
	for (unsigned i = 0; i < nr_slots; i++)
		if (slots[i].id == id)
			return &slots[i];
	return NULL;
}

static bool running(const struct slot *s)
{
	return s && s->vm->state == VM_RUNNING;
}

/* --- the shadow ---------------------------------------------------------- */

/* Per frame: owner (OWNED, SHARED or LENT by it; 0: nobody), the borrower
 * of a loan, the borrowers of a share (bit = VM id) and which have RW,
 * whose marker the frame holds (0: none, it must then be zero if FREE). */
static uint8_t owner[RAM_FRAMES], lent_to[RAM_FRAMES], writer[RAM_FRAMES];
/* Whose marker a frame held when it went back to EL2's pool (0: none): the
 * frame a guest leaves unscrubbed (el2/mem.c, mem_left_frame) keeps it. */
static uint8_t freed_writer[RAM_FRAMES];
/* The frame left unscrubbed, and for whom, before the current call: only
 * that guest may get it back unzeroed (EXO_FRAME_ALLOC_NOZERO). */
static uint64_t left_pa_before;
static unsigned left_vm_before;
static uint64_t sharers[RAM_FRAMES], sharers_rw[RAM_FRAMES];
/* Derived counts, kept as the shadow changes. */
static uint64_t held[EXO_MAX_VMS], lent_out[EXO_MAX_VMS],
	borrowed[EXO_MAX_VMS];
static uint64_t nr_owned, nr_shared, nr_lent;

/* Frames touched by a guest or a stage-2 table write in this input (enum
 * dirt: they must be zero whenever FREE, and at the end), and frames to
 * compare after the current call. */
static uint8_t dirty[RAM_FRAMES];
static bool dirty_overflow;       /* the s2 log overflowed: scan everything */
static uint16_t dirty_list[RAM_FRAMES];
static unsigned nr_dirty;
static uint8_t queued[RAM_FRAMES];
static uint16_t touched[RAM_FRAMES];
static unsigned nr_touched;

static void touch(uint64_t f)
{
	if (f >= RAM_FRAMES || queued[f])
		return;
	queued[f] = 1;
	touched[nr_touched++] = (uint16_t)f;
}

static void touch_range(uint64_t pa, uint64_t count)
{
	if (pa & (FRAMES_SIZE - 1) || !in_ram_span(pa))
		return;
	for (uint64_t f = frame_of(pa); f < RAM_FRAMES && count; f++, count--)
		touch(f);
}

static void mark_dirty(uint64_t f, enum dirt d)
{
	if (!dirty[f])
		dirty_list[nr_dirty++] = (uint16_t)f;
	if (dirty[f] < d)
		dirty[f] = (uint8_t)d;
}

/* Adds (sign 1) or removes (-1) frame f's part in the derived counts. */
static void account_frame(uint64_t f, int sign)
{
	uint64_t s = (uint64_t)(int64_t)sign;

	if (!owner[f])
		return;
	held[owner[f]] += s;
	if (lent_to[f]) {
		lent_out[owner[f]] += s;
		borrowed[lent_to[f]] += s;
		nr_lent += s;
	} else if (sharers[f]) {
		nr_shared += s;
		for (uint64_t m = sharers[f]; m; m &= m - 1)
			borrowed[__builtin_ctzll(m)] += s;
	} else {
		nr_owned += s;
	}
}

static void set_frame(uint64_t f, unsigned own, unsigned lent, uint64_t share,
		      uint64_t rw)
{
	account_frame(f, -1);
	owner[f] = (uint8_t)own;
	lent_to[f] = (uint8_t)lent;
	sharers[f] = share;
	sharers_rw[f] = rw;
	account_frame(f, 1);
	touch(f);
}

/* Frame f went back to EL2's pool. */
static void set_free(uint64_t f)
{
	set_frame(f, 0, 0, 0, 0);
	freed_writer[f] = writer[f];
	writer[f] = 0;
}

static void shadow_reset(void)
{
	memset(owner, 0, sizeof(owner));
	memset(lent_to, 0, sizeof(lent_to));
	memset(writer, 0, sizeof(writer));
	memset(freed_writer, 0, sizeof(freed_writer));
	memset(sharers, 0, sizeof(sharers));
	memset(sharers_rw, 0, sizeof(sharers_rw));
	memset(held, 0, sizeof(held));
	memset(lent_out, 0, sizeof(lent_out));
	memset(borrowed, 0, sizeof(borrowed));
	nr_owned = nr_shared = nr_lent = 0;
	for (unsigned i = 0; i < nr_dirty; i++)
		dirty[dirty_list[i]] = 0;
	nr_dirty = 0;
	dirty_overflow = false;
	for (unsigned i = 0; i < nr_touched; i++)
		queued[touched[i]] = 0;
	nr_touched = 0;
}

static uint64_t marker(unsigned id, uint64_t frame)
{
	return UINT64_C(0x6775657374000000) | (uint64_t)id << 16 | frame;
}

static const uint64_t *words(uint64_t f)
{
	return (const uint64_t *)(const void *)(ram + (f << FRAMES_SHIFT));
}

/* The guest writes to every frame it was given: first and last word. */
static void guest_scribble(unsigned id, uint64_t frame)
{
	uint64_t *w = (uint64_t *)(void *)(ram + (frame << FRAMES_SHIFT));

	w[0] = marker(id, frame);
	w[FRAMES_SIZE / 8 - 1] = marker(id, frame);
	writer[frame] = (uint8_t)id;
	mark_dirty(frame, GUEST_DATA);
}

/* Frame f holds what it held when it was freed: its writer's marker,
 * first and last word (or it was zero then). */
static bool as_freed(uint64_t f)
{
	return !freed_writer[f] ||
	       (words(f)[0] == marker(freed_writer[f], f) &&
		words(f)[FRAMES_SIZE / 8 - 1] == marker(freed_writer[f], f));
}

/* FREE frame f is scrubbed, or it is the frame a guest left unscrubbed
 * (el2/mem.c) and holds what it held when freed. */
static bool free_frame_ok(uint64_t f)
{
	unsigned left_vm;

	return scrubbed(f, dirty[f]) ||
	       (mem_left_frame(&left_vm) == pa_of(f) && left_vm && as_freed(f));
}

/* The DB and RAM agree with the shadow on frame f. */
static void check_frame(uint64_t f, const char *what)
{
	struct frames_info info;
	uint64_t pa = pa_of(f);
	enum exo_frame_state want;

	FUZZ_CHECK(!frames_query(mem_frames_db(), pa, &info),
		   "%s: query of RAM frame 0x%lx failed", what,
		   (unsigned long)pa);
	if (!is_plain_ram(f)) {
		want = f >= HOLE_FIRST && f < HOLE_FIRST + HOLE_FRAMES
			       ? EXO_FRAME_NONE : EXO_FRAME_HYP;
		FUZZ_CHECK(info.state == want && !info.owner,
			   "%s: frame 0x%lx (EL2's or not RAM) is state %d "
			   "owner %u", what, (unsigned long)pa, info.state,
			   info.owner);
		return;
	}
	if (!owner[f]) {
		FUZZ_CHECK(info.state == EXO_FRAME_FREE ||
				   info.state == EXO_FRAME_HYP,
			   "%s: frame 0x%lx is state %d owner %u, given to "
			   "nobody", what, (unsigned long)pa, info.state,
			   info.owner);
		/* Only a guest or a table write put data in RAM. */
		FUZZ_CHECK(info.state != EXO_FRAME_FREE || free_frame_ok(f),
			   "%s: FREE frame 0x%lx is not scrubbed", what,
			   (unsigned long)pa);
		return;
	}
	want = lent_to[f] ? EXO_FRAME_LENT
			  : sharers[f] ? EXO_FRAME_SHARED : EXO_FRAME_OWNED;
	FUZZ_CHECK(info.state == want && info.owner == owner[f],
		   "%s: frame 0x%lx is state %d owner %u; the shadow says %d "
		   "owner %u", what, (unsigned long)pa, info.state, info.owner,
		   want, owner[f]);
	FUZZ_CHECK(want != EXO_FRAME_LENT || info.peer == lent_to[f],
		   "%s: frame 0x%lx lent to %u, the shadow says %u", what,
		   (unsigned long)pa, info.peer, lent_to[f]);
	FUZZ_CHECK(want != EXO_FRAME_SHARED ||
			   (share_bits(&info.share, false) == sharers[f] &&
			    share_bits(&info.share, true) == sharers_rw[f]),
		   "%s: frame 0x%lx shared with 0x%lx (RW 0x%lx), the shadow "
		   "says 0x%lx (RW 0x%lx)", what, (unsigned long)pa,
		   (unsigned long)share_bits(&info.share, false),
		   (unsigned long)share_bits(&info.share, true),
		   (unsigned long)sharers[f], (unsigned long)sharers_rw[f]);
	FUZZ_CHECK(!writer[f] ||
			   (words(f)[0] == marker(writer[f], f) &&
			    words(f)[FRAMES_SIZE / 8 - 1] == marker(writer[f], f)),
		   "%s: guest %u's data in frame 0x%lx was overwritten", what,
		   writer[f], (unsigned long)pa);
}

#define ALL_GUESTS (~UINT64_C(0))
#define GUEST_PROT (S2_PROT_R | S2_PROT_W | S2_PROT_X) /* mem.c's */

/* What guest id's stage 2 must map at frame f, by the shadow. */
static unsigned shadow_prot(unsigned id, uint64_t f)
{
	uint64_t bit = UINT64_C(1) << id;

	if (!owner[f])
		return 0;
	if (lent_to[f])
		return lent_to[f] == id ? GUEST_PROT : 0;
	if (owner[f] == id)
		return GUEST_PROT;
	if (sharers[f] & bit)
		return sharers_rw[f] & bit ? GUEST_PROT : S2_PROT_R;
	return 0;
}

static void check_mapping(const struct vm *vm, uint64_t f, const char *what)
{
	struct s2_leaf leaf;
	unsigned prot = s2_lookup(&vm->s2, ipa_init(pa_of(f)),
				  &leaf) ? leaf.prot : 0;

	FUZZ_CHECK(prot == shadow_prot(vm->id, f),
		   "%s: guest %u's stage 2 maps frame 0x%lx with prot 0x%x; "
		   "the shadow says 0x%x (owner %u, lent to %u, shared with "
		   "0x%lx)", what, vm->id, (unsigned long)pa_of(f), prot,
		   shadow_prot(vm->id, f), owner[f], lent_to[f],
		   (unsigned long)sharers[f]);
}

/* The frames the last step named, changed or remapped: the DB and RAM
 * agree with the shadow, and so does the stage 2 of each running guest in
 * mask (bit = VM id). By induction this is the whole stage-2 invariant:
 * a stage 2 changes only where a descriptor is written (every written
 * descriptor's frames are touched), and the DB only in frames the shadow
 * touched (else a count differs). */
static void check_touched(const char *what, uint64_t mask)
{
	for (unsigned i = 0; i < nr_touched; i++) {
		uint64_t f = touched[i];

		check_frame(f, what);
		for (unsigned k = 0; k < nr_slots; k++)
			if (running(&slots[k]) && (mask >> slots[k].id & 1))
				check_mapping(slots[k].vm, f, what);
		queued[f] = 0;
	}
	nr_touched = 0;
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
		.p_memsz = 2 * EXO_FRAME_SIZE,
		.p_align = EXO_FRAME_SIZE,
	};

	memcpy(guest_elf, &eh, sizeof(eh));
	memcpy(guest_elf + sizeof(eh), &ph, sizeof(ph));
	memset(guest_elf + 0x80, 0xd5, sizeof(guest_elf) - 0x80);
}

static bool may_share(unsigned from, unsigned to)
{
	return from != to && slot_of(from) && slot_of(to) &&
	       !(from == DENIED_FROM && to == DENIED_TO);
}

static void setup_slots(struct fuzz_in *in)
{
	char err[128];

	nr_slots = 1 + fuzz_u8(in) % NR_SLOTS;
	for (unsigned i = 0; i < NR_SLOTS; i++)
		vms[slot_ids[i] - 1].state = VM_FAILED;
	for (unsigned i = 0; i < nr_slots; i++) {
		struct slot *s = &slots[i];
		uint8_t q = fuzz_u8(in);
		struct manifest_guest *g = &s->g;

		memset(s, 0, sizeof(*s));
		s->id = slot_ids[i];
		s->vm = &vms[s->id - 1];
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
	/* share-with: index i is guest i + 1; every other guest, but one. */
	for (unsigned i = 0; i < nr_slots; i++)
		for (unsigned j = 0; j < nr_slots; j++)
			if (may_share(slots[i].id, slots[j].id))
				slots[i].g.share_ids[slots[i].g.nr_share_ids++] =
					(uint16_t)(slots[j].id - 1);
}

static const struct frames_account *acct(unsigned id)
{
	return frames_account(mem_frames_db(), id);
}

/* A fresh frame DB over RAM whose frames are all zero again. */
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
	hyp_base = el2_own = frames_count(mem_frames_db(), EXO_FRAME_HYP);
	FUZZ_CHECK(hyp_base == db_frames + HYP2_FRAMES,
		   "machine boot: EL2 kept frames back (%lu HYP)",
		   (unsigned long)hyp_base);
	/* mem.c's debug checks (the caller's invariant, FREE frames zero when
	 * handed out) are a subset of what this harness checks after every
	 * call: off, to halve the cost of a call. */
	mem_set_debug_checks(false);
	system_use_vms(vms, EXO_MAX_VMS - 1);
	shadow_reset();
	fake_s2.nr = 0;
}

#define DESC_VALID UINT64_C(1)
#define DESC_TYPE_MASK UINT64_C(3)
#define DESC_BLOCK UINT64_C(1)          /* else a page or a table */
#define DESC_OA_MASK UINT64_C(0x0000fffffffff000)
#define BLOCK_FRAMES 512u               /* a level-2 block: 2 MiB */

/* The frames a stage-2 descriptor points at (a block, a page or a table
 * page) are to be compared after this step; a new one must point at RAM. */
static void touch_descriptor(uint64_t desc, bool is_new)
{
	uint64_t pa = desc & DESC_OA_MASK;
	uint64_t n = (desc & DESC_TYPE_MASK) == DESC_BLOCK ? BLOCK_FRAMES : 1;

	if (!(desc & DESC_VALID))
		return;
	FUZZ_CHECK(!is_new || in_ram_span(pa),
		   "a stage-2 descriptor 0x%lx points outside RAM",
		   (unsigned long)desc);
	touch_range(pa, n);
}

/* Guests whose stage 2 had a descriptor written since the last call (a bit
 * per VM id; all ones if one cannot be told); the frames each descriptor
 * pointed at before and after are touched, tables' frames are dirty. A
 * table page is HYP charged to its guest; a root is the VM's. */
static uint64_t note_table_writes(void)
{
	uint64_t written = 0;

	if (fake_s2.nr >= FAKE_S2_LOG_MAX) {
		dirty_overflow = true;
		written = ~UINT64_C(0);
	}
	for (size_t i = 0; i < fake_s2.nr; i++) {
		const struct fake_s2_event *e = &fake_s2.ev[i];
		uint64_t pa = (uint64_t)(uintptr_t)e->pte;
		struct frames_info info;
		bool found = false;

		if (e->kind != FAKE_S2_PTE)
			continue;
		touch_descriptor(e->old, false);
		touch_descriptor(e->arg, true);
		for (unsigned k = 0; k < nr_slots && !found; k++) {
			const uint8_t *root = (const uint8_t *)slots[k].vm->s2.root;

			if (root && (const uint8_t *)e->pte >= root &&
			    (const uint8_t *)e->pte < root + S2_ROOT_SIZE) {
				written |= UINT64_C(1) << slots[k].id;
				found = true;
			}
		}
		if (found)
			continue;
		if (in_ram_span(pa)) {
			mark_dirty(frame_of(pa), TABLE_DATA);
			if (!frames_query(mem_frames_db(),
					  pa & ~(FRAMES_SIZE - 1), &info) &&
			    info.state == EXO_FRAME_HYP && info.owner) {
				written |= UINT64_C(1) << info.owner;
				continue;
			}
		}
		written = ~UINT64_C(0);
	}
	fake_s2.nr = 0;
	return written;
}

/* Frames [pa, pa + count) have just become id's, freshly allocated. */
/* may_be_own: the call asked for frames it need not find zeroed
 * (EXO_FRAME_ALLOC_NOZERO), so the frame id left before the call may come
 * back as it was freed. */
static void shadow_take_as(unsigned id, uint64_t pa, uint64_t count,
			   bool must_be_zero, bool may_be_own,
			   const char *what);
static void shadow_take(unsigned id, uint64_t pa, uint64_t count,
			bool must_be_zero, const char *what)
{
	shadow_take_as(id, pa, count, must_be_zero, false, what);
}

static bool own_left_frame(unsigned id, uint64_t f)
{
	return left_vm_before == id && left_pa_before == pa_of(f) &&
	       as_freed(f);
}

static void shadow_take_as(unsigned id, uint64_t pa, uint64_t count,
			   bool must_be_zero, bool may_be_own,
			   const char *what)
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
		FUZZ_CHECK(!must_be_zero || scrubbed(f, dirty[f]) ||
				   (may_be_own && own_left_frame(id, f)),
			   "%s: guest %u got frame 0x%lx not zeroed", what, id,
			   (unsigned long)pa_of(f));
		set_frame(f, id, 0, 0, 0);
		guest_scribble(id, f);
	}
}

static void notify_shadow(struct slot *to, unsigned from);
static void check_woken(struct slot *s, bool by_event);

/* Guest b lost frames through their owner (el2/lost.c): told with
 * EXO_EVENT_RECLAIMED, which wakes a WAIT. by_el2: EL2 unmapped them (the
 * owner's end, forced revocation), granting table pages beyond b's quota. */
static void shadow_lost(unsigned b, bool by_el2)
{
	struct slot *s = slot_of(b);

	if (!s || !running(s))
		return;
	s->events |= EXO_EVENT_RECLAIMED;
	s->lost = true;
	if (by_el2)
		s->forced = true;
	if (s->waiting)
		check_woken(s, true);
}

/* The borrowers of frame f, told they lost it (shadow_lost). */
static void tell_borrowers(uint64_t f)
{
	if (lent_to[f])
		shadow_lost(lent_to[f], true);
	for (uint64_t m = sharers[f]; m; m &= m - 1)
		shadow_lost((unsigned)__builtin_ctzll(m), true);
}

/* Guest id has ended (exit, teardown, restart): what it owned is free
 * (shares and loans taken back first, the borrowers told), what it borrowed is back with the
 * owners (a lender with no quota left for the table pages loses it:
 * mem.c's end_loan_in), and its peers are notified. */
static void shadow_end(unsigned id)
{
	/* Every frame a guest ever held is dirty (guest_scribble). */
	for (unsigned i = 0; i < nr_dirty; i++) {
		uint64_t f = dirty_list[i];

		if (owner[f] == id) {
			tell_borrowers(f);
			set_free(f);
		} else if (owner[f] && lent_to[f] == id) {
			struct frames_info info;

			/* Back with its lender, or freed (and perhaps handed
			 * out again already, e.g. in a restart's boot run). */
			FUZZ_CHECK(!frames_query(mem_frames_db(), pa_of(f),
						 &info),
				   "query of 0x%lx failed", (unsigned long)pa_of(f));
			if (info.owner != owner[f])
				set_free(f);
			else
				set_frame(f, owner[f], 0, 0, 0);
		} else if (sharers[f] >> id & 1) {
			uint64_t bit = UINT64_C(1) << id;

			set_frame(f, owner[f], 0, sharers[f] & ~bit,
				  sharers_rw[f] & ~bit);
		}
	}
	for (unsigned i = 0; i < nr_slots; i++) {
		struct slot *o = &slots[i];

		if (o->id != id && running(o) &&
		    (may_share(o->id, id) || may_share(id, o->id)))
			notify_shadow(o, id);
	}
}

/* EL2's scheduler scrubs an ended VM a bounded step per turn (el2/vm.c);
 * there is no scheduler here: every step now. The last one notifies its
 * peers again (all it held is back, or it runs again). */
static void reap(struct slot *s)
{
	system_reap_finish(s->vm);
	for (unsigned i = 0; i < nr_slots; i++) {
		struct slot *o = &slots[i];

		if (o->id != s->id && running(o) &&
		    (may_share(o->id, s->id) || may_share(s->id, o->id)))
			notify_shadow(o, s->id);
	}
}

static void check_gone(struct slot *s, const char *what)
{
	const struct frames_account *a = acct(s->id);

	FUZZ_CHECK(!a->live && !a->used && !a->borrowed && !a->lent_out,
		   "%s: guest %u still has a live account (%lu charged, %lu "
		   "borrowed)", what, s->id, (unsigned long)a->used,
		   (unsigned long)a->borrowed);
	FUZZ_CHECK(!held[s->id] && !borrowed[s->id],
		   "%s: the shadow still gives guest %u frames", what, s->id);
}

/* Where the boot run of a guest that has just been created or restarted
 * is: its vCPU starts at the ELF entry inside it. */
static uint64_t boot_run_pa(struct slot *s)
{
	const struct elf_info *e = &s->g.elf;

	s->boot_count = (e->span >> FRAMES_SHIFT) + BOOT_DTB_FRAMES +
			s->g.boot_frames;
	return s->vm->vcpu.elr - e->entry_offset;
}

static void note_boot_run(struct slot *s, const char *what)
{
	const struct elf_info *e = &s->g.elf;

	s->boot_pa = boot_run_pa(s);
	FUZZ_CHECK(s->vm->vcpu.x[0] == s->boot_pa + e->span,
		   "%s: guest %u: x0 = 0x%lx is not its DTB at 0x%lx", what,
		   s->id, (unsigned long)s->vm->vcpu.x[0],
		   (unsigned long)(s->boot_pa + e->span));
	FUZZ_CHECK(!memcmp(ram + (s->boot_pa - RAM_BASE), guest_elf,
			   sizeof(guest_elf)),
		   "%s: guest %u: image not loaded at 0x%lx", what, s->id,
		   (unsigned long)s->boot_pa);
	shadow_take(s->id, s->boot_pa, s->boot_count, false, what);
}

/* --- global checks ------------------------------------------------------- */

struct counts {
	uint64_t free, hyp, held, owned, shared, lent;
	struct frames_account a[NR_SLOTS];
};

static struct counts counts_now(void)
{
	struct counts c;

	memset(&c, 0, sizeof(c));
	mem_totals(&c.free, &c.hyp, &c.held);
	c.owned = frames_count(mem_frames_db(), EXO_FRAME_OWNED);
	c.shared = frames_count(mem_frames_db(), EXO_FRAME_SHARED);
	c.lent = frames_count(mem_frames_db(), EXO_FRAME_LENT);
	for (unsigned i = 0; i < nr_slots; i++)
		c.a[i] = *acct(slots[i].id);
	return c;
}

/* The same totals and charges (a failed call may still raise a guest's
 * peak on its way; a failed vm_create leaves the quota it set). */
static bool counts_equal(const struct counts *x, const struct counts *y)
{
	if (x->free != y->free || x->hyp != y->hyp || x->held != y->held ||
	    x->owned != y->owned || x->shared != y->shared ||
	    x->lent != y->lent)
		return false;
	for (unsigned i = 0; i < nr_slots; i++) {
		const struct frames_account *a = &x->a[i], *b = &y->a[i];

		if (a->used != b->used || a->tables != b->tables ||
		    a->borrowed != b->borrowed || a->lent_out != b->lent_out ||
		    a->live != b->live)
			return false;
	}
	return true;
}

static void check_counts(const char *what)
{
	struct counts c = counts_now();
	uint64_t used = 0, tables = 0;

	for (unsigned i = 0; i < nr_slots; i++) {
		struct slot *s = &slots[i];
		const struct frames_account *a = &c.a[i];

		used += a->used;
		tables += a->tables;
		FUZZ_CHECK(a->used == held[s->id] + a->tables,
			   "%s: guest %u charged %lu, owns %lu + %lu tables",
			   what, s->id, (unsigned long)a->used,
			   (unsigned long)held[s->id],
			   (unsigned long)a->tables);
		FUZZ_CHECK(a->borrowed == borrowed[s->id] &&
				   a->lent_out == lent_out[s->id],
			   "%s: guest %u borrows %lu and lent out %lu, the "
			   "shadow says %lu and %lu", what, s->id,
			   (unsigned long)a->borrowed,
			   (unsigned long)a->lent_out,
			   (unsigned long)borrowed[s->id],
			   (unsigned long)lent_out[s->id]);
		FUZZ_CHECK(!a->live || a->used <= a->quota,
			   "%s: guest %u charged %lu above its quota %lu", what,
			   s->id, (unsigned long)a->used,
			   (unsigned long)a->quota);
		FUZZ_CHECK(running(s) == a->live,
			   "%s: guest %u (state %d): account live %d", what,
			   s->id, s->vm->state, a->live);
		FUZZ_CHECK(running(s) || (!a->used && !held[s->id]),
			   "%s: stopped guest %u still has frames", what,
			   s->id);
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
	FUZZ_CHECK(c.hyp - tables == el2_own,
		   "%s: HYP %lu - tables %lu: EL2's own frames were %lu", what,
		   (unsigned long)c.hyp, (unsigned long)tables,
		   (unsigned long)el2_own);
	FUZZ_CHECK(c.owned == nr_owned && c.shared == nr_shared &&
			   c.lent == nr_lent,
		   "%s: DB has %lu OWNED, %lu SHARED, %lu LENT frames; the "
		   "shadow %lu, %lu, %lu", what, (unsigned long)c.owned,
		   (unsigned long)c.shared, (unsigned long)c.lent,
		   (unsigned long)nr_owned, (unsigned long)nr_shared,
		   (unsigned long)nr_lent);
	FUZZ_CHECK(!fuzz_warnings, "%s: EL2 warned: %s", what,
		   fuzz_last_warning);
}

/* Stage 2 == frame DB for the guests in mask (bit = VM id). */
static void check_invariants(uint64_t mask)
{
	for (unsigned i = 0; i < nr_slots; i++)
		if (running(&slots[i]) && (mask >> slots[i].id & 1))
			mem_check_invariant(slots[i].vm);
}

/* --- arguments ----------------------------------------------------------- */

#define NR_HIST 32
struct hist_run {
	uint64_t pa, count;
};
static struct hist_run hist[NR_HIST]; /* runs handed out earlier */
static unsigned nr_hist, hist_next;
static uint64_t rest;                 /* frames left after a "run" tag */

static void remember(uint64_t pa, uint64_t count)
{
	hist[hist_next++ % NR_HIST] = (struct hist_run){ pa, count };
	if (nr_hist < NR_HIST)
		nr_hist++;
}

static uint64_t name_word(unsigned id)
{
	char name[8] = { 0 };
	uint64_t v;

	snprintf(name, sizeof(name), "g%u", id);
	memcpy(&v, name, sizeof(v));
	return v;
}

enum arg_tag {
	TAG_SMALL, TAG_FRAME, TAG_NEAR_HIST, TAG_RAW, TAG_POW2, TAG_POW2_NEAR,
	TAG_UNALIGNED, TAG_RAM_END, TAG_U16,
	TAG_RUN,        /* a frame inside a run handed out earlier */
	TAG_REST,       /* a count that stays inside that run */
	TAG_GUEST,      /* a guest's VM id */
	TAG_NAME,       /* a guest's name, as VM_LOOKUP takes it */
	TAG_PERM,       /* EXO_SHARE_R or EXO_SHARE_RW */
	NR_TAGS,
};

/* An argument register. Tags favour values that reach deep: frames of RAM,
 * runs handed out earlier and counts inside them, the guests' ids and
 * names, powers of two and their neighbours, RAM's end. */
static uint64_t decode_arg(struct fuzz_in *in)
{
	uint8_t tag = fuzz_u8(in);
	uint64_t v;
	const struct hist_run *h;

	switch (tag % NR_TAGS) {
	case TAG_SMALL:
		return fuzz_u8(in);
	case TAG_FRAME:
		return pa_of(fuzz_u16(in) % RAM_FRAMES);
	case TAG_NEAR_HIST:
		v = nr_hist ? hist[fuzz_u8(in) % nr_hist].pa : RAM_BASE;
		return v + (uint64_t)(int8_t)fuzz_u8(in) * FRAMES_SIZE;
	case TAG_RAW:
		return fuzz_u64(in);
	case TAG_POW2:
		return UINT64_C(1) << (fuzz_u8(in) % 64);
	case TAG_POW2_NEAR:
		v = UINT64_C(1) << (fuzz_u8(in) % 64);
		return v + (uint64_t)(fuzz_u8(in) % 3) - 1;
	case TAG_UNALIGNED:
		v = pa_of(fuzz_u16(in) % RAM_FRAMES);
		return v + fuzz_u16(in) % 4096;
	case TAG_RAM_END:
		return RAM_END - (uint64_t)fuzz_u16(in) * FRAMES_SIZE;
	case TAG_RUN:
		if (!nr_hist)
			return RAM_BASE;
		h = &hist[fuzz_u8(in) % nr_hist];
		v = fuzz_u8(in) % h->count;
		rest = h->count - v;
		return h->pa + v * FRAMES_SIZE;
	case TAG_REST:
		v = fuzz_u8(in);
		return !rest ? 1 : !v ? rest : 1 + v % rest;
	case TAG_GUEST:
		return slot_ids[fuzz_u8(in) % NR_SLOTS];
	case TAG_NAME:
		return name_word(slot_ids[fuzz_u8(in) % NR_SLOTS]);
	case TAG_PERM:
		return fuzz_u8(in) & 1 ? EXO_SHARE_RW : EXO_SHARE_R;
	default:
		return (uint64_t)fuzz_u16(in);
	}
}

/* The functions: the first ones in the order older inputs encode them
 * (tests/fuzz/corpus/hvc/), then "any 32-bit value", then the rest. */
#define EV_REVOKE_ASK 0xfffe0001u  /* EL2 asks: x1 frames, x2 ticks */
#define EV_TIME_PASSES 0xfffe0002u /* the guest runs x1 ticks */
static const uint32_t fids[] = {
	EXO_HVC_VERSION, EXO_HVC_CONSOLE_WRITE, EXO_HVC_FRAME_ALLOC,
	EXO_HVC_FRAME_ALLOC_AT, EXO_HVC_FRAME_FREE, EXO_HVC_FRAME_QUERY,
	EXO_HVC_VM_INFO, EXO_HVC_YIELD, EXO_HVC_EXIT, EXO_PSCI_VERSION,
	EXO_PSCI_SYSTEM_OFF, EXO_PSCI_SYSTEM_RESET,
	0, /* any value */
	EXO_HVC_VM_LOOKUP, EXO_HVC_FRAME_SHARE, EXO_HVC_FRAME_UNSHARE,
	EXO_HVC_FRAME_LEND, EXO_HVC_FRAME_RECLAIM, EXO_HVC_FRAME_DONATE,
	EXO_HVC_NOTIFY, EXO_HVC_WAIT, EXO_HVC_EVENTS, EXO_HVC_REVOKED,
	EXO_HVC_REVOKED_ACK, EV_REVOKE_ASK, EV_TIME_PASSES,
	EXO_HVC_FRAME_DROP, EXO_HVC_FRAME_ACCEPT, EXO_HVC_FRAME_OFFER,
	EXO_HVC_RECLAIMED, EXO_HVC_RECLAIMED_ACK,
};
#define NR_FIDS (sizeof(fids) / sizeof(fids[0]))
#define FID_ANY 12u

static uint64_t sentinel(unsigned r)
{
	return UINT64_C(0x5e5e5e5e00000000) | r;
}

static bool is_error(int64_t rc)
{
	return rc >= EXO_EFULL && rc <= EXO_ENOTSUP;
}

static bool between_guests(uint32_t fid)
{
	return fid >= EXO_HVC_FRAME_SHARE && fid <= EXO_HVC_FRAME_DONATE;
}

/* Errors each call may return (docs/abi.md). */
static bool error_documented(uint32_t fid, int64_t rc)
{
	if (between_guests(fid))
		return rc == EXO_EINVAL || rc == EXO_ERANGE ||
		       rc == EXO_ENOENT || rc == EXO_EDENIED ||
		       rc == EXO_EPERM || rc == EXO_EHYP || rc == EXO_ELENT ||
		       rc == EXO_ESTATE || rc == EXO_EQUOTA ||
		       rc == EXO_ENOMEM ||
		       (rc == EXO_ESHARED && (fid == EXO_HVC_FRAME_LEND ||
					     fid == EXO_HVC_FRAME_DONATE));
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
		 * stage-2 table page (found by this fuzzer; docs/abi.md says
		 * so since; mkseeds' free-enomem and split-at-quota). */
		return rc == EXO_EINVAL || rc == EXO_ERANGE ||
		       rc == EXO_EPERM || rc == EXO_EHYP ||
		       rc == EXO_ESHARED || rc == EXO_ELENT ||
		       rc == EXO_EQUOTA || rc == EXO_ENOMEM;
	case EXO_HVC_FRAME_QUERY:
		return rc == EXO_ERANGE;
	case EXO_HVC_VM_LOOKUP:
	case EXO_HVC_REVOKED:
	case EXO_HVC_RECLAIMED:
		return rc == EXO_ENOENT;
	case EXO_HVC_RECLAIMED_ACK:
		return rc == EXO_ESTATE;
	case EXO_HVC_NOTIFY:
		return rc == EXO_ENOENT || rc == EXO_EINVAL ||
		       rc == EXO_EDENIED;
	case EXO_HVC_FRAME_ACCEPT:
		return rc == EXO_EINVAL || rc == EXO_ERANGE ||
		       rc == EXO_ENOENT;
	case EXO_HVC_FRAME_DROP:
		return rc == EXO_EINVAL || rc == EXO_ERANGE ||
		       rc == EXO_ENOENT || rc == EXO_EPERM || rc == EXO_EHYP ||
		       rc == EXO_ELENT || rc == EXO_ESTATE ||
		       rc == EXO_EQUOTA || rc == EXO_ENOMEM;
	case EXO_HVC_FRAME_OFFER:
		return rc == EXO_ENOENT;
	case EXO_HVC_VERSION:
	case EXO_HVC_VM_INFO:
	case EXO_HVC_YIELD:
	case EXO_PSCI_VERSION:
	case EXO_HVC_WAIT:
	case EXO_HVC_EVENTS:
	case EXO_HVC_REVOKED_ACK:
		return false;
	default:
		return rc == EXO_ENOTSUP;
	}
}

static bool count_ok(uint64_t count)
{
	return count && count <= EXO_FRAME_MAX_COUNT;
}

/* Calls between guests take at most EXO_CALL_MAX_FRAMES in one call. */
static bool between_count_ok(uint64_t count)
{
	return count && count <= EXO_CALL_MAX_FRAMES;
}

/* Is [pa, pa + count) a frame-aligned range of RAM's span? */
static bool in_span(uint64_t pa, uint64_t count)
{
	return !(pa & (FRAMES_SIZE - 1)) && pa >= RAM_BASE && pa < RAM_END &&
	       count <= RAM_FRAMES && count <= frame_of(RAM_END) - frame_of(pa);
}

/* Does the range lie in RAM and is every frame of it owned by id? */
static bool all_owned_by(unsigned id, uint64_t pa, uint64_t count)
{
	if (!in_span(pa, count))
		return false;
	for (uint64_t f = frame_of(pa); f < frame_of(pa) + count; f++)
		if (owner[f] != id)
			return false;
	return true;
}

/* --- calls between guests ------------------------------------------------ */

/* The status of a call towards guest `to` before memory is looked at:
 * dispatch.c's peer_of. */
static int64_t peer_status(const struct slot *s, uint64_t to)
{
	struct slot *p = to < EXO_MAX_VMS ? slot_of((unsigned)to) : NULL;

	if (!running(p))
		return EXO_ENOENT;
	if (p == s)
		return EXO_EINVAL;
	return may_share(s->id, p->id) ? EXO_OK : EXO_EDENIED;
}

/* Is frame f, of the caller `own`, in the state transaction fid takes
 * towards b? (docs/memory-model.md, the transition table) */
static bool frame_ready(uint32_t fid, uint64_t f, unsigned own, unsigned b)
{
	if (owner[f] != own)
		return false;
	switch (fid) {
	case EXO_HVC_FRAME_SHARE:
		return !lent_to[f] && !(sharers[f] >> b & 1);
	case EXO_HVC_FRAME_UNSHARE:
		return !lent_to[f] && (sharers[f] >> b & 1);
	case EXO_HVC_FRAME_RECLAIM:
		return lent_to[f] == b;
	default: /* LEND, DONATE */
		return !lent_to[f] && !sharers[f];
	}
}

static uint64_t quota_left(unsigned id)
{
	const struct frames_account *a = acct(id);

	return a->used < a->quota ? a->quota - a->used : 0;
}

/* A transaction whose frames were ready failed: only for want of table
 * pages for the recipient's stage 2, which gains a mapping (or, for
 * DONATE, of its quota), and only when one of them is nearly exhausted.
 * UNSHARE and RECLAIM never fail then: a stage 2 that loses a mapping
 * needs no page, and a lender's view of what it lent stayed in its stage
 * 2 with no access (docs/memory-model.md, "Rule 1"); a share needs no
 * record beyond its frame's own. */
static bool shortage_plausible(uint32_t fid, int64_t rc, unsigned b,
			       uint64_t count)
{
	uint64_t need = TABLE_SLACK(count);
	uint64_t donated = fid == EXO_HVC_FRAME_DONATE ? count : 0;
	uint64_t free = frames_count(mem_frames_db(), EXO_FRAME_FREE);
	bool peer_maps = fid == EXO_HVC_FRAME_SHARE ||
			 fid == EXO_HVC_FRAME_LEND ||
			 fid == EXO_HVC_FRAME_DONATE;

	if (rc == EXO_EQUOTA)
		return peer_maps && quota_left(b) < need + donated;
	if (rc == EXO_ENOMEM)
		return peer_maps && free < 2 * need;
	return false;
}

static void apply_transaction(uint32_t fid, uint64_t f, unsigned own,
			      unsigned b, unsigned perm)
{
	uint64_t bit = UINT64_C(1) << b;

	switch (fid) {
	case EXO_HVC_FRAME_SHARE:
		set_frame(f, own, 0, sharers[f] | bit,
			  sharers_rw[f] | (perm == EXO_SHARE_RW ? bit : 0));
		break;
	case EXO_HVC_FRAME_UNSHARE:
		set_frame(f, own, 0, sharers[f] & ~bit, sharers_rw[f] & ~bit);
		break;
	case EXO_HVC_FRAME_LEND:
		set_frame(f, own, b, 0, 0);
		break;
	case EXO_HVC_FRAME_RECLAIM:
		set_frame(f, own, 0, 0, 0);
		break;
	default: /* DONATE: the data goes with it */
		set_frame(f, b, 0, 0, 0);
		break;
	}
}

/* --- consent: offers accepted at once ------------------------------------ */

static bool is_offer(uint32_t fid)
{
	return fid == EXO_HVC_FRAME_SHARE || fid == EXO_HVC_FRAME_LEND ||
	       fid == EXO_HVC_FRAME_DONATE;
}

static unsigned offer_kind(uint32_t fid, uint64_t perm)
{
	if (fid == EXO_HVC_FRAME_SHARE)
		return perm == EXO_SHARE_RW ? EXO_OFFER_SHARE_RW
					    : EXO_OFFER_SHARE_R;
	return fid == EXO_HVC_FRAME_LEND ? EXO_OFFER_LEND : EXO_OFFER_DONATE;
}

/* Another call made from inside a step (the recipient's accept, the
 * sender's withdrawal): its status. */
static int64_t side_call(struct slot *s, uint64_t fid, uint64_t a1,
			 uint64_t a2, uint64_t a3, uint64_t a4)
{
	struct vcpu *v = &s->vm->vcpu;

	v->x[0] = fid;
	v->x[1] = a1;
	v->x[2] = a2;
	v->x[3] = a3;
	v->x[4] = a4;
	dispatch_hypercall(v);
	return (int64_t)v->x[0];
}

/* The recipient was told (EXO_EVENT_OFFER; its WAIT returns), accepts at
 * once, and the accept's status is the transaction's. A shortage keeps
 * the offer: the sender withdraws it, which must succeed. */
static int64_t accept_at_once(struct slot *s, uint32_t fid,
			      const uint64_t *arg)
{
	struct slot *to = slot_of((unsigned)arg[3]);
	int64_t rc;

	to->events |= EXO_EVENT_OFFER;
	if (to->waiting)
		check_woken(to, true);
	rc = side_call(to, EXO_HVC_FRAME_ACCEPT, arg[1], arg[2], s->id,
		       offer_kind(fid, arg[4]));
	if (rc == EXO_EQUOTA || rc == EXO_ENOMEM)
		FUZZ_CHECK(side_call(s, fid == EXO_HVC_FRAME_SHARE
						? EXO_HVC_FRAME_UNSHARE
						: EXO_HVC_FRAME_RECLAIM,
				     arg[1], arg[2], arg[3], 0) == EXO_OK,
			   "guest %u could not withdraw its offer of [0x%lx, "
			   "+%lu) to %lu", s->id, (unsigned long)arg[1],
			   (unsigned long)arg[2], (unsigned long)arg[3]);
	return rc;
}

static void check_between(struct slot *s, uint32_t fid, const uint64_t *arg,
			  int64_t rc)
{
	uint64_t pa = arg[1], count = arg[2], to = arg[3];
	int64_t want = (pa & (FRAMES_SIZE - 1)) ? EXO_ERANGE
			: !between_count_ok(count) ? EXO_EINVAL
			: fid == EXO_HVC_FRAME_SHARE && arg[4] != EXO_SHARE_R &&
					  arg[4] != EXO_SHARE_RW
				? EXO_EINVAL
				: peer_status(s, to);
	bool ready = !want && in_span(pa, count);

	touch_range(pa, count);
	if (want) {
		FUZZ_CHECK(rc == want, "fid 0x%x(0x%lx, %lu, to %lu, %lu) by %u "
			   "returned %ld, not %ld", fid, (unsigned long)pa,
			   (unsigned long)count, (unsigned long)to,
			   (unsigned long)arg[4], s->id, (long)rc, (long)want);
		return;
	}
	for (uint64_t f = frame_of(pa); ready && f < frame_of(pa) + count; f++)
		ready = frame_ready(fid, f, s->id, (unsigned)to);
	if (!rc && is_offer(fid))
		rc = accept_at_once(s, fid, arg);
	if (rc) {
		FUZZ_CHECK(!ready || shortage_plausible(fid, rc, (unsigned)to,
							count),
			   "fid 0x%x(0x%lx, %lu, to %lu) by %u: the frames are "
			   "ready, yet it returned %ld", fid, (unsigned long)pa,
			   (unsigned long)count, (unsigned long)to, s->id,
			   (long)rc);
		return;
	}
	FUZZ_CHECK(ready, "fid 0x%x(0x%lx, %lu, to %lu) by %u succeeded, but "
		   "the frames were not in a state it takes", fid,
		   (unsigned long)pa, (unsigned long)count, (unsigned long)to,
		   s->id);
	for (uint64_t f = frame_of(pa); f < frame_of(pa) + count; f++)
		apply_transaction(fid, f, s->id, (unsigned)to,
				  (unsigned)arg[4]);
	if (fid == EXO_HVC_FRAME_UNSHARE || fid == EXO_HVC_FRAME_RECLAIM)
		shadow_lost((unsigned)to, false);
}

/* FRAME_DROP: the borrower s unshares its own view of owner's frames, as
 * the owner's UNSHARE would; no share-with check. */
static void check_drop(struct slot *s, const uint64_t *arg, int64_t rc)
{
	uint64_t pa = arg[1], count = arg[2], from = arg[3];
	struct slot *o = from < EXO_MAX_VMS ? slot_of((unsigned)from) : NULL;
	int64_t want = (pa & (FRAMES_SIZE - 1)) ? EXO_ERANGE
		       : !between_count_ok(count) ? EXO_EINVAL
		       : !running(o)           ? EXO_ENOENT
		       : o == s                ? EXO_EINVAL
					       : EXO_OK;
	bool ready = !want && in_span(pa, count);

	touch_range(pa, count);
	FUZZ_CHECK(!want || rc == want, "DROP(0x%lx, %lu, owner %lu) by %u "
		   "returned %ld, not %ld", (unsigned long)pa,
		   (unsigned long)count, (unsigned long)from, s->id, (long)rc,
		   (long)want);
	if (want)
		return;
	for (uint64_t f = frame_of(pa); ready && f < frame_of(pa) + count; f++)
		ready = frame_ready(EXO_HVC_FRAME_UNSHARE, f, o->id, s->id);
	if (rc) {
		/* Losing a mapping never needs a page (rule 1). */
		FUZZ_CHECK(!ready,
			   "DROP(0x%lx, %lu) by %u: shared with it, yet %ld",
			   (unsigned long)pa, (unsigned long)count, s->id,
			   (long)rc);
		return;
	}
	FUZZ_CHECK(ready, "DROP(0x%lx, %lu) by %u succeeded on frames not "
		   "shared with it", (unsigned long)pa, (unsigned long)count,
		   s->id);
	for (uint64_t f = frame_of(pa); f < frame_of(pa) + count; f++)
		apply_transaction(EXO_HVC_FRAME_UNSHARE, f, o->id, s->id, 0);
}

/* FRAME_ACCEPT finds nothing (every offer was accepted or withdrawn at
 * once): only the argument checks tell the errors apart. */
static void check_accept(struct slot *s, const uint64_t *arg, int64_t rc)
{
	uint64_t pa = arg[1], count = arg[2], from = arg[3], kind = arg[4];
	struct slot *o = from < EXO_MAX_VMS ? slot_of((unsigned)from) : NULL;
	int64_t want = (pa & (FRAMES_SIZE - 1)) ? EXO_ERANGE
		       : !between_count_ok(count) ? EXO_EINVAL
		       : kind < EXO_OFFER_SHARE_R || kind > EXO_OFFER_DONATE
			       ? EXO_EINVAL
		       : !running(o) ? EXO_ENOENT
		       : o == s      ? EXO_EINVAL
				     : EXO_ENOENT;

	FUZZ_CHECK(rc == want, "ACCEPT(0x%lx, %lu, from %lu, kind %lu) by %u "
		   "returned %ld, not %ld", (unsigned long)pa,
		   (unsigned long)count, (unsigned long)from,
		   (unsigned long)kind, s->id, (long)rc, (long)want);
}

/* --- notifications and events -------------------------------------------- */

/* What WAIT returns of a set of notifiers, taken out of it: the ids of
 * the lowest window that has one, that window's first id, and whether ids
 * of a higher window remain. Id by id, not el2/vm.c's word scan. */
static struct vm_notified wait_shadow_take(struct vm_notifiers *set)
{
	struct vm_notified n = { 0, 0, 0 };

	for (unsigned id = 0; id < EXO_MAX_VMS; id++) {
		uint64_t bit = UINT64_C(1) << (id % EXO_WAIT_WINDOW);

		if (!(set->word[id / EXO_WAIT_WINDOW] & bit))
			continue;
		if (!n.mask)
			n.base = id - id % EXO_WAIT_WINDOW;
		if (id - n.base < EXO_WAIT_WINDOW)
			n.mask |= bit;
		else
			n.more = 1;
	}
	set->word[n.base / EXO_WAIT_WINDOW] &= ~n.mask;
	return n;
}

static bool shadow_same(const struct slot *s)
{
	return !memcmp(&s->vm->notified, &s->pending, sizeof(s->pending));
}

/* vm_notify: the guest's next WAIT returns `from` (in its window); a
 * guest blocked in WAIT is woken at once with the lowest window. */
static void notify_shadow(struct slot *to, unsigned from)
{
	struct vcpu *v = &to->vm->vcpu;
	struct vm_notified n;

	to->pending.word[from / EXO_WAIT_WINDOW] |=
		UINT64_C(1) << (from % EXO_WAIT_WINDOW);
	if (!to->waiting) {
		FUZZ_CHECK(shadow_same(to), "guest %u: the notifiers pending "
			   "are not the shadow's (from %u)", to->id, from);
		return;
	}
	n = wait_shadow_take(&to->pending);
	FUZZ_CHECK(shadow_same(to) && !v->x[0] && v->x[1] == n.mask &&
			   v->x[2] == n.base && v->x[3] == n.more,
		   "guest %u woken from WAIT with %ld 0x%lx at %lu more %lu, "
		   "expected 0x%lx at %lu more %lu (state %d)", to->id,
		   (long)v->x[0], (unsigned long)v->x[1], (unsigned long)v->x[2],
		   (unsigned long)v->x[3], (unsigned long)n.mask,
		   (unsigned long)n.base, (unsigned long)n.more, v->state);
	check_woken(to, false);
}

/* A guest blocked in WAIT became runnable; vm_event_raise's wake: 0. */
static void check_woken(struct slot *s, bool by_event)
{
	struct vcpu *v = &s->vm->vcpu;

	s->waiting = false;
	FUZZ_CHECK(v->state == VCPU_RUNNABLE,
		   "guest %u still blocked after %s", s->id,
		   by_event ? "an event" : "a notification");
	if (by_event)
		FUZZ_CHECK(!v->x[0] && !v->x[1], "guest %u woken by an event "
			   "with %ld 0x%lx", s->id, (long)v->x[0],
			   (unsigned long)v->x[1]);
}

/* mem_revoke's revocable frames: owned (outright, shared out or lent
 * out), outside the boot run. */
static uint64_t revocable(const struct slot *s)
{
	uint64_t n = 0, first = frame_of(s->boot_pa);

	for (unsigned i = 0; i < nr_dirty; i++) {
		uint64_t f = dirty_list[i];

		if (owner[f] == s->id &&
		    !(f >= first && f < first + s->boot_count))
			n++;
	}
	return n;
}

#define MAX_ASKED 4096u                /* frames EL2 asks back at most */
#define MAX_TICKS (UINT64_C(1) << 32)  /* a deadline, a run: about a minute */

/* Revocation's level: the frames s owns (the shadow's held, which the
 * account's charge less its table pages must equal: check_counts). */
static uint64_t owned_now(const struct slot *s)
{
	return held[s->id];
}

static void ev_revoke_ask(struct slot *s, uint64_t frames, uint64_t ticks)
{
	bool blocked = s->waiting;

	frames = 1 + frames % MAX_ASKED;
	ticks %= MAX_TICKS;
	revoke_request(s->vm, frames, ticks);
	s->revoke_active = true;
	s->revoke_want = frames;
	s->revoke_target = owned_now(s) > frames ? owned_now(s) - frames : 0;
	s->revoke_deadline = s->vm->run_ticks + ticks;
	s->events |= EXO_EVENT_REVOKE_REQUEST;
	if (blocked)
		check_woken(s, true);
}

/* How many runs EL2 has taken from vm by force, not acknowledged yet. */
static unsigned taken_runs(const struct vm *vm)
{
	struct vm_run r;
	unsigned n = 0;

	while (!revoke_taken_run(vm, n, &r))
		n++;
	return n;
}

/* Frames s still owes: what it owns above the request's target
 * (revoke.c: a level, so frames freed and allocated again do not count). */
static uint64_t still_wanted(const struct slot *s)
{
	uint64_t used = owned_now(s);

	return s->revoke_active && used > s->revoke_target
		       ? used - s->revoke_target : 0;
}

/* The runs EL2 has just taken from s by force (revoke_taken_run, which
 * REVOKED reports): each frame was s's (owned, shared or lent out),
 * outside its boot run, and is FREE now; its borrowers were told. Returns
 * how many frames. */
static uint64_t note_taken(struct slot *s)
{
	uint64_t took = 0, first = frame_of(s->boot_pa);
	struct vm_run r;

	s->nr_taken = 0;
	while (!revoke_taken_run(s->vm, s->nr_taken, &r)) {
		unsigned i = s->nr_taken++;

		s->taken[i] = r;
		FUZZ_CHECK(in_span(r.pa, r.count) && r.count,
			   "guest %u: EL2 took [0x%lx, +%lu), not RAM", s->id,
			   (unsigned long)r.pa, (unsigned long)r.count);
		for (uint64_t f = frame_of(r.pa); f < frame_of(r.pa) + r.count;
		     f++) {
			FUZZ_CHECK(owner[f] == s->id &&
					   !(f >= first && f < first + s->boot_count),
				   "guest %u: EL2 took frame 0x%lx, which it may "
				   "not take", s->id, (unsigned long)pa_of(f));
			tell_borrowers(f);
			set_free(f);
		}
		took += r.count;
	}
	return took;
}

static void ev_time_passes(struct slot *s, uint64_t ticks)
{
	struct vm *vm = s->vm;
	bool blocked = s->waiting;
	uint64_t missing, can, took;

	vm->run_ticks += ticks % MAX_TICKS;
	/* revoke_tick: a charge at the target ends the request first. */
	if (s->revoke_active && !still_wanted(s))
		s->revoke_active = false;
	missing = still_wanted(s);
	can = s->revoke_active && vm->run_ticks >= s->revoke_deadline
		      ? revocable(s) : 0;
	revoke_tick(vm);
	if (!s->revoke_active || vm->run_ticks < s->revoke_deadline) {
		FUZZ_CHECK(!taken_runs(vm) || taken_runs(vm) == s->nr_taken,
			   "guest %u: EL2 took frames before the deadline",
			   s->id);
		return;
	}
	/* Past the deadline: EL2 takes what is missing, by force. */
	s->revoke_active = false;
	s->forced = true;
	took = note_taken(s);
	FUZZ_CHECK(took == (can < missing ? can : missing) ||
			   (took < missing && s->nr_taken == VM_REVOKED_MAX),
		   "guest %u: EL2 took %lu frames; %lu were missing, %lu "
		   "could be taken", s->id, (unsigned long)took,
		   (unsigned long)missing, (unsigned long)can);
	s->events |= EXO_EVENT_REVOKED;
	if (blocked)
		check_woken(s, true);
}

/* FUZZ_HVC_FULL_CHECKS=1: also mem_check_invariant for every guest and
 * every frame against the shadow after every call (slow; for confidence
 * that the proportional checks miss nothing). */
static bool full_checks;

/* --- one hypercall ------------------------------------------------------- */

/* A call's results: x0-x3 after it. */
struct result {
	int64_t rc;
	uint64_t r1, r2, r3;
};

/* The frames one ALLOC, ALLOC_AT or FREE handles: the first
 * EXO_CALL_MAX_FRAMES of its count at most (docs/abi.md, "Bounded work
 * per call"). */
static uint64_t call_part(uint64_t count)
{
	return count < EXO_CALL_MAX_FRAMES ? count : EXO_CALL_MAX_FRAMES;
}

static void check_alloc(struct slot *s, const uint64_t *arg,
			const struct result *r)
{
	bool bad = !count_ok(arg[1]) || arg[2] > EXO_FRAME_MAX_ALIGN_LOG2 ||
		   (arg[3] & ~EXO_FRAME_ALLOC_FLAGS);

	FUZZ_CHECK(bad == (r->rc == EXO_EINVAL),
		   "FRAME_ALLOC(%lu, %lu, 0x%lx) returned %ld",
		   (unsigned long)arg[1], (unsigned long)arg[2],
		   (unsigned long)arg[3], (long)r->rc);
	if (r->rc)
		return;
	FUZZ_CHECK(r->r2 == call_part(arg[1]) && !r->r3,
		   "FRAME_ALLOC(%lu): x2 %lu (not its bounded part), x3 0x%lx",
		   (unsigned long)arg[1], (unsigned long)r->r2,
		   (unsigned long)r->r3);
	FUZZ_CHECK(!(r->r1 & ((FRAMES_SIZE << arg[2]) - 1)),
		   "FRAME_ALLOC(%lu, align %lu) returned 0x%lx, not aligned",
		   (unsigned long)arg[1], (unsigned long)arg[2],
		   (unsigned long)r->r1);
	shadow_take_as(s->id, r->r1, r->r2, true,
		       arg[3] & EXO_FRAME_ALLOC_NOZERO, "FRAME_ALLOC");
	remember(r->r1, r->r2);
}

/* ALLOC_AT and FREE check the range's alignment, then its count. */
static void check_range_args(const char *call, const uint64_t *arg,
			     int64_t rc)
{
	if (arg[1] & (FRAMES_SIZE - 1))
		FUZZ_CHECK(rc == EXO_ERANGE, "%s(0x%lx) unaligned returned %ld",
			   call, (unsigned long)arg[1], (long)rc);
	else if (!count_ok(arg[2]))
		FUZZ_CHECK(rc == EXO_EINVAL, "%s(count %lu) returned %ld", call,
			   (unsigned long)arg[2], (long)rc);
}

static void check_alloc_at(struct slot *s, const uint64_t *arg,
			   const struct result *r)
{
	uint64_t part = call_part(arg[2]);

	touch_range(arg[1], part);
	check_range_args("ALLOC_AT", arg, r->rc);
	if (r->rc)
		return;
	FUZZ_CHECK(r->r1 == part && !r->r2 && !r->r3,
		   "ALLOC_AT(count %lu): x1 %lu (not its bounded part), x2-x3 "
		   "not 0", (unsigned long)arg[2], (unsigned long)r->r1);
	shadow_take(s->id, arg[1], part, true, "FRAME_ALLOC_AT");
	remember(arg[1], part);
}

static void check_free(struct slot *s, const uint64_t *arg,
		       const struct result *r)
{
	/* Only the bounded part of a valid count is looked at. */
	uint64_t pa = arg[1], count = count_ok(arg[2]) ? call_part(arg[2])
						      : arg[2];
	/* The whole range must lie in RAM, though only its part is freed. */
	bool mine = in_span(pa, arg[2]) && all_owned_by(s->id, pa, count),
	     plain = mine;

	touch_range(pa, count);
	for (uint64_t f = frame_of(pa); plain && f < frame_of(pa) + count; f++)
		plain = !lent_to[f] && !sharers[f];
	check_range_args("FREE", arg, r->rc);
	if (r->rc) {
		/* Freeing what is yours outright cannot fail: a block's
		 * split takes the page the block kept (docs/memory-model.md,
		 * "Rule 1"). */
		FUZZ_CHECK(!plain || !count_ok(count),
			   "FREE(0x%lx, %lu) of guest %u's own frames returned "
			   "%ld", (unsigned long)pa, (unsigned long)count, s->id,
			   (long)r->rc);
		FUZZ_CHECK(!mine || plain || r->rc == EXO_ESHARED ||
				   r->rc == EXO_ELENT || r->rc == EXO_EQUOTA ||
				   r->rc == EXO_ENOMEM,
			   "FREE(0x%lx, %lu) of frames guest %u shares or lent "
			   "returned %ld", (unsigned long)pa,
			   (unsigned long)count, s->id, (long)r->rc);
		return;
	}
	FUZZ_CHECK(r->r1 == count && !r->r2 && !r->r3,
		   "FREE(count %lu): x1 %lu (not its bounded part), x2-x3 not "
		   "0", (unsigned long)arg[2], (unsigned long)r->r1);
	FUZZ_CHECK(plain, "FREE(0x%lx, %lu) succeeded for guest %u, which does "
		   "not own all of it outright", (unsigned long)pa,
		   (unsigned long)count, s->id);
	for (uint64_t f = frame_of(pa); f < frame_of(pa) + count; f++)
		set_free(f);
	if (s->revoke_active && !still_wanted(s))  /* the target is met */
		s->revoke_active = false;
}

static void check_query(struct slot *s, uint64_t pa, const struct result *r)
{
	uint64_t f = frame_of(pa), access;
	enum exo_frame_state state;

	FUZZ_CHECK(!r->r3, "QUERY: x3 not 0");
	if ((pa & (FRAMES_SIZE - 1)) || !in_ram_span(pa)) {
		FUZZ_CHECK(r->rc == EXO_ERANGE, "QUERY(0x%lx) returned %ld",
			   (unsigned long)pa, (long)r->rc);
		return;
	}
	FUZZ_CHECK(!r->rc, "QUERY(0x%lx) returned %ld", (unsigned long)pa,
		   (long)r->rc);
	touch(f);
	if (!owner[f]) {
		FUZZ_CHECK((r->r1 == EXO_FRAME_FREE || r->r1 == EXO_FRAME_HYP ||
			    r->r1 == EXO_FRAME_NONE) && !r->r2,
			   "QUERY(0x%lx): state %lu access %lu, no guest owns "
			   "it", (unsigned long)pa, (unsigned long)r->r1,
			   (unsigned long)r->r2);
		return;
	}
	state = lent_to[f] ? EXO_FRAME_LENT
		: sharers[f] ? EXO_FRAME_SHARED : EXO_FRAME_OWNED;
	access = shadow_prot(s->id, f) != 0;
	FUZZ_CHECK(r->r1 == state && r->r2 == access,
		   "QUERY(0x%lx) by %u: state %lu access %lu; owner %u lent to "
		   "%u shared with 0x%lx", (unsigned long)pa, s->id,
		   (unsigned long)r->r1, (unsigned long)r->r2, owner[f],
		   lent_to[f], (unsigned long)sharers[f]);
}

static void check_lookup(const uint64_t *arg, const struct result *r)
{
	char name[VM_NAME_MAX] = { 0 };
	struct slot *t = NULL;

	for (unsigned i = 0; i < VM_NAME_MAX - 1; i++)
		name[i] = (char)(arg[1 + i / 8] >> (8 * (i % 8)));
	for (unsigned i = 0; i < nr_slots; i++)
		if (running(&slots[i]) && !strcmp(slots[i].g.name, name))
			t = &slots[i];
	FUZZ_CHECK(t ? !r->rc && r->r1 == t->id && r->r2 == EXO_VM_RUNS &&
			       !r->r3
		     : r->rc == EXO_ENOENT,
		   "VM_LOOKUP(\"%s\") returned %ld %lu", name, (long)r->rc,
		   (unsigned long)r->r1);
}

static void check_notify(struct slot *s, uint64_t to, const struct result *r)
{
	int64_t want = peer_status(s, to);

	FUZZ_CHECK(r->rc == want, "NOTIFY(%lu) by %u returned %ld, not %ld",
		   (unsigned long)to, s->id, (long)r->rc, (long)want);
	if (!r->rc)
		notify_shadow(slot_of((unsigned)to), s->id);
}

static void check_wait(struct slot *s, const struct result *r)
{
	enum vcpu_state state = s->vm->vcpu.state;
	struct vm_notified n = wait_shadow_take(&s->pending);

	FUZZ_CHECK(!r->rc && r->r1 == n.mask && r->r2 == n.base &&
			   r->r3 == n.more &&
			   (state == VCPU_BLOCKED) == !n.mask && shadow_same(s),
		   "WAIT by %u returned %ld 0x%lx at %lu more %lu (state %d), "
		   "expected 0x%lx at %lu more %lu", s->id, (long)r->rc,
		   (unsigned long)r->r1, (unsigned long)r->r2,
		   (unsigned long)r->r3, state, (unsigned long)n.mask,
		   (unsigned long)n.base, (unsigned long)n.more);
	s->waiting = !n.mask;
}

static void check_events(struct slot *s, const struct result *r)
{
	uint64_t want = still_wanted(s);

	FUZZ_CHECK(!r->rc && r->r1 == s->events && r->r2 == want &&
			   (s->revoke_active || !r->r3),
		   "EVENTS of %u returned %ld 0x%lx %lu %lu; expected 0x%lx "
		   "%lu", s->id, (long)r->rc, (unsigned long)r->r1,
		   (unsigned long)r->r2, (unsigned long)r->r3,
		   (unsigned long)s->events, (unsigned long)want);
	s->events = 0;
}

/* RECLAIMED: nothing unless an owner took frames back since the last
 * ack; then runs of RAM, with the list's generation. */
static void check_reclaimed(struct slot *s, uint64_t i, const struct result *r)
{
	const struct vm_lost *l = &s->vm->lost;

	FUZZ_CHECK(s->lost || r->rc == EXO_ENOENT,
		   "RECLAIMED(%lu) of %u, which lost nothing, returned %ld",
		   (unsigned long)i, s->id, (long)r->rc);
	FUZZ_CHECK(r->rc == EXO_ENOENT
			   ? i >= l->nr
			   : !r->rc && i < l->nr && r->r2 &&
				     in_span(r->r1, r->r2) &&
				     r->r3 == l->generation,
		   "RECLAIMED(%lu) of %u returned %ld 0x%lx %lu %lu (%u runs)",
		   (unsigned long)i, s->id, (long)r->rc, (unsigned long)r->r1,
		   (unsigned long)r->r2, (unsigned long)r->r3, l->nr);
}

/* RECLAIMED_ACK: forgets the runs at the current generation only. */
static void check_reclaimed_ack(struct slot *s, uint64_t gen,
				const struct result *r)
{
	const struct vm_lost *l = &s->vm->lost;

	FUZZ_CHECK(r->rc == EXO_OK ? !l->nr
				   : r->rc == EXO_ESTATE && gen != l->generation,
		   "RECLAIMED_ACK(%lu) of %u returned %ld (%u runs left, "
		   "generation %lu)", (unsigned long)gen, s->id, (long)r->rc,
		   l->nr, (unsigned long)l->generation);
	if (!r->rc)
		s->lost = false;
}

static void check_revoked(struct slot *s, uint64_t i, const struct result *r)
{
	FUZZ_CHECK(i < s->nr_taken ? !r->rc && r->r1 == s->taken[i].pa &&
					     r->r2 == s->taken[i].count &&
					     !r->r3
				   : r->rc == EXO_ENOENT,
		   "REVOKED(%lu) of %u returned %ld 0x%lx %lu (%u runs taken)",
		   (unsigned long)i, s->id, (long)r->rc, (unsigned long)r->r1,
		   (unsigned long)r->r2, s->nr_taken);
}

/* Registers a call must leave alone, and what any failure must be. */
static void check_common(uint32_t fid, const uint64_t *arg,
			 const struct vcpu *v, const struct result *r,
			 const struct counts *before)
{
	struct counts after;

	for (unsigned i = 4; i < 31; i++)
		FUZZ_CHECK(v->x[i] == (i < 8 ? arg[i] : sentinel(i)),
			   "fid 0x%x: x%u changed to 0x%lx", fid, i,
			   (unsigned long)v->x[i]);
	FUZZ_CHECK(v->elr == sentinel(100) && v->spsr == sentinel(101),
		   "fid 0x%x: ELR or SPSR changed", fid);
	if (fid == EXO_PSCI_VERSION)  /* PSCI's version is in x0 itself */
		return;
	FUZZ_CHECK(r->rc == EXO_OK || is_error(r->rc),
		   "fid 0x%x: x0 = 0x%lx is neither OK nor an error", fid,
		   (unsigned long)r->rc);
	if (!r->rc)
		return;
	after = counts_now();
	FUZZ_CHECK(error_documented(fid, r->rc),
		   "fid 0x%x (x1 0x%lx x2 0x%lx x3 0x%lx): error %ld is not "
		   "documented for this call", fid, (unsigned long)arg[1],
		   (unsigned long)arg[2], (unsigned long)arg[3], (long)r->rc);
	FUZZ_CHECK(!r->r1 && !r->r2 && !r->r3,
		   "fid 0x%x failed (%ld) but x1-x3 = 0x%lx 0x%lx 0x%lx", fid,
		   (long)r->rc, (unsigned long)r->r1, (unsigned long)r->r2,
		   (unsigned long)r->r3);
	FUZZ_CHECK(counts_equal(before, &after),
		   "fid 0x%x failed (%ld) but left a trace in the frame counts",
		   fid, (long)r->rc);
}

/* A call with no result but its status, which is always OK. */
static void check_plain_ok(uint32_t fid, const struct result *r)
{
	FUZZ_CHECK(!r->rc && !r->r1 && !r->r2 && !r->r3,
		   "fid 0x%x returned %ld 0x%lx 0x%lx 0x%lx", fid, (long)r->rc,
		   (unsigned long)r->r1, (unsigned long)r->r2,
		   (unsigned long)r->r3);
}

/* The calls that do not end the caller: results and shadow. */
static void check_result(struct slot *s, uint32_t fid, const uint64_t *arg,
			 const struct counts *before)
{
	const struct vcpu *v = &s->vm->vcpu;
	struct result r = { (int64_t)v->x[0], v->x[1], v->x[2], v->x[3] };

	check_common(fid, arg, v, &r, before);
	if (between_guests(fid)) {
		FUZZ_CHECK(r.rc || (!r.r1 && !r.r2 && !r.r3),
			   "fid 0x%x: x1-x3 not 0", fid);
		check_between(s, fid, arg, r.rc);
		return;
	}
	switch (fid) {
	case EXO_PSCI_VERSION:
		FUZZ_CHECK(r.rc == EXO_PSCI_VERSION_1_1 && !r.r1 && !r.r2 &&
				   !r.r3,
			   "PSCI_VERSION returned 0x%lx", (unsigned long)r.rc);
		break;
	case EXO_HVC_VERSION:
		FUZZ_CHECK(!r.rc && r.r1 == EXO_ABI_VERSION && !r.r2 && !r.r3,
			   "VERSION returned %ld 0x%lx", (long)r.rc,
			   (unsigned long)r.r1);
		break;
	case EXO_HVC_CONSOLE_WRITE:
		FUZZ_CHECK((arg[1] > EXO_CONSOLE_MAX) == (r.rc == EXO_EINVAL) &&
				   (r.rc || (r.r1 == arg[1] && !r.r2 && !r.r3)),
			   "CONSOLE_WRITE(%lu) returned %ld 0x%lx",
			   (unsigned long)arg[1], (long)r.rc,
			   (unsigned long)r.r1);
		break;
	case EXO_HVC_FRAME_ALLOC:
		check_alloc(s, arg, &r);
		break;
	case EXO_HVC_FRAME_ALLOC_AT:
		check_alloc_at(s, arg, &r);
		break;
	case EXO_HVC_FRAME_FREE:
		check_free(s, arg, &r);
		break;
	case EXO_HVC_FRAME_QUERY:
		check_query(s, arg[1], &r);
		break;
	case EXO_HVC_VM_INFO:
		FUZZ_CHECK(!r.rc && r.r1 == s->id && r.r2 == s->g.quota_frames &&
				   r.r3 == acct(s->id)->used,
			   "VM_INFO of %u: %ld %lu %lu %lu", s->id, (long)r.rc,
			   (unsigned long)r.r1, (unsigned long)r.r2,
			   (unsigned long)r.r3);
		break;
	case EXO_HVC_YIELD:
		check_plain_ok(fid, &r);
		break;
	case EXO_HVC_REVOKED_ACK:
		check_plain_ok(fid, &r);
		s->nr_taken = 0;
		break;
	case EXO_HVC_VM_LOOKUP:
		check_lookup(arg, &r);
		break;
	case EXO_HVC_NOTIFY:
		check_notify(s, arg[1], &r);
		break;
	case EXO_HVC_WAIT:
		check_wait(s, &r);
		break;
	case EXO_HVC_EVENTS:
		check_events(s, &r);
		break;
	case EXO_HVC_REVOKED:
		check_revoked(s, arg[1], &r);
		break;
	case EXO_HVC_FRAME_DROP:
		check_drop(s, arg, r.rc);
		break;
	case EXO_HVC_FRAME_ACCEPT:
		check_accept(s, arg, r.rc);
		break;
	case EXO_HVC_FRAME_OFFER:
		FUZZ_CHECK(r.rc == EXO_ENOENT, "OFFER(%lu) returned %ld: no "
			   "offer outlives its step", (unsigned long)arg[1],
			   (long)r.rc);
		break;
	case EXO_HVC_RECLAIMED:
		check_reclaimed(s, arg[1], &r);
		break;
	case EXO_HVC_RECLAIMED_ACK:
		check_reclaimed_ack(s, arg[1], &r);
		break;
	default:
		FUZZ_CHECK(r.rc == EXO_ENOTSUP, "unknown fid 0x%x returned %ld",
			   fid, (long)r.rc);
	}
}

/* EXIT, SYSTEM_OFF, SYSTEM_RESET: the caller's old life is over. */
static void check_lifecycle(struct slot *s, uint32_t fid, uint64_t status)
{
	struct vm *vm = s->vm;

	shadow_end(s->id);
	reap(s);
	if (fid == EXO_PSCI_SYSTEM_RESET) {
		if (vm->state == VM_RUNNING) {
			FUZZ_CHECK(vm->vcpu.state == VCPU_RUNNABLE,
				   "guest %u restarted in vCPU state %d", s->id,
				   vm->vcpu.state);
			note_boot_run(s, "SYSTEM_RESET");
			/* A new life for revocation (revoke_new_life). */
			s->revoke_active = false;
			s->revoke_want = s->revoke_target = 0;
			s->lost = false;
			s->revoke_deadline = 0;
			s->nr_taken = 0;
			s->events &= ~(uint64_t)(EXO_EVENT_REVOKE_REQUEST |
						 EXO_EVENT_REVOKED |
						 EXO_EVENT_RECLAIMED);
		} else {
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
	check_gone(s, "EXIT");
}

/* (Re)creates a guest that is not running; false if it cannot be. */
static bool ensure_running(struct slot *s)
{
	struct counts before;
	int64_t rc;

	if (running(s))
		return true;
	before = counts_now();
	rc = vm_create(s->vm, s->id, &s->g, arch_timer_freq(), NULL);
	note_table_writes();
	s->pending = (struct vm_notifiers){ { 0 } };
	s->events = 0;
	s->waiting = false;
	s->revoke_active = s->forced = s->lost = false;
	s->nr_taken = 0;
	if (rc) {
		struct counts after = counts_now();

		FUZZ_CHECK(rc == EXO_EQUOTA || rc == EXO_ENOMEM,
			   "vm_create of guest %u (quota %u): %ld", s->id,
			   s->g.quota_frames, (long)rc);
		FUZZ_CHECK(counts_equal(&before, &after),
			   "failed vm_create of guest %u left a trace", s->id);
		check_gone(s, "failed vm_create");
		return false;
	}
	note_boot_run(s, "vm_create");
	remember(s->boot_pa, s->boot_count);
	check_touched("vm_create", UINT64_C(1) << s->id);
	check_counts("vm_create");
	return true;
}

static bool lifecycle_fid(uint32_t fid)
{
	return fid == EXO_HVC_EXIT || fid == EXO_PSCI_SYSTEM_OFF ||
	       fid == EXO_PSCI_SYSTEM_RESET;
}

/* Calls whose success changes the caller's (and the peer's) stage 2. */
static bool changes_mappings(uint32_t fid)
{
	return fid == EXO_HVC_FRAME_ALLOC || fid == EXO_HVC_FRAME_ALLOC_AT ||
	       fid == EXO_HVC_FRAME_FREE || between_guests(fid) ||
	       fid == EXO_HVC_FRAME_DROP;
}

static uint32_t decode_fid(struct fuzz_in *in, uint8_t sel)
{
	unsigned i = (sel & 0x7f) % NR_FIDS;

	return i == FID_ANY ? fuzz_u32(in) : fids[i];
}

static void el2_event(struct slot *s, uint32_t fid, const uint64_t *arg)
{
	if (fid == EV_REVOKE_ASK)
		ev_revoke_ask(s, arg[1], arg[2]);
	else
		ev_time_passes(s, arg[1]);
	note_table_writes();
	check_touched("an EL2 event", ALL_GUESTS);
	check_counts("an EL2 event");
}

/* Guest s makes the call: x0-x7 = arg, the other registers sentinels. */
static void hypercall(struct slot *s, uint32_t fid, const uint64_t *arg)
{
	struct vcpu *v = &s->vm->vcpu;
	uint64_t hypercalls, check = 0;
	struct counts before;

	for (unsigned r = 0; r < 31; r++)
		v->x[r] = r < 8 ? arg[r] : sentinel(r);
	v->elr = sentinel(100);
	v->spsr = sentinel(101);
	hypercalls = v->hypercalls;
	before = counts_now();
	left_pa_before = mem_left_frame(&left_vm_before);

	dispatch_hypercall(v);
	check |= note_table_writes();
	if (fuzz_verbose)
		fprintf(stderr, "guest %u: 0x%lx(0x%lx, 0x%lx, 0x%lx, 0x%lx) -> "
			"%ld 0x%lx 0x%lx 0x%lx\n", s->id, (unsigned long)arg[0],
			(unsigned long)arg[1], (unsigned long)arg[2],
			(unsigned long)arg[3], (unsigned long)arg[4],
			(long)v->x[0], (unsigned long)v->x[1],
			(unsigned long)v->x[2], (unsigned long)v->x[3]);

	FUZZ_CHECK(v->hypercalls == hypercalls + 1,
		   "hypercall count not incremented");
	if (lifecycle_fid(fid)) {
		check_lifecycle(s, fid, arg[1]);
		check = ALL_GUESTS;
	} else {
		check_result(s, fid, arg, &before);
		if (!v->x[0] && changes_mappings(fid))
			check |= UINT64_C(1) << s->id |
				 (between_guests(fid) ||
						  fid == EXO_HVC_FRAME_DROP
					  ? UINT64_C(1) << arg[3]
					  : 0);
	}
	check_touched("after a hypercall", check);
	check_counts("after a hypercall");
	if (full_checks)
		check_invariants(ALL_GUESTS);
	for (unsigned f = 0; full_checks && f < RAM_FRAMES; f++)
		check_frame(f, "after a hypercall (full checks)");
}

/* A guest blocked in WAIT makes no call; who woke it is checked then. */
static void one_call(struct fuzz_in *in)
{
	uint8_t who = fuzz_u8(in), sel = fuzz_u8(in), mask = fuzz_u8(in);
	struct slot *s = &slots[who % nr_slots];
	const struct vcpu *v = &s->vm->vcpu;
	uint64_t arg[8] = { 0 };
	uint32_t fid;

	/* Function: bit 7 puts junk in the upper half of x0, which SMCCC says
	 * to ignore. */
	fid = decode_fid(in, sel);
	arg[0] = fid | (sel & 0x80 ? UINT64_C(0xdead000000000000) : 0);
	rest = 0;
	for (unsigned r = 1; r < 8; r++)
		if (mask & (1u << (r - 1)))
			arg[r] = decode_arg(in);
	if (!ensure_running(s))
		return;
	FUZZ_CHECK((v->state == VCPU_BLOCKED) == s->waiting,
		   "guest %u: vCPU state %d, the shadow says %s", s->id,
		   v->state, s->waiting ? "waiting" : "runnable");
	if (s->waiting)
		return;

	if (fid == EV_REVOKE_ASK || fid == EV_TIME_PASSES)
		el2_event(s, fid, arg);
	else
		hypercall(s, fid, arg);
}

/* --- the end of an input: tear everything down --------------------------- */

static void teardown_all(void)
{
	uint64_t free, hyp, held_now;

	/* Every frame a guest or a table ever had; the others are FREE or
	 * EL2's by the counts. */
	for (unsigned i = 0; i < nr_dirty; i++)
		check_frame(dirty_list[i], "before teardown");
	for (unsigned f = 0; dirty_overflow && f < RAM_FRAMES; f++)
		check_frame(f, "before teardown");
	check_invariants(ALL_GUESTS);
	for (unsigned i = 0; i < nr_slots; i++) {
		struct slot *s = &slots[i];

		if (running(s)) {
			/* As EL2's callers do: whoever ends a VM tells its
			 * peers (el2/vm_ops.h). */
			if (vm_exit(s->vm, 0, 0, 0))
				system_notify_peers(s->vm);
			shadow_end(s->id);
			reap(s);
		}
		check_gone(s, "teardown");
	}
	note_table_writes();
	check_touched("teardown", 0);
	mem_totals(&free, &hyp, &held_now);
	FUZZ_CHECK(!frames_guest_held(mem_frames_db()) && !held_now,
		   "after teardown guests still hold %lu frames",
		   (unsigned long)held_now);
	FUZZ_CHECK(hyp == el2_own && free == ram_frames - el2_own,
		   "after teardown: FREE %lu HYP %lu, expected %lu and %lu",
		   (unsigned long)free, (unsigned long)hyp,
		   (unsigned long)(ram_frames - el2_own),
		   (unsigned long)el2_own);
	FUZZ_CHECK(!fuzz_warnings, "teardown: EL2 warned: %s",
		   fuzz_last_warning);
	for (unsigned i = 0; i < nr_dirty; i++)
		FUZZ_CHECK(scrubbed(dirty_list[i], dirty[dirty_list[i]]),
			   "after teardown frame 0x%lx (guest data or stage-2 "
			   "table) is not scrubbed",
			   (unsigned long)pa_of(dirty_list[i]));
	for (unsigned f = 0; dirty_overflow && f < RAM_FRAMES; f++)
		FUZZ_CHECK(!is_plain_ram(f) || frame_zero(f),
			   "after teardown frame 0x%lx is not scrubbed",
			   (unsigned long)pa_of(f));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *full = getenv("FUZZ_HVC_FULL_CHECKS");

	(void)argc, (void)argv;
	full_checks = full && *full && strcmp(full, "0");
	fuzz_console_init();
	machine_map();
	build_guest_elf();
	for (unsigned i = 0; i < EXO_MAX_VMS - 1; i++)
		vms[i].state = VM_FAILED;
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
