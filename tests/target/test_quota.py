"""Frame quotas, from inside guests (tests/target/guests/quota): over-quota
allocations fail with EXO_EQUOTA and change nothing, the guest keeps going
up to its cap, VM_INFO's numbers follow every step, and each malformed
memory call gets its documented error (docs/abi.md). Two copies with
different quotas run beside hello, which must not notice them."""
from types import SimpleNamespace

import pytest
from conftest import expect_clean, guest_lines, no_leak, summary, tap

QUOTAS = {"quota": 256, "quota-big": 1024}
# Tests each quota guest reports (its plan); a change to the guest that
# drops some must show here.
PLANNED = 38
TABLE_SLACK = 8    # stage-2 table pages EL2 may hold back near the cap


@pytest.fixture
def quota_run(boot):
    return boot.system("quota")


@pytest.mark.parametrize("guest", sorted(QUOTAS))
def test_quota_guest_tap(quota_run, guest):
    passed, failed = tap(quota_run, guest)
    assert not failed, f"guest '{guest}':\n" + "\n".join(failed) + \
        "\n\n" + "\n".join(guest_lines(quota_run, guest))
    assert passed == PLANNED, guest_lines(quota_run, guest)


def test_quota_system(quota_run):
    r = quota_run
    expect_clean(r)
    rows = summary(r)
    assert set(rows) == set(QUOTAS) | {"hello"}
    for name, row in rows.items():
        assert row.state == "exited" and row.status == 0, row
    for name, quota in QUOTAS.items():
        # The summary's frames column is the peak: the guest filled its
        # quota, up to the table pages EL2 keeps in reserve, never beyond.
        assert quota - TABLE_SLACK <= rows[name].frames <= quota, rows[name]
        assert f"1..{PLANNED}" in guest_lines(r, name)
    assert "hello from hello" in guest_lines(r, "hello")
    assert any(l.startswith("vm info: id 3, quota 512 frames, ")
               for l in guest_lines(r, "hello")), guest_lines(r, "hello")
    assert "[el2] result: 3 of 3 guests succeeded" in r.lines
    no_leak(r)


# --- the TAP reader itself (no QEMU) --------------------------------------

def console(*lines):
    return SimpleNamespace(lines=list(lines))


def test_tap_reader():
    ok = console("[g] # start", "[g] ok 1 - a", "[h] not ok 1 - other guest",
                 "[g] ok 2 - b # SKIP no peer", "[g] not ok 3 - c # TODO later",
                 "[g] 1..3")
    assert tap(ok, "g") == (3, [])
    bad = console("[g] 1..3", "[g] ok 1 - a", "[g] not ok 2 - b",
                  "[g] ok 3 - c")
    assert tap(bad, "g") == (2, ["not ok 2 - b"])
    died = console("[g] ok 1 - a", "[g] ok 2 - b")
    passed, failed = tap(died, "g")
    assert passed == 2 and len(failed) == 1 and "no plan" in failed[0]
    short = console("[g] 1..3", "[g] ok 1 - a")
    assert "planned 3 tests, ran 1" in tap(short, "g")[1][0]
    skipped = console("[g] ok 1 - a", "[g] ok 3 - c", "[g] 1..2")
    assert "numbered 3" in tap(skipped, "g")[1][0]
