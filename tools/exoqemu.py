"""How exo boots in QEMU: one place for the command line, shared by
`make run` (tools/run) and the on-target tests (tests/target/conftest.py)."""
import os
import re
import subprocess
import time
from dataclasses import dataclass, field

QEMU = "qemu-system-aarch64"
MACHINE = "virt,virtualization=on,gic-version=3"
HALT_RE = re.compile(r"^\[el2\] halting \(status (-?\d+)\)", re.M)
# Where QEMU places the boot package (manifest + guest images): mirrors
# EXO_BOOT_PKG_ADDR in el2/bootpkg.h; docs/manifest.md has the format.
BOOT_PKG_ADDR = 0x48000000


def command(kernel, cpu="max", mem="1G", smp=1, dtb=None, append=None,
            interactive=False, extra=(), machine_extra="", pkg=None):
    cmd = [QEMU, "-machine", MACHINE + machine_extra, "-cpu", cpu,
           "-smp", str(smp), "-m", mem, "-no-reboot", "-nic", "none"]
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
    output: str
    returncode: int
    timed_out: bool
    seconds: float
    lines: list = field(default_factory=list)

    def halt_status(self):
        """The status EL2 printed when it powered off, or None."""
        m = HALT_RE.findall(self.output)
        return int(m[-1]) if m else None

    def tail(self, n=40):
        return "\n".join(self.output.splitlines()[-n:])


def boot(kernel, timeout=30, **kw):
    cmd = command(kernel, **kw)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        timed_out = True
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    return Boot(cmd, text, proc.returncode, timed_out,
                time.monotonic() - start, text.splitlines())


def qemu_version():
    out = subprocess.run([QEMU, "--version"], capture_output=True,
                         text=True).stdout
    m = re.search(r"version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)
