"""The default system: hello, counter and three heapwork guests (tlsf, buddy,
slab) boot from the manifest, print through EL2 and end; the heapwork guests
agree on the workload's checksum and print their heap stats; EL2 prints the
summary and powers off with every frame back."""
import os
import re

from conftest import TOP, expect_clean, guest_lines, no_leak, summary

GUESTS = ("hello", "counter", "heap-tlsf", "heap-buddy", "heap-slab", "primes")
HEAPWORK = {"heap-tlsf": "tlsf", "heap-buddy": "buddy", "heap-slab": "slab"}
CHECKSUM = re.compile(r"^checksum (0x[0-9a-f]{16})$")
# Stage-1 table pages libos holds: its MMU is on, so never 0.
TABLE_PAGES = re.compile(r"^libos: table pages: [1-9]\d*$")


def checksum(lines):
    sums = [m.group(1) for m in map(CHECKSUM.match, lines) if m]
    assert len(sums) == 1, lines
    return sums[0]


def test_default_system(boot):
    r = boot.system("default")
    expect_clean(r)
    rows = summary(r)
    assert set(rows) == set(GUESTS)
    for row in rows.values():
        assert row.state == "exited" and row.status == 0, row
        assert row.hypercalls > 0 and row.frames > 0
    assert [rows[n].vmid for n in GUESTS] == [1, 2, 3, 4, 5, 6]
    for name, policy in HEAPWORK.items():
        assert rows[name].heap == policy
    assert "hello from hello" in guest_lines(r, "hello")
    # Four vCPUs (cpus = <4>), each counted its share.
    assert "primes: 4 vCPUs counted 148933 primes below 2000000: right" \
        in guest_lines(r, "primes")
    assert len([l for l in guest_lines(r, "primes")
                if re.match(r"primes: vCPU \d counted [1-9]", l)]) == 4
    assert f"[el2] result: {len(GUESTS)} of {len(GUESTS)} guests succeeded" \
        in r.lines
    no_leak(r)


def test_default_heapwork_guests_agree(boot):
    r = boot.system("default")
    expect_clean(r)
    sums = set()
    for name, policy in HEAPWORK.items():
        lines = guest_lines(r, name)
        assert "heapwork: ok (0 errors)" in lines, lines
        sums.add(checksum(lines))
        heap = [l for l in lines if l.startswith(f"libos: heap {policy}: ")]
        assert any("B in use" in l and "fragmentation" in l for l in heap)
        assert any("footprint" in l for l in heap)
        assert any(l.startswith("libos: frames: ") for l in lines)
        # The guest's MMU is on: its stage-1 tables are counted, not 0.
        assert any(TABLE_PAGES.match(l) for l in lines), lines
    assert len(sums) == 1, f"policies disagree on the checksum: {sums}"


def test_release_build_runs_the_default_system(boot):
    r = boot.system("default", kernel="exo-el2.elf")
    expect_clean(r)
    assert "debug:" not in r.output
    assert f"[el2] result: {len(GUESTS)} of {len(GUESTS)} guests succeeded" \
        in r.lines


INVARIANT_ROUNDS = re.compile(r"debug: guest '([\w-]+)': stage-2 invariant "
                              r"checked after its (\d+) memory hypercalls")
INVARIANT_TOTAL = re.compile(r"debug: stage-2 invariant checked after (\d+) "
                             r"memory hypercalls: (\d+) guest stage 2s, (\d+) "
                             r"mappings compared")
FUZZ_MEMORY_CALLS = re.compile(r"hvcfuzz: (\d+) memory calls, \d+ predicted "
                               r"exactly, (\d+) mismatches")
# Memory hypercalls a guest's runtime makes besides its own code's: the
# frame pool's first batch at boot, and EXIT.
RUNTIME_MEMORY_CALLS = 4


def test_debug_build_checks_invariants(boot):
    """The debug EL2 checks every running guest's stage 2 after each memory
    hypercall, and says how often: two hvcfuzz guests make a seeded run of
    such calls at each other (legal ones and refused ones, each status
    checked against the guest's model) and count their own; EL2's count for
    each is that plus the few its runtime made. Checks switched off (or
    skipped) leave the counts at 0, and this fails."""
    r = boot.system("invariants", timeout=120)
    expect_clean(r)
    assert "debug: frame DB self-test passed" in r.output
    rounds = {m.group(1): int(m.group(2))
              for m in map(INVARIANT_ROUNDS.search, r.lines) if m}
    total = INVARIANT_TOTAL.search(r.output)
    assert total and set(rounds) == {"fuzz1", "fuzz2"}, r.tail()
    for g in ("fuzz1", "fuzz2"):
        lines = guest_lines(r, g)
        m = FUZZ_MEMORY_CALLS.search("\n".join(lines))
        assert m and m.group(2) == "0", lines
        made = int(m.group(1))
        assert made > 500, lines
        assert made < rounds[g] <= made + RUNTIME_MEMORY_CALLS, \
            f"{g} made {made} memory hypercalls, EL2 checked after {rounds[g]}"
    n_rounds, checks, pages = map(int, total.groups())
    assert n_rounds == sum(rounds.values())
    # After each call every running guest is checked: both, until one ends.
    assert n_rounds < checks <= 2 * n_rounds, total.group(0)
    assert pages > checks, total.group(0)


def test_hello_boots_from_its_three_line_manifest(boot):
    with open(os.path.join(TOP, "guests", "hello.dts")) as f:
        assert len(f.read().strip().splitlines()) == 3
    r = boot.system("hello")
    expect_clean(r)
    assert summary(r)["hello"].status == 0
    assert "hello from hello" in guest_lines(r, "hello")
