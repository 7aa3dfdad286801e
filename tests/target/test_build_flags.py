"""A change of compile flags rebuilds the objects built with the old ones
(the Makefile's flags_stamp): each object tree's stamp file holds its
compiler and flags, is rewritten only when they change, and every object
of the tree depends on it. Stale EL1 objects linked with new flags once
broke the tasks test; these tests fail if the stamp stops following the
flags or an object tree stops depending on it."""
import os
import subprocess

import pytest

from conftest import TOP
from test_readme import clean_env, toolchain

PROBE = "stamp-probe: ; @echo $(call flags_stamp,probe/.flags,$(PROBE_FLAGS))"


def probe(tmp_path, flags):
    """The Makefile's flags_stamp for probe/.flags in tmp_path."""
    r = subprocess.run(["make", "-s", "--no-print-directory", "-f",
                        os.path.join(TOP, "Makefile"), "-C", str(tmp_path),
                        "--eval", PROBE, f"PROBE_FLAGS={flags}",
                        "stamp-probe"],
                       env=clean_env(), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    stamp = tmp_path / "probe" / ".flags"
    assert r.stdout.strip() == "probe/.flags"
    return stamp.read_text(), stamp.stat().st_mtime_ns


def test_the_stamp_changes_only_with_the_flags(tmp_path):
    text, first = probe(tmp_path, "-O2 -DX='a b'")
    assert text == "-O2 -DX='a b'\n", "the flags, quotes included"
    os.utime(tmp_path / "probe" / ".flags", ns=(1, 1))
    _, same = probe(tmp_path, "-O2 -DX='a b'")
    assert same == 1, "the same flags rewrote the stamp (a rebuild each run)"
    text, changed = probe(tmp_path, "-O1 -DX='a b'")
    assert text == "-O1 -DX='a b'\n" and changed != 1, \
        "new flags left the old stamp (stale objects)"


def planned(*args):
    r = subprocess.run(["make", "-n", *args, f"TOOLCHAIN={toolchain()}"],
                       cwd=TOP, env=clean_env(), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def rebuilt(plan, tree, kind):
    """Does make's plan compile (kind CC) or assemble (AS) an object of
    tree? The rules echo "  CC      file  [tree toolchain]"."""
    return any(f"  {kind} " in line and f"[{tree} " in line
               for line in plan.splitlines())


# The debug EL2's assembly rule echoes nothing: its C objects stand for it.
@pytest.mark.parametrize("tree,target,kinds", [
    ("el1", "guests/hello.elf", ("CC", "AS")),
    ("el2", "exo-el2.elf", ("CC", "AS")),
    ("el2-debug", "exo-el2-debug.elf", ("CC",)),
])
def test_every_object_depends_on_its_trees_stamp(tree, target, kinds):
    out = os.path.join("build", toolchain())
    goal = os.path.join(out, target)
    if any(rebuilt(planned(goal), tree, k) for k in kinds):
        pytest.skip(f"{goal} is not up to date: nothing to compare")
    # make -W: as if the stamp had just changed (nothing is written).
    plan = planned("-W", os.path.join(out, tree, ".flags"), goal)
    for kind in kinds:
        assert rebuilt(plan, tree, kind), \
            f"{tree}'s {kind} objects ignore its flags"
