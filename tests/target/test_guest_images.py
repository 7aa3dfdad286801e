"""Guest images are static PIEs el1 can relocate anywhere: checked on the
built ELFs with readelf, without QEMU. tools/check-pie runs at build time;
these tests read the files independently (readelf, not check-pie's parser)
and also make sure check-pie rejects what it must."""
import os
import re
import shutil
import struct
import subprocess

import pytest
from conftest import TOP, build_dir

EXAMPLE_GUESTS = ("hello", "counter", "spin")
CHECK_PIE = os.path.join(TOP, "tools", "check-pie")
READELF = shutil.which("readelf") or shutil.which("llvm-readelf")
PAGE = 4096


def guest_dir():
    return os.path.join(build_dir(), "guests")


def guest_images():
    d = guest_dir()
    names = sorted(f for f in os.listdir(d) if f.endswith(".elf")) \
        if os.path.isdir(d) else []
    return names or ["(none built)"]


def readelf(path, *opts):
    return subprocess.run([READELF, "-W", *opts, path], check=True,
                          capture_output=True, text=True).stdout


class Load:
    def __init__(self, line):
        f = line.split()
        self.vaddr, self.memsz = int(f[2], 16), int(f[5], 16)
        self.flags = "".join(f[6:-1])

    def holds(self, addr, size=1):
        return self.vaddr <= addr and addr + size <= self.vaddr + self.memsz


def loads(path):
    return [Load(l) for l in readelf(path, "-l").splitlines()
            if l.strip().startswith("LOAD")]


def relocations(path):
    """(offset, type name) of every dynamic relocation."""
    out = []
    for line in readelf(path, "-r").splitlines():
        m = re.match(r"^([0-9a-f]{16})\s+[0-9a-f]+\s+(\S+)", line)
        if m:
            out.append((int(m.group(1), 16), m.group(2)))
    return out


def symbol(path, name):
    for line in readelf(path, "-s").splitlines():
        f = line.split()
        if len(f) >= 8 and f[7] == name:
            return int(f[1], 16)
    return None


@pytest.fixture(params=guest_images())
def guest(request):
    path = os.path.join(guest_dir(), request.param)
    if not os.path.exists(path):
        pytest.fail(f"no guest images in {guest_dir()}: run 'make' first")
    return path


def test_example_guests_are_built():
    for name in EXAMPLE_GUESTS:
        assert os.path.exists(os.path.join(guest_dir(), name + ".elf")), name


def test_is_aarch64_pie(guest):
    h = readelf(guest, "-h")
    assert re.search(r"Type:\s+DYN", h), h
    assert re.search(r"Machine:\s+AArch64", h), h


def test_no_interpreter_and_no_needed(guest):
    assert "INTERP" not in readelf(guest, "-l")
    assert "(NEEDED)" not in readelf(guest, "-d")
    assert "TEXTREL" not in readelf(guest, "-d")


def test_only_relative_relocations(guest):
    relocs = relocations(guest)
    assert relocs, "a guest with libfdt and kprintf has pointers to relocate"
    assert {t for _, t in relocs} == {"R_AARCH64_RELATIVE"}


def test_relocations_hit_aligned_words_of_writable_segments(guest):
    writable = [s for s in loads(guest) if "W" in s.flags]
    for off, _ in relocations(guest):
        assert off % 8 == 0, hex(off)
        assert any(s.holds(off, 8) for s in writable), hex(off)


def test_rela_bounds_cover_every_entry(guest):
    start = symbol(guest, "__rela_start")
    end = symbol(guest, "__rela_end")
    assert start is not None and end is not None
    assert (end - start) // 24 == len(relocations(guest))


def test_wx_segments(guest):
    segs = loads(guest)
    assert [s.flags for s in segs] == ["RE", "R", "RW"]
    for s in segs:
        assert s.vaddr % PAGE == 0
    for a, b in zip(segs, segs[1:]):
        assert -(-(a.vaddr + a.memsz) // PAGE) * PAGE <= b.vaddr


def test_entry_is_start_of_text(guest):
    entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)",
                          readelf(guest, "-h")).group(1), 16)
    assert entry == 0 == symbol(guest, "_start")
    assert loads(guest)[0].holds(entry, 4)


def test_boot_stack_is_in_the_image(guest):
    top = symbol(guest, "__stack_top")
    assert top is not None and top % 16 == 0
    assert loads(guest)[-1].holds(top - 16, 16)


def test_check_pie_accepts(guest):
    r = subprocess.run([CHECK_PIE, guest], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --- check-pie must reject broken images ----------------------------------

def run_check_pie(path):
    return subprocess.run([CHECK_PIE, path], capture_output=True, text=True)


def patched(tmp_path, patch):
    src = os.path.join(guest_dir(), "hello.elf")
    data = bytearray(open(src, "rb").read())
    patch(data)
    out = tmp_path / "patched.elf"
    out.write_bytes(bytes(data))
    return str(out)


def phdr_offsets(data):
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return [phoff + i * phentsize for i in range(phnum)]


def first_rela_entry(data):
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum = struct.unpack_from("<HH", data, 58)
    for i in range(shnum):
        sh = shoff + i * shentsize
        if struct.unpack_from("<I", data, sh + 4)[0] == 4:  # SHT_RELA
            return struct.unpack_from("<Q", data, sh + 24)[0]
    raise AssertionError("no SHT_RELA section")


def test_check_pie_rejects_fixed_address_image():
    r = run_check_pie(os.path.join(build_dir(), "exo-el2.elf"))
    assert r.returncode == 1 and "not ET_DYN" in r.stderr, r.stderr


def test_check_pie_rejects_other_relocation_types(tmp_path):
    def abs64(data):
        struct.pack_into("<Q", data, first_rela_entry(data) + 8, 257)
    r = run_check_pie(patched(tmp_path, abs64))
    assert r.returncode == 1 and "not R_AARCH64_RELATIVE" in r.stderr, r.stderr


def test_check_pie_rejects_writable_text(tmp_path):
    def rwx(data):
        struct.pack_into("<I", data, phdr_offsets(data)[0] + 4, 7)
    r = run_check_pie(patched(tmp_path, rwx))
    assert r.returncode == 1 and "writable and executable" in r.stderr, r.stderr


def test_check_pie_rejects_relocating_read_only_data(tmp_path):
    def into_rodata(data):
        struct.pack_into("<Q", data, first_rela_entry(data), 0x10)
    r = run_check_pie(patched(tmp_path, into_rodata))
    assert r.returncode == 1 and "writable segment" in r.stderr, r.stderr
