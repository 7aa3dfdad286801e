/*
 * Host tests of EL0 address spaces and system calls (libos/task): every
 * argument check of the system calls (bad pointers are -EFAULT, never a
 * crash), demand-zero through the user copies, mmap/munmap/mprotect area
 * splitting, fork-style clone with copy-on-write (each side keeps its own
 * writes, frames freed when the last mapping goes), and the TTBR0/EPD0
 * switch. User copies go through a fake that walks the current table and
 * hands its faults to libos_fault_handle, which routes them to the regions
 * of the space in TTBR0; a plain EL1 access to task memory is not resolved
 * (PAN).
 */
#include "fake_libos_arch.h"

#include "console_capture.h"

#include <arch/esr.h>
#include <arch/sysreg.h>
#include <criterion/criterion.h>
#include <lib/print.h>
#include <libos/task/task.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096
#define PAGES 512
#define TABLE_PA UINT64_C(0x40000000)
#define FRAME_PA UINT64_C(0x80000000)
#define CODE_PA UINT64_C(0xc0000000)

struct arena {
	uint8_t *mem;
	uint64_t base;
	bool used[PAGES];
	unsigned in_use;
};

static struct arena tables, frames;

static bool arena_get(struct arena *a, uint64_t *pa)
{
	for (unsigned i = 0; i < PAGES; i++) {
		if (!a->used[i]) {
			a->used[i] = true;
			a->in_use++;
			memset(a->mem + i * PAGE, 0x5a, PAGE);
			*pa = a->base + (uint64_t)i * PAGE;
			return true;
		}
	}
	return false;
}

static void arena_put(struct arena *a, uint64_t pa)
{
	unsigned i = (unsigned)((pa - a->base) / PAGE);

	cr_assert(i < PAGES && a->used[i], "free of 0x%llx: not held",
		  (unsigned long long)pa);
	a->used[i] = false;
	a->in_use--;
}

static void *arena_virt(struct arena *a, uint64_t pa)
{
	cr_assert(pa >= a->base && pa < a->base + PAGES * PAGE);
	return a->mem + (pa - a->base);
}

static void *t_alloc(void *ctx)
{
	uint64_t pa;

	(void)ctx;
	return arena_get(&tables, &pa) ? arena_virt(&tables, pa) : NULL;
}

static void t_free(void *ctx, void *p)
{
	(void)ctx;
	arena_put(&tables, tables.base + (uint64_t)((uint8_t *)p - tables.mem));
}

static uint64_t t_v2p(void *ctx, const void *p)
{
	(void)ctx;
	return tables.base + (uint64_t)((const uint8_t *)p - tables.mem);
}

static void *t_p2v(void *ctx, uint64_t pa)
{
	(void)ctx;
	return arena_virt(&tables, pa);
}

static bool f_alloc(void *ctx, uint64_t *pa)
{
	(void)ctx;
	return arena_get(&frames, pa);
}

static void f_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	arena_put(&frames, pa);
}

static void *f_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return arena_virt(&frames, pa);
}

/* A data abort of the user-copy routines (EL1 acting for EL0) at va, taken
 * the way el1 hands it over: through libos_fault_handle's one route. true:
 * resolved, retry; false: the copy stops at its fixup. */
static bool copy_fault(uint64_t va, bool write, unsigned fsc)
{
	struct libos_fault f = {
		.esr = ((uint64_t)ESR_EC_DABT_CUR << ESR_EC_SHIFT) |
		       (write ? ESR_DABT_WNR : 0) | fsc | 3,
		.far = va, .elr = FAKE_UACCESS_PC,
	};

	cr_assert(libos_fault_handle(&f), "a user copy always resumes");
	return f.elr == FAKE_UACCESS_PC;
}

/* One byte at a time, with EL0's permissions (as LDTR/STTR). */
static bool user_byte(uint64_t va, uint8_t *b, bool write)
{
	struct uspace *us = uspace_current();

	for (int tries = 0; tries < 3; tries++) {
		struct pgtable_xlate x;
		unsigned fsc = FSC_TRANSLATION;

		if (!pgtable_translate(&us->pt, va, &x)) {
			bool user = x.attrs & PGTABLE_USER;
			bool w = x.attrs & PGTABLE_WRITE;

			if (user && (!write || w)) {
				uint8_t *p = x.pa >= CODE_PA
						     ? NULL
						     : arena_virt(&frames, x.pa);

				if (!p)
					return !write;
				if (write)
					*p = *b;
				else
					*b = *p;
				return true;
			}
			fsc = FSC_PERMISSION;
		}
		if (!copy_fault(va, write, fsc))
			return false;
	}
	return false;
}

static uint64_t fake_uaccess(void *kbuf, uint64_t uaddr, uint64_t n,
			     bool to_user)
{
	uint8_t *k = kbuf;

	for (uint64_t i = 0; i < n; i++)
		if (!user_byte(uaddr + i, &k[i], to_user))
			return n - i;
	return 0;
}

/* One block per process, kept (Criterion runs each test in its own). */
static void *zalloc_once(uint64_t size)
{
	static void *blocks[2];
	static unsigned n;

	if (n == 2)
		return NULL;
	blocks[n] = calloc(1, (size_t)size);
	return blocks[n++];
}

static void setup(void)
{
	struct uspace_config cfg = {
		.granule = PGTABLE_GRANULE_4K, .va_bits = 48, .asid_bits = 8,
		.tables = { t_alloc, t_free, t_v2p, t_p2v, NULL, false, 0 },
		.frames = { f_alloc, f_free, f_virt, NULL, NULL, 0 },
		.zalloc = zalloc_once,
	};
	struct libos_task_code code = { CODE_PA, 0x10000 };

	fake_libos_reset(NULL, 0);
	fake_libos.tcr = TCR_EL1_EPD0;
	fake_libos.uaccess = fake_uaccess;
	memset(&tables, 0, sizeof(tables));
	memset(&frames, 0, sizeof(frames));
	tables.mem = aligned_alloc(PAGE, PAGES * PAGE);
	frames.mem = aligned_alloc(PAGE, PAGES * PAGE);
	tables.base = TABLE_PA;
	frames.base = FRAME_PA;
	cr_assert_eq(libos_tasks_setup(&cfg, &code), 0);
}

static void teardown(void)
{
	free(tables.mem);
	free(frames.mem);
}

static int64_t call(struct libos_task *t, uint64_t nr, uint64_t a0,
		    uint64_t a1, uint64_t a2, uint64_t a3)
{
	t->regs.x[8] = nr;
	t->regs.x[0] = a0;
	t->regs.x[1] = a1;
	t->regs.x[2] = a2;
	t->regs.x[3] = a3;
	libos_task_syscall(t);
	return (int64_t)t->regs.x[0];
}

static struct libos_task *spawn(void)
{
	int id = libos_task_spawn(0x40, 7);
	struct libos_task *t = libos_task_get(id);

	cr_assert_gt(id, 0);
	uspace_switch(&t->us);
	return t;
}

TestSuite(task, .init = setup, .fini = teardown);

Test(task, spawn_sets_registers_and_enables_walks)
{
	struct libos_task *t = spawn();

	cr_assert_eq(t->regs.pc, USPACE_CODE_VA + 0x40);
	cr_assert_eq(t->regs.x[0], 7);
	cr_assert_eq(t->regs.x[30], USPACE_EXIT_VA);
	cr_assert(libos_task_returned(t, USPACE_EXIT_VA));
	cr_assert_eq(t->state, LIBOS_TASK_EXITED);
	cr_assert_eq(t->status, 7, "exit(x0)");
	t->state = LIBOS_TASK_RUNNABLE;
	cr_assert_not(libos_task_returned(t, USPACE_EXIT_VA + 4));
	cr_assert_eq(t->regs.sp, USPACE_STACK_TOP);
	cr_assert_eq(t->regs.pstate & 0xf, 0, "EL0t");
	cr_assert_eq(fake_libos.tcr & TCR_EL1_EPD0, 0, "TTBR0 walks on");
	cr_assert_eq(fake_libos.ttbr0 >> 48, t->us.pt.asid);
	cr_assert_neq(t->us.pt.asid, 0);
	uspace_destroy(&t->us);
	cr_assert_neq(fake_libos.tcr & TCR_EL1_EPD0, 0, "walks off again");
	cr_assert_eq(fake_libos.ttbr0, 0);
	cr_assert_eq(tables.in_use, 0);
	cr_assert_eq(frames.in_use, 0);
}

Test(task, write_rejects_bad_pointers)
{
	struct libos_task *t = spawn();
	uint64_t stack = USPACE_STACK_TOP - 64;

	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 1, 0xffff800000000000ull, 8, 0),
		     -LIBOS_EFAULT);
	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 1, 0, 8, 0), -LIBOS_EFAULT);
	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 1, ~0ull - 3, 8, 0),
		     -LIBOS_EFAULT);
	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 1, (1ull << 48) - 4, 8, 0),
		     -LIBOS_EFAULT);
	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 3, stack, 8, 0), -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 1, stack, 0, 0), 0);
	/* The stack is demand-zero: the copy faults it in. */
	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 1, stack, 8, 0), 8);
	/* Running off the top of the stack: a short count. */
	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 1, USPACE_STACK_TOP - 4, 8, 0),
		     4);
	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 1, USPACE_STACK_TOP, 8, 0),
		     -LIBOS_EFAULT);
	cr_assert_eq(call(t, LIBOS_SYS_WRITE, 1, USPACE_STACK_TOP - 64, 128,
			  0),
		     64);
	cr_assert_eq(call(t, 1234, 0, 0, 0, 0), -LIBOS_ENOSYS);
	uspace_destroy(&t->us);
	cr_assert_eq(frames.in_use, 0);
}

Test(task, mmap_munmap_mprotect_arguments)
{
	struct libos_task *t = spawn();
	int64_t va;

	cr_assert_eq(call(t, LIBOS_SYS_MMAP, 0, 0, 3, 0), -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MMAP, 0, PAGE, 6, 0), -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MMAP, 0, PAGE, 8, 0), -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MMAP, 0, PAGE, 3, 2), -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MMAP, 0x1001, PAGE, 3, 1),
		     -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MMAP, 0, PAGE, 3, 1), -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MMAP, 0, ~0ull, 3, 0), -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MMAP, USPACE_CODE_VA, PAGE, 3, 1),
		     -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MMAP, USPACE_EXIT_VA, PAGE, 5, 1),
		     -LIBOS_EINVAL);
	va = call(t, LIBOS_SYS_MMAP, 0, 3 * PAGE, 3, 0);
	cr_assert_eq(va, (int64_t)USPACE_MMAP_BASE);
	cr_assert_eq(call(t, LIBOS_SYS_MMAP, 0, PAGE, 3, 0),
		     (int64_t)USPACE_MMAP_BASE + 3 * PAGE);
	cr_assert_eq(call(t, LIBOS_SYS_MPROTECT, 0x30000000, PAGE, 1, 0),
		     -LIBOS_ENOMEM);
	cr_assert_eq(call(t, LIBOS_SYS_MPROTECT, va, PAGE, 9, 0),
		     -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MPROTECT, USPACE_CODE_VA, PAGE, 3, 0),
		     -LIBOS_EINVAL);
	/* The middle page read-only: three areas. */
	cr_assert_eq(call(t, LIBOS_SYS_MPROTECT, va + PAGE, PAGE, 1, 0), 0);
	cr_assert_eq(call(t, LIBOS_SYS_MUNMAP, va, 0, 0, 0), -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MUNMAP, va + 1, PAGE, 0, 0),
		     -LIBOS_EINVAL);
	cr_assert_eq(call(t, LIBOS_SYS_MUNMAP, va + PAGE, PAGE, 0, 0), 0);
	cr_assert_eq(call(t, LIBOS_SYS_MUNMAP, va + PAGE, PAGE, 0, 0), 0,
		     "a hole is fine");
	uspace_destroy(&t->us);
	cr_assert_eq(frames.in_use, 0);
	cr_assert_eq(tables.in_use, 0);
}

Test(task, mprotect_read_only_then_write_is_refused)
{
	struct libos_task *t = spawn();
	int64_t va = call(t, LIBOS_SYS_MMAP, 0, PAGE, 3, 0);
	uint64_t v = 0x77, got = 0;

	cr_assert_eq(libos_arch_copy_to_user((uint64_t)va, &v, 8), 0);
	cr_assert_eq(call(t, LIBOS_SYS_MPROTECT, va, PAGE, 1, 0), 0);
	cr_assert_eq(libos_arch_copy_to_user((uint64_t)va, &v, 8), 8);
	cr_assert_eq(libos_arch_copy_from_user(&got, (uint64_t)va, 8), 0);
	cr_assert_eq(got, 0x77);
	uspace_destroy(&t->us);
}

Test(task, clone_copy_on_write)
{
	struct libos_task *p = spawn(), *c;
	int64_t va = call(p, LIBOS_SYS_MMAP, 0, 2 * PAGE, 3, 0), id;
	uint64_t v = 0x1111, got;
	struct uspace_stats st;

	cr_assert_eq(libos_arch_copy_to_user((uint64_t)va, &v, 8), 0);
	id = call(p, LIBOS_SYS_CLONE, 0, 0, 0, 0);
	cr_assert_gt(id, 0);
	c = libos_task_get((int)id);
	cr_assert_eq(c->regs.x[0], 0, "the child sees 0");
	cr_assert_eq(c->regs.pc, p->regs.pc);
	uspace_stats(&st);
	cr_assert_eq(st.shared, 1, "one page was mapped: one shared frame");
	/* Parent writes: copy. */
	v = 0xaaaa;
	cr_assert_eq(libos_arch_copy_to_user((uint64_t)va, &v, 8), 0);
	/* Child reads the old value, then writes: last reference, reuse. */
	uspace_switch(&c->us);
	cr_assert_eq(libos_arch_copy_from_user(&got, (uint64_t)va, 8), 0);
	cr_assert_eq(got, 0x1111);
	v = 0xbbbb;
	cr_assert_eq(libos_arch_copy_to_user((uint64_t)va, &v, 8), 0);
	uspace_switch(&p->us);
	cr_assert_eq(libos_arch_copy_from_user(&got, (uint64_t)va, 8), 0);
	cr_assert_eq(got, 0xaaaa);
	uspace_switch(&c->us);
	cr_assert_eq(libos_arch_copy_from_user(&got, (uint64_t)va, 8), 0);
	cr_assert_eq(got, 0xbbbb);
	uspace_stats(&st);
	cr_assert_eq(st.cow_copies, 1);
	cr_assert_eq(st.cow_reuses, 1);
	cr_assert_eq(st.shared, 0);
	cr_assert_neq(p->us.pt.asid, c->us.pt.asid);
	uspace_destroy(&c->us);
	uspace_destroy(&p->us);
	cr_assert_eq(frames.in_use, 0);
	cr_assert_eq(tables.in_use, 0);
	uspace_stats(&st);
	cr_assert_eq(st.live, 0);
	cr_assert_eq(st.cow_copies, 1, "the faults of spaces gone still count");
	cr_assert_eq(st.cow_reuses, 1);
}

Test(task, clone_then_exit_frees_shared_frames)
{
	struct libos_task *p = spawn(), *c;
	int64_t va = call(p, LIBOS_SYS_MMAP, 0, 4 * PAGE, 3, 0);
	uint64_t v = 1;

	for (int i = 0; i < 4; i++)
		libos_arch_copy_to_user((uint64_t)va + i * PAGE, &v, 8);
	c = libos_task_get((int)call(p, LIBOS_SYS_CLONE, 0, 0, 0, 0));
	cr_assert_not_null(c);
	uspace_destroy(&p->us);
	cr_assert_eq(frames.in_use, 4, "the child still maps them");
	uspace_destroy(&c->us);
	cr_assert_eq(frames.in_use, 0);
}

Test(task, exit_and_yield_leave_el0)
{
	struct libos_task *t = spawn();

	t->regs.x[8] = LIBOS_SYS_YIELD;
	cr_assert_not(libos_task_syscall(t));
	cr_assert_eq(t->state, LIBOS_TASK_RUNNABLE);
	t->regs.x[8] = LIBOS_SYS_EXIT;
	t->regs.x[0] = 3;
	cr_assert_not(libos_task_syscall(t));
	cr_assert_eq(t->state, LIBOS_TASK_EXITED);
	cr_assert_eq(t->status, 3);
	uspace_destroy(&t->us);
}

Test(task, plain_el1_access_to_task_memory_is_not_resolved)
{
	struct libos_task *t = spawn();
	int64_t va = call(t, LIBOS_SYS_MMAP, 0, PAGE, 3, 0);
	struct libos_fault f = {
		.esr = ((uint64_t)ESR_EC_DABT_CUR << ESR_EC_SHIFT) |
		       FSC_TRANSLATION | 3,
		.far = (uint64_t)va, .elr = FAKE_UACCESS_PC + 4,
	};
	struct pgtable_xlate x;

	capture_len = 0;
	print_set_console(capture_console, "");
	cr_assert_not(libos_fault_handle(&f), "not a user copy: PAN's case");
	print_set_console(NULL, "");
	cr_assert(strstr(capture_out, "unhandled stage-1 fault"), "%s",
		  capture_out);
	cr_assert_neq(pgtable_translate(&t->us.pt, (uint64_t)va, &x), 0,
		      "no page was mapped for it");
	cr_assert_eq(frames.in_use, 0);
	f.elr = FAKE_UACCESS_PC;
	f.far = (uint64_t)va;
	cr_assert(libos_fault_handle(&f), "the user copy's own fault");
	cr_assert_eq(f.elr, FAKE_UACCESS_PC, "resolved, not cut short");
	cr_assert_eq(frames.in_use, 1, "demand-zero for the copy");
	uspace_destroy(&t->us);
}

Test(task, prot_none_area_refuses_user_copies_without_a_page)
{
	struct libos_task *t = spawn();
	int64_t va = call(t, LIBOS_SYS_MMAP, 0, PAGE, 0, 0);
	uint64_t v = 0;

	cr_assert_gt(va, 0);
	cr_assert_eq(libos_arch_copy_from_user(&v, (uint64_t)va, 8), 8,
		     "PROT_NONE: EL0 has no access, nor do copies for it");
	cr_assert_eq(frames.in_use, 0, "refused before any page was taken");
	uspace_destroy(&t->us);
}

/* A light call reads only x0..x8: with every other register poisoned it
 * answers as with the whole state; clone (which copies the whole state)
 * and unknown numbers are not light. */
Test(task, light_calls_read_only_their_arguments)
{
	struct libos_task *t = spawn();
	static const uint64_t light[] = { LIBOS_SYS_GETID, LIBOS_SYS_YIELD };

	cr_assert_not(libos_task_syscall_light(LIBOS_SYS_CLONE));
	cr_assert_not(libos_task_syscall_light(0x7fff));
	for (unsigned i = 0; i < 2; i++) {
		cr_assert(libos_task_syscall_light(light[i]));
		for (unsigned r = LIBOS_SYSCALL_REGS; r < 31; r++)
			t->regs.x[r] = 0xdeadbeef00000000ull | r;
		t->regs.x[8] = light[i];
		t->stop = false;
		cr_assert_eq(libos_task_syscall(t), light[i] != LIBOS_SYS_YIELD);
		cr_assert_eq(t->regs.x[0], light[i] == LIBOS_SYS_GETID ?
						   (uint64_t)t->id : 0);
		for (unsigned r = LIBOS_SYSCALL_REGS; r < 31; r++)
			cr_assert_eq(t->regs.x[r], 0xdeadbeef00000000ull | r,
				     "x%u written", r);
	}
	uspace_destroy(&t->us);
}
