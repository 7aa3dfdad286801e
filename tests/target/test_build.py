"""`make run SYSTEM=x` builds only what x needs (the Makefile's "systems"
section): in a fresh copy of the tree holding a manifest dtc rejects and a
guest that does not compile, neither of them used by tiny, `make run
SYSTEM=tiny` still builds and boots, and builds nothing else. A manifest
naming an image no guest directory builds is packed without it, and EL2
says so at boot.

This is a build from scratch (the release EL2, the EL1 runtime, one guest):
about 10 s on 2 idle cores."""
import os
import shutil
import subprocess

from conftest import TOP, tool_module
from test_readme import clean_env, toolchain

FRESH_BUILD_TIMEOUT = 600

BROKEN_DTS = '/dts-v1/;\n/ { compatible = "exo,system"; guests { oops\n'
NOCOMPILE_C = "int main(void)\n{\n\treturn 0\n}\n"
MISSING_DTS = """/dts-v1/;
/ { compatible = "exo,system";
	guests {
		tiny { image = "tiny.elf"; quota-frames = <256>; };
		ghost { image = "nosuch.elf"; quota-frames = <256>; };
	}; };
"""




mkpkg = tool_module("mkpkg")


def source_files():
    """The tree as git sees it, uncommitted edits and new files included
    (so a local run tests what is being changed, and a clean clone in CI
    what is committed); None outside a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=TOP, check=True,
                             capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [p for p in out.decode().split("\0") if p]


def copy_tree(dest):
    files = source_files()
    if files is None:
        shutil.copytree(TOP, dest, symlinks=True,
                        ignore=shutil.ignore_patterns("build", ".git"))
        return
    for rel in files:
        src = os.path.join(TOP, rel)
        if not os.path.lexists(src):        # deleted, not yet committed
            continue
        dst = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)


def package_entries(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, _, count, _ = mkpkg.HEADER.unpack_from(data, 0)
    assert magic == mkpkg.MAGIC, f"{path}: not a boot package"
    names = []
    for i in range(count):
        name, _, _ = mkpkg.ENTRY.unpack_from(
            data, mkpkg.HEADER.size + i * mkpkg.ENTRY.size)
        names.append(name.rstrip(b"\0").decode())
    return names


def make(tree, *args):
    return subprocess.run(["make", *args, f"TOOLCHAIN={toolchain()}"],
                          cwd=tree, env=clean_env(), capture_output=True,
                          text=True, timeout=FRESH_BUILD_TIMEOUT)


def test_make_run_builds_only_its_system(tmp_path):
    tree = tmp_path / "tree"
    copy_tree(tree)
    (tree / "guests" / "broken.dts").write_text(BROKEN_DTS)
    (tree / "guests" / "nocompile").mkdir()
    (tree / "guests" / "nocompile" / "main.c").write_text(NOCOMPILE_C)

    r = make(tree, "run", "SYSTEM=tiny")
    log = r.stdout[-3000:] + r.stderr[-3000:]
    assert r.returncode == 0, log
    assert "[tiny] hi from tiny: 1 args" in r.stdout, log
    assert "[el2] result: 1 of 1 guests succeeded" in r.stdout, log

    out = tree / "build" / toolchain()
    assert package_entries(out / "systems" / "tiny.pkg") == \
        ["manifest.dtb", "tiny.elf"]
    assert sorted(os.listdir(out / "systems")) == ["tiny.pkg"]
    assert sorted(os.listdir(out / "guests")) == ["tiny.elf"]
    assert not (out / "exo-el2-debug.elf").exists(), \
        "make run built the debug EL2"

    # A manifest naming an image nothing builds: the host check refuses it
    # before QEMU starts, naming the .dts, and leaves no package behind.
    (tree / "guests" / "missing.dts").write_text(MISSING_DTS)
    r = make(tree, "run", "SYSTEM=missing")
    log = r.stdout[-3000:] + r.stderr[-3000:]
    assert r.returncode != 0, log
    assert "guests/missing.dts: guest 'ghost': property 'image': no entry " \
        "'nosuch.elf' in the boot package" in r.stdout + r.stderr, log
    assert "[el2]" not in r.stdout, log
    assert not (out / "systems" / "missing.pkg").exists(), log

    # Broken on purpose (exo,expect-errors): packed without the image, and
    # EL2 refuses that guest (status 1) while tiny still runs.
    (tree / "guests" / "missing.dts").write_text(
        MISSING_DTS.replace('compatible = "exo,system";',
                            'compatible = "exo,system"; exo,expect-errors;'))
    r = make(tree, "run", "SYSTEM=missing")
    log = r.stdout[-3000:] + r.stderr[-3000:]
    assert r.returncode != 0, log
    assert "[el2] error: guest 'ghost': property 'image': no entry " \
        "'nosuch.elf' in the boot package" in r.stdout, log
    assert "[tiny] hi from tiny: 1 args" in r.stdout, log
    assert package_entries(out / "systems" / "missing.pkg") == \
        ["manifest.dtb", "tiny.elf"]
