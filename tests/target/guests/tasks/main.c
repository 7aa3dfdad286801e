/*
 * tasks: EL0 tasks on target (tests/target/test_tasks.py reads the TAP).
 * Tasks run at EL0 in their own TTBR0 address spaces and make system calls;
 * bad pointers come back as -EFAULT; faulting tasks are killed and the
 * guest goes on; more live address spaces than ASIDs (--asid-bits=4) keep
 * their memory apart across roll-overs; clone shares pages copy-on-write;
 * the library OS's user copies work and its plain loads of task memory
 * fault under PAN (FEAT_PAN; "absent" on cortex-a72); each task keeps its
 * own FP/SIMD registers and never sees another's.
 */
#include "../tap.h"

#include <el1/el1.h>
#include <el1/el0_task.h>
#include <libos/mm/mm.h>
#include <libos/task/usys.h>

#define PAT_VA UINT64_C(0x20000000)
#define PAT_WORDS 512
#define ROUNDS 4
#define SPACES 20

/* --- task code (EL0) ------------------------------------------------------ */

EL1_TASK_RODATA static const char hello_msg[] = "hello from EL0\n";

EL1_TASK_FN static int task_hello(uint64_t arg)
{
	volatile uint64_t *p;
	int64_t va;
	int bad = 0;

	if (usys_write(hello_msg, sizeof(hello_msg) - 1) !=
	    (int64_t)sizeof(hello_msg) - 1)
		bad |= 1;
	if (usys_getid() <= 0)
		bad |= 2;
	va = usys_mmap(0, 3 * 4096, LIBOS_PROT_READ | LIBOS_PROT_WRITE, 0);
	if (va <= 0)
		return 4;
	p = (volatile uint64_t *)(uintptr_t)va;
	for (unsigned i = 0; i < 3 * 512; i += 64)
		p[i] = arg + i;
	for (unsigned i = 0; i < 3 * 512; i += 64)
		if (p[i] != arg + i)
			bad |= 8;
	if (usys_mprotect((uint64_t)va, 4096, LIBOS_PROT_READ))
		bad |= 16;
	if (p[0] != arg)
		bad |= 32;
	if (usys_munmap((uint64_t)va, 3 * 4096))
		bad |= 64;
	usys_yield();
	return bad;
}

/* Each wrong answer sets a bit: the exit status shows which. */
EL1_TASK_FN static int task_badargs(uint64_t arg)
{
	int bad = 0;
	int64_t va;

	(void)arg;
	if (usys_write((const void *)0xffff800000000000ul, 16) != -LIBOS_EFAULT)
		bad |= 1;     /* the library OS's image */
	if (usys_write((const void *)0, 16) != -LIBOS_EFAULT)
		bad |= 2;     /* NULL: no area */
	if (usys_write((const void *)0x7ffffffffff0ul, 64) != -LIBOS_EFAULT)
		bad |= 4;     /* unmapped, near the top */
	if (usys_write((const void *)~0ul, 2) != -LIBOS_EFAULT)
		bad |= 8;     /* wraps */
	if (usys_mmap(0, 0, LIBOS_PROT_READ, 0) != -LIBOS_EINVAL)
		bad |= 16;
	if (usys_mmap(0, 4096, LIBOS_PROT_WRITE | LIBOS_PROT_EXEC, 0) !=
	    -LIBOS_EINVAL)
		bad |= 32;    /* W^X */
	if (usys_mprotect(0x30000000, 4096, LIBOS_PROT_READ) != -LIBOS_ENOMEM)
		bad |= 64;    /* nothing there */
	if (usys3(99, 0, 0, 0, 0) != -LIBOS_ENOSYS)
		bad |= 128;
	if (usys_mmap(0x1001, 4096, LIBOS_PROT_READ, LIBOS_MAP_FIXED) !=
	    -LIBOS_EINVAL)
		bad |= 256;   /* misaligned fixed address */
	va = usys_mmap(0, 4096, LIBOS_PROT_READ, 0);
	/* A read-only buffer is fine to write() from. */
	if (va <= 0 || usys_write((const void *)(uintptr_t)va, 1) != 1)
		bad |= 512;
	if (usys_mprotect(0x400000, 4096, LIBOS_PROT_READ | LIBOS_PROT_WRITE)
	    != -LIBOS_EINVAL)
		bad |= 1024;  /* the code stays read-only */
	return bad;
}

EL1_TASK_FN static int task_null(uint64_t arg)
{
	*(volatile uint64_t *)(uintptr_t)arg = 1;   /* arg = 0 */
	return 0;
}

EL1_TASK_FN static int task_write_code(uint64_t arg)
{
	(void)arg;
	*(volatile uint32_t *)0x400000ul = 0;       /* task code: read-only */
	return 0;
}

EL1_TASK_FN static int task_udf(uint64_t arg)
{
	(void)arg;
	__asm__ volatile("udf #0");
	return 0;
}

EL1_TASK_FN static int task_stack_overrun(uint64_t arg)
{
	/* Just below the 64 KiB stack: no area there. */
	*(volatile uint64_t *)(uintptr_t)(arg - 65536 - 8) = 1;
	return 0;
}

/* Same VA in every space, its own pattern; yields between write and check. */
EL1_TASK_FN static int task_pattern(uint64_t arg)
{
	volatile uint64_t *p = (volatile uint64_t *)PAT_VA;

	if (usys_mmap(PAT_VA, PAT_WORDS * 8, LIBOS_PROT_READ | LIBOS_PROT_WRITE,
		      LIBOS_MAP_FIXED) != (int64_t)PAT_VA)
		return 1;
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < PAT_WORDS; i++)
			p[i] = (arg << 32) | (r << 16) | i;
		usys_yield();
		for (unsigned i = 0; i < PAT_WORDS; i++)
			if (p[i] != ((arg << 32) | (r << 16) | i))
				return 2;
	}
	return 0;
}

EL1_TASK_FN static int task_fork(uint64_t arg)
{
	volatile uint64_t *p = (volatile uint64_t *)PAT_VA;
	int64_t child;
	uint64_t mine;

	(void)arg;
	if (usys_mmap(PAT_VA, 4096, LIBOS_PROT_READ | LIBOS_PROT_WRITE,
		      LIBOS_MAP_FIXED) != (int64_t)PAT_VA)
		return 1;
	p[0] = 0x1111;
	p[1] = 0x5555;
	child = usys_clone();
	if (child < 0)
		return 2;
	if (p[0] != 0x1111)
		return 3;     /* both see the value from before the clone */
	mine = child ? 0xaaaa : 0xbbbb;
	p[0] = mine;
	for (unsigned r = 0; r < 3; r++) {
		usys_yield();
		if (p[0] != mine || p[1] != 0x5555)
			return 4;
	}
	return 0;
}

/* --- FP/SIMD across switches (el1/el0_task.c switches it lazily) ---------- */

#define FP_WORDS 64		/* q0-q31 as 64-bit halves */
#define FP_ROUNDS 3
#define FP_TASKS 3
/* FPCR: RMode [23:22], FZ [24], DN [25]; FPSR: IOC..IXC [4:0]. */
#define FPCR_TESTED (UINT64_C(3) << 22 | UINT64_C(1) << 24 | UINT64_C(1) << 25)
#define FPSR_TESTED UINT64_C(0x1f)

#define FP_LD(a, b, off) "ldp q" #a ", q" #b ", [%[in], #" #off "]\n\t"
#define FP_ST(a, b, off) "stp q" #a ", q" #b ", [%[out], #" #off "]\n\t"
#define FP_ALL(OP)                                                            \
	OP(0, 1, 0) OP(2, 3, 32) OP(4, 5, 64) OP(6, 7, 96) OP(8, 9, 128)      \
	OP(10, 11, 160) OP(12, 13, 192) OP(14, 15, 224) OP(16, 17, 256)       \
	OP(18, 19, 288) OP(20, 21, 320) OP(22, 23, 352) OP(24, 25, 384)       \
	OP(26, 27, 416) OP(28, 29, 448) OP(30, 31, 480)
#define FP_CLOBBERS                                                           \
	"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",    \
	"v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", \
	"v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", \
	"v31"

struct fp_state {
	uint64_t q[FP_WORDS];
	uint64_t fpcr, fpsr;
};

EL1_TASK_FN static void fp_pattern(struct fp_state *s, uint64_t seed)
{
	for (unsigned i = 0; i < FP_WORDS; i++)
		s->q[i] = (seed << 40) ^ ((i + 1) * UINT64_C(0x9e3779b97f4a7c15));
	s->fpcr = ((seed & 3) << 22) | ((seed >> 2 & 1) << 24) |
		  ((seed >> 3 & 1) << 25);
	s->fpsr = (seed * 7) & FPSR_TESTED;
}

/* Loads every FP/SIMD register from in, makes system calls (yield,
 * getid, yield: other tasks run and take the registers), stores them all
 * to out. Loads and stores only: the assembler allows no other FP/SIMD
 * instruction under -mgeneral-regs-only. */
EL1_TASK_FN static void fp_hold(const struct fp_state *in,
				struct fp_state *out)
{
	uint64_t fpcr, fpsr;

	__asm__ volatile("msr fpcr, %[fpcr_in]\n\t"
			 "msr fpsr, %[fpsr_in]\n\t"
			 FP_ALL(FP_LD)
			 "mov x8, #6\n\tsvc #0\n\t"
			 "mov x8, #8\n\tsvc #0\n\t"
			 "mov x8, #6\n\tsvc #0\n\t"
			 FP_ALL(FP_ST)
			 "mrs %[fpcr], fpcr\n\t"
			 "mrs %[fpsr], fpsr"
			 : [fpcr] "=&r"(fpcr), [fpsr] "=&r"(fpsr)
			 : [in] "r"(in->q), [out] "r"(out->q),
			   [fpcr_in] "r"(in->fpcr), [fpsr_in] "r"(in->fpsr)
			 : "x0", "x8", "memory", FP_CLOBBERS);
	out->fpcr = fpcr;
	out->fpsr = fpsr;
}

/* Every register as this task finds it: one store of each, no load. */
EL1_TASK_FN static void fp_read(struct fp_state *out)
{
	uint64_t fpcr, fpsr;

	__asm__ volatile(FP_ALL(FP_ST)
			 "mrs %[fpcr], fpcr\n\t"
			 "mrs %[fpsr], fpsr"
			 : [fpcr] "=&r"(fpcr), [fpsr] "=&r"(fpsr)
			 : [out] "r"(out->q)
			 : "memory");
	out->fpcr = fpcr;
	out->fpsr = fpsr;
}

/* 0, or 1 + the number of words that differ. */
EL1_TASK_FN static int fp_differs(const struct fp_state *a,
				  const struct fp_state *b)
{
	int bad = 0;

	for (unsigned i = 0; i < FP_WORDS; i++)
		bad += a->q[i] != b->q[i];
	bad += (a->fpcr & FPCR_TESTED) != (b->fpcr & FPCR_TESTED);
	bad += (a->fpsr & FPSR_TESTED) != (b->fpsr & FPSR_TESTED);
	return bad ? 1 + bad : 0;
}

/* Its own values in every FP/SIMD register across system calls and
 * switches to the other tasks doing the same with theirs. */
EL1_TASK_FN static int task_fp_keep(uint64_t arg)
{
	struct fp_state in, out;
	int bad;

	for (unsigned r = 0; r < FP_ROUNDS; r++) {
		fp_pattern(&in, arg * 16 + r);
		fp_hold(&in, &out);
		bad = fp_differs(&in, &out);
		if (bad)
			return bad;
	}
	return 0;
}

/* Runs while task_fp_keep holds its values in the registers: must find
 * only its own fresh state (zero), never the other task's. 0, or 1 + the
 * number of words that are not zero. (No struct initialiser: it would be
 * a call of the library OS's memset, which EL0 cannot run.) */
EL1_TASK_FN static int task_fp_spy(uint64_t arg)
{
	struct fp_state seen;
	int bad = 0;

	(void)arg;
	usys_yield();
	fp_read(&seen);
	for (unsigned i = 0; i < FP_WORDS; i++)
		bad += seen.q[i] != 0;
	bad += (seen.fpcr & FPCR_TESTED) != 0;
	bad += (seen.fpsr & FPSR_TESTED) != 0;
	return bad ? 1 + bad : 0;
}

/* clone copies the FP/SIMD state too: parent and child both find the
 * values loaded before the call. */
EL1_TASK_FN static int task_fp_clone(uint64_t arg)
{
	struct fp_state in, out;
	uint64_t fpcr, fpsr;

	fp_pattern(&in, arg);
	__asm__ volatile("msr fpcr, %[fpcr_in]\n\t"
			 "msr fpsr, %[fpsr_in]\n\t"
			 FP_ALL(FP_LD)
			 "mov x8, #7\n\tsvc #0\n\t"
			 "mov x8, #6\n\tsvc #0\n\t"
			 FP_ALL(FP_ST)
			 "mrs %[fpcr], fpcr\n\t"
			 "mrs %[fpsr], fpsr"
			 : [fpcr] "=&r"(fpcr), [fpsr] "=&r"(fpsr)
			 : [in] "r"(in.q), [out] "r"(out.q),
			   [fpcr_in] "r"(in.fpcr), [fpsr_in] "r"(in.fpsr)
			 : "x0", "x8", "memory", FP_CLOBBERS);
	out.fpcr = fpcr;
	out.fpsr = fpsr;
	return fp_differs(&in, &out);
}

/* --- the library OS side -------------------------------------------------- */

static int run_one(el1_task_fn fn, uint64_t arg, int64_t *status,
		   enum libos_task_state *state)
{
	int id = el1_task_spawn(fn, arg);
	struct libos_task *t;

	if (id < 0)
		return id;
	el1_tasks_run();
	t = libos_task_get(id);
	*status = t->status;
	*state = t->state;
	return id;
}

static void expect_exit(const char *what, el1_task_fn fn, uint64_t arg)
{
	enum libos_task_state st = LIBOS_TASK_FREE;
	int64_t status = -1;
	int id = run_one(fn, arg, &status, &st);

	TAP_CHECK(id > 0 && st == LIBOS_TASK_EXITED && status == 0,
		  "%s (task %d, state %d, status %ld)", what, id, (int)st,
		  (long)status);
}

static void expect_kill(const char *what, el1_task_fn fn, uint64_t arg,
			unsigned ec)
{
	enum libos_task_state st = LIBOS_TASK_FREE;
	int64_t status = -1;
	int id = run_one(fn, arg, &status, &st);

	kprintf("killed task %d: status %ld\n", id, (long)status);
	TAP_CHECK(st == LIBOS_TASK_KILLED && status == 128 + ec,
		  "%s: task killed with 128 + EC 0x%x, the guest goes on",
		  what, ec);
}

static void test_rollover(void)
{
	int ids[SPACES];
	bool ok = true;
	const struct asid_stats *a = &uspace_asids()->stats;
	uint64_t before = a->rollovers;

	for (unsigned i = 0; i < SPACES; i++)
		ids[i] = el1_task_spawn(task_pattern, 0x100 + i);
	el1_tasks_run();
	for (unsigned i = 0; i < SPACES; i++) {
		struct libos_task *t = libos_task_get(ids[i]);

		if (ids[i] < 0 || !t || t->state != LIBOS_TASK_EXITED ||
		    t->status) {
			kprintf("# task %d: state %d status %ld\n", ids[i],
				t ? (int)t->state : -1,
				t ? (long)t->status : -1L);
			ok = false;
		}
	}
	TAP_CHECK(ok, "%d address spaces, each its own pattern at 0x%lx "
		  "across %d rounds of switches", SPACES,
		  (unsigned long)PAT_VA, ROUNDS);
	if (uspace_asids()->bits < 5)
		TAP_CHECK(a->rollovers > before,
			  "ASID roll-over with %u-bit ASIDs (%lu roll-overs)",
			  uspace_asids()->bits,
			  (unsigned long)(a->rollovers - before));
	else
		TAP_CHECK(a->rollovers == before,
			  "no roll-over with %u-bit ASIDs",
			  uspace_asids()->bits);
}

static void test_clone(void)
{
	int id = el1_task_spawn(task_fork, 0);
	struct uspace_stats before, after;
	bool ok = true;
	int n = 0;

	uspace_stats(&before);
	el1_tasks_run();
	uspace_stats(&after);
	for (int i = 1; i <= LIBOS_TASKS_MAX; i++) {
		struct libos_task *t = libos_task_get(i);

		if (t && i >= id && t->state == LIBOS_TASK_EXITED &&
		    (i == id || n)) {
			n++;
			ok &= t->status == 0;
		}
	}
	TAP_CHECK(id > 0 && ok && n == 2,
		  "clone: parent and child write the same VA and each reads "
		  "its own value");
	TAP_CHECK(after.cow_copies > before.cow_copies &&
			  after.cow_reuses > before.cow_reuses,
		  "clone: first write copies, last reference reuses "
		  "(%u copies, %u reuses)", after.cow_copies - before.cow_copies,
		  after.cow_reuses - before.cow_reuses);
	TAP_CHECK(after.shared == 0 && after.live == 0,
		  "clone: no shared frames or spaces left (%u frames held)",
		  after.frames);
}

/* Every task spawned from id on exited with status 0; how many. */
static int exited_clean_from(int id, bool *ok)
{
	int n = 0;

	*ok = id > 0;
	for (int i = id > 0 ? id : 1; i <= LIBOS_TASKS_MAX; i++) {
		struct libos_task *t = libos_task_get(i);

		if (!t)
			continue;
		n++;
		if (t->state != LIBOS_TASK_EXITED || t->status) {
			kprintf("# task %d: state %d status %ld\n", i,
				(int)t->state, (long)t->status);
			*ok = false;
		}
	}
	return n;
}

static void test_fp(void)
{
	int first = -1, keep, spy, id;
	bool ok;
	int n;

	for (unsigned i = 0; i < FP_TASKS; i++) {
		id = el1_task_spawn(task_fp_keep, i + 1);
		if (!i)
			first = id;
	}
	el1_tasks_run();
	n = exited_clean_from(first, &ok);
	TAP_CHECK(ok && n >= FP_TASKS,
		  "FP/SIMD: %d tasks keep their own q0-q31, FPCR, FPSR across "
		  "yields and system calls", FP_TASKS);

	keep = el1_task_spawn(task_fp_keep, 9);
	spy = el1_task_spawn(task_fp_spy, 0);
	el1_tasks_run();
	TAP_CHECK(keep > 0 && spy > 0 &&
			  libos_task_get(spy)->state == LIBOS_TASK_EXITED &&
			  libos_task_get(spy)->status == 0,
		  "FP/SIMD: a task finds only its own fresh state, none of "
		  "another task's values (spy status %ld)",
		  spy > 0 ? (long)libos_task_get(spy)->status : -1L);
	TAP_CHECK(keep > 0 &&
			  libos_task_get(keep)->state == LIBOS_TASK_EXITED &&
			  libos_task_get(keep)->status == 0,
		  "FP/SIMD: and the other task's values survive the spy");

	id = el1_task_spawn(task_fp_clone, 5);
	el1_tasks_run();
	n = exited_clean_from(id, &ok);
	TAP_CHECK(ok && n == 2,
		  "FP/SIMD: clone copies the registers to the child (%d tasks)",
		  n);
}

static struct {
	bool armed;
	uint64_t va;
	unsigned hits;
	struct libos_fault seen;
} pan;

static bool pan_hook(struct libos_fault *f)
{
	if (!pan.armed || f->far != pan.va || f->from_el0)
		return false;
	pan.armed = false;
	pan.hits++;
	pan.seen = *f;
	f->elr += 4;
	return true;
}

static void test_uaccess_and_pan(void)
{
	static struct uspace us;
	uint64_t va = 0, v = 0x1234abcd, got = 0, page = uspace_page_size();
	bool mapped;

	mapped = uspace_create(&us) == 0 &&
		 libos_task_map_anon(&us, &va, page,
				     LIBOS_PROT_READ | LIBOS_PROT_WRITE) == 0;
	uspace_switch(&us);
	TAP_CHECK(mapped && libos_arch_copy_to_user(va, &v, 8) == 0 &&
			  libos_arch_copy_from_user(&got, va, 8) == 0 &&
			  got == v,
		  "user copies: demand-zero page through STTR, read back");
	TAP_CHECK(libos_arch_copy_from_user(&got, va + page - 4, 8) == 4,
		  "user copies: a copy running off the area stops short");
	if (libos_mm_info()->pan) {
		uint64_t seen;

		libos_fault_set_hook(pan_hook);
		pan.armed = true;
		pan.va = va;
		seen = *(volatile uint64_t *)(uintptr_t)va;
		(void)seen;
		libos_fault_set_hook(NULL);
		TAP_CHECK(pan.hits == 1 &&
				  pan.seen.kind == LIBOS_FAULT_PERMISSION,
			  "PAN: the library OS's plain load of task memory "
			  "faults");
	} else {
		kprintf("pan: absent (ID_AA64MMFR1_EL1.PAN = 0)\n");
		TAP_CHECK(true, "PAN: plain load of task memory # SKIP FEAT_PAN "
			  "absent");
	}
	uspace_destroy(&us);
}

int main(int argc, char **argv)
{
	int rc = el1_tasks_init();

	(void)argc;
	(void)argv;
	TAP_CHECK(rc == 0, "tasks: init (%u-bit ASIDs, CPU has %u)",
		  uspace_asids()->bits, libos_mm_info()->asid_bits);
	if (rc)
		return tap_done();
	expect_exit("a task runs at EL0: write, getid, mmap, mprotect, munmap, "
		    "yield", task_hello, 42);
	expect_exit("bad system-call arguments: -EFAULT/-EINVAL/-ENOMEM/"
		    "-ENOSYS, no crash", task_badargs, 0);
	expect_kill("NULL write", task_null, 0, 0x24);
	expect_kill("write to task code", task_write_code, 0, 0x24);
	expect_kill("undefined instruction", task_udf, 0, 0x00);
	expect_kill("below the stack", task_stack_overrun, USPACE_STACK_TOP,
		    0x24);
	expect_exit("a task after the killed ones", task_hello, 7);
	test_rollover();
	test_clone();
	test_fp();
	test_uaccess_and_pan();
	libos_tasks_print_stats();
	return tap_done();
}
