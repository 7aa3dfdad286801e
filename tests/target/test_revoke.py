"""Visible revocation, guest side (issue 5): EL2's event interrupt reaches
libos through the virtual GIC; a compliant guest's pool gives frames back
when asked; a guest that masks the interrupt loses them by force, touches
one before acknowledging (an abort, not a violation), then repairs its pool
(REVOKED, REVOKED_ACK) and finishes. No frame leaks."""
from conftest import expect_tap, guest_lines, no_leak, summary


def test_compliant_guest_gives_back_and_defiant_guest_loses_by_force(boot):
    r = boot.system("revoke")
    expect_tap(r, "comply", at_least=7)
    expect_tap(r, "defy", at_least=10)
    assert "guest 'comply': asked to give back 32 frames" in r.output
    assert "guest 'comply': gave back 32 frames as asked" in r.output
    assert "guest 'comply': deadline passed" not in r.output
    assert ("guest 'defy': deadline passed; EL2 took 24 of 24 frames by "
            "force") in r.output
    assert "which EL2 took back (not counted)" in r.output
    rows = summary(r)
    for g in ("comply", "defy"):
        assert rows[g].state == "exited" and rows[g].status == 0, rows[g]
        assert rows[g].violations == 0, rows[g]
    lines = guest_lines(r, "defy")
    assert any("EL2 took 24 frames in" in l and "1 ack(s)" in l
               for l in lines), lines
    no_leak(r)


def test_a_restart_starts_with_fresh_revocation_state(boot):
    """A guest loses frames by force and asks for SYSTEM_RESET before it
    acknowledges: its second life has no run taken (so its touches would
    count again), no revocation event pending, and the schedule does not
    ask again."""
    r = boot.system("revoke_restart")
    expect_tap(r, "reset", at_least=4)
    assert r.output.count("guest 'reset': asked to give back") == 1, r.tail()
    assert "guest 'reset' restarted with fresh frames" in r.output
    rows = summary(r)
    assert rows["reset"].state == "exited" and rows["reset"].status == 0
    no_leak(r)
