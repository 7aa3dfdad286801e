"""A thousand guests (issue 16): 1,000 small guests boot, run and exit in
4 GiB, on `-cpu max` (16-bit VMIDs: each guest's VMID is its VM id) and on
`-cpu cortex-a72` (8-bit VMIDs: 255 a generation, so VMIDs are recycled,
each rollover invalidating every guest's TLB entries; el2/vmid.c). The
system is generated here: every guest runs one tiny image, a static PIE
of ten instructions (tools/minimalguest.py), that asks EL2 for its VM id
(VM_INFO) and exits with status 0 (EXIT): two hypercalls each, which the
summary counts, so each guest is seen to have run its own code."""
import os
import re
import subprocess

from conftest import TOP, expect_clean, no_leak, summary, tool_module

GUESTS = 1000
MEM = "4G"
# What 8-bit VMIDs give a generation (0 is never given: el2/vmid.h).
VMIDS_8BIT = 255
# The guest (tools/minimalguest.py): shared with tools/bench's scale rows.
minimalguest = tool_module("minimalguest.py")


def thousand_system(tmp_path):
    """The boot package: the manifest of GUESTS guests and the one image."""
    elf = tmp_path / "minimal.elf"
    elf.write_bytes(minimalguest.image())
    nodes = "".join(minimalguest.guest_node(f"g{i}")
                    for i in range(1, GUESTS + 1))
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
