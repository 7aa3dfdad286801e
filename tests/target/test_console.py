"""The console is shared (issue 13, rule 6; el2/vm_console.c): a guest
that floods it (tests/target/guests/conflood) gets its line budget, a
burst and then a steady rate, and the rest of its lines are counted as
dropped; the bytes it writes that a terminal would obey are shown escaped;
its neighbour's lines all get through."""
import os
import re

import pytest
from conftest import TOP, expect_clean, guest_lines, no_leak, summary

FLOOD_LINES = 20000          # tests/target/guests/conflood
DROPPED = re.compile(r"^\((\d+) lines? dropped: over the console budget\)$")


def vm_console_constant(name):
    with open(os.path.join(TOP, "el2", "vm_console.h")) as f:
        return int(re.search(rf"^#define {name} (\d+)u?$", f.read(),
                             re.M).group(1))


@pytest.fixture
def flood(boot):
    return boot.system("conflood")


def test_every_line_is_printed_or_counted(flood):
    expect_clean(flood)
    lines = guest_lines(flood, "conflood")
    printed = [l for l in lines if not DROPPED.match(l)]
    dropped = sum(int(DROPPED.match(l).group(1)) for l in lines
                  if DROPPED.match(l))
    # The terminal line, the numbered lines, "flood done".
    assert len(printed) + dropped == 1 + FLOOD_LINES + 1, lines[-3:]
    numbers = [int(l.split()[1]) for l in printed if l.startswith("flood ")
               and l.split()[1].isdigit()]
    assert numbers == sorted(numbers), "lines kept their order"


def test_what_gets_through_is_bounded_by_the_budget(flood):
    burst = vm_console_constant("VM_CONSOLE_BURST_LINES")
    lines = guest_lines(flood, "conflood")
    assert burst <= len(lines) <= burst + burst // 2, len(lines)
    assert summary(flood)["conflood"].status == 0


def test_terminal_controls_are_escaped(flood):
    assert "[conflood] terminal: \\x1b[2J\\x1b]0;owned\\x07\\x9b31m" \
        "\\xc3\\xa9\\x7f end" in flood.lines, guest_lines(flood, "conflood")[:2]
    assert not any(c in flood.output for c in "\x1b\x07\x9b\x7f")


def test_the_neighbour_is_not_silenced(flood):
    hello = guest_lines(flood, "hello")
    assert hello and hello[0] == "hello from hello", hello
    assert not any(DROPPED.match(l) for l in hello)
    assert summary(flood)["hello"].status == 0
    no_leak(flood)


def test_uncounted_reports_stay_within_the_report_budget(boot):
    """A guest that lost frames by force touches one 5,000 times: each is
    an abort EL2 reports but does not count as a violation, so no limit
    ends it; the reports are cut to the report budget and counted, and
    the guest's own lines all get through."""
    r = boot.system("revoke_touch")
    expect_clean(r)
    burst = vm_console_constant("VM_REPORT_BURST_LINES")
    reports = [l for l in r.lines if "which EL2 took back (not counted)" in l]
    assert burst <= len(reports) <= burst + burst // 2, len(reports)
    dropped = re.search(r"guest 'defy': (\d+) reports about it dropped: "
                        r"over its report budget", r.output)
    assert dropped and len(reports) + int(dropped.group(1)) == 5000, \
        r.tail()
    assert "ok 3 - touching a revoked frame before the ack aborts " \
        "(5000 of 5000 touches)" in guest_lines(r, "defy"), r.tail()
    rows = summary(r)
    assert rows["defy"].status == 0 and rows["defy"].violations == 0, rows
    no_leak(r)
