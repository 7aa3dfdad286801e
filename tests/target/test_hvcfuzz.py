"""On-target hypercall fuzzing (issue 6): two guests fire 100,000 seeded
random hypercalls in all (and at each other) at the debug EL2, which checks
every running guest's stage 2 against the frame DB after each call that can
change a mapping. Every answer must be one docs/abi.md lists, a victim must
finish untouched, and no frame may leak. The seeds are in the manifest
(tests/target/systems/hvcfuzz.dts) and the run is in virtual time, so a
failure replays exactly with the command in the message (test_replay.py
shows it for a failing run)."""
import re

from conftest import guest_lines, no_leak, summary


def test_random_hypercalls_keep_the_invariant(boot):
    r = boot.system("hvcfuzz", timeout=600)
    replay = r.replay
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
