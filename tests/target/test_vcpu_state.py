"""CPU state stays with its guest (tests/target/guests/vcpustate): three
guests write values of their own into every register they may write
without changing how they run (EL0/EL1 thread registers, SP_EL0,
CONTEXTIDR, TTBR0_EL1's ASID, the virtual timer compare value, CNTKCTL, CSSELR, MDSCR, PAR,
the virtual GIC's priority mask and binary point, FPCR/FPSR and q0-q31),
yield to one another and read them back. A register the vCPU switch
forgets shows another guest's value."""
import pytest
from conftest import expect_clean, guest_lines, no_leak, summary, tap

GUESTS = ("state-a", "state-b", "state-c")
# Registers each guest reports on, plus the SIMD line: its plan.
PLANNED = 16


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
