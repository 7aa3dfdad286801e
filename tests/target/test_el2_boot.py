"""EL2 boots, reads the DTB, turns its MMU on with W^X and powers off; its
own protections fault and are reported; a broken DTB is reported clearly."""
import re
import subprocess

import pytest
from conftest import expect_clean, fdtput


def test_boots_and_powers_off(boot):
    r = boot()
    expect_clean(r)
    assert r.lines[0].startswith("[el2] exo EL2")
    assert "[el2] boot: no boot package at 0x48000000: no guests to run" in r.lines
    # Every frame of RAM is FREE or EL2's, and EL2's include its frame DB.
    ram = re.search(r"frames: (\d+) MiB of RAM, DB (\d+) KiB", r.output)
    totals = re.search(r"frames: (\d+) free, (\d+) EL2, 0 still held by guests",
                       r.output)
    assert ram and totals, r.output
    free, hyp = int(totals.group(1)), int(totals.group(2))
    assert free + hyp == int(ram.group(1)) * 256, r.output
    assert hyp >= int(ram.group(2)) // 4, r.output
    assert all(line.startswith("[el2] ") for line in r.lines), r.output


# FEAT_S2FWB (docs/stage2.md, "Memory attributes"): QEMU 7.2's max has it
# (ID_AA64MMFR2_EL1.FWB 1, and HCR_EL2.FWB takes a 1), the Cortex-A72
# (Armv8.0) does not. On, every guest runs with HCR_EL2.FWB and its RAM is
# forced Write-Back by stage 2; off, the cleans on hand-over are all.
FWB = {"max": "on (FEAT_S2FWB", "cortex-a72": "off (no FEAT_S2FWB"}


def test_stage2_forces_write_back_where_the_cpu_can(boot):
    r = boot()
    expect_clean(r)
    assert sum(l.startswith("[el2] stage 2: FWB ") for l in r.lines) == 1, \
        r.output
    assert f"[el2] stage 2: FWB {FWB[boot.cpu]}" in r.output, r.output


# What the debug EL2 asks the MMU (AT S12E1R, with the first guest loaded
# and its MMU still off): its RAM is Normal Write-Back where stage 2 forces
# it, Device (stage 1 off wins) where it cannot. The guest then runs as
# usual.
GUEST_RAM_TYPE = {"max": "Normal Write-Back (PAR_EL1.ATTR 0xff)",
                  "cortex-a72": "Device (PAR_EL1.ATTR 0x00)"}


def test_a_guest_with_its_mmu_off_gets_the_memory_type_stage2_says(boot):
    r = boot.system("hello")
    expect_clean(r)
    assert (f"[el2] debug: stage 2: guest 'hello' with its MMU off reads its "
            f"RAM as {GUEST_RAM_TYPE[boot.cpu]}") in r.lines, r.output


def test_dtb_summary(boot):
    out = boot().output
    assert re.search(r"dtb: RAM +0x0040000000-0x007fffffff \(1024 MiB\)", out)
    assert "dtb: PL011   0x0009000000" in out
    assert "dtb: GICD    0x0008000000" in out
    assert "dtb: GICR    0x00080a0000" in out
    assert "PPIs sec-phys 29, ns-phys 30, virt 27, hyp 26" in out
    assert "dtb: PSCI    conduit smc" in out


def test_more_ram_is_seen(boot):
    out = boot(mem="2G").output
    assert "0x0040000000-0x00bfffffff (2048 MiB)" in out


def test_mmu_on_with_wxn(boot):
    out = boot().output
    assert "mmu: on (SCTLR_EL2.M=1 WXN=1 C=1 I=1)" in out


# Where the stack protector's guard comes from: RNDR on a CPU with
# FEAT_RNG (QEMU's max), the counter a guest can read only without it.
CANARY_SOURCE = {"max": "RNDR (FEAT_RNG)",
                 "cortex-a72": "the counter (no FEAT_RNG)"}


def test_the_canary_comes_from_rndr_where_the_cpu_has_it(boot):
    out = boot().output
    assert f"entropy: stack protector seeded from {CANARY_SOURCE[boot.cpu]}" \
        in out, out


@pytest.mark.parametrize("case, ec, kind", [
    ("write-text", "EC 0x25 data abort (same EL)", "permission fault, level 3, write"),
    ("write-rodata", "EC 0x25 data abort (same EL)", "permission fault, level 3, write"),
    ("exec-data", "EC 0x21 instruction abort (same EL)",
     "permission fault, level 3, instruction fetch"),
    ("undef", "EC 0x00 unknown reason", "ISS 0x0"),
])
def test_own_protection_faults_are_reported(boot, case, ec, kind):
    r = boot("exo-el2-debug.elf", append=f"exo.test={case}")
    assert "unexpected exception: synchronous from EL2 with SP_EL2" in r.output, r.tail()
    assert ec in r.output and kind in r.output, r.tail()
    assert re.search(r"ELR 0x[0-9a-f]{16}  SPSR 0x[0-9a-f]{8}", r.output)
    assert "did not fault" not in r.output
    assert r.halt_status() == 1


def test_write_fault_address_is_the_target(boot):
    r = boot("exo-el2-debug.elf", append="exo.test=write-text")
    target = re.search(r"writing EL2 text at (0x[0-9a-f]+)", r.output).group(1)
    far = re.search(r"FAR (0x[0-9a-f]+)", r.output).group(1)
    assert int(far, 16) == int(target, 16)


def test_stack_protector_catches_smash(boot):
    r = boot("exo-el2-debug.elf", append="exo.test=stack-smash")
    assert "PANIC: stack protector: corrupted stack frame detected" in r.output
    assert r.halt_status() == 1


def test_test_image_without_test_boots_clean(boot):
    expect_clean(boot("exo-el2-debug.elf"))


@pytest.mark.parametrize("edit, words", [
    (("-r", "/pl011@9000000"), "console (arm,pl011): no node is compatible"),
    (("-d", "/pl011@9000000", "reg"), "console (arm,pl011): its node has no valid reg"),
    # QEMU rewrites /psci and /memory in a -dtb file, so those cases are
    # covered by the host tests (tests/host/test_platform.c) only.
    (("-t", "x", "/timer", "interrupts", "1", "d", "104"),
     "timer (arm,armv8-timer): interrupts must list 4 PPIs"),
    (("-r", "/timer"), "timer (arm,armv8-timer): no node is compatible"),
    (("-d", "/intc@8000000", "reg"), "GIC distributor (arm,gic-v3): its node has no valid reg"),
])
def test_broken_dtb_is_reported(boot, edit, words):
    dtb = boot.host_dtb()
    fdtput(dtb, *edit)
    r = boot(dtb=dtb)
    assert f"error: host DTB at 0x40000000: {words}" in r.output, r.tail()
    assert "cannot continue" in r.output
    assert r.halt_status() == 1


def test_hyp_timer_interrupts_reach_el2(boot):
    r = boot("exo-el2-debug.elf", append="exo.test=hyp-timer")
    expect_clean(r)
    assert r.output.count("(INTID 26)") == 5
    assert "selftest: hyp timer ok after 5 ticks" in r.output


RESERVED_NODES = """
	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;
		log@50000000 { reg = <0x0 0x50000000 0x0 0x100000>; };
		fw@60000000 { reg = <0x0 0x60000000 0x0 0x200000>; no-map; };
		pool { size = <0x0 0x100000>; };
	};
"""


def with_reservations(dts):
    """QEMU's DTB text plus a /memreserve/ entry and /reserved-memory."""
    dts = dts.replace("/dts-v1/;\n", "/dts-v1/;\n/memreserve/ 0x58000000 0x10000;\n", 1)
    end = dts.rindex("};")
    return dts[:end] + RESERVED_NODES + dts[end:]


def frames_line(out):
    m = re.search(r"frames: (\d+) free, (\d+) EL2, 0 still held by guests", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def test_reserved_memory_is_never_a_guests(boot, tmp_path):
    """/memreserve/ and /reserved-memory ranges with a reg are EL2's (HYP)
    from boot; a no-map one is not RAM at all (cut out of the RAM ranges,
    so not even EL2 maps it); a size-only pool needs nothing."""
    dtb = boot.host_dtb()
    dts = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", dtb],
                         check=True, capture_output=True, text=True).stdout

    def compiled(name, text):
        out = tmp_path / name
        subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(out)],
                       input=text, check=True, text=True)
        return str(out)

    # The same round trip through dtc without the reservations: QEMU's own
    # blob is padded to 1 MiB, dtc's is not, and EL2 claims the DTB's size.
    plain = boot(dtb=compiled("plain.dtb", dts))
    r = boot(dtb=compiled("reserved.dtb", with_reservations(dts)))
    expect_clean(r)
    assert "dtb: reserved 0x0058000000-0x005800ffff (64 KiB)" in r.output
    assert "dtb: reserved 0x0050000000-0x00500fffff (1024 KiB)" in r.output
    assert ("dtb: reserved 0x0060000000-0x00601fffff (2048 KiB), no-map: "
            "not RAM") in r.output
    assert "dtb: RAM     0x0040000000-0x005fffffff (512 MiB)" in r.output
    assert "dtb: RAM     0x0060200000-0x007fffffff (510 MiB)" in r.output
    free0, hyp0 = frames_line(plain.output)
    free, hyp = frames_line(r.output)
    assert hyp == hyp0 + 16 + 256, "the mapped reservations are EL2's"
    assert free == free0 - 16 - 256 - 512, "and the no-map one is not RAM"
