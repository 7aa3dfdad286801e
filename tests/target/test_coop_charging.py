"""Guests that act together against EL2's resources (issue 13, rule 1:
whoever acts, pays, within its own quota; docs/memory-model.md). Three
borrowers hold 2 MiB blocks made of their own frames and an owner's; the
owner takes frames back from the middle of blocks while the borrowers sit
at their quotas, then exits after a hog (quota above RAM) has taken every
FREE frame, so each borrower's remaining blocks must be split with no FREE
frame anywhere. And one guest sharing all it can does not stop another
pair from sharing."""
from conftest import expect_tap, no_leak, summary


def test_owner_ends_with_ram_gone_and_borrowers_at_quota(boot):
    # The release EL2: the debug one checks the stage-2 invariant over every
    # mapped page after each call, 45 s of QEMU CPU for a hog holding all
    # of RAM. A panic or a charge above a quota shows in both.
    r = boot.system("coop_charging", kernel="exo-el2.elf")
    assert "PANIC" not in r.output
    expect_tap(r, "owner", at_least=13)
    for b in ("b1", "b2", "b3"):
        expect_tap(r, b, at_least=17)
    expect_tap(r, "hog", at_least=3)
    rows = summary(r)
    for g in ("owner", "b1", "b2", "b3", "hog"):
        assert rows[g].state == "exited" and rows[g].status == 0, rows[g]
    for b in ("b1", "b2", "b3"):
        # The frame taken back, then the owner's half after its end.
        assert rows[b].violations <= 2, rows[b]
    assert "reserve" not in r.output
    no_leak(r)


def test_sharing_everything_leaves_other_pairs_able_to_share(boot):
    r = boot.system("coop_share_all")
    expect_tap(r, "share-all", at_least=2)
    expect_tap(r, "pair-a", at_least=4)
    expect_tap(r, "pair-b", at_least=2)
    rows = summary(r)
    for g in ("share-all", "taker", "pair-a", "pair-b"):
        assert rows[g].state == "exited" and rows[g].status == 0, rows[g]
    no_leak(r)
