"""libos heap policies on target: every policy runs the heapwork workload
and agrees on its checksum; an unknown policy or a malformed libos option
is refused with a clear message and an exit status of its own (the heap
policy's, the option's), decoded in the summary, while the other guests
finish; the frame pool gives frames back to EL2 above its high-water mark
(the guest's VM_INFO numbers and its pool stats), and --stats prints the
stats when main returns."""
import re

from conftest import EXIT, expect_clean, failed_guests, guest_lines, no_leak, \
    summary

POLICIES = ("bump", "freelist", "buddy", "slab", "tlsf", "sizeclass")
CHECKSUM = re.compile(r"^checksum (0x[0-9a-f]{16})$")
# Stage-1 table pages libos holds: its MMU is on, so never 0.
TABLE_PAGES = re.compile(r"^libos: table pages: [1-9]\d*$")
BURST = re.compile(r"^burst: (\d+) blocks of \d+ B: "
                   r"frames charged (\d+) -> (\d+) -> (\d+)$")
FRAMES = re.compile(r"^libos: frames: (\d+) held \((\d+) in use, (\d+) free\), "
                    r"(\d+) from EL2, (\d+) returned, peak (\d+), "
                    r"high water (\d+)$")
HEAP = re.compile(r"^libos: heap (\w+): (\d+) B in use, (\d+) B free, "
                  r"largest free (\d+) B, fragmentation (\d+)%$")


def one(regex, lines, last=False):
    found = [m for m in map(regex.match, lines) if m]
    assert found, f"no line matches {regex.pattern}:\n" + "\n".join(lines)
    return found[-1] if last else found[0]


def test_every_policy_passes_the_workload(boot):
    r = boot.system("heap_policies")
    expect_clean(r)
    rows = summary(r)
    assert set(rows) == set(POLICIES)
    sums = {}
    for policy in POLICIES:
        assert rows[policy].state == "exited" and rows[policy].status == 0, \
            rows[policy]
        assert rows[policy].heap == policy
        lines = guest_lines(r, policy)
        assert f"heapwork: policy {policy}, seed 12345, 4000 ops" in lines
        assert "heapwork: ok (0 errors)" in lines, lines
        sums[policy] = one(CHECKSUM, lines).group(1)
        heap = one(HEAP, lines)
        assert heap.group(1) == policy
        assert int(heap.group(2)) > 0, "stats taken with blocks live"
        assert int(heap.group(5)) <= 100
    assert len(set(sums.values())) == 1, f"checksums differ: {sums}"
    assert "[el2] result: 6 of 6 guests succeeded" in r.lines
    no_leak(r)


def test_policies_that_shrink_give_frames_back(boot):
    r = boot.system("heap_policies")
    expect_clean(r)
    for policy in POLICIES:
        lines = guest_lines(r, policy)
        _, before, during, after = map(int, one(BURST, lines).groups())
        assert during > before, lines
        if policy == "bump":
            assert after == during, "bump never gives memory back"
        else:
            assert after < during, f"{policy} kept the burst's frames"


def test_unknown_policy_is_refused_and_others_finish(boot):
    r = boot.system("heap_bad_config")
    expect_clean(r, status=1)
    rows = summary(r)
    assert "libos: bad-policy: heap: unknown policy 'jemalloc' (valid: bump, " \
        "freelist, buddy, slab, tlsf, sizeclass)" in guest_lines(r, "bad-policy")
    assert rows["bad-policy"].state == "exited"
    assert rows["bad-policy"].status == EXIT["HEAP_POLICY"]
    assert failed_guests(r)["bad-policy"] == \
        f"exit status {EXIT['HEAP_POLICY']}: libos does not know the heap " \
        "policy", failed_guests(r)
    assert rows["bad-policy"].heap == "jemalloc"
    for name in ("good", "hello"):
        assert rows[name].state == "exited" and rows[name].status == 0, \
            rows[name]
    assert "heapwork: ok (0 errors)" in guest_lines(r, "good")
    assert "[el2] result: 2 of 4 guests succeeded; see above" in r.lines
    no_leak(r)


def test_malformed_libos_option_is_refused(boot):
    r = boot.system("heap_bad_config")
    rows = summary(r)
    assert rows["bad-option"].status == EXIT["BAD_OPTION"]
    assert failed_guests(r)["bad-option"] == \
        f"exit status {EXIT['BAD_OPTION']}: a libos option in args has a " \
        "bad value", failed_guests(r)
    assert any("bad option '--pool-high-water=lots'" in l
               for l in guest_lines(r, "bad-option"))
    assert not any(l.startswith("hello from")
                   for l in guest_lines(r, "bad-option")), "main ran"


KEPT_S2_TABLES_MAX = 2


def test_pool_returns_frames_above_high_water(boot):
    r = boot.system("heap_pool")
    expect_clean(r)
    rows = summary(r)
    returns, keeps = guest_lines(r, "returns"), guest_lines(r, "keeps")
    assert "heapwork: ok (0 errors)" in returns
    assert "heapwork: ok (0 errors)" in keeps
    assert one(CHECKSUM, returns).group(1) == one(CHECKSUM, keeps).group(1)

    # High water 0: EL2's count (VM_INFO) falls back after the burst, and
    # the pool says it returned frames and holds none free.
    n, before, during, after = map(int, one(BURST, returns).groups())
    assert n == 128 and during >= before + 128 * 2
    # Less the stage-2 tables EL2 keeps, charged, for the next mapping in
    # their region (docs/abi.md, VM_INFO): a burst of 128 frames spans at
    # most two 2 MiB regions, each a last-level table.
    assert after <= before + KEPT_S2_TABLES_MAX, returns
    assert rows["returns"].frames >= during  # the summary's peak
    frames = one(FRAMES, returns, last=True)
    held, in_use, free, got, returned, peak, hwm = map(int, frames.groups())
    assert hwm == 0 and free == 0 and returned > 0
    assert got - returned == held

    # High water 4096: the same frames stay in the pool.
    n, before, during, after = map(int, one(BURST, keeps).groups())
    assert after == during, keeps
    frames = one(FRAMES, keeps, last=True)
    assert int(frames.group(5)) == 0 and int(frames.group(3)) > 0
    # Nothing went back, so EL2's peak is where the guest ended.
    assert rows["keeps"].frames == during


def test_stats_option_prints_at_exit(boot):
    r = boot.system("heap_pool")
    lines = guest_lines(r, "stats")
    # After main's last line: hello ends with what VM_INFO says.
    at = [i for i, l in enumerate(lines) if l.startswith("vm info: id ")]
    assert at, lines
    tail = lines[at[-1] + 1:]
    assert any(FRAMES.match(l) for l in tail), lines
    assert any(TABLE_PAGES.match(l) for l in tail), tail
    assert any(l.startswith("libos: vm info: quota 512 frames") for l in tail)
    assert "libos: heap tlsf: not created (no allocation yet)" in tail
