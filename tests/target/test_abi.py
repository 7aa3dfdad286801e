"""The hypercall ABI on target (docs/abi.md): every argument check, the
traps a guest can set off, and PSCI SYSTEM_RESET."""
from conftest import expect_tap, guest_lines, no_leak, summary


def test_every_argument_check_and_trap(boot):
    r = boot.system("hvcabi")
    expect_tap(r, "hvcabi", at_least=33)
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
