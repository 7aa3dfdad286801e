"""tools/memmap on a recorded snapshot (tests/target/data/snapshot-default.log,
`make run SNAPSHOT=1` of guests/default.dts): no QEMU. The range
arithmetic, joining EL2's view with each guest's own memuse report, and
what it does with a guest that lies or prints garbage."""
import os
import subprocess

import pytest

from conftest import TOP, tool_module

LOG = os.path.join(os.path.dirname(__file__), "data", "snapshot-default.log")
PAGE = 4096




mm = tool_module("memmap")


def recorded(extra=(), drop=lambda line: False):
    with open(LOG) as f:
        lines = [l for l in f if not drop(l)]
    snap = mm.Snapshot()
    assert snap.parse(list(extra) + lines)
    return snap


def test_ranges_merge_and_sort():
    assert mm.ranges([(0x3000, 1), (0x1000, 2), (0x8000, 0)]) == \
        [(0x1000, 0x4000)]


@pytest.mark.parametrize("a,b,both,a_not_b", [
    ([(0, 10)], [(2, 4), (6, 8)], [(2, 4), (6, 8)], [(0, 2), (4, 6), (8, 10)]),
    ([(0, 4), (6, 10)], [(3, 7)], [(3, 4), (6, 7)], [(0, 3), (7, 10)]),
    ([(0, 4)], [(4, 8)], [], [(0, 4)]),
    ([(2, 4)], [(0, 10)], [(2, 4)], []),
    ([], [(0, 1)], [], []),
])
def test_intersect_and_subtract(a, b, both, a_not_b):
    assert mm.intersect(a, b) == both
    assert mm.subtract(a, b) == a_not_b


def test_el2_parts_add_up_to_its_frames():
    s = mm.summary(recorded())
    assert s["hyp_stray"] == 0 and "unnamed" not in s["hyp"]
    assert sum(s["hyp"].values()) == s["totals"]["hyp"] == 2500
    assert s["hyp"]["boot-pkg"] == 438 and "revoke-reserve" not in s["hyp"]


def test_guest_uses_join_el2_and_the_guest():
    s = mm.summary(recorded())
    slab = s["guests"]["heap-slab"]
    assert slab["uses"] == {"image": 100, "dtb": 2, "boot-frames": 64,
                            "s1-tables": 16, "heap": 140, "pool-free": 4,
                            "s2-tables": 6}
    for g in s["guests"].values():
        assert sum(g["uses"].values()) == g["held"]
        assert g["reported"] and g["rejected"] == 0 and g["bad_lines"] == 0


def test_a_lying_guest_is_believed_only_about_its_own_frames():
    """hello claims EL2's frame DB and counter's image as its heap, and
    one of its own boot frames as a table: none of it counts."""
    lies = ["[hello] memuse: 0x4030a000 8 heap\n",      # EL2's frame DB
            "[hello] memuse: 0x4054b000 4 heap\n",      # counter's image
            "[hello] memuse: 0x40166000 1 s1-tables\n",  # EL2 labelled it
            "[hello] memuse: 0x401e6000 16 gold\n"]     # no such use
    s = mm.summary(recorded(extra=lies))
    hello = s["guests"]["hello"]
    assert hello["rejected"] == 8 + 4 + 1 + 16
    assert hello["uses"]["s1-tables"] == 16 and "heap" not in hello["uses"]
    assert sum(hello["uses"].values()) == hello["held"]
    assert s["guests"]["counter"]["uses"]["image"] == 100


def test_garbage_from_a_guest_is_counted_not_fatal():
    junk = ["[hello] memuse: 0xzz 1 heap\n", "[hello] memuse: total x y z\n",
            "[hello] memuse: \x1b[31m\n"]
    s = mm.summary(recorded(extra=junk))
    assert s["guests"]["hello"]["bad_lines"] == 3


def test_a_guest_that_says_nothing_is_unreported():
    s = mm.summary(recorded(drop=lambda l: l.startswith("[heap-tlsf] ")))
    g = s["guests"]["heap-tlsf"]
    assert not g["reported"]
    assert g["uses"]["unreported"] == 32 + 16 + 64
    assert sum(g["uses"].values()) == g["held"]


def run_tool(tmp_path, log_text):
    log = tmp_path / "console.log"
    log.write_text(log_text)
    svg = tmp_path / "m.svg"
    return subprocess.run([os.path.join(TOP, "tools", "memmap"), "-o",
                           str(svg), str(log)], capture_output=True,
                          text=True), svg


def test_tool_prints_the_split_and_fails_on_a_missing_el2_part(tmp_path):
    with open(LOG) as f:
        text = f.read()
    p, svg = run_tool(tmp_path, text)
    assert p.returncode == 0, p.stderr
    assert "heap-slab (vm 5): image 100, dtb 2, boot-frames 64, " \
        "s1-tables 16*, heap 140*, pool-free 4*, s2-tables 6 = 332 of 332 " \
        "held" in p.stdout
    assert svg.with_suffix(".png").exists()
    p, _ = run_tool(tmp_path, text.replace(
        "[el2] snap: hyp 0x40309000 5 stack\n", ""))
    assert p.returncode == 1
    assert "miss 5" in p.stderr


def test_only_the_last_report_counts():
    """A guest that reported, then (restarted) reported again: the first
    report is dropped, not held against the second."""
    old = ["[hello] memuse: 0x7f000000 4 heap\n",
           "[hello] memuse: total s1-tables 0 heap 4 region-pages 0 "
           "pool-free 0 untracked 0\n"]
    s = mm.summary(recorded(extra=old))
    assert s["guests"]["hello"]["rejected"] == 0
    assert s["guests"]["hello"]["uses"]["s1-tables"] == 16
