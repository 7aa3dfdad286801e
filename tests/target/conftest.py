"""On-target test harness: boots an exo image in QEMU with a hang guard and
hands the console to the test. Every test runs once per CPU model: `max`
(every feature) and `cortex-a72` (a real CPU without HAFDBS, PAN, 16K
granule, 16-bit VMIDs/ASIDs), so fallbacks are always exercised.

Every boot runs in virtual time (`-icount`, exoqemu.ICOUNT) with a fixed
`-seed`: guest time advances with instructions, not host time, so a test
does the same thing on an idle and on a starved machine, and its console
is replayable byte for byte (`replay_line`). docs/testing.md, "Time in
tests"."""
import importlib.machinery
import importlib.util
import math
import os
import re
import shlex
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))
import exoconsole  # noqa: E402
import exoqemu  # noqa: E402

CPUS = ("max", "cortex-a72")
# Hang guard, in seconds of QEMU's CPU time (exoqemu.boot): a boot that
# needs more is reported as a hang. Nothing the guests see depends on it.
BOOT_TIMEOUT = 30
# QEMU's -seed for every boot (RNDR, rng-seed); EXO_TEST_SEED picks another.
SEED = int(os.environ.get("EXO_TEST_SEED", str(exoqemu.SEED)), 0)
# The machine's CPUs for every boot that does not choose its own: 1, or
# EXO_SMP=4 to run the suite on four (EL2 starts them all; guests run on
# CPU 0 so far, docs/architecture.md "Several CPUs").
SMP = int(os.environ.get("EXO_SMP", "1"))
# Console words that mean EL2 or a guest broke where the test did not ask.
FAILURE_WORDS = ("PANIC", "unexpected exception", "CHECK failed")


def tool_module(name):
    """tools/<name> (a script without .py) loaded as a module, so a test
    calls its functions instead of copying them."""
    path = os.path.join(TOP, "tools", name)
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def build_dir():
    return os.path.join(TOP, os.environ.get("EXO_BUILD", "build/clang"))


def image(name):
    path = os.path.join(build_dir(), name)
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: run 'make' first")
    return path


@pytest.fixture(params=CPUS)
def cpu(request):
    return request.param


class Booter:
    def __init__(self, cpu, tmp_path):
        self.cpu = cpu
        self.tmp_path = tmp_path

    def __call__(self, kernel="exo-el2.elf", timeout=BOOT_TIMEOUT, **kw):
        kw.setdefault("cpu", self.cpu)
        kw.setdefault("icount", exoqemu.ICOUNT)
        kw.setdefault("seed", SEED)
        kw.setdefault("smp", SMP)
        result = exoqemu.boot(image(kernel), timeout=timeout, **kw)
        result.replay = replay_line(image(kernel), result, **kw)
        if result.timed_out:
            pytest.fail(f"{result.hang}\n"
                        f"replay: {result.replay}\n"
                        f"command: {' '.join(result.cmd)}\n"
                        f"QEMU stderr: {result.stderr.strip()}\n"
                        f"console tail:\n{result.tail()}")
        return result

    def system(self, name, kernel="exo-el2-debug.elf", **kw):
        """Boots the system tests/target/systems/<name>.dts (or
        guests/<name>.dts) with the debug EL2: invariant checks on."""
        pkg = os.path.join(build_dir(), "systems", name + ".pkg")
        if not os.path.exists(pkg):
            pytest.fail(f"{pkg} is missing: run 'make images'")
        return self(kernel, pkg=pkg, **kw)

    def host_dtb(self, name="host.dtb", smp=1):
        """QEMU's own DTB for this machine, to edit with fdtput."""
        path = str(self.tmp_path / name)
        exoqemu.dump_dtb(path, cpu=self.cpu, smp=smp)
        return path


def replay_timeout(result):
    """A tools/run --timeout (wall clock) for replaying `result`: four
    times what the run took, at least a minute, in tens of seconds."""
    need = 4 * max(result.seconds, result.cpu_seconds)
    return max(60, 10 * math.ceil(need / 10))


def replay_line(kernel, result, cpu, icount=None, seed=None, append=None,
                pkg=None, mem=None, smp=1, **rest):
    """The tools/run command that boots exactly what `result` booted (the
    same console byte for byte under icount), or None for boots tools/run
    cannot express (their own DTB, extra QEMU options)."""
    if any(rest.values()):
        return None
    cmd = ["tools/run", "--cpu", cpu]
    if icount:
        cmd += ["--icount", icount]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    cmd += ["--timeout", str(replay_timeout(result))]
    if mem:
        cmd += ["--mem", mem]
    if smp != 1:
        cmd += ["--smp", str(smp)]
    if append:
        cmd += ["--append", append]
    if pkg:
        cmd += ["--pkg", os.path.relpath(pkg, TOP)]
    return shlex.join(cmd + [os.path.relpath(kernel, TOP)])


def replay(result, tmp_path):
    """Runs the replay line printed for `result` as a user would (from the
    top of the tree) and returns the console tools/run logged."""
    assert result.replay, f"no replay line for {result.cmd}"
    log = tmp_path / "replay.log"
    cmd = shlex.split(result.replay) + ["--log", str(log), "--color", "never"]
    subprocess.run(cmd, cwd=TOP, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL,
                   timeout=2 * replay_timeout(result))
    return log.read_text().replace("\r\n", "\n")


@pytest.fixture
def boot(cpu, tmp_path):
    return Booter(cpu, tmp_path)


def expect_clean(result, status=0):
    """EL2 powered off with `status` and printed no failure words."""
    bad = [w for w in FAILURE_WORDS if w in result.output]
    assert not bad, f"unexpected {bad} on the console:\n{result.tail()}"
    assert result.halt_status() == status, \
        f"EL2 halted with {result.halt_status()}, wanted {status}:\n{result.tail()}"
    assert result.returncode == 0, f"QEMU exit {result.returncode}"


def _exit_statuses():
    """EXO_EXIT_<NAME> numbers from the ABI header, by NAME: the one
    place exit statuses are defined (include/exo/exit_status.h)."""
    path = os.path.join(TOP, "include", "exo", "exit_status.h")
    with open(path) as f:
        return {m.group(1): int(m.group(2)) for m in re.finditer(
            r"^#define EXO_EXIT_(\w+) (\d+)$", f.read(), re.M)}


EXIT = _exit_statuses()


def failed_guests(result):
    """The lines under EL2's summary table saying why each failed guest
    failed, by guest name (tools/exoconsole.py reads them for tools/run
    too): "exit status 165: unhandled data abort ...", "killed: <reason>"."""
    return exoconsole.failed_guests(result.lines)


SUMMARY_ROW = re.compile(
    r"^\[el2\]   (\S+) +(\d+) (\w+) +(-?\d+) +(\d+) +(\d+) +(\d+) +(\d+) (\S+)$")


class GuestRow:
    def __init__(self, m):
        self.name = m.group(1)
        self.vmid = int(m.group(2))
        self.state = m.group(3)
        self.status = int(m.group(4))
        self.frames = int(m.group(5))
        self.hypercalls = int(m.group(6))
        self.violations = int(m.group(7))
        self.cpu_ms = int(m.group(8))
        self.heap = m.group(9)

    def __repr__(self):
        return f"{self.name}: {self.state} {self.status}"


def summary(result):
    """The rows of EL2's summary table, by guest name."""
    rows = {}
    for line in result.lines:
        m = SUMMARY_ROW.match(line)
        if m:
            rows[m.group(1)] = GuestRow(m)
    assert rows or "0 of 0 guests" in result.output, \
        f"no summary table:\n{result.tail()}"
    return rows


def guest_lines(result, name):
    """What a guest printed, without its prefix."""
    prefix = f"[{name}] "
    return [l[len(prefix):] for l in result.lines if l.startswith(prefix)]


def no_leak(result):
    assert re.search(r"frames: \d+ free, \d+ EL2, 0 still held by guests",
                     result.output), result.tail()


def fdtput(dtb, *args):
    subprocess.run(["fdtput", dtb] + list(args), check=True)


TAP_LINE = re.compile(r"^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?(.*)$")
TAP_PLAN = re.compile(r"^1\.\.(\d+)\b")
TAP_DIRECTIVE = re.compile(r"#\s*(SKIP|TODO)\b", re.I)


def tap(result, guest):
    """Reads the TAP a guest printed (`ok N - what`, `not ok N - what`, a
    plan `1..N` first or last, `#` comments). Returns (passed, failed_lines):
    the number of passing test lines (`# SKIP` counts as passing, and so
    does `not ok ... # TODO`, as TAP says) and the failing lines as the
    guest printed them. A missing plan, a count that is not the plan's or
    numbers out of sequence add a failed line saying so (a guest that died
    part-way must not pass)."""
    passed, failed, seen, plan = 0, [], 0, None
    for line in guest_lines(result, guest):
        m = TAP_PLAN.match(line)
        if m:
            plan = int(m.group(1))
            continue
        m = TAP_LINE.match(line)
        if not m:
            continue
        seen += 1
        if m.group(2) is not None and int(m.group(2)) != seen:
            failed.append(f"{line}  (TAP: test {seen} is numbered "
                          f"{m.group(2)})")
        directive = TAP_DIRECTIVE.search(m.group(3))
        if not m.group(1) or (directive and
                              directive.group(1).upper() == "TODO"):
            passed += 1
        else:
            failed.append(line)
    if plan is None:
        failed.append(f"(TAP: guest '{guest}' printed no plan 1..N after "
                      f"{seen} tests)")
    elif plan != seen:
        failed.append(f"(TAP: guest '{guest}' planned {plan} tests, ran "
                      f"{seen})")
    return passed, failed


def expect_tap(result, guest, at_least=1):
    """Every check of the guest passed, all it planned ran (tap() turns a
    missing or short plan into a failed line), and there were enough."""
    passed, failed = tap(result, guest)
    assert not failed, f"{guest}: {failed}\n{result.tail()}"
    assert passed >= at_least, \
        f"{guest}: {passed} passed, wanted {at_least}\n{result.tail()}"
