"""On-target hypercall fuzzing (issue 6): two guests fire 100,000 seeded
random hypercalls in all (and at each other) at the debug EL2, which checks
every running guest's stage 2 against the frame DB after each call that can
change a mapping. Every answer must be one docs/abi.md lists, a victim must
finish untouched, and no frame may leak. The seeds are in the manifest
(tests/target/systems/hvcfuzz.dts), so a failure replays with the command
in the message."""
import re

from conftest import build_dir, guest_lines, no_leak, summary

REPLAY = "tools/run --pkg {b}/systems/hvcfuzz.pkg {b}/exo-el2-debug.elf"


def test_random_hypercalls_keep_the_invariant(boot):
    r = boot.system("hvcfuzz", timeout=240)
    replay = REPLAY.format(b=build_dir())
    rows = summary(r)
    total = 0
    for g in ("fuzz1", "fuzz2"):
        out = "\n".join(guest_lines(r, g))
        m = re.search(r"hvcfuzz: (\d+) calls, (\d+) outside the ABI", out)
        assert m, f"{g} did not finish; replay: {replay}\n{r.tail()}"
        assert m.group(2) == "0", f"{g}: {out}\nreplay: {replay}"
        assert rows[g].status == 0 and rows[g].violations == 0, rows[g]
        total += int(m.group(1))
    assert total >= 100000
    assert "checksum 0x55cb10838db61fcf, 0 bad words" in guest_lines(r, "victim")
    assert "PANIC" not in r.output, f"replay: {replay}\n{r.tail()}"
    no_leak(r)
