"""Manifests checked before boot, and what a guest needs to start.

The host checker (build/host/exo-mancheck, tools/mancheck.c) runs where
packages are made: each test writes a small .dts, packs it with the tiny
guest and checks the exact line the checker prints. Then on target: the
quota the checker says is the least (N) boots and the first malloc works,
N - 1 is refused by the checker with the numbers; a package that skips the
checker and gives too little makes libos say what start-up needs and what
was charged (docs/manifest.md, "How large a quota")."""
import os
import re
import struct
import subprocess

import pytest
from conftest import EXIT, TOP, FAILURE_WORDS, build_dir, guest_lines, summary

MKPKG = os.path.join(TOP, "tools", "mkpkg")
MANCHECK = os.path.join(TOP, "build", "host", "exo-mancheck")
KERNEL = "exo-el2-debug.elf"
GUEST = "tiny"
DEFAULT_BOOT_FRAMES = 64     # docs/manifest.md
GUEST_DT_FRAMES = 2          # el2/guest_dt.h
GRANULE_FRAMES = {"4k": 1, "64k": 16}
NEEDS = re.compile(r"needs at least (\d+) frames: image (\d+) \+ "
                   r"boot-frames (\d+) \+ about (\d+) for its tables and "
                   r"first heap batch$")


def tiny_elf():
    path = os.path.join(build_dir(), "guests", GUEST + ".elf")
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: run 'make images'")
    return path


def image_frames(path):
    """The image's span in frames, from its PT_LOAD headers (as EL2 loads
    it: lowest vaddr rounded down, highest end rounded up, 4 KiB)."""
    with open(path, "rb") as f:
        elf = f.read()
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    lo, hi = None, 0
    for i in range(phnum):
        ptype, _, _, vaddr, _, _, memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", elf, phoff + i * phentsize)
        if ptype == 1:
            lo = vaddr if lo is None else min(lo, vaddr)
            hi = max(hi, vaddr + memsz)
    return ((hi + 4095) // 4096) - (lo // 4096)


def package(tmp_path, props, root="", name="x"):
    """guests { g { props } } with the tiny image, packed without the
    checker (the way tests pack broken systems)."""
    body = "".join(f"\t\t\t{k} = {v};\n" for k, v in props.items())
    text = (f'/dts-v1/;\n/ {{\n\tcompatible = "exo,system";\n{root}'
            f"\tguests {{\n\t\tg {{\n{body}\t\t}};\n\t}};\n}};\n")
    src, dtb = tmp_path / f"{name}.dts", tmp_path / f"{name}.dtb"
    pkg = tmp_path / f"{name}.pkg"
    src.write_text(text)
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb),
                    str(src)], check=True)
    subprocess.run([MKPKG, "-o", str(pkg), str(dtb), tiny_elf()], check=True)
    return str(src), str(pkg)


def mancheck(tmp_path, props, root=""):
    if not os.path.exists(MANCHECK):
        pytest.fail(f"{MANCHECK} is missing: run 'make images'")
    src, pkg = package(tmp_path, props, root)
    r = subprocess.run([MANCHECK, "--dts", src, pkg], capture_output=True,
                       text=True)
    return src, r


def props(quota, granule="4k", **more):
    p = {"image": f'"{GUEST}.elf"', "quota-frames": f"<{quota}>",
         "granule": f'"{granule}"'}
    p.update({k.replace("_", "-"): v for k, v in more.items()})
    return p


def one_error(src, r, prop, what):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr == f"{src}: guest 'g': property '{prop}': {what}\n", \
        r.stderr


def boot_run(granule):
    """The frames EL2 gives at boot: image, guest DTB, boot-frames, rounded
    up to the granule."""
    g = GRANULE_FRAMES[granule]
    run = image_frames(tiny_elf()) + GUEST_DT_FRAMES + DEFAULT_BOOT_FRAMES
    return (run + g - 1) // g * g


def least_quota(tmp_path, granule):
    """N, from the checker's own message for a quota that is too small."""
    src, r = mancheck(tmp_path, props(image_frames(tiny_elf()) + 100,
                                      granule))
    if r.returncode == 0:
        return None
    m = NEEDS.search(r.stderr.strip())
    assert m, r.stderr
    return int(m.group(1))


# --- the host checker ---------------------------------------------------------

def test_unknown_heap_policy(tmp_path):
    src, r = mancheck(tmp_path, props(512, heap_policy='"tlfs"'))
    one_error(src, r, "heap-policy", "unknown policy 'tlfs' (libos has: "
              "bump, freelist, buddy, slab, tlsf, sizeclass)")


def test_string_where_a_number_belongs(tmp_path):
    src, r = mancheck(tmp_path, {"image": f'"{GUEST}.elf"',
                                 "quota-frames": '"256"'})
    one_error(src, r, "quota-frames", 'is the string "256": write <256>')


def test_errors_from_el2s_parser_name_the_dts(tmp_path):
    src, r = mancheck(tmp_path, props(512, boot_frame="<1>"))
    one_error(src, r, "boot-frame", "unknown property")


def test_broken_on_purpose_only_warns(tmp_path):
    src, r = mancheck(tmp_path, props(512, heap_policy='"tlfs"'),
                      root="\texo,expect-errors;\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"warning: {src}: guest 'g': property 'heap-policy': "
                        "unknown policy 'tlfs' (libos has: bump, freelist, "
                        "buddy, slab, tlsf, sizeclass)\n")


@pytest.mark.parametrize("granule", ["4k", "64k"])
def test_quota_too_small(tmp_path, granule):
    n = least_quota(tmp_path, granule)
    image = image_frames(tiny_elf())
    src, r = mancheck(tmp_path, props(n - 1, granule))
    one_error(src, r, "quota-frames",
              f"{n - 1} is too small: needs at least {n} frames: image "
              f"{image} + boot-frames {DEFAULT_BOOT_FRAMES} + about "
              f"{n - image - DEFAULT_BOOT_FRAMES} for its tables and first "
              "heap batch")
    src, r = mancheck(tmp_path, props(n, granule))
    assert r.returncode == 0 and not r.stderr, r.stderr


# --- on target: N boots, and what libos says below it ------------------------

def clean_exit(r, ok):
    """The guest exited, with 0 or (not ok) an el1 start-up status."""
    bad = [w for w in FAILURE_WORDS if w in r.output]
    assert not bad, f"unexpected {bad}:\n{r.tail()}"
    rows = summary(r)
    assert rows["g"].state == "exited" and \
        (rows["g"].status == 0) == ok, f"{rows['g']}\n{r.tail()}"


@pytest.mark.parametrize("granule", ["4k", "64k"])
def test_least_quota_boots(boot, tmp_path, granule):
    n = least_quota(tmp_path, granule)
    _, pkg = package(tmp_path, props(n, granule), name="least")
    r = boot(KERNEL, pkg=pkg)
    clean_exit(r, ok=True)
    said = guest_lines(r, "g")
    assert any(re.search(r"heap block at 0x[1-9a-f]", l) for l in said), \
        r.tail()


def startup_line(r):
    lines = [l for l in guest_lines(r, "g") if l.startswith("libos: start-up")]
    assert len(lines) == 1, r.tail()
    m = re.fullmatch(r"libos: start-up needs (\d+) frames, quota (\d+) "
                     r"\(image (\d+), boot (\d+), tables (\d+), heap batch "
                     r"(\d+)\); (\d+) charged", lines[0])
    assert m, lines[0]
    return [int(x) for x in m.groups()]


@pytest.mark.parametrize("granule, short_of", [
    ("4k", "heap"), ("4k", "tables"), ("64k", "heap"), ("64k", "tables")])
def test_startup_says_what_it_needs(boot, tmp_path, granule, short_of):
    """Below N: libos says what start-up needs (the checker's N, in the
    same parts) and what was charged, and the guest exits with its own
    status, EXO_EXIT_STARTUP_QUOTA."""
    n = least_quota(tmp_path, granule)
    image = image_frames(tiny_elf())
    # Short of the heap batch: the tables fit (N less the batch and the
    # estimate's spare stage-2 page); short of tables: the boot run and
    # its stage-2 pages fit (EL2 checks that much), the first table batch
    # does not.
    quota = n - 8 if short_of == "heap" else boot_run(granule) + 5
    _, pkg = package(tmp_path, props(quota, granule), name="short")
    r = boot(KERNEL, pkg=pkg)
    clean_exit(r, ok=False)
    need, q, img, boot_part, tables, heap, charged = startup_line(r)
    assert (need, q, img) == (n, quota, image)
    assert img + boot_part == boot_run(granule)
    assert img + boot_part + tables + heap == need
    assert charged <= quota
    assert "hi from" not in r.output
    assert not [l for l in guest_lines(r, "g") if "cannot turn" in l]
    assert summary(r)["g"].status == EXIT["STARTUP_QUOTA"]
