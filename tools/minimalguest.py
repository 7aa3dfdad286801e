"""The smallest guest EL2 runs, generated (no toolchain, no libos): a
static PIE (ET_DYN, one R+X PT_LOAD at 0) of ten instructions that asks
EL2 for its VM id (VM_INFO) and exits with status 0 (EXIT): two hypercalls,
which EL2's summary counts, so each guest is seen to have run its own
code. It prints nothing. tests/target/test_thousand.py boots 1,000 of it
in 4 GiB; tools/bench's scale rows of 1,000 guests do too.

Owns: the image's bytes and the quota it needs. Never: boots anything."""
import struct

# The guest's quota and boot frames, as small as EL2 accepts for an image
# of one frame (the image, its DTB, the boot frames and the stage-2
# tables: docs/manifest.md, quota-frames).
QUOTA_FRAMES = 16
BOOT_FRAMES = 1

# include/exo/hvc.h: EXO_HVC(n) is 0xC6000000 | n.
HVC_VM_INFO = 0xC6000006
HVC_EXIT = 0xC6000008

ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
EM_AARCH64, ET_DYN, PT_LOAD, PF_R_X = 183, 3, 1, 5
HVC0 = 0xD4000002
BRANCH_TO_SELF = 0x14000000


def movz(rd, imm16, shift=0):
    """MOVZ Xd, #imm16, LSL #shift."""
    return 0xD2800000 | (shift // 16) << 21 | imm16 << 5 | rd


def movk(rd, imm16, shift):
    """MOVK Xd, #imm16, LSL #shift."""
    return 0xF2800000 | (shift // 16) << 21 | imm16 << 5 | rd


def mov_fid(fid):
    return [movz(0, fid & 0xFFFF), movk(0, fid >> 16, 16)]


def image():
    """The ELF: VM_INFO, then EXIT(0) with cause and address 0 (x1-x3)."""
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


def guest_node(name, image_name="minimal.elf"):
    """One guest of it in a manifest's `guests` node."""
    return (f'\t\t{name} {{ image = "{image_name}"; quota-frames = '
            f'<{QUOTA_FRAMES}>; boot-frames = <{BOOT_FRAMES}>; }};\n')
