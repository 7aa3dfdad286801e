"""el1 runs in QEMU under a stand-in for EL2 (tests/target/el1stub: no stage
2, answers the hypercalls, halts on EXIT with the guest's status), so the
guest runtime is tested before EL2 runs guests: self-relocation at several
load addresses, the DTB's name, args and policy, the console, frames, traps
handled and unhandled, panics."""
import os
import re
import subprocess

import pytest
from conftest import TOP, build_dir, image
import exoqemu

PARAMS = 0x401ff000   # stub.c STUB_PARAMS: guest entry, guest DTB
DTB_AT = 0x40300000
LOAD_AT = 0x40a37000  # page-aligned, not 2 MiB-aligned
OTHER_LOAD = 0x4c000000

GUEST_DTS = """/dts-v1/;
/ {{
	#address-cells = <2>;
	#size-cells = <2>;
	memory@{load:x} {{ device_type = "memory"; reg = <0x0 0x{load:x} 0x0 0x100000>; }};
	chosen {{
		exo,name = "{name}";
		exo,heap-policy = "tlsf";
		exo,granule = "4k";
		{args}
	}};
}};
"""


def run_guest(tmp_path, name, args=(), load=LOAD_AT, dtb_at=DTB_AT,
              cpu="max"):
    elf = image(os.path.join("guests", name + ".elf"))
    flat = tmp_path / (name + ".bin")
    subprocess.run(["llvm-objcopy", "-O", "binary", elf, str(flat)],
                   check=True)
    argprop = ("exo,args = " + ", ".join(f'"{a}"' for a in args) + ";") \
        if args else ""
    dts = tmp_path / "guest.dts"
    dts.write_text(GUEST_DTS.format(name=name, load=load & ~0xfff,
                                    args=argprop))
    dtb = tmp_path / "guest.dtb"
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb),
                    str(dts)], check=True)
    extra = [
        "-device", f"loader,addr={PARAMS:#x},data={load:#x},data-len=8",
        "-device", f"loader,addr={PARAMS + 8:#x},data={dtb_at:#x},data-len=8",
        "-device", f"loader,file={dtb},addr={DTB_AT:#x},force-raw=on",
        "-device", f"loader,file={flat},addr={load:#x},force-raw=on",
    ]
    r = exoqemu.boot(image("el1-stub.elf"), timeout=30, cpu=cpu, extra=extra)
    assert not r.timed_out, r.tail()
    return r


def guest_lines(r):
    return [l[len("[guest] "):] for l in r.lines if l.startswith("[guest] ")]


def abi_version():
    """EXO_ABI_VERSION as include/exo/hvc.h defines it."""
    with open(os.path.join(TOP, "include", "exo", "hvc.h")) as f:
        m = re.search(r"#define EXO_ABI_VERSION (0x[0-9a-fA-F]+)u", f.read())
    return int(m.group(1), 16)


@pytest.mark.parametrize("cpu", ["max", "cortex-a72"])
def test_hello_relocates_and_reads_its_dtb(tmp_path, cpu):
    r = run_guest(tmp_path, "hello", ["one", "two three"], cpu=cpu)
    out = guest_lines(r)
    assert r.halt_status() == 0, r.tail()
    assert out[:4] == ["hello from hello", "argc: 3", "argv[1]: one",
                       "argv[2]: two three"]
    assert "heap policy: tlsf" in out and "granule: 4k" in out
    assert f"memory: {LOAD_AT:#x}-{LOAD_AT + 0xfffff:#x}" in out
    assert any(l.startswith(f"image: {LOAD_AT:#x}-") for l in out), out
    assert f"abi: {abi_version():#x} (status 0)" in out
    assert "vm info: id 1, quota 1024 frames, 0 charged" in out


def test_output_does_not_depend_on_load_address(tmp_path):
    a = guest_lines(run_guest(tmp_path, "hello", ["x"], load=LOAD_AT))
    b = guest_lines(run_guest(tmp_path, "hello", ["x"], load=OTHER_LOAD))
    strip = [l for l in a if not l.startswith(("image:", "memory:"))]
    assert strip == [l for l in b if not l.startswith(("image:", "memory:"))]
    assert any(l.startswith(f"image: {OTHER_LOAD:#x}-") for l in b), b


def test_counter_checksum(tmp_path):
    r1 = run_guest(tmp_path, "counter")
    r2 = run_guest(tmp_path, "counter", load=OTHER_LOAD)
    assert r1.halt_status() == 0 and r2.halt_status() == 0, r1.tail()
    sums = [re.search(r"checksum (0x[0-9a-f]{16}), 0 bad words", r.output)
            for r in (r1, r2)]
    assert all(sums), r1.tail()
    assert sums[0].group(1) == sums[1].group(1)


def test_misaligned_load_exits_120(tmp_path):
    r = run_guest(tmp_path, "hello", load=LOAD_AT + 0x800)
    assert r.halt_status() == 120, r.tail()
    assert not guest_lines(r)


def test_bad_dtb_panics(tmp_path):
    r = run_guest(tmp_path, "hello", dtb_at=DTB_AT + 0x10)
    assert r.halt_status() == 1, r.tail()
    assert "PANIC: guest DTB at 0x40300010: no valid DTB at x0" in r.output


def test_handled_trap_keeps_registers(tmp_path):
    r = run_guest(tmp_path, "el1_selftest", ["handled"])
    assert "brk handled 1 time(s), x0 changed yes, d0 kept" in r.output, \
        r.tail()
    assert r.halt_status() == 0


@pytest.mark.parametrize("case, ec, name", [
    ("udf", 0x00, "unknown reason (undefined instruction)"),
    ("unhandled-brk", 0x3c, "BRK (AArch64)"),
])
def test_unhandled_exception_is_reported(tmp_path, case, ec, name):
    r = run_guest(tmp_path, "el1_selftest", [case])
    out = r.output
    assert "unexpected exception: synchronous from EL1 with SP_EL1" in out
    assert f"EC 0x{ec:02x} {name}" in out, r.tail()
    assert re.search(r"ELR 0x[0-9a-f]{16} \(image \+0x[0-9a-f]+\)", out)
    assert re.search(r"x30 0x[0-9a-f]{16}", out)
    assert f"exiting with status {128 + ec}" in out
    assert r.halt_status() == 128 + ec


def test_panic_exits_1(tmp_path):
    r = run_guest(tmp_path, "el1_selftest", ["panic"])
    assert "PANIC: asked to panic" in r.output, r.tail()
    assert r.halt_status() == 1
