"""README.md works as written: its guest and manifest are the files in the
tree, the commands it shows run, the allocator edit it shows changes the
policy. Also the memory snapshot (make run SNAPSHOT=1) and --ptdump.

README blocks under test follow a marker `<!-- readme-test: KIND NAME -->`."""
import json
import os
import re
import subprocess

import pytest

from conftest import TOP, build_dir, expect_clean, summary, guest_lines

README = os.path.join(TOP, "README.md")
MARK_RE = re.compile(r"<!-- readme-test: (\S+)(?: (\S+))? -->\s*\n```[^\n]*\n"
                     r"(.*?)```", re.S)


def blocks():
    with open(README) as f:
        text = f.read()
    return {(m.group(1), m.group(2)): m.group(3)
            for m in MARK_RE.finditer(text)}


def block(kind, name=None):
    b = blocks()
    assert (kind, name) in b, f"README has no block marked {kind} {name}"
    return b[(kind, name)]


def toolchain():
    return os.path.basename(os.path.normpath(build_dir()))


def clean_env():
    """Our own make, not a job of the `make test` that runs us."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    env["NO_COLOR"] = "1"
    return env


def sh(cmd, timeout=120):
    return subprocess.run(cmd, shell=True, cwd=TOP, env=clean_env(),
                          capture_output=True, text=True, timeout=timeout)


def pack(tmp_path, dts_text, name="sys"):
    dts = tmp_path / f"{name}.dts"
    dts.write_text(dts_text)
    dtb, pkg = tmp_path / f"{name}.dtb", tmp_path / f"{name}.pkg"
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb),
                    str(dts)], check=True)
    guests = os.path.join(build_dir(), "guests")
    images = [os.path.join(guests, f) for f in sorted(os.listdir(guests))
              if f.endswith(".elf")]
    subprocess.run([os.path.join(TOP, "tools", "mkpkg"), "-o", str(pkg),
                    str(dtb)] + images, check=True)
    return str(pkg)


@pytest.mark.parametrize("path", ["guests/tiny/main.c", "guests/tiny.dts"])
def test_readme_files_are_the_tree(path):
    with open(os.path.join(TOP, path)) as f:
        assert block("file", path) == f.read(), \
            f"README's {path} differs from the file: update one of them"


def test_readme_manifest_is_three_lines():
    assert len(block("file", "guests/tiny.dts").splitlines()) == 3


def test_readme_make_run_system():
    cmd = block("command", "run-system").strip()
    assert cmd == "make run SYSTEM=tiny"
    r = sh(f"{cmd} TOOLCHAIN={toolchain()}")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "[tiny] hi from tiny: 1 args, heap block at 0x" in r.stdout
    assert "[el2] result: 1 of 1 guests succeeded" in r.stdout
    assert "\x1b[" not in r.stdout, "colour when stdout is not a TTY"


# A number in a sample line: decimal, or hex with 0x.
SAMPLE_NUMBER = re.compile(r"0x[0-9a-fA-F]+|-?\d+")
PREFIX = re.compile(r"^\[([^\]]+)\] ")


def sample_pattern(line):
    """A README sample line as a regex: its words as they are, any number
    where it has a number, any tail where it says `...`, any run of
    spaces where it has spaces (columns widen with their numbers)."""
    out, pos = [], 0
    for m in SAMPLE_NUMBER.finditer(line):
        out.append(re.escape(line[pos:m.start()]))
        out.append(r"(?:0x[0-9a-fA-F]+|-?\d+)")
        pos = m.end()
    out.append(re.escape(line[pos:]))
    pat = "".join(out).replace(re.escape("..."), ".*")
    return re.compile(re.sub(r"(\\ )+", " +", pat) + "$")


def shape_problems(sample, output):
    """Sample lines with no line of that shape in the output, in order per
    prefix ([el2], each guest): interleaving between guests may vary."""
    by_prefix = {}
    for line in output.splitlines():
        m = PREFIX.match(line)
        by_prefix.setdefault(m.group(1) if m else "", []).append(line)
    problems, at = [], {}
    for line in sample.splitlines():
        m = PREFIX.match(line)
        key = m.group(1) if m else ""
        lines, pat = by_prefix.get(key, []), sample_pattern(line)
        i = at.get(key, 0)
        while i < len(lines) and not pat.match(lines[i]):
            i += 1
        if i == len(lines):
            problems.append(line)
        at[key] = i + 1
    return problems


def test_readme_sample_has_the_shape_of_make_run():
    """Every line of the README's abridged `make run` is in a real run's
    output, words and columns the same, numbers free; the summary has a
    row for every guest, as the sample does."""
    sample = block("sample", "make-run")
    r = sh(f"make run TOOLCHAIN={toolchain()}", timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    bad = shape_problems(sample, r.stdout)
    assert not bad, ("README sample lines no `make run` line matches "
                     "(update the README):\n" + "\n".join(bad))
    rows = re.compile(r"^\[el2\]   \S+ +\d+ ", re.M)
    assert len(rows.findall(sample)) == len(rows.findall(r.stdout)), \
        "the README's summary and the real one have different guests"


def test_readme_sample_check_catches_a_change():
    """The shape check is not blind: a changed word or a missing column
    is caught, a changed number is not."""
    out = ("[el2] boot: 5 guest(s) starting\n"
           "[el2]   hello              1 exited       0    1186  15 tlsf\n")
    assert not shape_problems("[el2] boot: 3 guest(s) starting\n"
                              "[el2]   hello   1 exited   0   18   5 tlsf",
                              out)
    assert shape_problems("[el2] boot: 5 guests starting", out)
    assert shape_problems("[el2]   hello 1 exited 0 186 tlsf", out)
    assert shape_problems("[el2]   hello 1 exited 0 186 15 buddy", out)


def test_readme_allocator_edit(boot, tmp_path):
    """The README's policy line, put in place of the manifest's guest
    line, makes tiny run with buddy."""
    lines = block("file", "guests/tiny.dts").splitlines()
    lines[2] = block("policy").rstrip("\n")
    r = boot("exo-el2.elf", pkg=pack(tmp_path, "\n".join(lines) + "\n"))
    expect_clean(r)
    assert summary(r)["tiny"].heap == "buddy"


def test_readme_host_filter():
    cmds = block("command", "host-filter").strip().splitlines()
    binary = os.path.join(TOP, "build", "host", "exo-host-tests")
    if not os.path.exists(binary):
        pytest.skip("host tests not built (make host-test)")
    r = sh(cmds[-1], timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert re.search(r"Tested: [1-9]\d*", r.stdout + r.stderr)


def test_readme_target_k_selects_this_file():
    cmd = block("command", "target-k").strip().splitlines()[-1]
    assert cmd.startswith("EXO_BUILD=build/clang pytest-3 tests/target -k ")
    k = cmd.split("-k ", 1)[1]
    r = subprocess.run(["pytest-3", "-q", "--collect-only", "-p",
                        "no:cacheprovider", "tests/target", "-k", k],
                       cwd=TOP, capture_output=True, text=True, timeout=120)
    assert "test_readme.py" in r.stdout, r.stdout[-2000:]


# --- seeing memory ---------------------------------------------------------

SNAP_DTS = """/dts-v1/;
/ { compatible = "exo,system"; exo,memory-snapshot;
	guests {
		a { image = "tiny.elf"; quota-frames = <256>; args = "--ptdump"; };
		b { image = "hello.elf"; quota-frames = <512>; heap-policy = "slab"; };
	}; };
"""
TOTALS_RE = re.compile(r"^\[el2\] frames: (\d+) free, (\d+) EL2, (\d+) still",
                       re.M)


def snap_lines(result):
    return [l.split("snap: ", 1)[1].split() for l in result.lines
            if l.startswith("[el2] snap: ")]


HYP_PARTS = {"dtb", "text", "rodata", "data", "el2-tables", "s2-roots",
             "stack", "frame-db", "boot-pkg"}
GUEST_USES = {"s1-tables", "heap", "region-pages", "pool-free"}


def disjoint(runs):
    runs = sorted(runs)
    return all(a[0] + a[1] * 4096 <= b[0] for a, b in zip(runs, runs[1:]))


def inside(run, runs):
    pa, n = run
    return any(lo <= pa and pa + n * 4096 <= lo + m * 4096 for lo, m in runs)


def test_snapshot_matches_the_frame_db(boot, tmp_path):
    r = boot("exo-el2-debug.elf", pkg=pack(tmp_path, SNAP_DTS))
    expect_clean(r)
    snap = snap_lines(r)
    assert snap[0][0] == "begin" and snap[-1] == ["end"]
    free, hyp, held = map(int, TOTALS_RE.search(r.output).groups())
    runs = {"FREE": 0, "HYP": 0, "held": 0}
    nr = int(snap[0][3])
    covered = 0
    for s in snap:
        if s[0] == "frames":
            key = s[3] if s[3] in ("FREE", "HYP") else "held"
            runs[key] += int(s[2])
            covered += int(s[2])
    assert (runs["FREE"], runs["HYP"], runs["held"]) == (free, hyp, held)
    assert covered == nr, "the frame runs cover the whole DB span"
    assert ["totals", "free", str(free), "hyp", str(hyp), "held",
            str(held)] in snap


def test_snapshot_names_every_el2_frame(boot, tmp_path):
    """EL2's parts (hyp lines) are disjoint, lie in its HYP frames and add
    up to the DB's HYP count (every guest is gone: no stage-2 tables)."""
    r = boot("exo-el2-debug.elf", pkg=pack(tmp_path, SNAP_DTS))
    expect_clean(r)
    snap = snap_lines(r)
    _, hyp, held = map(int, TOTALS_RE.search(r.output).groups())
    parts = [(int(s[1], 16), int(s[2]), s[3]) for s in snap if s[0] == "hyp"]
    hyp_runs = [(int(s[1], 16), int(s[2])) for s in snap
                if s[0] == "frames" and s[3] == "HYP"]
    per_part = {}
    for pa, n, part in parts:
        per_part[part] = per_part.get(part, 0) + n
        assert inside((pa, n), hyp_runs), f"{part} {pa:#x} +{n} not HYP"
    assert held == 0
    assert set(per_part) == HYP_PARTS
    assert sum(per_part.values()) == hyp
    assert disjoint([(pa, n) for pa, n, _ in parts])
    assert per_part["dtb"] == 256, "QEMU's DTB: 1 MiB"
    assert per_part["s2-roots"] == 1024 * 2, "EXO_MAX_VMS (1,024), 8 KiB roots"


def test_snapshot_guest_uses_add_up(boot, tmp_path):
    """Each guest's frames: EL2's boot-run uses, the guest's own memuse
    report and its stage-2 tables are disjoint, lie in what EL2 says it
    held, and add up to it; the report's totals are its runs."""
    r = boot("exo-el2-debug.elf", pkg=pack(tmp_path, SNAP_DTS))
    expect_clean(r)
    snap = snap_lines(r)
    names = {s[1]: s[2] for s in snap if s[0] == "guest"}
    assert sorted(names.values()) == ["a", "b"]
    for vmid, name in names.items():
        held = [(int(s[2], 16), int(s[3]), s[4]) for s in snap
                if s[0] == "held" and s[1] == vmid]
        owned = [(pa, n) for pa, n, rel in held if rel == "owned"]
        tables = [(pa, n) for pa, n, rel in held if rel == "s2-table"]
        uses = [(int(s[2], 16), int(s[3]), s[4]) for s in snap
                if s[0] == "use" and s[1] == vmid]
        assert {u for _, _, u in uses} == {"image", "dtb", "boot-frames"}
        mine = [l.split("memuse: ", 1)[1].split()
                for l in guest_lines(r, name) if l.startswith("memuse: ")]
        report = [(int(m[0], 16), int(m[1]), m[2]) for m in mine
                  if m[0] != "total"]
        total = [m for m in mine if m[0] == "total"]
        assert len(total) == 1, f"{name}: one totals line"
        t = dict(zip(total[0][1::2], map(int, total[0][2::2])))
        for use in GUEST_USES:
            assert t[use] == sum(n for _, n, u in report if u == use), use
        assert t["untracked"] == 0
        assert t["s1-tables"] > 0, f"{name}: libos has stage-1 tables"
        for pa, n, use in uses + report:
            assert inside((pa, n), owned), f"{name}: {use} {pa:#x} +{n}"
        assert disjoint([(pa, n) for pa, n, _ in uses + report] + tables)
        assert sum(n for _, n, _ in uses + report) + \
            sum(n for _, n in tables) == sum(n for _, n, _ in held)


def test_no_memory_report_unless_asked(boot, tmp_path):
    r = boot("exo-el2.elf", pkg=pack(tmp_path, SNAP_DTS.replace(
        " exo,memory-snapshot;", "")))
    expect_clean(r)
    assert "memuse:" not in r.output


def test_snapshot_guest_runs_match_stage2(boot, tmp_path):
    """What each guest held (OWNED) is what its stage-2 maps, at its exit."""
    r = boot("exo-el2-debug.elf", pkg=pack(tmp_path, SNAP_DTS))
    expect_clean(r)
    held, mapped, names = {}, {}, {}
    for s in snap_lines(r):
        if s[0] == "guest":
            names[s[1]] = s[2]
        elif s[0] == "held" and s[4] == "owned":
            held[s[1]] = held.get(s[1], 0) + int(s[3])
        elif s[0] == "s2":
            mapped[s[1]] = mapped.get(s[1], 0) + int(s[3], 16) // 4096
    assert sorted(names.values()) == ["a", "b"]
    assert held and held == mapped
    rows = summary(r)
    for vmid, name in names.items():
        assert held[vmid] <= rows[name].frames


def png_size(path):
    """(width, height) of a PNG, after checking its signature and IHDR."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert head[12:16] == b"IHDR"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24],
                                                              "big")


def test_memmap_draws_the_snapshot(boot, tmp_path):
    r = boot("exo-el2.elf", pkg=pack(tmp_path, SNAP_DTS))
    expect_clean(r)
    log = tmp_path / "console.log"
    log.write_text(r.output)
    svg, js = tmp_path / "memory.svg", tmp_path / "memory.json"
    p = subprocess.run([os.path.join(TOP, "tools", "memmap"), "-o", str(svg),
                        "--json", str(js), str(log)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    text = svg.read_text()
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>")
    for word in ("FREE", "EL2 (HYP)", "a (vm 1)", "b (vm 2)", "boot-pkg",
                 "s1-tables"):
        assert word in text
    # Every guest has its own row, whoever holds its frames now.
    strips = text[text.index("Each guest when it stopped"):]
    for name in ("a", "b"):
        assert f'>{name}</text>' in strips
    s = json.loads(js.read_text())
    free, hyp, held = map(int, TOTALS_RE.search(r.output).groups())
    assert s["totals"] == {"free": free, "hyp": hyp, "held": held}
    assert sum(s["hyp"].values()) == hyp and "unnamed" not in s["hyp"]
    for name in ("a", "b"):
        g = s["guests"][name]
        mine = [l for l in guest_lines(r, name)
                if l.startswith("memuse: total")][0].split()[2:]
        t = dict(zip(mine[0::2], map(int, mine[1::2])))
        assert sum(g["uses"].values()) == g["held"]
        assert g["rejected"] == 0 and g["reported"]
        assert g["uses"].get("unreported", 0) == 0
        for use in GUEST_USES:
            assert g["uses"].get(use, 0) == t[use], (name, use)
    png = tmp_path / "memory.png"
    assert png.exists(), p.stdout
    w, h = png_size(png)
    assert 1000 <= w <= 2000 and 400 <= h <= 2000, (w, h)
    assert png.stat().st_size > 20000, "a picture, not an empty canvas"


def test_ptdump_at_exit(boot, tmp_path):
    r = boot("exo-el2.elf", pkg=pack(tmp_path, SNAP_DTS))
    expect_clean(r)
    dump = [l for l in guest_lines(r, "a") if l.startswith("ptdump: ")]
    assert dump and "TTBR1" in dump[0]
    assert any(" x1 " in l and "RO" in l for l in dump), "image text RX"
    assert not any(l.startswith("ptdump: ") for l in guest_lines(r, "b"))


def test_no_snapshot_unless_asked(boot, tmp_path):
    r = boot("exo-el2.elf", pkg=pack(tmp_path, SNAP_DTS.replace(
        " exo,memory-snapshot;", "")))
    expect_clean(r)
    assert "snap:" not in r.output
