"""CPU state stays with its guest (tests/target/guests/vcpustate): three
guests write values of their own into every register they may write
without changing how they run (EL0/EL1 thread registers, SP_EL0,
CONTEXTIDR, TTBR0_EL1's ASID, the virtual timer compare value, CNTKCTL, CSSELR, PAR,
the virtual GIC's priority mask, binary point and active priorities, FPCR/FPSR and q0-q31),
yield to one another and read them back. A register the vCPU switch
forgets shows another guest's value."""
import pytest
from conftest import expect_clean, guest_lines, no_leak, summary, tap

GUESTS = ("state-a", "state-b", "state-c")
# Registers each guest reports on, plus the SIMD line: its plan.
PLANNED = 18


@pytest.fixture
def state_run(boot):
    return boot.system("vcpustate")


@pytest.mark.parametrize("guest", GUESTS)
def test_registers_keep_their_guest_values(state_run, guest):
    expect_clean(state_run)
    passed, failed = tap(state_run, guest)
    assert not failed, f"guest '{guest}':\n" + "\n".join(failed) + \
        "\n\n" + "\n".join(guest_lines(state_run, guest))
    assert passed == PLANNED, guest_lines(state_run, guest)
    assert summary(state_run)[guest].status == 0
    no_leak(state_run)


def test_the_guests_really_switched(state_run):
    """Each guest made a yield per round, so the test compared values
    across switches (a system with one runnable guest would prove
    nothing)."""
    rows = summary(state_run)
    for g in GUESTS:
        assert rows[g].hypercalls >= 64, rows[g]


def test_active_priorities_left_behind_mask_nothing_later(boot):
    """A guest sets every active priority of both groups and exits; the
    next guest still takes EL2's event interrupt and gives frames back in
    time (with the active priorities not switched it ran masked and lost
    them by force)."""
    r = boot.system("gicprio")
    assert "[gicprio] active priorities left: group 0 0xffffffff, group 1 " \
        "0xffffffff" in r.lines, r.tail()
    assert "guest 'comply': gave back 32 frames as asked" in r.output, \
        r.tail()
    assert "guest 'comply': deadline passed" not in r.output
    rows = summary(r)
    assert rows["gicprio"].status == 0 and rows["comply"].status == 0, rows
    no_leak(r)
