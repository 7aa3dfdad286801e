"""libos on several vCPUs (issue 16, part 4): el1's and libos's state per
vCPU (TPIDR_EL1, libos_cpu_self), one lock over the pool, the heap, the
regions and the tasks, and the lock-free fault fast paths only while one
vCPU runs (docs/architecture.md, "libos on several vCPUs"). On -smp 4;
EL2 still runs every vCPU on CPU 0, so 100-us slices interleave them, and
under -icount every run replays exactly."""
import re

import pytest

from conftest import expect_clean

CHECK = re.compile(r"^\[([\w-]+)\] heapwork: vCPU (\d): seed (\d+), "
                   r"checksum (0x[0-9a-f]+), alone (0x[0-9a-f]+): (\w+)$")
POLICIES = ("tlsf", "sizeclass", "buddy", "slab", "freelist")


def lock_waits(r, guest):
    m = re.search(rf"\[{guest}\] (?:heapwork: )?libos's lock: (\d+) waits",
                  r.output)
    assert m, r.tail()
    return int(m.group(1))


def test_heapwork_on_four_vcpus_at_once(boot):
    """guests/heapsmp.dts: every heap policy that frees, heapwork on four
    vCPUs at once on one heap; each vCPU's checksum is the one its seed
    gives alone, the heap checks pass throughout, and the vCPUs did meet
    at the lock (else the run showed nothing)."""
    r = boot.system("heapsmp", smp=4)
    expect_clean(r)
    seen = {}
    for line in r.lines:
        m = CHECK.match(line)
        if m:
            guest, cpu, seed, par, alone, word = m.groups()
            assert par == alone and word == "same", line
            seen.setdefault(guest, set()).add((int(cpu), int(seed)))
    for p in POLICIES:
        guest = f"smp-{p}"
        assert seen.get(guest) == {(1, 8), (2, 9), (3, 10)}, r.tail()
        assert f"[{guest}] heapwork: ok (0 errors)" in r.lines
        assert lock_waits(r, guest) > 0, f"{guest}: no vCPU ever waited"
    # vCPU 0 ran seed 7, whatever the others did: the one-vCPU checksum.
    sums = {l for l in r.lines if l.endswith("checksum 0x53aebca5d64af632")}
    assert len(sums) == len(POLICIES), r.tail()
    assert f"result: {len(POLICIES)} of {len(POLICIES)} guests succeeded" \
        in r.output


def expect_every_check(r, guest, n):
    oks = [l for l in r.lines if l.startswith(f"[{guest}] ok ")]
    assert len(oks) == n, r.tail()
    assert f"[{guest}] 1..{n}" in r.lines
    assert not [l for l in r.lines if l.startswith(f"[{guest}] not ok")]


@pytest.mark.parametrize("clock", ["icount", "free"])
def test_faults_and_system_calls_on_four_vcpus_at_once(boot, clock):
    """smpfault: four vCPUs fault on the same demand-zero pages at once
    (each zero-filled once), take stage-2 aborts EL2 reflects (each on
    the vCPU that took it), and run EL0 tasks from one table at once
    (system calls, demand-zero and copy-on-write faults from EL0, a task's
    FP/SIMD state across vCPUs, each task run once); smpfault-asid again
    with 15 ASIDs for 24 spaces, so ASIDs roll over while the other vCPUs
    run tasks. Once under -icount (replayable), once free-running: the
    vCPUs' slices then end at other points each run, which -icount's one
    schedule may never show (a task's FP/SIMD state left behind on the
    vCPU it ran on is seen only so). Free-running it boots one CPU, the
    four vCPUs time-sliced there: on four CPUs of this two-core host its
    task phase does not end within three minutes. Traced (QEMU's monitor,
    2026-12-03): no deadlock; all four CPUs wait in EL2 for the EL2 lock,
    whose tickets move about a hundred a second; the traps are FP/SIMD
    first uses after vCPU switches and IRQs, with two guests' vCPUs on each
    CPU yielding while they wait for libos's lock. A ticket lock hands the
    lock in order, and the next ticket's QEMU thread is usually one the
    overcommitted host has descheduled (MTTCG treats WFE as a NOP), so each
    handoff waits for a host time slice. On hardware EL2's CPUs are never
    preempted (docs/testing.md, "Time in tests")."""
    kw = {} if clock == "icount" else {"icount": None}
    r = boot.system("smpfault", smp=4 if clock == "icount" else 1, **kw)
    expect_clean(r)
    for guest in ("smpfault", "smpfault-asid"):
        expect_every_check(r, guest, 11)
        assert lock_waits(r, guest) > 0
    m = re.search(r"\[smpfault-asid\] asid: 4 bits, generation \d+, .* "
                  r"(\d+) roll-overs", r.output)
    assert m and int(m.group(1)) > 0, r.tail()
    assert "result: 2 of 2 guests succeeded" in r.output
