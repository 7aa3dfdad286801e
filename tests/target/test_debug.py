"""`make debug` with several guests running the same image at the same VA:
tools/run --gdb PORT --guest NAME (what `make debug GUEST=NAME` runs) prints
a gdb command whose `break main` stops in that guest only, refuses a guest
the manifest does not have, and leaves no QEMU behind when gdb or tools/run
ends. The system (tests/target/systems/debug.dts) has a guest that spins for
ever, so QEMU ends only when tools/run stops it."""
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import TOP, build_dir, image
import exodebug  # noqa: E402  (tools/, on the path through conftest)

RUN = os.path.join(TOP, "tools", "run")
SYSTEM_DTS = os.path.join(TOP, "tests", "target", "systems", "debug.dts")
GUESTS = ("spinner", "alpha", "beta")   # manifest order: VMIDs 1, 2, 3
TIMEOUT = 120                           # any one step; never reached when well
GDB_LINE = re.compile(r"^  gdb-multiarch -q -x (\S+)$", re.M)


def gdb_multiarch():
    gdb = shutil.which("gdb-multiarch")
    if not gdb:
        pytest.fail("gdb-multiarch is missing: run 'sudo tools/deps' (make "
                    "runs it when something it lists is missing)")
    return gdb


@pytest.fixture
def manifest(tmp_path):
    dtb = tmp_path / "debug.dtb"
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb),
                    SYSTEM_DTS], check=True)
    return str(dtb)


def run_args(cpu, manifest, *extra):
    pkg = os.path.join(build_dir(), "systems", "debug.pkg")
    if not os.path.exists(pkg):
        pytest.fail(f"{pkg} is missing: run 'make images'")
    return [RUN, "--cpu", cpu, "--pkg", pkg, "--system", manifest] + \
        list(extra) + [image("exo-el2.elf")]


def qemu_children(pid):
    """PIDs of the live QEMU processes whose parent is pid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if int(ppid) == pid and comm.startswith("qemu-system") and \
                state != "Z":
            found.append(int(entry))
    return found


def alive(pid):
    """True while pid is a process that has not exited (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_until(what, condition):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {TIMEOUT} s")
        time.sleep(0.05)


def as_in_a_terminal():
    """A command started in the background (`cmd &` in a script, as
    tools/mutants may be) inherits SIGINT and SIGQUIT ignored; in a
    terminal they are not, and Ctrl-C must end tools/run."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


class DebugRun:
    """tools/run --gdb 0 (any free port) in the background, its output
    collected as it comes."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, cwd=TOP, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=as_in_a_terminal)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace"))

    def output(self):
        return "".join(self.lines)

    def script(self):
        """The gdb script of the printed command, once it is printed."""
        wait_until("tools/run printed no gdb command",
                   lambda: GDB_LINE.search(self.output()) or
                   self.proc.poll() is not None)
        m = GDB_LINE.search(self.output())
        assert m, f"no gdb command:\n{self.output()}"
        return m.group(1)

    def qemu(self):
        """QEMU's PID, once tools/run has started it."""
        wait_until("tools/run started no QEMU",
                   lambda: qemu_children(self.proc.pid) or
                   self.proc.poll() is not None)
        pids = qemu_children(self.proc.pid)
        assert len(pids) == 1, f"QEMU children {pids}:\n{self.output()}"
        return pids[0]

    def finish(self):
        """tools/run's exit status, once it has ended."""
        try:
            rc = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"tools/run still running {TIMEOUT} s after the "
                        f"session ended:\n{self.output()}")
        self.reader.join(timeout=TIMEOUT)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def debug_run():
    runs = []

    def start(cmd):
        runs.append(DebugRun(cmd))
        return runs[-1]
    yield start
    for r in runs:
        r.kill()


def gdb_batch(script, *commands):
    cmd = [gdb_multiarch(), "-q", "-nx", "-batch", "-x", script]
    for c in commands:
        cmd += ["-ex", c]
    try:
        r = subprocess.run(cmd, cwd=TOP, capture_output=True, text=True,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"gdb did not finish within {TIMEOUT} s:\n{e.stdout}")
    return r.stdout + r.stderr


@pytest.mark.parametrize("guest", ["alpha", "beta"])
def test_break_main_stops_in_the_chosen_guest(cpu, manifest, debug_run,
                                               guest):
    gdb_multiarch()
    run = debug_run(run_args(cpu, manifest, "--gdb", "0", "--guest", guest))
    script = run.script()
    qemu = run.qemu()
    out = gdb_batch(script, "break main", "continue", "print argv[0]",
                    "print $VTTBR_EL2 >> 48")
    # gdb quit while the guests run on: the spinner never ends, so QEMU
    # is gone only because tools/run stopped it when gdb went.
    rc = run.finish()
    assert out.count("Breakpoint 1, main") == 1, out
    assert f'"{guest}"' in out, f"stopped in another guest:\n{out}"
    vmid = GUESTS.index(guest) + 1
    assert f"$2 = {vmid}\n" in out, out
    assert f"[exo] stopped in guest '{guest}' (VMID {vmid}, EL1)" in out, out
    assert rc == 0, run.output()
    assert "run: gdb has gone: QEMU stopped" in run.output()
    assert not alive(qemu), f"QEMU {qemu} still runs after gdb quit"


def test_user_condition_keeps_the_guard(cpu, manifest, debug_run):
    """`condition N ...` on a breakpoint adds to the guard; removing the
    condition leaves the guard; watchpoints and dprintfs get it too."""
    gdb_multiarch()
    run = debug_run(run_args(cpu, manifest, "--gdb", "0", "--guest", "beta"))
    out = gdb_batch(run.script(), "break main", "condition 1 $sp != 0",
                    "info breakpoints", "condition 1", "info breakpoints",
                    "delete", "watch *(long *)$sp", 'dprintf main,"x\n"',
                    "info breakpoints")
    run.finish()
    guard = "((($cpsr >> 2) & 3) == 2 || $VTTBR_EL2 >> 48 == 3)"
    shown = re.findall(r"stop only if (.*)", out)
    assert shown == [f"{guard} && ($sp != 0)", guard, guard, guard], out


def test_one_gdb_per_session(cpu, manifest, debug_run):
    """The port takes one connection; when it closes, QEMU stops."""
    run = debug_run(run_args(cpu, manifest, "--gdb", "0"))
    with open(os.path.join(TOP, run.script())) as f:
        port = int(re.search(r"^target remote 127\.0\.0\.1:(\d+)$",
                             f.read(), re.M).group(1))
    qemu = run.qemu()
    first = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    first.sendall(b"$?#3f")    # "why did you stop?": a reply proves the
    reply = b""                # bridge passes bytes both ways
    while b"#" not in reply:
        data = first.recv(64)
        assert data, f"connection closed after {reply!r}"
        reply += data
    assert reply.startswith(b"+$T05"), reply
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    first.close()
    assert run.finish() == 0, run.output()
    assert not alive(qemu)


def test_unknown_guest_is_an_error(cpu, manifest):
    r = subprocess.run(run_args(cpu, manifest, "--gdb", "0", "--guest",
                                "gamma"),
                       cwd=TOP, capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 2, r.stdout
    assert "run: system 'debug' has no guest 'gamma'; its guests: " \
        "spinner, alpha, beta (GUEST=<name>)" in r.stdout
    assert "[el2]" not in r.stdout and "gdb-multiarch" not in r.stdout


def test_guest_needs_gdb(cpu, manifest):
    r = subprocess.run(run_args(cpu, manifest, "--guest", "alpha"), cwd=TOP,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 2 and "--guest goes with --gdb" in r.stderr


def test_gdb_needs_the_manifest(cpu, tmp_path):
    r = subprocess.run(run_args(cpu, str(tmp_path / "none.dtb"), "--gdb",
                                "0"),
                       cwd=TOP, capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 2
    assert "--gdb needs the system's compiled manifest (--system)" in r.stdout


def test_manifest_without_guests(cpu, tmp_path):
    dts, dtb = tmp_path / "empty.dts", tmp_path / "empty.dtb"
    dts.write_text('/dts-v1/; / { compatible = "exo,system"; guests { }; };')
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb),
                    str(dts)], check=True)
    r = subprocess.run(run_args(cpu, str(dtb), "--gdb", "0"), cwd=TOP,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 2 and "names no guests" in r.stdout, r.stdout


def test_busy_port_is_an_error(cpu, manifest):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        r = subprocess.run(run_args(cpu, manifest, "--gdb", str(port)),
                           cwd=TOP, capture_output=True, text=True,
                           timeout=TIMEOUT)
    assert r.returncode == 2, r.stdout
    assert f"run: cannot listen on port {port}" in r.stdout
    assert "[el2]" not in r.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM,
                                 signal.SIGKILL])
def test_ending_tools_run_ends_qemu(cpu, manifest, debug_run, sig):
    """Ctrl-C in make's terminal, make's SIGTERM to its recipe, or any
    other end of tools/run, with or without gdb attached."""
    run = debug_run(run_args(cpu, manifest, "--gdb", "0"))
    run.script()
    qemu = run.qemu()
    run.proc.send_signal(sig)
    run.finish()
    wait_until(f"QEMU {qemu} still runs after tools/run got {sig.name}",
               lambda: not alive(qemu))


class StubWithoutSysregs:
    """A gdb remote stub that, like QEMU before 7.2, describes no system
    registers: it answers `?` and `g`, and nothing else."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn:
            data = b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
                while b"#" in data and len(data) >= data.index(b"#") + 3:
                    end = data.index(b"#")
                    packet = data[data.index(b"$") + 1:end]
                    data = data[end + 3:]
                    conn.sendall(b"+" + self._packet(self._reply(packet)))

    @staticmethod
    def _reply(packet):
        if packet == b"?":
            return b"S05"
        if packet == b"g":
            return b"00" * (33 * 8 + 4)  # x0-x30, sp, pc; cpsr: all 0
        return b""                     # "not supported"

    @staticmethod
    def _packet(body):
        return b"$%s#%02x" % (body, sum(body) & 0xff)


def test_stub_without_vttbr_is_an_error(tmp_path):
    stub = StubWithoutSysregs()
    script = str(tmp_path / "old-stub.gdb")
    exodebug.write_script(script, image("exo-el2.elf"),
                          image("guests/hello.elf"), "beta", list(GUESTS),
                          stub.port)
    out = gdb_batch(script, "break main", "info breakpoints")
    assert "exo: this QEMU's gdb stub does not show VTTBR_EL2" in out, out
    assert "stop only if" not in out, out
