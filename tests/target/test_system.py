"""The default system: three guests boot from the manifest, print through
EL2, end, and EL2 prints the summary and powers off with every frame back."""
from conftest import expect_clean, guest_lines, no_leak, summary


def test_default_system(boot):
    r = boot.system("default")
    expect_clean(r)
    rows = summary(r)
    assert set(rows) == {"hello", "counter", "counter2"}
    for row in rows.values():
        assert row.state == "exited" and row.status == 0, row
        assert row.hypercalls > 0 and row.frames > 0
    assert [rows[n].vmid for n in ("hello", "counter", "counter2")] == [1, 2, 3]
    assert rows["counter"].heap == "buddy" and rows["counter2"].heap == "slab"
    assert "hello from hello" in guest_lines(r, "hello")
    assert "[el2] result: 3 of 3 guests succeeded" in r.lines
    no_leak(r)


def test_release_build_runs_the_default_system(boot):
    r = boot.system("default", kernel="exo-el2.elf")
    expect_clean(r)
    assert "debug:" not in r.output
    assert "[el2] result: 3 of 3 guests succeeded" in r.lines


def test_debug_build_checks_invariants(boot):
    r = boot.system("default")
    assert "debug: frame DB self-test passed" in r.output
