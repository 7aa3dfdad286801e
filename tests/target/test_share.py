"""Frames between guests (issue 5): share R and RW, unshare with immediate
revocation, lend and reclaim, donate with the quota moving, notify/wait,
the refusals, and teardown of an owner with a live share."""
from conftest import expect_tap, no_leak, summary


def test_share_lend_donate_notify(boot):
    r = boot.system("share")
    expect_tap(r, "owner", at_least=23)
    expect_tap(r, "borrower", at_least=14)
    rows = summary(r)
    for g in ("owner", "borrower", "other"):
        assert rows[g].state == "exited" and rows[g].status == 0, rows[g]
    # The owner touched its lent frame once; the borrower wrote the R share,
    # then read the unshared, the reclaimed and the revoked frames.
    assert rows["owner"].violations == 1
    assert rows["borrower"].violations == 4
    assert "(permission fault, level 3)" in r.output   # the R share write
    no_leak(r)
