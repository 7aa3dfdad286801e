"""tools/layers, the one-way rule of make test (docs/architecture.md,
"Layers"): the tree passes all four checks, and each check names a
violation planted in a scratch copy: an include of el2/ from libos, an ABI
header including a lib header, a call from lib into EL2, a two-file
call loop inside EL2, a file name used twice (the call check also passes a tree without one). Host
only: it reads the clang build's objects (make images) and compiles the
planted files itself; no QEMU."""
import os
import shutil
import subprocess

import pytest

from conftest import TOP, build_dir, tool_module

layers = tool_module("layers")

TOOL = os.path.join(TOP, "tools", "layers")
IMAGES = ("el2", "el2-debug", "el1")
CC = ["clang", "--target=aarch64-none-elf", "-ffreestanding", "-c"]


def run(*args):
    r = subprocess.run([TOOL, *args], capture_output=True, text=True,
                       cwd=TOP, timeout=120)
    return r.returncode, r.stdout + r.stderr


def copy_sources(dest):
    """The layers' sources and the Makefile (for the -I list)."""
    for d in layers.SOURCE_DIRS:
        if os.path.isdir(os.path.join(TOP, d)):
            shutil.copytree(os.path.join(TOP, d), os.path.join(dest, d))
    shutil.copy(os.path.join(TOP, "Makefile"), dest)


def copy_objects(dest):
    """The built objects, hard-linked (they are only read)."""
    for image in IMAGES:
        src = os.path.join(build_dir(), image)
        if not os.path.isdir(src):
            pytest.fail(f"{src} missing: make images first")
        shutil.copytree(src, os.path.join(dest, image),
                        copy_function=os.link)


def plant(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        f.write(text)


def compile_into(root, build, rel, images):
    for image in images:
        obj = os.path.join(build, image, rel + ".o")
        os.makedirs(os.path.dirname(obj), exist_ok=True)
        subprocess.run(CC + [os.path.join(root, rel), "-o", obj], check=True)


def test_tree_passes_every_check():
    rc, out = run("--includes", "--symbols", "--calls", "--names", "--build",
                  build_dir())
    assert rc == 0, out
    assert all(f"layers: {c}: ok" in out
               for c in ("includes", "symbols", "calls", "names")), out


def test_a_file_name_used_twice_is_named(tmp_path):
    """A second file of a name, unless the pair is the same concept at two
    layers (SAME_CONCEPT); a third start.S breaks the listed pair too."""
    root = str(tmp_path / "tree")
    copy_sources(root)
    plant(root, "libos/mm/dispatch.c", "/* not EL2's dispatcher */\n")
    plant(root, "libos/arch/start.S", "/* a third start.S */\n")
    rc, out = run("--names", "--root", root)
    assert rc == 1, out
    assert "file name dispatch.c is used 2 times: el2/dispatch.c, " \
        "libos/mm/dispatch.c" in out, out
    assert "file name start.S is used 3 times" in out, out
    assert "layers: names: 2 violation(s)" in out, out


def test_include_of_el2_from_libos_is_named(tmp_path):
    root = str(tmp_path / "tree")
    copy_sources(root)
    plant(root, "libos/planted.c", "#include <el2/mem.h>\n")
    plant(root, "include/exo/planted.h", '#include "lib/print.h"\n')
    rc, out = run("--includes", "--root", root)
    assert rc == 1, out
    assert "libos/planted.c:1: includes el2/mem.h (el2)" in out, out
    assert "include/exo/planted.h:1: includes include/lib/print.h (lib)" \
        in out, out
    assert "layers: includes: 2 violation(s)" in out, out


def test_call_from_lib_into_el2_is_named(tmp_path):
    root, build = str(tmp_path / "tree"), str(tmp_path / "build")
    copy_sources(root)
    copy_objects(build)
    plant(root, "lib/planted.c",
          "struct frames_db;\n"
          "const struct frames_db *mem_frames_db(void);\n"
          "const void *planted(void) { return mem_frames_db(); }\n")
    compile_into(root, build, "lib/planted.c", IMAGES)
    rc, out = run("--symbols", "--root", root, "--build", build)
    assert rc == 1, out
    named = [l for l in out.splitlines() if l.startswith("lib/planted.c")]
    # EL2's images define it; the EL1 image does not (outside the tree).
    assert len(named) == 2, out
    assert all("uses mem_frames_db, defined only in el2/" in l and
               "(el2): lib may use only arch, exo, lib" in l
               for l in named), out


def el2_tree(root, build, sources):
    for rel, text in sources.items():
        plant(root, rel, text)
        compile_into(root, build, rel, ["el2"])


def test_two_file_loop_in_el2_is_named(tmp_path):
    root, build = str(tmp_path / "tree"), str(tmp_path / "build")
    el2_tree(root, build, {
        "el2/top.c": "void a(void);\nvoid top(void) { a(); }\n",
        "el2/a.c": "void b(void);\nvoid a(void) { b(); }\n",
        "el2/b.c": "void a(void);\nvoid b(void) { a(); }\n",
    })
    rc, out = run("--calls", "--root", root, "--build", build)
    assert rc == 1, out
    assert ("EL2 call loop among 2 files: el2/a.c, el2/b.c; e.g. "
            "el2/a.c -> el2/b.c (b) -> el2/a.c (a)") in out, out


def test_el2_calls_one_way_pass(tmp_path):
    root, build = str(tmp_path / "tree"), str(tmp_path / "build")
    el2_tree(root, build, {
        "el2/top.c": "void a(void);\nvoid top(void) { a(); }\n",
        "el2/a.c": "void b(void);\nvoid a(void) { b(); }\n",
        "el2/b.c": "void b(void) { }\n",
    })
    rc, out = run("--calls", "--root", root, "--build", build)
    assert rc == 0, out
    assert "layers: calls: ok (3 EL2 files)" in out, out


def test_missing_object_is_not_a_pass(tmp_path):
    root, build = str(tmp_path / "tree"), str(tmp_path / "build")
    plant(root, "el2/a.c", "void a(void) { }\n")
    os.makedirs(build)
    rc, out = run("--calls", "--root", root, "--build", build)
    assert rc == 2, out
    assert "object(s) missing" in out, out
