"""Consent (issue 13, rule 2): nothing lands in a guest's stage 2 or quota
without its consent. A sender offers a victim two shares, a loan and more
frames than its quota has room for, and fills its own table of offers: the
victim's charge and stage 2 do not change and its mallocs succeed; it then
accepts what it chooses and is charged in its own call (the gift that does
not fit is refused with EQUOTA and stays offered). A borrower that drops a
share loses its view, and the owner's later UNSHARE of it is harmless. The
offers made by and to a guest that ended are gone (the sender's slot is
free again)."""
from conftest import expect_tap, no_leak, summary


def test_offers_change_nothing_until_accepted(boot):
    r = boot.system("coop_consent")
    expect_tap(r, "sender", at_least=12)
    expect_tap(r, "victim", at_least=17)
    expect_tap(r, "ender", at_least=1)
    rows = summary(r)
    for g in ("sender", "victim", "ender"):
        assert rows[g].state == "exited" and rows[g].status == 0, rows[g]
    # The victim's one touch of the share it dropped; nobody else faulted.
    assert rows["victim"].violations == 1
    assert rows["sender"].violations == 0
    assert "PANIC" not in r.output
    no_leak(r)
