"""Issue 13, rules 3 and 4 on target (revocation): every fault a guest
causes counts. Touches of frames taken from a guest before it acknowledged
are excused (reflected, not violations) but counted apart, against the
manifest's excused-touch-limit; a guest that touches them forever is
stopped. The host tests (tests/host/test_revoke_reach.c) cover revocation
reaching shared and lent frames, requests as a level of the charge and the
borrower's RECLAIMED list."""
import re

from conftest import no_leak, summary

DEFAULT_EXCUSED_LIMIT = 64


def test_a_guest_touching_taken_frames_forever_is_stopped(boot):
    r = boot.system("coop_revoke_touch")
    assert ("guest 'defy': deadline passed; EL2 took 24 of 24 frames by "
            "force") in r.output, r.tail()
    excused = [int(m.group(1)) for m in re.finditer(
        r"guest 'defy': \w+ of PA 0x[0-9a-f]+, which EL2 took back "
        r"\(not counted\) \[excused (\d+)/64\]", r.output)]
    assert excused and excused == sorted(excused), r.tail()
    assert max(excused) <= DEFAULT_EXCUSED_LIMIT, excused
    assert (f"taken back: more than {DEFAULT_EXCUSED_LIMIT} such touches"
            in r.output), r.tail()
    rows = summary(r)
    assert rows["defy"].state == "killed", rows["defy"]
    assert rows["defy"].violations == 0, rows["defy"]
    assert "excused-touch limit reached" in r.output, r.tail()
    no_leak(r)
