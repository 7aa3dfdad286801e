/*
 * EL0 tasks (task.h): the task table, round-robin scheduling, the system
 * calls with their argument checks (memory calls become regions of the
 * task's space: their protections as stage-1 attributes, region errors as
 * errno values), and the target wiring of address spaces (pool frames,
 * direct map, --asid-bits). Task faults take the one route of every fault:
 * libos_fault_handle to the regions of the space uspace_switch attached.
 */
#include <arch/sysreg.h>
#include <lib/print.h>
#include <libos/libos.h>
#include <libos/lock.h>
#include <libos/mm/pages.h>
#include <libos/options.h>
#include <libos/task/task.h>
#include <string.h>

#define SPSR_EL0_MASKED (SPSR_M_EL0T | SPSR_D | SPSR_A | SPSR_I | SPSR_F)

struct tasks {
	struct libos_task task[LIBOS_TASKS_MAX];
	struct libos_task_code code;
	struct libos_task *current[LIBOS_CPUS_MAX]; /* by vCPU */
	unsigned last;           /* round-robin position */
	unsigned spawned, exited, killed;
	unsigned entered[LIBOS_CPUS_MAX]; /* tasks each vCPU ran, runs */
};

/* From the heap at set-up: about 185 KiB (a task is about 4.5 KiB, most
 * of it its space's region array) no other guest should carry. */
static struct tasks *ts;

/* --- set-up --------------------------------------------------------------- */

int libos_tasks_setup(const struct uspace_config *cfg,
		      const struct libos_task_code *code)
{
	int rc = uspace_sys_init(cfg);

	if (rc)
		return rc;
	if (!ts)
		ts = cfg->zalloc(sizeof(*ts));
	if (!ts)
		return -LIBOS_ENOMEM;
	memset(ts, 0, sizeof(*ts));
	ts->code = *code;
	return 0;
}

static uint64_t frames_per_page(void)
{
	return libos_mm_info()->page_size / POOL_FRAME_SIZE;
}

static bool pool_page(void *ctx, uint64_t *pa)
{
	(void)ctx;
	return libos_frames_alloc(frames_per_page(), pa);
}

static void pool_unpage(void *ctx, uint64_t pa)
{
	(void)ctx;
	libos_frames_free(pa, frames_per_page());
}

static void *dmap_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return libos_dmap_phys_to_virt(pa);
}

static uint64_t dmap_phys(void *ctx, const void *p)
{
	(void)ctx;
	return libos_dmap_virt_to_phys(p);
}

static void *heap_zalloc(uint64_t size)
{
	return libos_calloc(1, (size_t)size);
}

static unsigned parse_asid_bits(int argc, char *const *argv, unsigned hw,
				unsigned min)
{
	size_t n = strlen(LIBOS_OPT_ASID_BITS);

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], LIBOS_OPT_ASID_BITS, n) == 0) {
			unsigned v = 0;

			for (const char *s = argv[i] + n; *s >= '0' && *s <= '9';
			     s++)
				v = v * 10 + (unsigned)(*s - '0');
			if (v >= min && v < hw)
				return v;
		}
	}
	return hw;
}

int libos_tasks_init(int argc, char *const *argv,
		     const struct libos_task_code *code)
{
	const struct libos_mm_info *mi = libos_mm_info();
	struct uspace_config cfg = {
		.granule = mi->granule, .va_bits = mi->va_bits,
		.asid_bits = parse_asid_bits(argc, argv, mi->asid_bits,
					     mi->several_cpus ? ASID_BITS_SMP_MIN
							      : ASID_BITS_MIN),
		.tables = { pages_alloc, pages_free, dmap_phys, dmap_virt,
			    NULL, true, mi->dmap_base },
		.frames = { pool_page, pool_unpage, dmap_virt, NULL, NULL, 0 },
		.zalloc = heap_zalloc,
	};
	return libos_tasks_setup(&cfg, code);
}

/* --- task memory as regions ----------------------------------------------- */

/* PROT_NONE: mapped for EL1 only (no USER), so EL0 touches fault. */
static uint32_t attrs_of(unsigned prot)
{
	uint32_t a = PGTABLE_READ | PGTABLE_ACCESSED |
		     PGTABLE_MEM(PGTABLE_MEM_NORMAL_WB);

	if (!prot)
		return a;
	a |= PGTABLE_USER;
	if (prot & LIBOS_PROT_WRITE)
		a |= PGTABLE_WRITE;
	if (prot & LIBOS_PROT_EXEC)
		a |= PGTABLE_EXEC_EL0;
	return a;
}

static bool prot_ok(unsigned prot)
{
	if (prot & ~LIBOS_PROT_ALL)
		return false;
	return (prot & (LIBOS_PROT_WRITE | LIBOS_PROT_EXEC)) !=
	       (LIBOS_PROT_WRITE | LIBOS_PROT_EXEC);
}

/* A region error as the errno mmap, munmap and mprotect return. */
static int errno_of(int region_err)
{
	switch (region_err) {
	case LIBOS_REGION_OK:
		return 0;
	case LIBOS_REGION_EOVERLAP:
		return -LIBOS_EEXIST;
	case LIBOS_REGION_EFULL:
	case LIBOS_REGION_ENOMEM:
	case LIBOS_REGION_ENOENT:      /* mprotect of unmapped pages */
		return -LIBOS_ENOMEM;
	default:
		return -LIBOS_EINVAL;
	}
}

static int map_region(struct uspace *us, uint64_t va, uint64_t size,
		      enum libos_region_kind kind, uint64_t pa, unsigned prot,
		      const char *name)
{
	struct libos_region r = { .start = va, .end = va + size,
				  .kind = kind, .attrs = attrs_of(prot),
				  .pa = pa };

	strncpy(r.name, name, LIBOS_REGION_NAME_MAX - 1);
	return errno_of(libos_region_insert(&us->as, &r));
}

int libos_task_map_anon(struct uspace *us, uint64_t *va, uint64_t size,
			unsigned prot)
{
	uint64_t unaligned = (*va | size) & (uspace_page_size() - 1);

	if (!prot_ok(prot) || !size || unaligned)
		return -LIBOS_EINVAL;
	if (!*va && libos_region_gap(&us->as, USPACE_MMAP_BASE,
				     USPACE_MMAP_END, size, va))
		return -LIBOS_ENOMEM;
	if (!uspace_range_ok(*va, size))
		return -LIBOS_EINVAL;
	return map_region(us, *va, size, LIBOS_REGION_ANON, 0, prot, "mmap");
}

/* --- tasks ---------------------------------------------------------------- */

struct libos_task *libos_task_get(int id)
{
	if (id < 1 || id > LIBOS_TASKS_MAX)
		return NULL;
	return ts->task[id - 1].state == LIBOS_TASK_FREE ? NULL
							: &ts->task[id - 1];
}

unsigned libos_tasks_entered(unsigned cpu)
{
	return cpu < LIBOS_CPUS_MAX ? ts->entered[cpu] : 0;
}

struct libos_task *libos_task_current(void)
{
	return ts->current[libos_cpu_self()];
}

static struct libos_task *task_new(void)
{
	for (unsigned i = 0; i < LIBOS_TASKS_MAX; i++) {
		struct libos_task *t = &ts->task[i];

		if (t->state == LIBOS_TASK_FREE) {
			memset(t, 0, sizeof(*t));
			t->id = (int)i + 1;
			return t;
		}
	}
	return NULL;
}

static int spawn_locked(uint64_t entry_off, uint64_t arg)
{
	struct libos_task *t = task_new();
	uint64_t stack = USPACE_STACK_TOP - LIBOS_TASK_STACK;
	int rc;

	if (!t)
		return -LIBOS_ENOMEM;
	if (entry_off >= ts->code.size || (entry_off & 3))
		return -LIBOS_EINVAL;
	rc = uspace_create(&t->us);
	if (rc)
		return rc;
	rc = map_region(&t->us, USPACE_CODE_VA, ts->code.size,
			LIBOS_REGION_FIXED, ts->code.pa,
			LIBOS_PROT_READ | LIBOS_PROT_EXEC, "code");
	if (!rc)
		rc = map_region(&t->us, stack, LIBOS_TASK_STACK,
				LIBOS_REGION_ANON, 0,
				LIBOS_PROT_READ | LIBOS_PROT_WRITE, "stack");
	if (rc) {
		uspace_destroy(&t->us);
		return rc;
	}
	t->regs.pc = USPACE_CODE_VA + entry_off;
	t->regs.x[0] = arg;
	t->regs.x[30] = USPACE_EXIT_VA;
	t->regs.sp = USPACE_STACK_TOP;
	t->regs.pstate = SPSR_EL0_MASKED;
	t->state = LIBOS_TASK_RUNNABLE;
	ts->spawned++;
	return t->id;
}

int libos_task_spawn(uint64_t entry_off, uint64_t arg)
{
	uint64_t flags = libos_lock_take();
	int rc = spawn_locked(entry_off, arg);

	libos_lock_give(flags);
	return rc;
}

static void task_end(struct libos_task *t, enum libos_task_state state,
		     int64_t status)
{
	t->state = state;
	t->status = status;
	t->stop = true;
}

void libos_task_kill(struct libos_task *t, int64_t status)
{
	uint64_t flags = libos_lock_take();

	task_end(t, LIBOS_TASK_KILLED, status);
	ts->killed++;
	libos_lock_give(flags);
}

bool libos_task_returned(struct libos_task *t, uint64_t pc)
{
	uint64_t flags;

	if (pc != USPACE_EXIT_VA)
		return false;
	flags = libos_lock_take();
	task_end(t, LIBOS_TASK_EXITED, (int64_t)t->regs.x[0]);
	ts->exited++;
	libos_lock_give(flags);
	return true;
}

/* A runnable task no vCPU runs now (libos's lock held). */
static struct libos_task *next_runnable(void)
{
	for (unsigned n = 1; n <= LIBOS_TASKS_MAX; n++) {
		unsigned i = (ts->last + n) % LIBOS_TASKS_MAX;

		if (ts->task[i].state == LIBOS_TASK_RUNNABLE &&
		    !ts->task[i].on_cpu) {
			ts->last = i;
			return &ts->task[i];
		}
	}
	return NULL;
}

/* Each vCPU that calls it takes tasks from the one table: a task runs on
 * one vCPU at a time (on_cpu), and is chosen, switched to and ended
 * under libos's lock, which enter's EL0 run does not hold. With several
 * vCPUs a task's space leaves this vCPU's TTBR0 when it stops, since
 * another vCPU may run it next, or destroy it. */
void libos_tasks_run(void (*enter)(struct libos_task *t))
{
	unsigned cpu = libos_cpu_self();
	uint64_t flags = libos_lock_take();
	struct libos_task *t;

	while ((t = next_runnable())) {
		t->on_cpu = true;
		ts->entered[cpu]++;
		uspace_switch(&t->us);
		t->stop = false;
		ts->current[cpu] = t;
		libos_lock_give(flags);
		enter(t);
		flags = libos_lock_take();
		ts->current[cpu] = NULL;
		if (libos_smp_active())
			uspace_leave();
		t->on_cpu = false;
		if (t->state != LIBOS_TASK_RUNNABLE)
			uspace_destroy(&t->us);
	}
	libos_lock_give(flags);
}

/* --- system calls --------------------------------------------------------- */

static uint64_t page_up(uint64_t len)
{
	uint64_t p = uspace_page_size();

	return len + p - 1 < len ? 0 : (len + p - 1) & ~(p - 1);
}

static int64_t sys_write(struct libos_task *t, uint64_t fd, uint64_t buf,
			 uint64_t len)
{
	char chunk[65];
	uint64_t done = 0;

	(void)t;
	if (fd != 1 && fd != 2)
		return -LIBOS_EINVAL;
	if (!len)
		return 0;
	if (len > LIBOS_WRITE_MAX)
		len = LIBOS_WRITE_MAX;
	if (!uspace_range_ok(buf, len))
		return -LIBOS_EFAULT;
	while (done < len) {
		uint64_t n = len - done < 64 ? len - done : 64;
		uint64_t left = libos_arch_copy_from_user(chunk, buf + done, n);

		chunk[n - left] = 0;
		kprintf("%s", chunk);
		done += n - left;
		if (left)
			return done ? (int64_t)done : -LIBOS_EFAULT;
	}
	return (int64_t)done;
}

static int64_t sys_mmap(struct libos_task *t, uint64_t addr, uint64_t len,
			uint64_t prot, uint64_t flags)
{
	uint64_t size = page_up(len), va = 0;
	int rc;

	if (!size || (flags & ~(uint64_t)LIBOS_MAP_FIXED) || prot > 7)
		return -LIBOS_EINVAL;
	if (flags & LIBOS_MAP_FIXED) {
		/* Nothing below the mmap base: the exit address and the
		 * code stay as spawn made them. */
		if (addr < USPACE_MMAP_BASE || !uspace_range_ok(addr, size))
			return -LIBOS_EINVAL;
		va = addr;
	}
	rc = libos_task_map_anon(&t->us, &va, size, (unsigned)prot);
	return rc ? rc : (int64_t)va;
}

static int64_t sys_munmap(struct libos_task *t, uint64_t addr, uint64_t len)
{
	uint64_t size = page_up(len);

	if (!size || !uspace_range_ok(addr, size))
		return -LIBOS_EINVAL;
	return errno_of(libos_region_unmap(&t->us.as, addr, size));
}

static int64_t sys_mprotect(struct libos_task *t, uint64_t addr,
			    uint64_t len, uint64_t prot)
{
	uint64_t size = page_up(len);

	if (!size || !prot_ok((unsigned)prot) ||
	    !uspace_range_ok(addr, size))
		return -LIBOS_EINVAL;
	return errno_of(libos_region_protect(&t->us.as, addr, size,
					     attrs_of((unsigned)prot)));
}

static int64_t sys_clone(struct libos_task *t)
{
	struct libos_task *c = task_new();
	int rc;

	if (!c)
		return -LIBOS_ENOMEM;
	rc = uspace_clone(&c->us, &t->us);
	if (rc)
		return rc;
	c->regs = t->regs;
	c->regs.x[0] = 0;
	c->state = LIBOS_TASK_RUNNABLE;
	ts->spawned++;
	return c->id;
}

bool libos_task_syscall_light(uint64_t nr)
{
	switch (nr) {
	case LIBOS_SYS_WRITE:
	case LIBOS_SYS_MMAP:
	case LIBOS_SYS_MUNMAP:
	case LIBOS_SYS_MPROTECT:
	case LIBOS_SYS_EXIT:
	case LIBOS_SYS_YIELD:
	case LIBOS_SYS_GETID:
		return true;
	default:
		return false;
	}
}

/* The calls that change a space, the task table or the counts: under
 * libos's lock (t itself runs on this vCPU alone). */
static int64_t syscall_locked(struct libos_task *t, const uint64_t *x)
{
	uint64_t flags = libos_lock_take();
	int64_t r;

	switch (x[8]) {
	case LIBOS_SYS_MMAP:
		r = sys_mmap(t, x[0], x[1], x[2], x[3]);
		break;
	case LIBOS_SYS_MUNMAP:
		r = sys_munmap(t, x[0], x[1]);
		break;
	case LIBOS_SYS_MPROTECT:
		r = sys_mprotect(t, x[0], x[1], x[2]);
		break;
	case LIBOS_SYS_EXIT:
		task_end(t, LIBOS_TASK_EXITED, (int64_t)x[0]);
		ts->exited++;
		r = (int64_t)x[0];
		break;
	case LIBOS_SYS_CLONE:
		r = sys_clone(t);
		break;
	default:
		r = -LIBOS_ENOSYS;
		break;
	}
	libos_lock_give(flags);
	return r;
}

bool libos_task_syscall(struct libos_task *t)
{
	uint64_t *x = t->regs.x;
	int64_t r;

	t->syscalls++;
	switch (x[8]) {
	case LIBOS_SYS_WRITE:
		r = sys_write(t, x[0], x[1], x[2]);
		break;
	case LIBOS_SYS_EXIT:
		syscall_locked(t, x);
		return false;
	case LIBOS_SYS_YIELD:
		t->stop = true;
		r = 0;
		break;
	case LIBOS_SYS_GETID:
		r = t->id;
		break;
	default:
		r = syscall_locked(t, x);
		break;
	}
	x[0] = (uint64_t)r;
	return !t->stop;
}

void libos_tasks_print_stats(void)
{
	const struct asid_stats *a = &uspace_asids()->stats;
	struct uspace_stats u;

	uspace_stats(&u);
	kprintf("tasks: %u spawned, %u exited, %u killed; %u spaces live, "
		"%u frames, %u shared; demand-zero %u, cow copies %u, "
		"cow reuses %u, refused %u\n",
		ts->spawned, ts->exited, ts->killed, u.live, u.frames, u.shared,
		u.demand_zero, u.cow_copies, u.cow_reuses, u.refused);
	kprintf("asid: %u bits, generation %lu, %lu switches (%lu fast), "
		"%lu allocs, %lu kept, %lu roll-overs, %lu flushes\n",
		uspace_asids()->bits,
		(unsigned long)(uspace_asids()->generation >>
				uspace_asids()->bits),
		(unsigned long)a->switches, (unsigned long)a->fast,
		(unsigned long)a->allocs, (unsigned long)a->kept,
		(unsigned long)a->rollovers, (unsigned long)a->flushes);
}
