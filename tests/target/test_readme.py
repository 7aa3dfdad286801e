"""README.md works as written: its guest and manifest are the files in the
tree, the commands it shows run, the allocator edit it shows changes the
policy. Also the memory snapshot (make run SNAPSHOT=1) and --ptdump.

README blocks under test follow a marker `<!-- readme-test: KIND NAME -->`."""
import os
import re
import shutil
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


def test_memmap_draws_the_snapshot(boot, tmp_path):
    r = boot("exo-el2.elf", pkg=pack(tmp_path, SNAP_DTS))
    expect_clean(r)
    log = tmp_path / "console.log"
    log.write_text(r.output)
    svg = tmp_path / "memory.svg"
    p = subprocess.run([os.path.join(TOP, "tools", "memmap"), "-o", str(svg),
                        str(log)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    text = svg.read_text()
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>")
    for word in ("FREE", "EL2 (HYP)", "a (vm 1)", "b (vm 2)"):
        assert word in text
    # Every guest has its own strip, whoever holds its frames now.
    strips = text[text.index("Each guest when it stopped"):]
    for name in ("a", "b"):
        assert f'text-anchor="end">{name}</text>' in strips


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
