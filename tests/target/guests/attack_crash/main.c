/*
 * attack_crash: guests that break themselves (tests/target/test_attacks.py).
 * EL2 must contain each one (violation limit, CPU limit or the guest's own
 * exit) while the others finish. One mode per guest, by argument:
 *   --recursive-s2   an abort handler that itself commits a stage-2
 *                    violation: nested aborts until the violation limit;
 *   --recursive-s1   an abort handler that itself takes a stage-1 fault:
 *                    nested aborts on the EL1 stack, never reaching EL2;
 *   --bad-vbar       VBAR_EL1 at an unmapped address, then an exception:
 *                    every vector fetch faults again, at EL1 only;
 *   --foreign-vbar   VBAR_EL1 at an alias of EL2's image: every vector
 *                    fetch is a stage-2 violation;
 *   --stack-overflow unbounded recursion at EL1 into the stack guard;
 *   --share-crash    shares and lends frames to "holder", borrows one of
 *                    its frames, then dies by the violation limit with all
 *                    three live;
 *   --holder         the other side of --share-crash: checks that what it
 *                    borrowed is gone and what it lent came back.
 * The crashers print "crash: <mode>" first; nothing they print after the
 * crash point may appear.
 */
#include <arch/esr.h>
#include <el1/el1.h>
#include <el1/trap.h>
#include <exo/frame_state.h>
#include <exo/hypercall.h>
#include <string.h>

#include "../accept.h"
#include "../attack.h"

#define SHARED_WORD 0x5348415245445f31ull
#define LENT_WORD 0x4c454e545f5f5f32ull
#define BACK_WORD 0x4241434b5f5f5f33ull
#define MAGIC 0x63726173686d6278ull

struct mailbox {
	uint64_t magic, lent, back;
};

static volatile uint64_t depth;
static volatile uintptr_t unmapped_va = 0x10;   /* TTBR0 half: no tables */

static bool fault_again_s2(struct el1_frame *f)
{
	(void)f;
	depth++;
	return *pa_ptr(EL2_IMAGE + 8 * (depth & 0x1ff)) == 0;
}

static bool fault_again_s1(struct el1_frame *f)
{
	(void)f;
	depth++;
	return *(volatile uint64_t *)unmapped_va == 0;
}

static void set_vbar(uint64_t va)
{
	__asm__ volatile("msr vbar_el1, %0; isb" : : "r"(va) : "memory");
}

static volatile uint64_t limit = ~0ul;   /* never reached */

/* Never inlined, never a tail call: each level keeps its frame. */
static __attribute__((noinline)) uint64_t recurse(uint64_t n)
{
	volatile uint64_t pad[64];

	pad[n & 63] = n;
	depth = n;
	if (n == limit)
		return 0;
	return recurse(n + 1) + pad[(n + 1) & 63];
}

static uint64_t alias_exec(uint64_t pa)
{
	const struct libos_mm_info *mm = libos_mm_info();
	uint64_t va = mm->vmap_base + 64 * mm->page_size;

	pgtable_map(libos_mm_kernel(), va, pa & ~(mm->page_size - 1),
		    mm->page_size,
		    PGTABLE_READ | PGTABLE_EXEC_EL1 | PGTABLE_GLOBAL |
			    PGTABLE_ACCESSED | PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB));
	return va;
}

static _Noreturn void share_crash(void)
{
	uint64_t h = exo_vm_lookup("holder").x1;
	struct exo_ret a = exo_frame_alloc(2, 0);
	volatile uint64_t *s = pa_map(a.x1, 2 * FRAME);
	volatile struct mailbox *mb = (volatile struct mailbox *)s;

	faultcatch_install();
	*mb = (struct mailbox){ MAGIC, a.x1 + FRAME, 0 };
	s[512] = LENT_WORD;   /* the lent frame's first word */
	s[8] = SHARED_WORD;
	kprintf("crash: share-crash (shared 0x%lx, lent 0x%lx) %ld %ld\n",
		(unsigned long)a.x1, (unsigned long)(a.x1 + FRAME),
		(long)exo_frame_share(a.x1, 1, h, EXO_SHARE_RW),
		(long)exo_frame_lend(a.x1 + FRAME, 1, h));
	exo_notify(h);
	wait_notified(h);
	/* The holder lent us a frame: accept it, write to it, then die with
	 * it. */
	accept_from(h);
	*pa_ptr(mb->back) = BACK_WORD;
	kprintf("crash: wrote the borrowed frame 0x%lx; now dying\n",
		(unsigned long)mb->back);
	for (;;)
		probe_read(EL2_IMAGE);
}

static int holder(void)
{
	uint64_t c = exo_vm_lookup("crasher").x1, shared = 0, lent, back;
	volatile struct mailbox *mb = NULL;
	struct exo_ret a;
	unsigned polls = 0;
	bool mine;

	faultcatch_install();
	wait_notified(c);
	TAP_CHECK(accept_from(c) == 2, "accepted the crasher's share and loan");
	for (uint64_t pa = RAM_BASE; pa < RAM_BASE + (256ul << 20) && !mb;
	     pa += FRAME) {
		struct exo_ret q = exo_frame_query(pa);

		if (q.x1 == EXO_FRAME_SHARED && q.x2 && *pa_ptr(pa) == MAGIC) {
			mb = (volatile struct mailbox *)pa_ptr(pa);
			shared = pa;
		}
	}
	TAP_CHECK(mb != NULL, "found the crasher's shared frame");
	if (!mb)
		return tap_done();
	lent = mb->lent;
	TAP_CHECK(pa_ptr(shared)[8] == SHARED_WORD && *pa_ptr(lent) == LENT_WORD,
		  "reads the shared frame 0x%lx and the lent frame 0x%lx",
		  (unsigned long)shared, (unsigned long)lent);
	a = exo_frame_alloc(1, 0);
	back = a.x1;
	mb->back = back;
	TAP_CHECK(a.status == EXO_OK && exo_frame_lend(back, 1, c) == EXO_OK,
		  "lent my frame 0x%lx to the crasher", (unsigned long)back);
	exo_notify(c);
	while (exo_vm_lookup("crasher").status == EXO_OK) {
		exo_yield();
		polls++;
	}
	TAP_CHECK(true, "the crasher is gone (%u polls)", polls);
	TAP_CHECK(read_aborts(shared), "the frame it shared is out of reach");
	TAP_CHECK(read_aborts(lent), "the frame it lent is out of reach");
	TAP_CHECK(frame_state(shared, &mine) == EXO_FRAME_FREE &&
			  frame_state(lent, &mine) == EXO_FRAME_FREE,
		  "both are FREE (scrubbed by its teardown)");
	TAP_CHECK(frame_state(back, &mine) == EXO_FRAME_OWNED && mine,
		  "the frame I lent it is mine again");
	TAP_CHECK(*pa_ptr(back) == BACK_WORD,
		  "with what it wrote there before it died");
	pa_unmap(back, FRAME);
	TAP_CHECK(exo_frame_free(back, 1) == EXO_OK, "freed it");
	return tap_done();
}

EL1_GUEST_OPTIONS("--holder", "--share-crash", "--recursive-s2",
		  "--recursive-s1", "--bad-vbar", "--foreign-vbar",
		  "--stack-overflow");

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "--holder"))
		return holder();
	if (!strcmp(mode, "--share-crash"))
		share_crash();
	kprintf("crash: %s\n", mode);
	if (!strcmp(mode, "--recursive-s2")) {
		el1_set_sync_handler(ESR_EC_DABT_CUR, fault_again_s2);
		(void)*pa_ptr(EL2_IMAGE);
	} else if (!strcmp(mode, "--recursive-s1")) {
		el1_set_sync_handler(ESR_EC_DABT_CUR, fault_again_s1);
		(void)*(volatile uint64_t *)unmapped_va;
	} else if (!strcmp(mode, "--bad-vbar")) {
		set_vbar(0x1000);
		__asm__ volatile("udf #0");
	} else if (!strcmp(mode, "--foreign-vbar")) {
		set_vbar(alias_exec(EL2_IMAGE));
		__asm__ volatile("udf #0");
	} else if (!strcmp(mode, "--stack-overflow")) {
		recurse(0);
	} else {
		kprintf("usage: attack_crash --<mode>\n");
		return 2;
	}
	kprintf("crash: survived %s (depth %lu)\n", mode, (unsigned long)depth);
	return 3;
}
