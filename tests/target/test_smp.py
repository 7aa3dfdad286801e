"""EL2 on every CPU of the host DTB (issue 16): the boot CPU starts each
other CPU with PSCI CPU_ON; each turns on EL2's translation with its own
stack, sets up its EL2 registers, redistributor and EL2 timer and checks
in. A CPU that cannot start is reported and the rest carry on. Each CPU
has its run queue: vCPUs are placed on the least loaded CPU their
manifest's cpu-affinity allows and run there, in parallel with the other
CPUs'. Under -icount the CPUs run round-robin in one thread, so every boot
here replays exactly."""
import re

from conftest import expect_clean, fdtput, replay

ONLINE = re.compile(r"cpus: cpu (\d+) \(MPIDR (0x[0-9a-f]+)\): online")


def summary(out):
    m = re.search(r"cpus: (\d+) online of (\d+) listed", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


PLACED = re.compile(r"sched: guest '([\w-]+)' vCPU (\d+) runs on cpu (\d+)")


def placement(out):
    """guest -> the CPU of each of its vCPUs, from the boot's lines."""
    where = {}
    for guest, vcpu, cpu in PLACED.findall(out):
        where.setdefault(guest, {})[int(vcpu)] = int(cpu)
    return {g: [cpus[v] for v in sorted(cpus)] for g, cpus in where.items()}


def test_every_cpu_comes_online_and_the_system_runs(boot):
    """The default system on four CPUs: its guests spread over them (each
    vCPU on the least loaded CPU), primes' four vCPUs on four CPUs."""
    r = boot.system("default", smp=4)
    expect_clean(r)
    assert ONLINE.findall(r.output) == [("1", "0x1"), ("2", "0x2"),
                                        ("3", "0x3")]
    assert summary(r.output) == (4, 4)
    assert "result: 6 of 6 guests succeeded" in r.output
    where = placement(r.output)
    assert sorted(where["primes"]) == [0, 1, 2, 3], where
    assert sorted(sum(where.values(), [])) == [0, 0, 0, 1, 1, 2, 2, 3, 3], where


def test_one_cpu_is_the_boot_cpu_alone(boot):
    """One CPU asked for explicitly: the suite's default may be more
    (EXO_SMP, docs/testing.md). Every vCPU is CPU 0's, and no placement
    line is printed."""
    r = boot.system("default", smp=1)
    expect_clean(r)
    assert not ONLINE.findall(r.output)
    assert summary(r.output) == (1, 1)
    assert not PLACED.findall(r.output)


def test_an_unshare_races_reads_on_other_cpus(boot):
    """cpurace: the owner (cpu-affinity <0>) unshares a frame while three
    vCPUs of the reader read it in a loop on CPUs 1-3; once the UNSHARE
    returned (and the owner poisoned the frame), no read may succeed: each
    reader ends in a data abort, none saw the poison or read after the
    reader's vCPU 0 raised the control word. Then, once the reader has
    ended (its vCPUs shared CPUs 1-3), teardown's vCPU 0 exits while its
    others spin on their CPUs: EL2 kicks them off before a frame is
    scrubbed (debug builds panic otherwise), every frame comes back, and
    hello on CPU 0 is unharmed. sibexit's vCPU 1 ends it while
    its vCPU 0 yields: the teardown, vCPU 0's, goes on once vCPU 1 has
    left its CPU (on one CPU, the same CPU)."""
    r = boot.system("cpurace", smp=4)
    expect_every_check(r, {"owner": 5, "reader": 16, "teardown": 2},
                       guests=5)
    assert "guest 'sibexit' exited with status 0" in r.output
    out = r.output
    where = placement(out)
    assert where["owner"] == [0] and where["hello"] == [0], where
    assert sorted(set(where["reader"][1:])) == [1, 2, 3], where
    assert set(where["teardown"]) <= {1, 2, 3}, where
    # Four touches of the lost frame: each reader's abort, excused when it
    # comes before vCPU 0 has acknowledged the loss, a violation after (as
    # the slices of the CPUs the readers share fall), and vCPU 0's own
    # probe, after its acknowledgement. None is both, none is missing.
    excused = out.count("guest 'reader': read of PA")
    violations = len(re.findall(r"guest 'reader': stage-2 violation \d+/16: "
                                r"read of PA", out))
    assert excused + violations == 4, r.tail()
    assert re.search(r"guest 'teardown' ends with [1-3] vCPU\(s\) on other "
                     r"CPUs: kicked", out), r.tail()
    assert "0 still held by guests" in out


def test_an_affinity_naming_no_online_cpu_is_ignored_with_a_line(boot):
    """The same system on one CPU: cpu-affinity <1 2 3> names no CPU
    online, so each such vCPU says so and runs on CPU 0; the race still
    holds with the readers time-sliced, and sibexit's two vCPUs share
    CPU 0."""
    r = boot.system("cpurace", smp=1)
    expect_every_check(r, {"owner": 5, "reader": 16, "teardown": 2},
                       guests=5)
    assert "guest 'sibexit' exited with status 0" in r.output
    for guest in ("reader", "teardown"):
        for vcpu in range(4):
            assert (f"sched: guest '{guest}' vCPU {vcpu}: its cpu-affinity "
                    "names no CPU online; placed on any") in r.output


def test_cpus_beyond_el2s_room_are_reported(boot):
    """EL2 has room for 8 (EL2_MAX_CPUS): a ninth is named and left out."""
    r = boot.system("default", smp=9)
    expect_clean(r)
    assert "dtb: CPUs    8 listed, 1 more beyond EL2's 8" in r.output
    assert len(ONLINE.findall(r.output)) == 7
    assert summary(r.output) == (8, 9)
    assert "result: 6 of 6 guests succeeded" in r.output


def add_cpu(dtb, name, reg=None, method="psci"):
    node = f"/cpus/{name}"
    fdtput(dtb, "-c", node)
    fdtput(dtb, "-t", "s", node, "device_type", "cpu")
    fdtput(dtb, "-t", "s", node, "enable-method", method)
    if reg is not None:
        fdtput(dtb, "-t", "x", node, "reg", f"{reg:x}")


def test_a_cpu_that_cannot_start_is_reported_and_the_rest_carry_on(boot):
    """Four kinds of CPU node that do not give a CPU: an MPIDR the machine
    lacks (firmware: INVALID_PARAMETERS), a CPU listed twice (ALREADY_ON),
    a spin-table CPU, a node with no reg. The real CPUs all come up."""
    dtb = boot.host_dtb(smp=4)
    add_cpu(dtb, "cpu@100", reg=0x100)
    add_cpu(dtb, "cpu@200", reg=0x200, method="spin-table")
    add_cpu(dtb, "cpu@300")
    add_cpu(dtb, "cpu@301", reg=0x1)
    r = boot.system("default", smp=4, dtb=dtb)
    expect_clean(r)
    out = r.output
    assert "dtb: CPUs    7 listed, 0 more beyond EL2's 8, 1 without a valid reg" in out
    assert ("cpus: MPIDR 0x100: CPU_ON refused (INVALID_PARAMETERS); "
            "left offline") in out
    assert "cpus: MPIDR 0x1: CPU_ON refused (ALREADY_ON); left offline" in out
    assert ("cpus: MPIDR 0x200: its enable-method is not PSCI; left "
            "offline") in out
    # A refused CPU never ran, so its number goes to the next one.
    assert sorted(ONLINE.findall(out)) == [("1", "0x1"), ("2", "0x2"),
                                           ("3", "0x3")]
    assert summary(out) == (4, 8)
    assert "result: 6 of 6 guests succeeded" in out


def expect_every_check(r, checks, guests=None):
    """A clean run in which each guest of checks (name -> number of TAP
    checks) passed exactly that many and failed none, and all the guests
    (those of checks unless said) succeeded."""
    expect_clean(r)
    for guest, n in checks.items():
        oks = [l for l in r.lines if l.startswith(f"[{guest}] ok ")]
        assert len(oks) == n, r.tail()
        assert f"[{guest}] 1..{n}" in r.lines
        assert not [l for l in r.lines if l.startswith(f"[{guest}] not ok")]
    n = guests or len(checks)
    assert f"result: {n} of {n} guests succeeded" in r.output


def test_a_guest_of_four_vcpus(boot):
    """vcpus (cpus = <4>) starts its other vCPUs through EL2's PSCI, their
    shared counter loses no update across vCPU switches, PSCI's refusals
    hold; the same image with one vCPU is refused every CPU_ON; a third
    guest runs beside them. On one CPU and on four (its vCPUs then run on
    four CPUs at once: the same result)."""
    for smp in (1, 4):
        r = boot.system("vcpus", smp=smp)
        expect_every_check(r, {"vcpus": 11, "single": 3}, guests=3)


def test_a_four_cpu_boot_replays_exactly(boot, tmp_path):
    """Under -icount the CPUs run round-robin in one thread: a boot of four
    CPUs and a guest of four vCPUs replays byte for byte from the line
    printed for it (tools/run --smp 4)."""
    r = boot.system("vcpus", smp=4)
    assert "--smp 4" in r.replay, r.replay
    assert replay(r, tmp_path) == r.output


def test_sgis_stay_between_a_guests_own_vcpus(boot):
    """sgi (4 vCPUs) sends SGIs to its own vCPUs through ICC_SGI1R_EL1,
    which EL2 emulates: ping-pong with each (two poll with IRQs masked, the
    last takes them as interrupts), a burst that waits behind one list
    register and comes through the maintenance interrupt, a broadcast,
    SGIs aimed at vCPUs it does not have (dropped) and one to itself. The
    bystander (2 vCPUs) broadcasts beside it: each gets its own SGIs only.
    On one CPU and on four."""
    for smp in (1, 4):
        r = boot.system("sgi", smp=smp)
        assert "dtb: GIC     maintenance PPI 25" in r.output
        expect_every_check(r, {"sgi": 9, "bystander": 4})


def test_without_a_maintenance_interrupt_sgis_are_undefined(boot):
    """A DTB whose GIC gives no maintenance interrupt: EL2 says SGIs between
    vCPUs are off, and a guest's ICC_SGI1R_EL1 write is an undefined
    instruction: each guest that writes it fails alone, EL2 carries on and
    reports both."""
    dtb = boot.host_dtb(smp=1)
    fdtput(dtb, "-d", "/intc@8000000", "interrupts")
    r = boot.system("sgi", dtb=dtb)
    out = r.output
    assert ("dtb: GIC     no maintenance interrupt: no SGIs between a "
            "guest's vCPUs") in out
    assert "result: 0 of 2 guests succeeded" in out, r.tail()
    for guest in ("sgi", "bystander"):
        assert (f"[{guest}]   ESR 0x02000000: EC 0x00 unknown reason "
                "(undefined instruction); ISS 0x0") in r.lines, r.tail()
        assert f"[el2] guest '{guest}' exited with status 128" in r.lines


def test_the_virtual_timer_interrupts_its_own_vcpu(boot):
    """vtimer (2 vCPUs) gets its timer's interrupt no earlier than armed,
    masked by EL2, re-arms it ten times from the handler, finds a stopped
    timer quiet, and its vCPU 1 gets its own timer's interrupt only; the
    quiet guest beside it, its timer never armed, gets none. On one CPU
    and on four."""
    for smp in (1, 4):
        r = boot.system("vtimer", smp=smp)
        expect_every_check(r, {"vtimer": 8, "quiet": 1})


def test_revocation_reaches_a_vcpu_on_another_cpu(boot):
    """revoke_cpus: each revokee's vCPU 1 spins on its own CPU once its
    pool is full, so the guest's CPU time (its revoke-schedule's clock)
    grows there too. defy's request and forced taking are made on vCPU
    1's CPU for vCPU 0 running on another whenever vCPU 1's accounting
    trips them first (timing): the events are then posted to it there,
    the frames are unmapped under it, and its touch of one aborts
    (excused) before it acknowledges; comply gives back in time. Each
    guest's end tears down its spinning vCPU 1. On four CPUs and on one."""
    for smp in (4, 1):
        r = boot.system("revoke_cpus", smp=smp)
        expect_clean(r)
        out = r.output
        for guest in ("comply", "defy"):
            assert not [l for l in r.lines
                        if l.startswith(f"[{guest}] not ok")], r.tail()
        assert "guest 'comply': gave back 32 frames as asked" in out
        assert ("guest 'defy': deadline passed; EL2 took 24 of 24 frames "
                "by force") in out
        assert "guest 'defy': read of PA" in out
        assert "result: 2 of 2 guests succeeded" in out
        # Which CPU's accounting trips the request and the deadline is
        # timing; on one CPU nothing is ever posted to another.
        if smp == 1:
            assert "posted from cpu" not in out


def test_hypercalls_from_every_vcpu_at_once(boot):
    """hvcstorm: two guests of four vCPUs, spread over four CPUs, fire
    seeded random hypercalls at EL2 and at each other from their three
    started vCPUs at once (memory calls on their own frames and on frames
    they do not own, offers, accepts, notifications, PSCI, random IDs) while
    a victim counts. The debug EL2 checks its stage-2 invariant after every
    memory call: nothing panics, every storm makes all its calls, each
    guest's vCPU 0 still has a working heap, the victim is unharmed and
    every frame comes back."""
    r = boot.system("hvcstorm", smp=4)
    expect_every_check(r, {"storm1": 6, "storm2": 6}, guests=3)
    out = r.output
    m = re.search(r"stage-2 invariant checked after (\d+) memory hypercalls",
                  out)
    assert m and int(m.group(1)) > 1000, r.tail()
    assert "0 bad words" in out
    assert "0 still held by guests" in out
    # Offers and their events cross CPUs: posted to a vCPU 0 that runs
    # on another CPU, put in by that CPU.
    assert re.search(r"guest 'storm\d': events 0x[0-9a-f]+ posted from cpu "
                     r"\d to its vCPU 0 running on cpu \d", out), r.tail()
