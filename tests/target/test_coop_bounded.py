"""Issue 13, rule 5: no call holds EL2 for long (docs/memory-model.md,
"Rule 5: bounded work"). A victim guest reads its counter back to back and
reports the longest gap between two reads (tests/target/guests/coopgap/)
beside a guest that spins, and beside a hog with a 200,000-frame quota that
allocates and frees 190,000 frames at a time, restarts holding them and
exits holding them. Under -icount shift=0 the counter follows instructions,
so the gap is the same on every run of one build, idle or loaded.

Before the bounded calls and the teardown in slices the hog kept the
victim off the CPU for 118.3 ms = 11.82 slices of 10 ms (a FRAME_FREE of
190,000 frames, 114 ms); after, 1.03 slices (docs/performance.md)."""
import re

from conftest import expect_clean, guest_lines, no_leak, summary

RELEASE = "exo-el2.elf"
SLICE_US = 10000
# The victim shares the CPU with one other guest: one slice of the other's
# is the floor (the spinner's gap is that). The promise is two
# slices; the test allows four, so a change of a few hundred microseconds
# in a path never fails it, but a call or teardown that stopped being
# bounded (11.82 slices before) does.
GAP_SLICES_MAX = 4
GAP = re.compile(r"coopgap: victim: worst gap (\d+) ticks = (\d+) us = "
                 r"(\d+)\.(\d+) slices of (\d+) us")
HOG = re.compile(r"coopgap: hog: life (\d+): (\d+) rounds of (\d+) frames, "
                 r"status (-?\d+)")


def worst_gap_us(r):
    gaps = [GAP.match(l) for l in guest_lines(r, "victim")]
    gaps = [m for m in gaps if m]
    assert len(gaps) == 1, r.tail()
    assert int(gaps[0].group(5)) == SLICE_US
    return int(gaps[0].group(2))


def hog_lives(r):
    lives = [HOG.match(l) for l in guest_lines(r, "hog")]
    return [(int(m.group(1)), int(m.group(4))) for m in lives if m]


def all_exited(r):
    rows = summary(r)
    assert {n: (g.state, g.status) for n, g in rows.items()} == \
        {n: ("exited", 0) for n in rows}, r.tail()


def test_victim_gap_beside_a_spinner_is_one_slice(boot):
    r = boot.system("coop_gap_spin", kernel=RELEASE)
    expect_clean(r)
    all_exited(r)
    gap = worst_gap_us(r)
    # The spinner's whole slice, and no more than a tick of EL2 work.
    assert SLICE_US <= gap < SLICE_US * 11 // 10, r.tail()


def test_victim_gap_beside_a_large_quota_freeing_and_restarting(boot):
    r = boot.system("coop_gap_hog", kernel=RELEASE, timeout=120)
    expect_clean(r)
    all_exited(r)
    no_leak(r)
    assert hog_lives(r) == [(0, 0), (1, 0)], r.tail()
    assert "guest 'hog' restarted with fresh frames" in r.output
    gap = worst_gap_us(r)
    assert gap <= GAP_SLICES_MAX * SLICE_US, \
        f"victim kept off the CPU for {gap} us; replay: {r.replay}"


def test_teardown_in_slices_keeps_the_invariant(boot):
    """The debug EL2 checks every running guest's stage 2 against the DB
    after each teardown step too: a step that left them apart panics."""
    r = boot.system("coop_gap_small", timeout=300)
    expect_clean(r)
    all_exited(r)
    no_leak(r)
    assert hog_lives(r) == [(0, 0), (1, 0)], r.tail()
    assert "stage-2 invariant checked after every memory hypercall" \
        in r.output
