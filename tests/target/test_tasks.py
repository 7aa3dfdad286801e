"""EL0 tasks on target (tests/target/guests/tasks, systems/tasks.dts): tasks
run at EL0 in TTBR0 address spaces with ASIDs and make system calls; bad
arguments come back as errors; a faulting task is killed with a report
(task id, address, ESR decoded, table walk) and the guest goes on; 20 live
address spaces with 4-bit (and 3-bit) ASIDs keep their memory apart across
roll-overs; clone shares pages copy-on-write; PAN stops the library OS's
plain loads of task memory (FEAT_PAN; absent on cortex-a72)."""
import re

from conftest import expect_clean, expect_tap, guest_lines, no_leak, summary

GUESTS = ("tasks-4k", "tasks-asid4", "tasks-64k")


def test_tasks(boot):
    r = boot.system("tasks", timeout=120)
    expect_clean(r)
    rows = summary(r)
    assert set(rows) == set(GUESTS), rows
    for name in GUESTS:
        assert rows[name].state == "exited" and rows[name].status == 0, \
            rows[name]
        expect_tap(r, name, at_least=14)
        lines = guest_lines(r, name)
        text = "\n".join(lines)
        assert "hello from EL0" in lines, text
        # The NULL write: libos's report with the TTBR0 walk, then el1's.
        assert re.search(r"libos: unhandled stage-1 fault: translation "
                         r"fault, level \d, write at 0x0000000000000000 "
                         r"from EL0", text), text
        assert re.search(r"walk 0x0000000000000000 \(TTBR0, ASID \d+\):",
                         text), text
        assert re.search(r"task \d+ killed: data abort \(lower EL\) at "
                         r"0x0000000000000000, pc 0x0000000000", text), text
        assert re.search(r"ESR 0x920000\w\w: EC 0x24 data abort \(lower "
                         r"EL\); translation fault, level \d, write", text)
        assert re.search(r"task \d+ killed: unknown reason", text), text
        asid = [l for l in lines if l.startswith("asid: ")]
        assert asid, text
        if name == "tasks-4k":
            # The CPU's width, as ID_AA64MMFR0_EL1 says (QEMU's
            # cortex-a72 reports 16 bits, though the real part has 8).
            m = re.search(r"tasks: init \((\d+)-bit ASIDs, CPU has (\d+)\)",
                          text)
            assert m and m.group(1) == m.group(2), text
            assert m.group(1) in ("8", "16"), text
            assert asid[0].startswith(f"asid: {m.group(1)} bits"), asid
            assert " 0 roll-overs" in asid[0], asid
        else:
            bits = 4 if name == "tasks-asid4" else 3
            assert asid[0].startswith(f"asid: {bits} bits"), asid
            assert not re.search(r" 0 roll-overs", asid[0]), asid
        if boot.cpu == "max":
            assert any("PAN: the library OS's plain load" in l
                       for l in lines), text
        else:
            assert "pan: absent (ID_AA64MMFR1_EL1.PAN = 0)" in lines
    no_leak(r)
