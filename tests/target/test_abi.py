"""The hypercall ABI on target (docs/abi.md): every argument check, the
traps a guest can set off, and PSCI SYSTEM_RESET."""
import os
import re

from conftest import (Booter, build_dir, expect_tap, guest_lines, no_leak,
                      summary)


def test_every_argument_check_and_trap(boot):
    r = boot.system("hvcabi")
    expect_tap(r, "hvcabi", at_least=38)
    rows = summary(r)
    assert rows["hvcabi"].violations == 0
    no_leak(r)


def test_system_reset_boots_again_with_fresh_frames(boot):
    r = boot.system("restart")
    assert any(l.startswith("first boot: marks left") for l in guest_lines(r, "restart"))
    assert "[el2] guest 'restart' restarted with fresh frames" in r.lines
    expect_tap(r, "restart", at_least=3)
    rows = summary(r)
    assert rows["restart"].state == "exited" and rows["restart"].status == 0
    assert rows["hello"].status == 0
    no_leak(r)


# What each CPU model is exposed to (el2/spectre.c) and what a guest is told
# (SMCCC_ARCH_FEATURES: 0 mitigated, 1 unaffected, -1 vulnerable or, for
# WORKAROUND_2 with SSBS, "use SSBS"; -2 not required). QEMU's `max` claims
# CSV2 and SSBS but not ECBHB; the Cortex-A72 needs the branch-history loop
# of 8 and has no firmware here for branch targets or store bypass.
SPECTRE = {
    "max": ("branch targets unaffected, branch history vulnerable "
            "(steps 0x0, loop 0), store bypass mitigated",
            "workaround_1 1 workaround_2 -1 workaround_3 -1 call_3 -1"),
    "cortex-a72": ("branch targets vulnerable, branch history mitigated "
                   "(steps 0x1, loop 8), store bypass vulnerable",
                   "workaround_1 -1 workaround_2 -1 workaround_3 0 call_3 0"),
}


def test_guests_are_told_the_truth_about_speculation(boot):
    r = boot.system("hvcabi")
    el2, guest = SPECTRE[boot.cpu]
    assert any(l.startswith("[el2] spectre: MIDR") and l.endswith(el2)
               for l in r.lines), r.output
    assert f"smccc: {guest}" in guest_lines(r, "hvcabi"), r.output


def bench_el2_and_loop(cpu, tmp_path):
    """EL2's instructions in one call through C (the bench's hvc_c_null,
    exact under icount) and the branch-history loop the boot chose. One
    CPU, as tools/bench boots it: its figures are one CPU's paths."""
    r = Booter(cpu, tmp_path)(pkg=os.path.join(build_dir(), "systems",
                                               "bench.pkg"), smp=1)
    el2 = re.search(r"BENCH hvc_c_null_el2_insns (\d+)", r.output)
    loop = re.search(r"\[el2\] spectre: .*\(steps 0x[0-9a-f]+, loop (\d+)\)",
                     r.output)
    assert el2 and loop, r.output
    return int(el2.group(1)), int(loop.group(1))


def test_the_speculation_steps_run_on_every_exit_that_needs_them(tmp_path):
    """The exit checks are chosen at boot (el2/arch/guest.S, one vector
    table per variant): a CPU whose boot chose the branch-history loop
    runs it on every exit, the HVC entry's included; one that needs no
    steps skips them. The same call costs the Cortex-A72 at least the
    loop's three instructions a round more than max, whose own entry
    checks less (no steps)."""
    max_el2, max_loop = bench_el2_and_loop("max", tmp_path)
    a72_el2, a72_loop = bench_el2_and_loop("cortex-a72", tmp_path)
    assert max_loop == 0 and a72_loop > 0
    assert a72_el2 - max_el2 >= 3 * a72_loop, (max_el2, a72_el2, a72_loop)
