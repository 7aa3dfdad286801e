/*
 * el1's side of the MMU switch and of stage-1 faults. el1_mmu_prepare runs
 * from el1/start.S with the MMU off at the load address: it reads the guest
 * DTB and hands libos what the DTB and the linker script say; libos builds
 * the tables and chooses the registers. el1/start.S then relocates the
 * image for its virtual address, turns the MMU on and jumps there.
 * el1_mmu_switched, the first thing at the high VA, lets libos finish and
 * routes instruction and data aborts to libos's fault handler, passing on
 * why it refused one (the guest's exit carries the cause to EL2). It also
 * says how large the image is as EL2 loads it (el1_image_span), for
 * libos's start-up check. No memory policy here: granule, layout and
 * fault meaning are libos's.
 */
#include <arch/esr.h>
#include <el1/el1.h>
#include <exo/exit_status.h>
#include <exo/hypercall.h>
#include <lib/print.h>
#include <libos/mm/mm.h>
#include <libos/mm/region.h>

extern char __image_start[], __user_start[], __text_end[], __rodata_end[], __relro_end[],
	__stack_guard[], __stack_bottom[], __stack_top[], __image_end[];

/* Read by el1/start.S (adrp), passed to libos_arch_mmu_on. */
struct libos_mmu_regs el1_mmu_regs;

/* The DTB as read before the switch: its pointers are physical and die
 * with the switch; el1_main reads the DTB again at the high VA. */
static struct el1_boot_info early;
static struct libos_mm_boot_params params;

static uint64_t offset_of(const char *sym)
{
	return (uint64_t)(sym - __image_start);
}

uint64_t el1_image_span(void)
{
	uint64_t frame = POOL_FRAME_SIZE;

	return (offset_of(__stack_top) + frame - 1) & ~(frame - 1);
}

/* Returns the virtual address of image offset 0, or exits. */
uint64_t el1_mmu_prepare(const void *dtb)
{
	const char *err;
	uint64_t image_va;

	el1_console_init();
	err = el1_parse_dtb(dtb, &early);
	if (err) {
		kprintf("el1: guest DTB at 0x%lx: %s\n",
			(unsigned long)(uintptr_t)dtb, err);
		exo_exit(EXO_EXIT_BAD_DTB);
	}
	params = (struct libos_mm_boot_params){
		.granule = early.granule, .argc = early.argc,
		.argv = early.argv,
		.image_pa = (uint64_t)(uintptr_t)__image_start,
		.user_start = offset_of(__user_start),
		.text_end = offset_of(__text_end),
		.rodata_end = offset_of(__rodata_end),
		.relro_end = offset_of(__relro_end),
		.guard = offset_of(__stack_guard),
		.stack_bottom = offset_of(__stack_bottom),
		.image_end = offset_of(__image_end),
		.mem_count = early.mem_count,
		.keep_idmap = early.cpus > 1,
	};
	for (unsigned i = 0; i < early.mem_count && i < LIBOS_MM_RANGES_MAX;
	     i++) {
		params.mem[i].base = early.mem[i].base;
		params.mem[i].size = early.mem[i].size;
	}
	err = libos_mm_boot(&params, &el1_mmu_regs, &image_va);
	if (err) {
		struct libos_config os = el1_libos_config(&early,
							  el1_image_span());

		/* Short of quota: say what start-up needs, not which table. */
		if (libos_startup_report(&os))
			exo_exit(EXO_EXIT_STARTUP_QUOTA);
		kprintf("el1: cannot turn the MMU on (granule %s): %s\n",
			early.granule ? early.granule : "4k", err);
		exo_exit(EXO_EXIT_MMU);
	}
	return image_va;
}

/* el1's boot stack runs into the guard page below it (el1/el1.ld): no
 * libos region covers it. */
static bool in_boot_stack_guard(uint64_t va)
{
	return va >= (uint64_t)(uintptr_t)__stack_guard &&
	       va < (uint64_t)(uintptr_t)__stack_bottom;
}

/* Why libos refused a fault, in the ABI's words (exo/exit_status.h). */
static uint64_t refusal_cause(const struct libos_fault *lf)
{
	if (lf->nested)  /* inside another's handling: no region's fault */
		return EXO_EXIT_CAUSE_NONE;
	if (!lf->from_el0 && in_boot_stack_guard(lf->far))
		return EXO_EXIT_CAUSE_STACK_OVERFLOW;
	switch ((enum libos_vm_action)lf->vm_action) {
	case LIBOS_VM_STACK_OVERFLOW:
		return EXO_EXIT_CAUSE_STACK_OVERFLOW;
	case LIBOS_VM_GUARD_HIT:
		return EXO_EXIT_CAUSE_GUARD;
	case LIBOS_VM_REFUSE:
		return EXO_EXIT_CAUSE_NOT_ALLOWED;
	case LIBOS_VM_ZERO_FILL:
	case LIBOS_VM_STACK_GROW:
	case LIBOS_VM_COW_COPY:
	case LIBOS_VM_COW_REUSE:
		return EXO_EXIT_CAUSE_NO_MEMORY;  /* decided, then no page */
	default:  /* LIBOS_VM_NONE: no region holds the address */
		return lf->kind == LIBOS_FAULT_TRANSLATION && !lf->region
			       ? EXO_EXIT_CAUSE_NO_REGION
			       : EXO_EXIT_CAUSE_NONE;
	}
}

/* Instruction and data aborts, from EL1 or EL0: libos decides. el1/vectors.S
 * tries libos_fault_fast first for a data abort from EL1 while this is
 * its class's handler. No stack guard: lf holds no array (only its
 * address taken, for libos), and every abort pays for one. */
__attribute__((no_stack_protector)) bool el1_abort(struct el1_frame *f)
{
	struct libos_fault lf = {
		.esr = f->esr, .far = f->far, .elr = f->elr, .x30 = f->x[30],
		.from_el0 = EL1_TRAP_GROUP(f->kind) == EL1_TRAP_LOWER_A64,
	};

	if (!libos_fault_handle(&lf)) {
		el1_trap_decline(refusal_cause(&lf));
		return false;
	}
	f->elr = lf.elr;
	f->x[30] = lf.x30;
	return true;
}

/* A synchronous external abort from EL1 (what EL2 reflects for a touch
 * stage 2 refuses), from el1/vectors.S's light frame while el1_abort is
 * the class's handler: ESR and FAR in registers, ELR and x30 in the
 * frame; libos's refusal route (libos_fault_external) decides. The
 * frame's ELR and x30 are what the hook answered; false as el1_abort. */
__attribute__((no_stack_protector)) bool
el1_abort_external(struct el1_frame *f, uint64_t esr, uint64_t far)
{
	struct libos_fault lf = {
		.esr = esr, .far = far, .elr = f->elr, .x30 = f->x[30],
	};

	if (!libos_fault_external(&lf)) {
		el1_trap_decline(refusal_cause(&lf));
		return false;
	}
	f->elr = lf.elr;
	f->x[30] = lf.x30;
	return true;
}

void el1_mmu_switched(void)
{
	libos_mm_switched();
	el1_set_sync_handler(ESR_EC_DABT_CUR, el1_abort);
	el1_set_sync_handler(ESR_EC_IABT_CUR, el1_abort);
	el1_set_sync_handler(ESR_EC_DABT_LOWER, el1_abort);
	el1_set_sync_handler(ESR_EC_IABT_LOWER, el1_abort);
}
