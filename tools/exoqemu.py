"""How exo boots in QEMU: one place for the command line, shared by
`make run` (tools/run) and the on-target tests (tests/target/conftest.py)."""
import re
import resource
import signal
import subprocess
import time
from dataclasses import dataclass, field

QEMU = "qemu-system-aarch64"
MACHINE = "virt,virtualization=on,gic-version=3"
HALT_RE = re.compile(r"^\[el2\] halting \(status (-?\d+)\)", re.M)
# Where QEMU places the boot package (manifest + guest images): mirrors
# EXO_BOOT_PKG_ADDR in el2/bootpkg.h; docs/manifest.md has the format.
BOOT_PKG_ADDR = 0x48000000
# Virtual time (docs/testing.md, "Time in tests"): under -icount the
# guest's counter and timers advance with retired instructions only, never
# with host time. shift=0: one instruction is 1 ns, so a manifest's
# milliseconds mean what they would on a 1 GHz CPU (and tools/bench's
# instruction counts are on the same scale); sleep=off: an idle machine
# jumps to its next timer instead of waiting for it in host time. Host load
# then changes how long a run takes, never what it does.
ICOUNT = "shift=0,sleep=off"
# QEMU's -seed: RNDR and the DTB's rng-seed/kaslr-seed come from it, so
# with ICOUNT the whole console is a function of the images, the CPU
# model, the bootargs and this seed.
SEED = 1
# The hang guard: a boot may use `timeout` seconds of QEMU's own CPU time
# (which host load does not change), and as a last resort WALL_PER_CPU
# times that in wall-clock time (a machine idle with no timer armed uses
# no CPU at all; a 10 % CPU quota stretches CPU time tenfold).
WALL_PER_CPU = 30


def command(kernel, cpu="max", mem="1G", smp=1, dtb=None, append=None,
            interactive=False, extra=(), machine_extra="", pkg=None,
            icount=None, seed=None):
    cmd = [QEMU, "-machine", MACHINE + machine_extra, "-cpu", cpu,
           "-smp", str(smp), "-m", mem, "-no-reboot", "-nic", "none"]
    if icount:
        cmd += ["-icount", icount]
    if seed is not None:
        cmd += ["-seed", str(seed)]
    if interactive:
        cmd += ["-nographic"]
    else:
        cmd += ["-display", "none", "-serial", "stdio", "-monitor", "none"]
    if dtb:
        cmd += ["-dtb", dtb]
    if append:
        cmd += ["-append", append]
    if pkg:
        cmd += ["-device",
                f"loader,file={pkg},addr={BOOT_PKG_ADDR:#x},force-raw=on"]
    cmd += list(extra) + ["-kernel", kernel]
    return cmd


def dump_dtb(path, cpu="max", mem="1G", smp=1):
    """Writes the DTB QEMU would generate for this machine to path."""
    cmd = command("/dev/null", cpu=cpu, mem=mem, smp=smp,
                  machine_extra=f",dumpdtb={path}")
    cmd = [c for c in cmd if c not in ("-kernel", "/dev/null")]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=30)


@dataclass
class Boot:
    cmd: list
    output: str          # the console (QEMU's stdout), byte for byte
    returncode: int
    timed_out: bool      # a hang guard stopped QEMU (see `hang`)
    seconds: float       # wall-clock time, for reports only
    lines: list = field(default_factory=list)
    stderr: str = ""     # QEMU's own messages, kept off the console
    cpu_seconds: float = 0.0   # QEMU's CPU time, load-independent
    hang: str = ""       # which hang guard fired, and after how long

    def halt_status(self):
        """The status EL2 printed when it powered off, or None."""
        m = HALT_RE.findall(self.output)
        return int(m[-1]) if m else None

    def tail(self, n=40):
        return "\n".join(self.output.splitlines()[-n:])


def _cpu_limit(seconds):
    """For the child: QEMU gets SIGXCPU after `seconds` of CPU time (and
    SIGKILL a second later), and writes no core file when it does."""
    soft = max(1, int(seconds + 0.999))

    def limit():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
    return limit


def _children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def boot(kernel, timeout=30, **kw):
    """Boots and waits. `timeout` is a hang guard in seconds of QEMU's CPU
    time (WALL_PER_CPU times as long in wall-clock time as a backstop);
    the caller runs one boot at a time (CPU time is its children's)."""
    cmd = command(kernel, **kw)
    wall = timeout * WALL_PER_CPU
    start, cpu_start = time.monotonic(), _children_cpu()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            preexec_fn=_cpu_limit(timeout))
    hang = ""
    try:
        out, err = proc.communicate(timeout=wall)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        hang = (f"hang guard: QEMU ran {wall:.0f} s of wall-clock time "
                f"(the backstop, {WALL_PER_CPU} x its CPU budget)")
    seconds, cpu = time.monotonic() - start, _children_cpu() - cpu_start
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL) and not hang:
        hang = (f"hang guard: QEMU used its {timeout:.0f} s budget of CPU "
                f"time")
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    return Boot(cmd, text, proc.returncode, bool(hang), seconds,
                text.splitlines(), err.decode("utf-8", "replace"), cpu, hang)


def qemu_version():
    out = subprocess.run([QEMU, "--version"], capture_output=True,
                         text=True).stdout
    m = re.search(r"version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)
