"""Fault injection (issue 6): EL2 makes a guest's frame calls fail, starves
it, interrupts and aborts it for nothing, flips bits in its registers and
memory. Each faulty guest is contained (it reports and exits, or EL2 tears
it down), the victims finish with their usual results, no frame leaks, and
a run replays exactly from the seed EL2 prints (tests/target/test_replay.py
compares a replay's whole console with the original)."""
import pytest
from conftest import guest_lines, no_leak, summary


@pytest.fixture(params=["exo-el2-debug.elf", "exo-el2.elf"],
                ids=["debug-el2", "release-el2"])
def el2(request):
    """Every fault campaign runs on the debug EL2 (invariant checks on) and
    on the release EL2 users boot (issue 17)."""
    return request.param

SEED = "0x5eed0f17"
COUNTER_SUM = "checksum 0x55cb10838db61fcf, 0 bad words"
FAULTY = ("flaky", "starved", "noisy", "regflip", "memflip")


def test_injected_faults_are_contained(el2, boot):
    r = boot.system("faults", kernel=el2, append=f"exo.fault-seed={SEED}", timeout=60)
    rows = summary(r)
    assert f"[el2] fault injection: seed {SEED} (replay: tools/run --append " \
           f"exo.fault-seed={SEED}" in r.output
    assert COUNTER_SUM in guest_lines(r, "victim1")
    assert rows["victim1"].status == 0 and rows["victim2"].status == 0
    for g in FAULTY:
        assert rows[g].state in ("exited", "killed"), rows[g]
    # Frame exhaustion: its library OS could not start, and said so.
    assert rows["starved"].status != 0
    assert "[el2] guest 'regflip': injected: flipped bit" in r.output
    assert "[el2] guest 'memflip': injected: flipped bit" in r.output
    no_leak(r)


def test_delayed_and_dropped_revocation_notices(el2, boot):
    r = boot.system("revoke_faults", kernel=el2, timeout=90)
    out = r.output
    # Delayed: the notice arrives late, the guest still gives the frames back.
    assert "[el2] guest 'late': injected: the notice is delayed 60 ms" in out
    assert out.index("notice is delayed") < \
        out.index("[el2] guest 'late': gave back 32 frames as asked")
    # Dropped: it never hears, and loses them by force at the deadline.
    assert "[el2] guest 'deaf': injected: the notice is dropped" in out
    assert "[el2] guest 'deaf': deadline passed; EL2 took 32 of 32 frames " \
           "by force" in out
    rows = summary(r)
    assert rows["late"].status == 0
    assert rows["deaf"].state in ("exited", "killed")
    no_leak(r)
