"""A thousand guests (issue 16): 1,000 small guests boot, run and exit in
4 GiB, on `-cpu max` (16-bit VMIDs: each guest's VMID is its VM id) and on
`-cpu cortex-a72` (8-bit VMIDs: 255 a generation, so VMIDs are recycled,
each rollover invalidating every guest's TLB entries; el2/vmid.c). The
system is generated here: every guest runs one tiny image, a static PIE
of five instructions built below, that asks EL2 for its VM id (VM_INFO)
and exits with status 0 (EXIT): two hypercalls each, which the summary
counts, so each guest is seen to have run its own code."""
import os
import re
import struct
import subprocess

from conftest import TOP, expect_clean, no_leak, summary

GUESTS = 1000
MEM = "4G"
# The guest: its quota and boot frames, as small as EL2 accepts for an
# image of one frame (the image, its DTB, the boot frames and the stage-2
# tables: docs/manifest.md, quota-frames).
QUOTA_FRAMES = 16
BOOT_FRAMES = 1
# What 8-bit VMIDs give a generation (0 is never given: el2/vmid.h).
VMIDS_8BIT = 255

# include/exo/hvc.h: EXO_HVC(n) is 0xC6000000 | n.
HVC_VM_INFO = 0xC6000006
HVC_EXIT = 0xC6000008

ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
EM_AARCH64, ET_DYN, PT_LOAD, PF_R_X = 183, 3, 1, 5


def movz(rd, imm16, shift=0):
    """MOVZ Xd, #imm16, LSL #shift."""
    return 0xD2800000 | (shift // 16) << 21 | imm16 << 5 | rd


def movk(rd, imm16, shift):
    """MOVK Xd, #imm16, LSL #shift."""
    return 0xF2800000 | (shift // 16) << 21 | imm16 << 5 | rd


def mov_fid(fid):
    return [movz(0, fid & 0xFFFF), movk(0, fid >> 16, 16)]


HVC0 = 0xD4000002
BRANCH_TO_SELF = 0x14000000


def tiny_guest():
    """A static PIE (ET_DYN, one R+X PT_LOAD at 0): VM_INFO, then EXIT(0)
    with cause and address 0 (x1-x3)."""
    code = (mov_fid(HVC_VM_INFO) + [HVC0] + mov_fid(HVC_EXIT) +
            [movz(1, 0), movz(2, 0), movz(3, 0), HVC0, BRANCH_TO_SELF])
    text = struct.pack(f"<{len(code)}I", *code)
    entry = ELF_HEADER.size + PHDR.size
    size = entry + len(text)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = ELF_HEADER.pack(ident, ET_DYN, EM_AARCH64, 1, entry,
                             ELF_HEADER.size, 0, 0, ELF_HEADER.size,
                             PHDR.size, 1, 64, 0, 0)
    phdr = PHDR.pack(PT_LOAD, PF_R_X, 0, 0, 0, size, size, 0x1000)
    return header + phdr + text


def thousand_system(tmp_path):
    """The boot package: the manifest of GUESTS guests and the one image."""
    elf = tmp_path / "tiny.elf"
    elf.write_bytes(tiny_guest())
    nodes = "".join(
        f'\t\tg{i} {{ image = "tiny.elf"; quota-frames = <{QUOTA_FRAMES}>; '
        f'boot-frames = <{BOOT_FRAMES}>; }};\n' for i in range(1, GUESTS + 1))
    dts = tmp_path / "thousand.dts"
    dts.write_text('/dts-v1/;\n/ { compatible = "exo,system";\n'
                   f'\tguests {{\n{nodes}\t}};\n}};\n')
    dtb, pkg = tmp_path / "thousand.dtb", tmp_path / "thousand.pkg"
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb),
                    str(dts)], check=True)
    subprocess.run([os.path.join(TOP, "tools", "mkpkg"), "-o", str(pkg),
                    str(dtb), str(elf)], check=True)
    return str(pkg)


VMIDS = re.compile(r"^\[el2\] vmids: (\d+) a generation, (\d+) rollovers$",
                   re.M)


def test_a_thousand_guests_boot_and_exit_in_4g(boot, cpu, tmp_path):
    r = boot(pkg=thousand_system(tmp_path), mem=MEM, timeout=120)
    expect_clean(r)
    rows = summary(r)
    assert len(rows) == GUESTS, r.tail()
    for i in range(1, GUESTS + 1):
        row = rows[f"g{i}"]
        assert (row.state, row.status, row.hypercalls) == ("exited", 0, 2), \
            f"g{i}: {row.state} {row.status}, {row.hypercalls} hypercalls"
        assert row.vmid == i, "VM ids follow the manifest"
    assert f"result: {GUESTS} of {GUESTS} guests succeeded" in r.output
    no_leak(r)
    m = VMIDS.search(r.output)
    assert m, r.tail()
    per_generation, rollovers = int(m.group(1)), int(m.group(2))
    if cpu == "cortex-a72":
        # Each guest runs once, so every VMID_8BIT-th first load finds the
        # generation used up.
        assert per_generation == VMIDS_8BIT
        assert rollovers >= GUESTS // VMIDS_8BIT, r.tail()
    else:
        assert per_generation == 2 ** 16 - 1
        assert rollovers == 0, "16-bit VMIDs: one for each guest"
