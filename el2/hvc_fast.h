/*
 * The hypercall fast path (el2/arch/vectors.S): a call that changes no
 * state is answered in the lower-EL synchronous vector and returns with
 * ERET, without saving the guest's registers or entering C. Today that is
 * VERSION, the call every library OS makes first and the benchmark's null
 * call. The numbers are spelled for the assembler here and checked against
 * include/exo/ in el2/guest_trap.c.
 *
 * It is on unless a guest of the manifest injects faults (a test hook that
 * must see every call: el2/faultinject.c); off, EL2 runs on a second
 * vector table without it, so the check costs the path nothing. It runs
 * in the vector slot itself (17 instructions with the guest's HVC), and
 * skips, by design:
 *   - the register save and the C dispatch: nothing else reads them;
 *   - CPU accounting: run time is charged at the next slow exit, which
 *     every tick forces, from the vCPU's last entry;
 *   - the RAS check: an SError the vector's ESB deferred stays in
 *     DISR_EL1 and the next slow exit, of this same guest, reports it;
 *   - the speculation steps: the fast path takes no indirect branch and
 *     returns to the guest that trapped;
 *   - counting: a call that changes no state changes no counter either,
 *     so the summary's `hypercalls` are the calls through EL2's C
 *     dispatch.
 */
#ifndef EXO_EL2_HVC_FAST_H
#define EXO_EL2_HVC_FAST_H

/* ESR_EL2 of `HVC #0` from AArch64: EC 0x16, IL set, ISS (immediate) 0. */
#define HVC_FAST_ESR 0x5a000000
#define HVC_FAST_VERSION_FID_HI 0xc600      /* EXO_HVC_VERSION >> 16 */
#define HVC_FAST_ABI_VERSION_HI 0x0003      /* EXO_ABI_VERSION >> 16 */
#define HVC_FAST_ABI_VERSION_LO 0x0000      /* EXO_ABI_VERSION & 0xffff */

#ifndef __ASSEMBLER__
#include <stdbool.h>
/* Turns the fast path on or off (boot, once the manifest is read): which
 * vector table EL2 runs on (arch_vectors_set), on this CPU, and with
 * several CPUs online the tables whose HVC entry takes the EL2 lock. */
void hvc_fast_path_set(bool on);
/* Another CPU, once the boot CPU has set the path (after
 * sched_wait_for_start): the same table here. Until then a CPU runs on
 * the table it booted on, which takes no guest trap. */
void hvc_fast_path_cpu_init(void);
#endif

#endif
