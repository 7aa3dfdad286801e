"""Shared by tools/symbolize and tools/run: which image each console line's
addresses belong to, and addr2line over them.

Backtrace lines (lib/backtrace.c) look like
    [el2]   #0 0x0000000040201234
    [hello]   #1 0xffff800000001234 (image +0x1234)
EL2 addresses are link addresses of the EL2 ELF; guest addresses are given
as offsets into the guest's PIE image (linked at 0), whose file is the
guest's `image` in the system manifest."""
import os
import re
import shutil
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
FRAME_RE = re.compile(
    r"^\[(?P<who>[^\]]+)\]\s+#(?P<n>\d+) 0x(?P<pc>[0-9a-f]+)"
    r"(?: \(image \+0x(?P<off>[0-9a-f]+)\))?\s*$")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def addr2line_tool():
    for t in ("llvm-addr2line", "aarch64-linux-gnu-addr2line", "addr2line"):
        if shutil.which(t):
            return t
    return None


def manifest_guests(dtb):
    """The guest names of a compiled manifest in its order (EL2's VMID
    order), via fdtget; None when the manifest cannot be read."""
    if not dtb or not os.path.exists(dtb) or not shutil.which("fdtget"):
        return None
    r = subprocess.run(["fdtget", "-l", dtb, "/guests"],
                       capture_output=True, text=True)
    return r.stdout.split() if r.returncode == 0 else None


def manifest_images(dtb):
    """{guest name: image file name} from a compiled manifest, via fdtget."""
    images = {}
    for n in manifest_guests(dtb) or ():
        r = subprocess.run(["fdtget", dtb, f"/guests/{n}", "image"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            images[n] = r.stdout.strip()
    return images


class Symbolizer:
    def __init__(self, el2, guests_dir, images):
        self.el2 = el2
        self.guests_dir = guests_dir
        self.images = images
        self.tool = addr2line_tool()
        self.cache = {}

    def elf_for(self, who):
        if who == "el2":
            return self.el2
        image = self.images.get(who, who + ".elf")
        path = os.path.join(self.guests_dir, image)
        return path if os.path.exists(path) else None

    def lookup(self, elf, addr):
        key = (elf, addr)
        if key not in self.cache:
            out = ""
            if self.tool and elf and os.path.exists(elf):
                r = subprocess.run([self.tool, "-f", "-p", "-C", "-i", "-e",
                                    elf, hex(addr)], capture_output=True,
                                   text=True)
                out = " / ".join(l.strip() for l in r.stdout.splitlines()
                                 if l.strip())
            self.cache[key] = out.replace(TOP, "") or "??"
        return self.cache[key]

    def frame(self, line):
        """(who, n, symbol text) for a backtrace line, else None."""
        m = FRAME_RE.match(ANSI_RE.sub("", line.rstrip("\n")))
        if not m:
            return None
        who = m.group("who")
        addr = int(m.group("off") or m.group("pc"), 16)
        if who != "el2" and m.group("off") is None:
            return None     # a guest address we cannot place in its image
        return who, int(m.group("n")), self.lookup(self.elf_for(who), addr)

    def backtraces(self, lines):
        """The symbolised frames of every backtrace in lines."""
        out = []
        for line in lines:
            f = self.frame(line)
            if f:
                out.append(f"[{f[0]}]   #{f[1]} {f[2]}")
        return out
