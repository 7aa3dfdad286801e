"""On-target hypercall fuzzing (issues 6 and 17): two guests fire 100,000
seeded random hypercalls in all (and at each other) at the debug EL2, which
checks every running guest's stage 2 against the frame DB after each call
that can change a mapping. Each guest predicts every status from its own
model of what it holds (tests/target/guests/hvcfuzz/model.c): a status
outside the prediction is a TAP failure naming the call. Most predictions
must be exact (one status), a victim must finish untouched, EL2 must have
checked after every memory call the guests made, and no frame may leak.
The seeds are in the manifest (tests/target/systems/hvcfuzz.dts) and the
run is in virtual time, so a failure replays exactly with the command in
the message (test_replay.py shows it for a failing run)."""
import re

from conftest import guest_lines, no_leak, summary, tap

MEMORY_CALLS = re.compile(r"hvcfuzz: (\d+) memory calls, (\d+) predicted "
                          r"exactly, (\d+) mismatches")
EL2_ROUNDS = re.compile(r"debug: stage-2 invariant checked after (\d+) "
                        r"memory hypercalls")
# Of all calls, at least this share must be predicted as one status (91 %
# measured with the manifest's seeds).
EXACT_FLOOR = 0.8


def test_random_hypercalls_keep_the_invariant(boot):
    r = boot.system("hvcfuzz", timeout=600)
    replay = r.replay
    rows = summary(r)
    total = memory = 0
    for g in ("fuzz1", "fuzz2"):
        out = "\n".join(guest_lines(r, g))
        m = re.search(r"hvcfuzz: (\d+) calls, (\d+) outside the ABI", out)
        assert m, f"{g} did not finish; replay: {replay}\n{r.tail()}"
        assert m.group(2) == "0", f"{g}: {out}\nreplay: {replay}"
        passed, failed = tap(r, g)
        assert not failed and passed == 1, \
            f"{g}: " + "\n".join(failed) + f"\nreplay: {replay}"
        calls = int(m.group(1))
        pred = MEMORY_CALLS.search(out)
        assert pred and pred.group(3) == "0", f"{g}: {out}\nreplay: {replay}"
        assert int(pred.group(2)) >= EXACT_FLOOR * calls, pred.group(0)
        assert rows[g].status == 0 and rows[g].violations == 0, rows[g]
        total += calls
        memory += int(pred.group(1))
    assert total >= 100000
    rounds = EL2_ROUNDS.search(r.output)
    assert rounds and int(rounds.group(1)) > memory, r.tail()
    assert "checksum 0x55cb10838db61fcf, 0 bad words" in guest_lines(r, "victim")
    assert "PANIC" not in r.output, f"replay: {replay}\n{r.tail()}"
    no_leak(r)
