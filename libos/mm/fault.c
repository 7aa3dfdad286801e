/*
 * Stage-1 fault handling for the library OS: decodes an instruction or data
 * abort, counts it by kind, fixes what the software fallbacks owe (Access
 * flag, dirty state), offers the rest to a hook, and reports what nobody
 * handled (kind, address, region, the table walk) so el1 can stop the
 * guest. Never resumes a fault it did not fix: a false return means the
 * faulting code must not run again.
 */
#include <arch/esr.h>
#include <lib/print.h>
#include <libos/mm/fault_state.h>
#include <libos/mm/mm.h>
#include <libos/mm/region.h>

/* Shared with the fast path (vmfault.c, libos_fault_fast). */
struct libos_fault_stats libos_fault_counters;
/* A fault inside the handling itself, by vCPU. */
bool libos_fault_busy[LIBOS_CPUS_MAX];

static libos_fault_hook hook;

libos_fault_hook libos_fault_set_hook(libos_fault_hook h)
{
	libos_fault_hook old = hook;

	hook = h;
	return old;
}

void libos_fault_stats(struct libos_fault_stats *out)
{
	*out = libos_fault_counters;
}

const char *libos_fault_kind_name(enum libos_fault_kind kind)
{
	static const char *const names[] = {
		[LIBOS_FAULT_TRANSLATION] = "translation",
		[LIBOS_FAULT_ACCESS_FLAG] = "access flag",
		[LIBOS_FAULT_PERMISSION] = "permission",
		[LIBOS_FAULT_OTHER] = "other",
	};

	return kind < LIBOS_FAULT_KINDS ? names[kind] : "?";
}

/* By FSC_KIND (fsc >> 2): a table load, not a chain of tests, on every
 * fault. Entries hold the kind + 1; 0, alignment (0x21) and every kind
 * not named here among them, is other. */
#define FSC_KIND_SHIFT 2
#define FSC_KINDS (1u << (ESR_ABT_FSC_WIDTH - FSC_KIND_SHIFT))
static enum libos_fault_kind kind_of_fsc(unsigned fsc)
{
	static const uint8_t kinds[FSC_KINDS] = {
		[FSC_TRANSLATION >> FSC_KIND_SHIFT] = LIBOS_FAULT_TRANSLATION + 1,
		[FSC_ACCESS_FLAG >> FSC_KIND_SHIFT] = LIBOS_FAULT_ACCESS_FLAG + 1,
		[FSC_PERMISSION >> FSC_KIND_SHIFT] = LIBOS_FAULT_PERMISSION + 1,
	};
	unsigned k = kinds[(fsc >> FSC_KIND_SHIFT) & (FSC_KINDS - 1)];

	return k ? (enum libos_fault_kind)(k - 1) : LIBOS_FAULT_OTHER;
}

static unsigned fsc_of(const struct libos_fault *f)
{
	return (unsigned)FIELD_GET(f->esr, ESR_ABT_FSC_SHIFT,
				   ESR_ABT_FSC_WIDTH);
}

static void decode_access(struct libos_fault *f)
{
	unsigned ec = (unsigned)ESR_EC(f->esr);

	if (ec == ESR_EC_IABT_CUR || ec == ESR_EC_IABT_LOWER)
		f->access = LIBOS_EXEC;
	else
		f->access = (f->esr & ESR_DABT_WNR) ? LIBOS_WRITE : LIBOS_READ;
}

static void decode(struct libos_fault *f)
{
	unsigned fsc = fsc_of(f);

	decode_access(f);
	f->level = FSC_LEVEL(fsc);
	f->kind = kind_of_fsc(fsc);
}

/* The table that translates va: the attached address space's, else the
 * library OS's for the TTBR1 half (NULL when no TTBR0 address space is
 * live). */
static struct pgtable *table_of(uint64_t va)
{
	struct libos_aspace *as = libos_vm_active(va);

	if (as)
		return as->pt;
	if (va >= libos_mm_info()->half_base)
		return libos_mm_kernel();
	return NULL;
}

/* A user copy that cannot complete returns a short count. */
static bool fixup_uaccess(struct libos_fault *f)
{
	uint64_t fixup = f->from_el0 ? 0 : libos_arch_uaccess_fixup(f->elr);

	if (!fixup)
		return false;
	f->elr = fixup;
	libos_fault_counters.uaccess_fixups++;
	return true;
}

/* Rewrites a leaf's attributes: the whole contiguous run if it is in one,
 * so the run stays consistent and keeps its hint. */
static bool set_leaf_attrs(struct pgtable *pt, uint64_t va,
			   const struct pgtable_xlate *x, uint32_t attrs)
{
	uint64_t size = x->leaf_size;

	if (x->cont)
		size *= pgtable_cont_entries(&pt->geom, x->level);
	return pgtable_protect(pt, va & ~(size - 1), size, attrs) == 0;
}

/* Software Access flag: the page is mapped with AF clear; set it. */
static bool fix_access_flag(struct libos_fault *f)
{
	struct pgtable *pt;
	struct pgtable_xlate x;

	if (f->kind != LIBOS_FAULT_ACCESS_FLAG)
		return false;    /* before any lookup: most faults are not */
	pt = table_of(f->far);
	if (!pt || pgtable_translate(pt, f->far, &x) ||
	    (x.attrs & PGTABLE_ACCESSED))
		return false;
	if (!set_leaf_attrs(pt, f->far, &x, x.attrs | PGTABLE_ACCESSED))
		return false;
	libos_fault_counters.af_fixed++;
	return true;
}

/* Software dirty state: a write to a writable-clean (DBM) page. */
static bool fix_dirty(struct libos_fault *f)
{
	struct pgtable *pt;
	struct pgtable_xlate x;

	if (f->kind != LIBOS_FAULT_PERMISSION || f->access != LIBOS_WRITE)
		return false;
	pt = table_of(f->far);
	if (!pt || pgtable_translate(pt, f->far, &x) ||
	    !(x.attrs & PGTABLE_DBM) || (x.attrs & PGTABLE_DIRTY))
		return false;
	if (!set_leaf_attrs(pt, f->far, &x,
			    x.attrs | PGTABLE_DIRTY | PGTABLE_ACCESSED))
		return false;
	libos_fault_counters.dirty_fixed++;
	return true;
}

/* ptdump lines end with their own newline. */
static void walk_line(void *ctx, const char *line)
{
	(void)ctx;
	kprintf("  %s", line);
}

/* Task memory (the TTBR0 half), resolved for EL0 or for the user-copy
 * routines acting for it, with EL0's permissions. Out of line: the library
 * OS's own faults (TTBR1) do not pay for its copy of the fault. */
static __attribute__((noinline)) bool task_fault(struct libos_aspace *as, struct libos_fault *f,
		       enum libos_vm_action *a)
{
	struct libos_fault el0 = *f;

	if (!f->from_el0 && !libos_arch_uaccess_fixup(f->elr))
		return false;    /* PAN: the library OS's own bug */
	el0.from_el0 = true;
	if (!libos_vm_fault(as, &el0, a, &f->region))
		return false;
	libos_fault_counters.user_resolved++;
	return true;
}

/* Regions (region.h): demand-zero, stack growth, copy-on-write. */
static bool region_fault(struct libos_fault *f)
{
	struct libos_aspace *as = libos_vm_active(f->far);
	enum libos_vm_action a = LIBOS_VM_NONE;
	bool done;

	if (!as)     /* f->region and f->vm_action: none, as the front set */
		return false;
	if (!(f->far >> 63))         /* the TTBR0 half: task memory */
		done = task_fault(as, f, &a);
	else
		done = libos_vm_fault(as, f, &a, &f->region);
	f->vm_action = (int)a;
	return done;
}

static void report_region(const struct libos_fault *f)
{
	const struct libos_region *r = f->region;

	if (!r) {
		kprintf("  ELR 0x%016lx  region: none\n",
			(unsigned long)f->elr);
		return;
	}
	kprintf("  ELR 0x%016lx  region: \"%s\" %s [0x%016lx, 0x%016lx): "
		"%s\n",
		(unsigned long)f->elr, r->name, libos_region_kind_name(r->kind),
		(unsigned long)r->start, (unsigned long)r->end,
		libos_vm_action_name((enum libos_vm_action)f->vm_action));
}

static __attribute__((noinline)) void report(const struct libos_fault *f)
{
	static const char *const access[] = { "read", "write",
					      "instruction fetch" };
	struct pgtable *pt = table_of(f->far);
	const struct libos_region *r = f->region;

	if (r && f->vm_action == LIBOS_VM_STACK_OVERFLOW)
		kprintf("libos: stack overflow: \"%s\" at its limit (%lu "
			"KiB, bottom 0x%016lx), touch at 0x%016lx\n",
			r->name,
			(unsigned long)((r->end - r->bottom) >> 10),
			(unsigned long)r->bottom, (unsigned long)f->far);
	kprintf("libos: unhandled stage-1 fault: %s fault, level %u, %s at "
		"0x%016lx from EL%u\n",
		libos_fault_kind_name(f->kind), f->level, access[f->access],
		(unsigned long)f->far, f->from_el0 ? 0 : 1);
	report_region(f);
	if (pt)
		pgtable_dump_walk(pt, f->far, walk_line, NULL);
	else
		kprintf("  TTBR0 half: no address space (walks disabled)\n");
}

/* The Access-flag and dirty fix-ups, for the kinds they fix: out of line,
 * so the faults of other kinds (an external abort reflected by EL2, say)
 * do not pay for their translation record and stack guard. */
static __attribute__((noinline)) bool fix_software(struct libos_fault *f)
{
	return fix_access_flag(f) || fix_dirty(f);
}

/* What neither a fix-up nor the regions resolved: the hook, a user copy's
 * fix-up, else the report (out of line): the one tail of every fault. */
static bool offer(struct libos_fault *f)
{
	if (hook && hook(f)) {
		libos_fault_counters.hooked++;
		return true;
	}
	if (fixup_uaccess(f))
		return true;
	libos_fault_counters.unhandled++;
	report(f);
	return false;
}

/* A fault taken while one is being handled (the hook's own, say): not
 * handled, and said to be nested, with no region and no action: the
 * caller's may be stale, and a nested translation fault is no "touch
 * outside every region". */
static __attribute__((noinline)) bool refuse_nested(struct libos_fault *f)
{
	libos_fault_counters.unhandled++;
	kprintf("libos: %s fault at 0x%016lx while handling another: "
		"not handled\n", libos_fault_kind_name(f->kind),
		(unsigned long)f->far);
	f->region = NULL;
	f->vm_action = LIBOS_VM_NONE;
	f->nested = true;
	return false;
}

/* Under libos's lock while other vCPUs are on (a second vCPU's fault on
 * the same page waits, then finds it mapped: libos_vm_decide's RETRY),
 * taken again by a fault nested in the handling on this vCPU, which is
 * refused. */
static bool handle_locked(struct libos_fault *f, bool *busy)
{
	bool done;

	libos_fault_counters.taken[f->kind]++;
	f->nested = false;
	if (*busy)
		return refuse_nested(f);
	*busy = true;
	f->region = NULL;
	f->vm_action = LIBOS_VM_NONE;
	/* An alignment fault or an external abort (kind other) has nothing
	 * to fix: straight to the regions, which only count it. */
	done = (f->kind != LIBOS_FAULT_OTHER && fix_software(f)) ||
	       region_fault(f) || offer(f);
	*busy = false;
	return done;
}

/* libos's lock while other vCPUs are on (libos_smp_active): with the boot
 * vCPU alone nothing else changes what a fault reads (an IRQ's handler
 * never faults, as before there were several), and only it could start
 * another, not from inside a fault. true: taken, *flags to give back. */
static inline bool fault_lock(uint64_t *flags)
{
	if (!libos_smp_active())
		return false;
	*flags = libos_lock_take();
	return true;
}

/* This vCPU's nesting flag: with no other vCPU on, the boot vCPU's (the
 * one running), found without reading MPIDR. */
static inline bool *fault_busy(bool locked)
{
	return &libos_fault_busy[locked ? libos_cpu_self()
					: LIBOS_FAULT_FAST_CPU];
}

/* No stack guard: its only local whose address is taken is region_fault's
 * action, a scalar libos_vm_fault writes (libos_fault_fast's pattern),
 * and every fault pays for one. */
bool __attribute__((no_stack_protector))
libos_fault_handle(struct libos_fault *f)
{
	uint64_t flags = 0;
	bool locked, done;

	decode(f);
	locked = fault_lock(&flags);
	done = handle_locked(f, fault_busy(locked));
	if (locked)
		libos_lock_give(flags);
	return done;
}

/* The external route's decision and offer, the fault's nesting flag set
 * around them (the caller holds libos's lock when other vCPUs are on). */
static inline __attribute__((always_inline)) bool
external_route(struct libos_fault *f, unsigned fsc, bool *busy)
{
	bool done;

	decode_access(f);
	f->level = FSC_LEVEL(fsc);
	f->kind = LIBOS_FAULT_OTHER;
	libos_fault_counters.taken[LIBOS_FAULT_OTHER]++;
	f->nested = false;
	*busy = true;
	libos_vm_refuse(f);
	done = offer(f);
	*busy = false;
	return done;
}

/* The route with other vCPUs on: under the lock, this vCPU's flag. Out
 * of line: the one-vCPU route pays one test for it. */
static __attribute__((noinline)) bool
external_locked(struct libos_fault *f, unsigned fsc)
{
	uint64_t flags = libos_lock_take();
	bool *busy = &libos_fault_busy[libos_cpu_self()];
	bool done;

	if (*busy) {
		libos_lock_give(flags);
		return libos_fault_handle(f);
	}
	done = external_route(f, fsc, busy);
	libos_lock_give(flags);
	return done;
}

/* libos_fault_handle's own route for a synchronous external abort (kind
 * other: kind_of_fsc has no entry for it) in the library OS's half: the
 * regions' refusal (libos_vm_refuse) and the offer, with nothing of the
 * fix-ups' or the TTBR0 half's, and decoded without the kind's table. */
bool __attribute__((no_stack_protector))
libos_fault_external(struct libos_fault *f)
{
	unsigned fsc = fsc_of(f);
	bool *busy = &libos_fault_busy[LIBOS_FAULT_FAST_CPU];

	if (FSC_KIND(fsc) != FSC_SYNC_EXTERNAL || !(f->far >> 63))
		return libos_fault_handle(f);
	if (libos_smp_active())
		return external_locked(f, fsc);
	/* The boot vCPU alone: its flag, no lock (fault_lock). */
	if (*busy)
		return libos_fault_handle(f);
	return external_route(f, fsc, busy);
}
