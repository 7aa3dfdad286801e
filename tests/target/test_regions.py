"""libos regions and their fault handlers on target, MMU on, 4K and 64K
granules (tests/target/guests/regions): demand-zero over a large sparse
anonymous region (frames only for touched pages, zeroed, the pool grows by
exactly that), a stack region growing through its guard page to its limit,
guard regions and accesses a region forbids refused, copy-on-write inside
one address space (copy, then reuse by the last sharer), the counters in
libos's stats; and a stack overflow nobody expects: reported cleanly, the
guest exits, nothing leaks. Runs on -cpu max and cortex-a72."""
import re

from conftest import EXIT, expect_clean, expect_tap, failed_guests, \
    guest_lines, no_leak, summary

EXIT_DABT_CUR = EXIT["SYNC_BASE"] + 0x25
GUESTS = {"rg-4k": 4, "rg-64k": 64}


def test_regions_demand_zero_stack_cow(boot):
    r = boot.system("regions")
    expect_clean(r)
    rows = summary(r)
    assert set(rows) == set(GUESTS)
    for name, kib in GUESTS.items():
        assert rows[name].state == "exited" and rows[name].status == 0, \
            rows[name]
        expect_tap(r, name, at_least=23)
        lines = guest_lines(r, name)
        assert f"regions: granule {kib}K" in lines, lines
        # 16 sparse touches + the stack's first page + one read in the
        # read-only region; 3 growths; one COW copy and one reuse.
        assert "libos: region faults: 18 demand-zero, 1 cow copies, " \
            "1 cow reuses, 3 stack growths" in lines, lines
        assert "libos: region refusals: 1 stack overflows, 2 guard hits, " \
            "1 not allowed, 0 outside regions, 0 out of memory" in lines, \
            lines
        assert "libos: frames: " in "\n".join(lines)
        assert any(l.startswith("libos: frames: ") and "(0 in use" in l
                   for l in lines), lines
    no_leak(r)


def test_regions_stack_overflow_is_reported_and_exits(boot):
    r = boot.system("regions-overflow")
    rows = summary(r)
    for name, kib in (("rg-over-4k", 4), ("rg-over-64k", 64)):
        assert rows[name].status == EXIT_DABT_CUR, rows
        lines = guest_lines(r, name)
        text = "\n".join(lines)
        m = re.search(r"touching (0x[0-9a-f]+), its guard page", text)
        assert m, text
        va = int(m.group(1), 16)
        assert re.search(
            rf'^libos: stack overflow: "ostack" at its limit \({2 * kib} '
            rf'KiB, bottom 0x[0-9a-f]+\), touch at 0x{va:016x}$', text,
            re.M), text
        assert f"libos: unhandled stage-1 fault: translation fault, " \
            f"level 3, write at 0x{va:016x} from EL1" in lines, text
        assert re.search(r'region: "ostack" stack \[0x[0-9a-f]{16}, '
                         r'0x[0-9a-f]{16}\): stack overflow$', text, re.M), \
            text
        assert f"  walk 0x{va:016x} (TTBR1, ASID 0):" in lines, text
        assert "still running" not in text
        assert "exiting with status 165" in lines
        # The summary says it in words: the guest's exit carried the
        # fault address and libos's verdict.
        assert failed_guests(r)[name] == \
            f"exit status 165: unhandled data abort (same EL) at " \
            f"0x{va:x} (stack overflow past the guard)", failed_guests(r)
    no_leak(r)
