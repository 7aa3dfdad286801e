"""Malformed manifests, packages and guest images, on target: each test
writes its own manifest, compiles it with dtc, packs it with tools/mkpkg
beside good guest images and corrupted copies, and boots it with the debug
EL2. A bad guest must be named with the property at fault
(`[el2] error: guest '<g>': property '<p>': ...`, docs/manifest.md) while
the good guests still boot and exit 0; a manifest or package that cannot be
read as a whole stops the boot with one clear error and runs nothing. No
frame may leak either way."""
import os
import struct
import subprocess

import pytest
from conftest import (TOP, tool_module, build_dir, FAILURE_WORDS, guest_lines, no_leak,
                      summary)

MKPKG = os.path.join(TOP, "tools", "mkpkg")
KERNEL = "exo-el2-debug.elf"
RAM_FRAMES = (1 << 30) // 4096          # the harness boots with -m 1G

# The good guests around every bad one: the bad guest sits between them, so
# a guest both before and after it must still boot.
GOOD = {
    "hello": {"image": '"hello.elf"', "quota-frames": "<512>"},
    "counter": {"image": '"counter.elf"', "quota-frames": "<1024>"},
}
BAD = "bad"


# --- building packages ------------------------------------------------------



mkpkg = tool_module("mkpkg")


def good_elf(name):
    path = os.path.join(build_dir(), "guests", name + ".elf")
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: run 'make images'")
    with open(path, "rb") as f:
        return f.read()


def dts(guests, compatible='"exo,system"', guests_node=True):
    """A manifest: guests maps a node name to {property: DTS value}."""
    out = ["/dts-v1/;", "", "/ {"]
    if compatible is not None:
        out.append(f"\tcompatible = {compatible};")
    if guests_node:
        out.append("\tguests {")
        for name, props in guests.items():
            out.append(f"\t\t{name} {{")
            for prop, val in props.items():
                out.append(f"\t\t\t{prop} = {val};" if val is not None
                           else f"\t\t\t{prop};")
            out.append("\t\t};")
        out.append("\t};")
    out.append("};")
    return "\n".join(out) + "\n"


def with_bad(props):
    """hello, then the bad guest, then counter."""
    return {"hello": GOOD["hello"], BAD: props, "counter": GOOD["counter"]}


def compile_dts(tmp_path, text, name="manifest"):
    src, dtb = tmp_path / f"{name}.dts", tmp_path / f"{name}.dtb"
    src.write_text(text)
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb),
                    str(src)], check=True)
    return dtb


def write_files(tmp_path, files):
    paths = []
    for name, data in files.items():
        p = tmp_path / name
        p.write_bytes(data)
        paths.append(str(p))
    return paths


def pack(tmp_path, dtb, files):
    """tools/mkpkg -o <pkg> <dtb> <files>: the way the Makefile packs."""
    out = tmp_path / "system.pkg"
    r = subprocess.run([MKPKG, "-o", str(out), str(dtb)] +
                       write_files(tmp_path, files),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return str(out)


def standard_files(**extra):
    files = {"hello.elf": good_elf("hello"), "counter.elf": good_elf("counter")}
    files.update(extra)
    return files


def system(tmp_path, guests, **extra_files):
    return pack(tmp_path, compile_dts(tmp_path, dts(guests)),
                standard_files(**extra_files))


# --- checking what EL2 said -------------------------------------------------

def errors(r):
    return [l for l in r.lines if l.startswith("[el2] error: ")]


def no_failure_words(r):
    bad = [w for w in FAILURE_WORDS if w in r.output]
    assert not bad, f"unexpected {bad} on the console:\n{r.tail()}"
    assert r.returncode == 0, f"QEMU exit {r.returncode}"


def expect_guest_error(r, prop, *words, guest=BAD):
    """The bad guest is refused with one error naming it and prop; the good
    guests boot and exit 0; EL2 halts with 1 (a guest failed), no leak."""
    no_failure_words(r)
    head = f"[el2] error: guest '{guest}': property '{prop}': "
    errs = errors(r)
    assert len(errs) == 1 and errs[0].startswith(head), \
        f"wanted one {head!r}...:\n{r.tail()}"
    for w in words:
        assert w in errs[0], f"{w!r} not in {errs[0]!r}"
    rows = summary(r)
    assert set(rows) == {"hello", guest, "counter"}, rows
    assert rows[guest].state == "failed" and rows[guest].frames == 0
    for name in ("hello", "counter"):
        assert rows[name].state == "exited" and rows[name].status == 0, \
            f"{rows[name]}\n{r.tail()}"
    assert "hello from hello" in guest_lines(r, "hello")
    assert not guest_lines(r, guest)
    assert "[el2] boot: 2 guest(s) starting" in r.lines
    assert "[el2] result: 2 of 3 guests succeeded; see above" in r.lines
    assert r.halt_status() == 1, r.tail()
    no_leak(r)
    return errs[0]


def expect_whole_error(r, message):
    """A manifest or package that cannot be read: the one error, no guest
    starts, nothing leaks."""
    no_failure_words(r)
    errs = errors(r)
    assert errs == [f"[el2] error: {message}"], \
        f"wanted [el2] error: {message}\n{r.tail()}"
    assert not [l for l in r.lines if "guest(s) starting" in l]
    assert summary(r) == {}
    assert "[el2] result: 0 of 0 guests succeeded" in r.lines
    assert "[el2] boot failed: the boot package or manifest is unusable " \
        "(see the error above): no guest was run" in r.lines, r.tail()
    assert r.halt_status() == 1, r.tail()
    no_leak(r)


# --- the whole manifest ------------------------------------------------------

def raw_package(tmp_path, blobs):
    """Packs with mkpkg's own layout code, for manifests mkpkg refuses."""
    out = tmp_path / "system.pkg"
    out.write_bytes(mkpkg.pack(blobs))
    return str(out)


@pytest.mark.parametrize("blob, why", [
    (b"not a device tree\n", "not a valid DTB: 18 bytes, smaller than a DTB "
     "header (40)"),
    (b"#!/bin/sh\n" + b"echo this is no manifest\n" * 8,
     "not a valid DTB: bad magic 0x23212f62 (a DTB starts d00dfeed)"),
], ids=["short", "text"])
def test_not_a_dtb(boot, tmp_path, blob, why):
    bad = tmp_path / "manifest.dtb"
    bad.write_bytes(blob)
    r = subprocess.run([MKPKG, "-o", str(tmp_path / "x.pkg"), str(bad)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "not a DTB" in r.stderr   # mkpkg refuses
    pkg = raw_package(tmp_path, [("manifest.dtb", blob),
                                 ("hello.elf", good_elf("hello"))])
    expect_whole_error(boot(KERNEL, pkg=pkg), f"manifest: {why}")


def test_truncated_dtb(boot, tmp_path):
    dtb = compile_dts(tmp_path, dts(GOOD)).read_bytes()
    half = len(dtb) // 2
    pkg = raw_package(tmp_path, [("manifest.dtb", dtb[:half]),
                                 ("hello.elf", good_elf("hello"))])
    r = boot(KERNEL, pkg=pkg)
    expect_whole_error(r, "manifest: not a valid DTB: truncated: totalsize "
                       f"says 0x{len(dtb):x} bytes, only 0x{half:x} are there")


def test_property_length_wraps(boot, tmp_path):
    """fuzz_manifest's finding: the image property's length is 0xfffffff4,
    so libfdt's int offset wraps back onto the same tag and its
    fdt_check_full() loops forever. mkpkg refuses it; packed anyway, EL2
    refuses it before libfdt sees it (el2/dtb_bounds.c) and halts at once."""
    path = compile_dts(tmp_path, dts(GOOD))
    dtb = bytearray(path.read_bytes())
    value = dtb.index(b"hello.elf\0")      # FDT_PROP, len, nameoff, value
    prop = value - 12
    assert struct.unpack_from(">I", dtb, prop)[0] == 3, "not an FDT_PROP"
    struct.pack_into(">I", dtb, prop + 4, 0xfffffff4)
    off_struct, = struct.unpack_from(">I", dtb, 8)
    size_struct, = struct.unpack_from(">I", dtb, 36)
    why = (f"not a valid DTB: property at 0x{prop:x} has length 0xfffffff4, "
           "past the end of the structure block "
           f"(0x{off_struct + size_struct:x})")
    path.write_bytes(dtb)
    r = subprocess.run([MKPKG, "-o", str(tmp_path / "x.pkg"), str(path)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and why in r.stderr, r.stderr
    pkg = raw_package(tmp_path, [("manifest.dtb", bytes(dtb)),
                                 ("hello.elf", good_elf("hello"))])
    expect_whole_error(boot(KERNEL, pkg=pkg), f"manifest: {why}")


@pytest.mark.parametrize("compatible", ['"exo,sytem"', '"linux,dummy-virt"',
                                        None])
def test_wrong_root_compatible(boot, tmp_path, compatible):
    pkg = pack(tmp_path, compile_dts(tmp_path, dts(GOOD, compatible)),
               standard_files())
    expect_whole_error(boot(KERNEL, pkg=pkg),
                       'manifest: root compatible is not "exo,system"')


def test_compatible_list_is_fine(boot, tmp_path):
    text = dts(GOOD, compatible='"acme,board", "exo,system"')
    pkg = pack(tmp_path, compile_dts(tmp_path, text), standard_files())
    r = boot(KERNEL, pkg=pkg)
    assert not errors(r) and r.halt_status() == 0, r.tail()
    assert "[el2] result: 2 of 2 guests succeeded" in r.lines


def test_no_guests_node(boot, tmp_path):
    pkg = pack(tmp_path, compile_dts(tmp_path, dts({}, guests_node=False)),
               standard_files())
    expect_whole_error(boot(KERNEL, pkg=pkg), "manifest: no /guests node")


def test_empty_guests_node(boot, tmp_path):
    pkg = pack(tmp_path, compile_dts(tmp_path, dts({})), standard_files())
    expect_whole_error(boot(KERNEL, pkg=pkg),
                       "manifest: node /guests has no guests")


def test_duplicate_guest_names(boot, tmp_path):
    # dtc merges two nodes of one name, so the DTB is made with distinct
    # names of one length and the second is renamed in the structure block.
    text = dts({"twin": GOOD["hello"], "twiX": GOOD["counter"]})
    dtb = compile_dts(tmp_path, text).read_bytes()
    assert dtb.count(b"twiX\0") == 1
    dtb = dtb.replace(b"twiX\0", b"twin\0")
    out = tmp_path / "dup.dtb"
    out.write_bytes(dtb)
    r = boot(KERNEL, pkg=pack(tmp_path, out, standard_files()))
    expect_whole_error(r, "manifest: two guests are named 'twin'")


# --- one bad guest among good ones ------------------------------------------

def bad_guest(**props):
    base = {"image": '"hello.elf"', "quota-frames": "<512>"}
    base.update({k.replace("_", "-"): v for k, v in props.items()})
    return base


def test_missing_image(boot, tmp_path):
    pkg = system(tmp_path, with_bad(bad_guest(image='"nosuch.elf"')))
    expect_guest_error(boot(KERNEL, pkg=pkg), "image",
                       "no entry 'nosuch.elf' in the boot package")


def test_image_property_missing(boot, tmp_path):
    props = bad_guest()
    del props["image"]
    pkg = system(tmp_path, with_bad(props))
    expect_guest_error(boot(KERNEL, pkg=pkg), "image", "missing (required)")


def test_quota_larger_than_ram(boot, tmp_path):
    quota = RAM_FRAMES * 2
    pkg = system(tmp_path, with_bad(bad_guest(quota_frames=f"<{quota}>")))
    expect_guest_error(boot(KERNEL, pkg=pkg), "quota-frames",
                       f"{quota} frames exceed the {RAM_FRAMES} frames of RAM")


@pytest.mark.parametrize("boot_frames", [512, 600])
def test_boot_frames_not_below_quota(boot, tmp_path, boot_frames):
    pkg = system(tmp_path, with_bad(bad_guest(
        boot_frames=f"<{boot_frames}>")))
    expect_guest_error(boot(KERNEL, pkg=pkg), "boot-frames",
                       f"{boot_frames} frames leave no room for the image "
                       "in quota-frames (512)")


def test_string_where_a_number_belongs(boot, tmp_path):
    # "256\0" is also the cell 0x32353600: EL2 refuses it as a string.
    pkg = system(tmp_path, with_bad(bad_guest(quota_frames='"256"')))
    expect_guest_error(boot(KERNEL, pkg=pkg), "quota-frames",
                       'is the string "256": write <256>')


def test_quota_too_small_for_the_image(boot, tmp_path):
    # Passes the parse (boot-frames < quota), refused when the image is bound.
    pkg = system(tmp_path, with_bad(bad_guest(quota_frames="<40>",
                                              boot_frames="<32>")))
    expect_guest_error(boot(KERNEL, pkg=pkg), "quota-frames",
                       "40 frames cannot hold the image")


@pytest.mark.parametrize("typo", ["quota_frames", "boot-frame", "imag"])
def test_unknown_property(boot, tmp_path, typo):
    props = bad_guest()
    props[typo] = "<64>"
    pkg = system(tmp_path, with_bad(props))
    expect_guest_error(boot(KERNEL, pkg=pkg), typo, "unknown property")


@pytest.mark.parametrize("value, why", [
    (v, "must be one cell of 100 to 1000000 (microseconds)")
    for v in ("<99>", "<1000001>", "<0>", "<100 200>")] +
    [('"5000"', 'is the string "5000": write <5000>')])
def test_bad_timeslice(boot, tmp_path, value, why):
    pkg = system(tmp_path, with_bad(bad_guest(timeslice_us=value)))
    expect_guest_error(boot(KERNEL, pkg=pkg), "timeslice-us", why)


def test_timeslice_bounds_are_accepted(boot, tmp_path):
    guests = {"hello": dict(GOOD["hello"], **{"timeslice-us": "<100>"}),
              "counter": dict(GOOD["counter"], **{"timeslice-us": "<1000000>"})}
    r = boot(KERNEL, pkg=system(tmp_path, guests))
    assert not errors(r) and r.halt_status() == 0, r.tail()


def test_bad_guest_name(boot, tmp_path):
    pkg = system(tmp_path, {"hello": GOOD["hello"], "Bad": bad_guest(),
                            "counter": GOOD["counter"]})
    r = boot(KERNEL, pkg=pkg)
    errs = errors(r)
    assert errs == ["[el2] error: guest 'Bad': name must be 1 to 15 "
                    "characters of [a-z0-9_-]"], r.tail()
    rows = summary(r)
    assert rows["Bad"].state == "failed"
    assert rows["hello"].status == 0 and rows["counter"].status == 0
    assert r.halt_status() == 1
    no_leak(r)


def test_two_bad_guests_each_reported(boot, tmp_path):
    guests = {"hello": GOOD["hello"],
              "bad1": bad_guest(timeslice_us="<1>"),
              "bad2": bad_guest(image='"gone.elf"'),
              "counter": GOOD["counter"]}
    r = boot(KERNEL, pkg=system(tmp_path, guests))
    assert errors(r) == [
        "[el2] error: guest 'bad1': property 'timeslice-us': must be one "
        "cell of 100 to 1000000 (microseconds)",
        "[el2] error: guest 'bad2': property 'image': no entry 'gone.elf' "
        "in the boot package"], r.tail()
    assert "[el2] result: 2 of 4 guests succeeded; see above" in r.lines
    no_leak(r)


# --- bad ELF images ----------------------------------------------------------

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
E_TYPE, E_MACHINE, E_ENTRY, E_PHOFF = 16, 18, 24, 32
ET_EXEC, EM_X86_64, ELFCLASS32 = 2, 62, 1
PT_LOAD, PF_X = 1, 1


def phdrs(elf):
    h = EHDR.unpack_from(elf, 0)
    phoff, phnum = h[5], h[10]
    return [(phoff + i * PHDR.size, list(PHDR.unpack_from(elf, phoff + i *
                                                           PHDR.size)))
            for i in range(phnum)]


def loads(elf):
    """(offset of the phdr, [type, flags, offset, vaddr, paddr, filesz,
    memsz, align]) of each PT_LOAD."""
    return [(off, ph) for off, ph in phdrs(elf) if ph[0] == PT_LOAD]


def put_phdr(elf, off, ph):
    PHDR.pack_into(elf, off, *ph)


def hello_copy():
    elf = bytearray(good_elf("hello"))
    assert len(loads(elf)) == 3, "hello.elf is RX, R, RW (test_guest_images)"
    return elf


def corrupt_machine(elf):
    struct.pack_into("<H", elf, E_MACHINE, EM_X86_64)


def corrupt_class(elf):
    elf[4] = ELFCLASS32


def corrupt_exec(elf):
    struct.pack_into("<H", elf, E_TYPE, ET_EXEC)


def corrupt_overlap(elf):
    # The R segment starts inside the text segment (same page offset kept).
    (_, text), (off, ro) = loads(elf)[:2]
    ro[3] = ro[4] = text[3] + (ro[2] % 4096)
    put_phdr(elf, off, ro)


def corrupt_unsorted(elf):
    # The RW segment moves below the text segment.
    (_, text), _, (off, rw) = loads(elf)
    rw[3] = rw[4] = text[3] + (rw[2] % 4096)
    text_off = loads(elf)[0][0]
    text[3] = text[4] = 0x100000
    put_phdr(elf, text_off, text)
    put_phdr(elf, off, rw)


def corrupt_huge_segment(elf):
    off, rw = loads(elf)[2]
    rw[6] = 200 << 20          # memsz: 200 MiB of bss
    put_phdr(elf, off, rw)


def corrupt_wide_span(elf):
    # Each segment small, but the last one 160 MiB above the first.
    off, rw = loads(elf)[2]
    rw[3] = rw[4] = rw[3] + (160 << 20)
    put_phdr(elf, off, rw)


def corrupt_filesz_past_end(elf):
    off, rw = loads(elf)[2]
    rw[5] = rw[6] = len(elf)   # file bytes run past the end of the file
    put_phdr(elf, off, rw)


def corrupt_entry_in_data(elf):
    rw = loads(elf)[2][1]
    struct.pack_into("<Q", elf, E_ENTRY, rw[3] + 8)


def corrupt_entry_beyond(elf):
    struct.pack_into("<Q", elf, E_ENTRY, 0x40000000)


ELF_CASES = {
    "machine": (corrupt_machine,
                "built for machine 62, not AArch64 (EM_AARCH64 = 183)"),
    "class32": (corrupt_class, "not ELFCLASS64"),
    "et-exec": (corrupt_exec, "ET_EXEC (linked at a fixed address): guests "
                "must be static PIE (ET_DYN)"),
    "overlap": (corrupt_overlap, "program header 1: segment overlaps or "
                "precedes the previous PT_LOAD"),
    "unsorted": (corrupt_unsorted, "program header 1: segment overlaps or "
                 "precedes the previous PT_LOAD"),
    "huge-segment": (corrupt_huge_segment, "program header 2: segment "
                     "spans more than 128 MiB"),
    "wide-span": (corrupt_wide_span, "segments span more than 128 MiB"),
    "filesz": (corrupt_filesz_past_end, "program header 2: segment's file "
               "bytes lie outside the file"),
    "entry-in-data": (corrupt_entry_in_data, "is not inside an executable "
                      "PT_LOAD"),
    "entry-beyond": (corrupt_entry_beyond, "entry point 0x40000000 is not "
                     "inside an executable PT_LOAD"),
}


def boot_bad_elf(boot, tmp_path, data, name="bad.elf"):
    pkg = system(tmp_path, with_bad(bad_guest(image=f'"{name}"')),
                 **{name: bytes(data)})
    return boot(KERNEL, pkg=pkg)


@pytest.mark.parametrize("case", sorted(ELF_CASES))
def test_bad_elf(boot, tmp_path, case):
    corrupt, why = ELF_CASES[case]
    elf = hello_copy()
    corrupt(elf)
    r = boot_bad_elf(boot, tmp_path, elf)
    expect_guest_error(r, "image", "bad.elf: " if case != "entry-in-data"
                       else "bad.elf: entry point", why)


@pytest.mark.parametrize("keep", [0x10, 0x3f, 0x2000])
def test_truncated_elf(boot, tmp_path, keep):
    elf = good_elf("hello")[:keep]
    r = boot_bad_elf(boot, tmp_path, elf)
    why = ("truncated: smaller than an ELF header" if keep < 64 else
           "program header 0: segment's file bytes lie outside the file")
    expect_guest_error(r, "image", f"bad.elf: {why}")


def test_not_an_elf(boot, tmp_path):
    r = boot_bad_elf(boot, tmp_path, b"\x7fELG" + bytes(200))
    expect_guest_error(r, "image", "bad.elf: not an ELF file (bad magic)")


def test_segment_too_big_for_quota(boot, tmp_path):
    # 64 MiB of bss is a valid image, but not within 512 frames.
    elf = hello_copy()
    off, rw = loads(elf)[2]
    rw[6] = 64 << 20
    put_phdr(elf, off, rw)
    r = boot_bad_elf(boot, tmp_path, elf)
    expect_guest_error(r, "quota-frames", "512 frames cannot hold the image")


def test_good_copy_under_another_name_boots(boot, tmp_path):
    # The control for the ELF cases: the same copy, uncorrupted, boots.
    pkg = system(tmp_path, with_bad(bad_guest(image='"bad.elf"')),
                 **{"bad.elf": bytes(hello_copy())})
    r = boot(KERNEL, pkg=pkg)
    assert not errors(r) and r.halt_status() == 0, r.tail()
    assert "hello from bad" in guest_lines(r, BAD)
    assert "[el2] result: 3 of 3 guests succeeded" in r.lines
    no_leak(r)


# --- the boot package ------------------------------------------------------

def test_no_boot_package(boot):
    r = boot(KERNEL)
    no_failure_words(r)
    assert "[el2] boot: no boot package at 0x48000000: no guests to run" \
        in r.lines
    assert not errors(r)
    assert summary(r) == {} and r.halt_status() == 0
    no_leak(r)


def good_package(tmp_path):
    return bytearray(open(system(tmp_path, GOOD), "rb").read())


HEADER_CASES = {
    "version": (lambda p: struct.pack_into("<H", p, 4, 2),
                "boot package: unsupported version"),
    "no-entries": (lambda p: struct.pack_into("<H", p, 6, 0),
                   "boot package: entry count is 0 or above 64"),
    "many-entries": (lambda p: struct.pack_into("<H", p, 6, 65),
                     "boot package: entry count is 0 or above 64"),
    "total-tiny": (lambda p: struct.pack_into("<Q", p, 8, 32),
                   "boot package: total size smaller than its entry table"),
    "total-huge": (lambda p: struct.pack_into("<Q", p, 8, 1 << 40),
                   "boot package: total size larger than the space it has"),
    "blob-past-end": (lambda p: struct.pack_into("<Q", p, 16 + 48 + 40,
                                                 1 << 30),
                      "boot package: entry 1: blob extends past the end of "
                      "the package"),
    "offset-unaligned": (lambda p: struct.pack_into(
        "<Q", p, 16 + 32, struct.unpack_from("<Q", p, 16 + 32)[0] + 8),
        "boot package: entry 0: offset not 4 KiB-aligned"),
    "name": (lambda p: p.__setitem__(slice(16, 17), b"/"),
             "boot package: entry 0: name has a character outside "
             "[A-Za-z0-9._+-]"),
    "dup-name": (lambda p: p.__setitem__(slice(16 + 48, 16 + 48 + 32),
                                         b"manifest.dtb".ljust(32, b"\0")),
                 "boot package: entry 1: name used by an earlier entry"),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_corrupt_package_header(boot, tmp_path, case):
    corrupt, why = HEADER_CASES[case]
    pkg = good_package(tmp_path)
    corrupt(pkg)
    path = tmp_path / "corrupt.pkg"
    path.write_bytes(pkg)
    expect_whole_error(boot(KERNEL, pkg=str(path)),
                       f"boot package at 0x48000000: {why}")


def test_package_without_manifest(boot, tmp_path):
    pkg = raw_package(tmp_path, [("hello.elf", good_elf("hello"))])
    expect_whole_error(boot(KERNEL, pkg=pkg),
                       "boot package has no manifest.dtb")


def test_package_with_bad_magic(boot, tmp_path):
    # Not an exo package at all, but not an empty load address either.
    pkg = good_package(tmp_path)
    pkg[0:4] = b"EXOQ"
    path = tmp_path / "corrupt.pkg"
    path.write_bytes(pkg)
    r = boot(KERNEL, pkg=str(path))
    no_failure_words(r)
    # EL2 looks for the magic to know whether a package was loaded at all,
    # so a package whose magic is damaged reads as no package: nothing runs.
    assert "[el2] boot: no boot package at 0x48000000: no guests to run" \
        in r.lines, r.tail()
    assert summary(r) == {} and r.halt_status() == 0
    no_leak(r)


@pytest.mark.parametrize("value", ["<0>", "<9>", "<1 2>"])
def test_bad_cpus(boot, tmp_path, value):
    pkg = system(tmp_path, with_bad(bad_guest(cpus=value)))
    expect_guest_error(boot(KERNEL, pkg=pkg), "cpus", "1 to 8")


def test_cpus_beyond_the_vcpu_budget(boot, tmp_path):
    """MANIFEST_EXTRA_VCPUS (32) beyond one per guest: four guests of 8
    take 28, a fifth asking for 8 is refused, one after it asking for 5
    still fits."""
    guests = {f"g{i}": dict(GOOD["hello"], cpus="<8>") for i in range(4)}
    guests["greedy"] = dict(GOOD["hello"], cpus="<8>")
    guests["fits"] = dict(GOOD["hello"], cpus="<5>")
    r = boot(KERNEL, pkg=system(tmp_path, guests))
    no_failure_words(r)
    assert errors(r) == [
        "[el2] error: guest 'greedy': property 'cpus': 8 vCPUs, but the "
        "guests before it left 4 beyond its first (EL2 has 32 beyond one "
        "per guest)"], r.tail()
    rows = summary(r)
    assert rows["greedy"].state == "failed"
    assert all(rows[n].state == "exited" and rows[n].status == 0
               for n in rows if n != "greedy"), rows
