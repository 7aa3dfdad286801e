"""CPU state stays with its guest (tests/target/guests/vcpustate): three
guests write values of their own into every register they may write
without changing how they run (EL0/EL1 thread registers, SP_EL0,
CONTEXTIDR, TTBR0_EL1's ASID, the virtual timer compare value, CNTKCTL, CSSELR, PAR,
the virtual GIC's priority mask, binary point and active priorities, FPCR/FPSR and q0-q31),
yield to one another and read them back. A register the vCPU switch
forgets shows another guest's value."""
import re

import pytest
from conftest import (expect_clean, guest_lines, no_leak, summary, tap,
                      tool_module)

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


# --- the inventory's differential test (include/arch/vcpu_state.def) ------

DIFF_GUESTS = ("reader", "writer")


def inventory():
    """The rows of include/arch/vcpu_state.def, as tools/vcpu-state reads
    them: {name: row dict}."""
    return {r["name"]: r for r in tool_module("vcpu-state").rows()}


def readings(result, guest):
    """{row: value or 'undef'} from a vcpudiff guest's `state` lines."""
    out = {}
    for line in guest_lines(result, guest):
        m = re.match(r"state (\S+) (\S+)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


@pytest.fixture
def diff_runs(boot):
    return boot.system("vcpudiff"), boot.system("vcpudiff_alone")


def test_no_row_carries_a_marker_to_the_next_guest(diff_runs):
    """The writer leaves a marker in every writable row of the inventory,
    yields and restarts; the reader (the next guest on the CPU) and the
    writer's second life (a vCPU started afterwards) read every row: each
    checks in the guest that rows starting at zero are zero, that refused
    rows are undefined, and that nothing moves under it."""
    run, _ = diff_runs
    expect_clean(run)
    for g in DIFF_GUESTS:
        passed, failed = tap(run, g)
        assert not failed, f"guest '{g}':\n" + "\n".join(failed) + \
            "\n\n" + "\n".join(guest_lines(run, g)[:80])
        assert summary(run)[g].status == 0
    assert "guest 'writer' restarted with fresh frames" in run.output
    no_leak(run)


def test_every_row_reads_as_in_a_guest_that_ran_alone(diff_runs):
    """Every readable row reads the same in the reader that ran beside the
    writer as in the same reader alone, and so does the writer's second
    life, but for the rows its own code sets (its exception records)."""
    run, alone = diff_runs
    rows = inventory()
    base = readings(alone, "reader")
    assert len(base) > 250, alone.tail()
    for g in DIFF_GUESTS:
        got = readings(run, g)
        own = {n for n, r in rows.items() if r["reset"] == "GUEST"} \
            if g == "writer" else set()
        diff = [f"{n}: alone {base[n]}, here {got.get(n)}"
                for n in base if n not in own and got.get(n) != base[n]]
        assert not diff, f"guest '{g}':\n" + "\n".join(diff)


def test_the_inventory_document_is_generated_from_the_rows():
    """docs/vcpu-state.md is what tools/vcpu-state makes of the rows."""
    doc = tool_module("vcpu-state")
    assert open(doc.DOC).read() == doc.render(doc.rows()), \
        "docs/vcpu-state.md is stale: run tools/vcpu-state --write"


def test_the_document_says_what_each_cpu_has(diff_runs, cpu):
    """The max and a72 columns of docs/vcpu-state.md are the features the
    guest found on that CPU."""
    _, alone = diff_runs
    doc = tool_module("vcpu-state")
    found = {line.split()[1] for line in guest_lines(alone, "reader")
             if line.startswith("feature ")}
    assert found == {f for f in doc.CPU_MODELS[cpu]
                     if not f.startswith(doc.EL2_ONLY)}
