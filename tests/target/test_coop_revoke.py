"""Issue 13, rules 3 and 4 on target (revocation): every fault a guest
causes counts. Touches of frames taken from a guest before it acknowledged
are excused (reflected, not violations) but counted apart, against the
manifest's excused-touch-limit; a guest that touches them forever is
stopped. The host tests (tests/host/test_revoke_reach.c) cover revocation
reaching shared and lent frames, requests as a level of the charge and the
borrower's RECLAIMED list."""
import re

from conftest import expect_tap, guest_lines, no_leak, summary

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


def test_sharing_does_not_dodge_revocation(boot):
    """The hoarder shares 192 frames (the sink accepts) and ignores a
    request for 160: EL2
    takes what it owns outright (its libos's 16 frames), then 144 shared
    frames (before, only owned frames were taken: 16 of 160). The sink is
    told and its libos acknowledges. The hoarder lost its libos's stage-1
    tables with its owned frames, so it cannot run its handlers: the
    excused-touch limit stops it, with no violation counted."""
    r = boot.system("coop_revoke_share")
    expect_tap(r, "sink", at_least=6)
    assert guest_lines(r, "hoarder")[:3] == [
        "ok 1 - allocated 192 frames", "ok 2 - shared them all with the sink",
        "ok 3 - told the sink"], r.tail()
    assert ("guest 'hoarder': deadline passed; EL2 took 160 of 160 frames "
            "by force") in r.output, r.tail()
    assert "ok 5 - lost 192 shared frames, told and acknowledged" in \
        guest_lines(r, "sink"), r.tail()
    rows = summary(r)
    assert rows["sink"].state == "exited" and rows["sink"].status == 0
    assert rows["hoarder"].state == "killed", rows["hoarder"]
    assert "guest 'hoarder' torn down: excused-touch limit reached" in \
        r.output
    for g in ("hoarder", "sink"):
        assert rows[g].violations == 0, rows[g]
    no_leak(r)


def test_freeing_and_allocating_again_gives_nothing_back(boot):
    r = boot.system("coop_revoke_churn")
    expect_tap(r, "churn", at_least=6)
    assert "guest 'churn': gave back" not in r.output, r.tail()
    assert ("guest 'churn': deadline passed; EL2 took 32 of 32 frames by "
            "force") in r.output, r.tail()
    rows = summary(r)
    assert rows["churn"].state == "exited" and rows["churn"].status == 0
    no_leak(r)


def test_a_borrower_touching_a_reclaimed_frame_survives_and_is_told(boot):
    r = boot.system("coop_revoke_reclaim")
    expect_tap(r, "lender", at_least=6)
    expect_tap(r, "user", at_least=13)
    assert re.search(r"guest 'user': read of PA 0x[0-9a-f]+, which its "
                     r"owner took back \(not counted\) \[excused 1/64\]",
                     r.output), r.tail()
    rows = summary(r)
    for g in ("lender", "user"):
        assert rows[g].state == "exited" and rows[g].status == 0, rows[g]
    assert rows["user"].violations == 0, rows["user"]
    no_leak(r)
